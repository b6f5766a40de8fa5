"""Volume pages and actions through the dashboard, against the lab engine."""

from __future__ import annotations

import re
import secrets
import time

import pytest

from dashboard.models import AuditEntry
from engine_client import NotFound

from .support.lab import RUN_ID, TEST_LABEL

pytestmark = [pytest.mark.engine, pytest.mark.django_db]

LIST = "/hosts/local/volumes/"


def new_name() -> str:
    return f"dt-{RUN_ID}-{secrets.token_hex(3)}"


def wait_exit(engine, cid: str) -> None:
    deadline = time.monotonic() + 20
    while engine.containers.inspect(cid)["State"]["Running"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_create_use_refuse_while_used_then_remove(
    lab_settings, admin, engine, make_container, resource_sweeper
):
    name = new_name()
    resp = admin.hx_post(
        LIST,
        {"name": name, "driver": "local", "labels": f"{TEST_LABEL}={RUN_ID}\nteam = web"},
        target="volume-create",
    )
    assert resp.status_code == 200, resp.content[:500]
    assert resp["HX-Redirect"] == f"{LIST}{name}/"
    assert engine.volumes.inspect(name)["Labels"] == {TEST_LABEL: RUN_ID, "team": "web"}
    assert AuditEntry.objects.get(action="volume.create", target_name=name).outcome == "ok"

    c = make_container(
        ["sh", "-c", "head -c 20000 /dev/urandom > /data/blob"],
        HostConfig={"Binds": [f"{name}:/data"]},
    )
    wait_exit(engine, c["Id"])
    html = admin.get(LIST).content.decode()
    assert name in html and c["Name"].lstrip("/") in html
    detail = admin.get(f"{LIST}{name}/").content.decode()
    assert c["Name"].lstrip("/") in detail and "team" in detail
    assert "19.5 KiB" in detail or "KiB" in detail  # the size `system df` reports

    resp = admin.hx_post(f"{LIST}{name}/remove/", {"confirm": name}, target="volume-remove")
    assert resp.status_code == 409
    assert resp["HX-Retarget"] == "#volume-remove-msg"
    # Docker: "volume is in use"; Podman: "volume is being used"
    assert re.search("volume is (in use|being used)", resp.content.decode())
    assert engine.volumes.inspect(name)["Name"] == name
    assert AuditEntry.objects.get(action="volume.remove").outcome == "failed"

    engine.containers.remove(c["Id"], force=True)
    resp = admin.hx_post(f"{LIST}{name}/remove/", {"confirm": name}, target="volume-remove")
    assert resp.status_code == 200 and resp["HX-Redirect"] == LIST
    with pytest.raises(NotFound):
        engine.volumes.inspect(name)


def test_removing_asks_first_and_needs_the_name_typed(lab_settings, admin, engine, make_volume):
    v = make_volume()
    page = admin.get(f"{LIST}{v['Name']}/remove/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'Remove volume <span class="mono">{v["Name"]}</span>?' in html
    for typed in ("", "yes", v["Name"].upper(), v["Name"][:-1]):
        resp = admin.hx_post(f"{LIST}{v['Name']}/remove/", {"confirm": typed}, "volume-remove")
        assert resp.status_code == 400
    assert "Type " in resp.content.decode()
    resp = admin.post(f"{LIST}{v['Name']}/remove/")
    assert resp.status_code == 400
    assert engine.volumes.inspect(v["Name"])
    assert not AuditEntry.objects.exclude(outcome="denied").exists()


@pytest.mark.parametrize(
    "data, says",
    [
        ({"name": "x"}, "2 to 128"),
        ({"name": "-bad"}, "starting with a letter"),
        ({"name": "a/b"}, "2 to 128"),
        ({"name": "ok-name", "labels": "no equals sign"}, "not key=value"),
        ({"name": "ok-name", "labels": "bad key=1"}, "label key"),
        ({"name": "ok-name", "driver": "nfs-not-here"}, "Select a valid choice"),
    ],
)
def test_bad_input_is_refused_beside_the_field(lab_settings, admin, engine, data, says):
    resp = admin.hx_post(LIST, {"driver": "local", **data}, target="volume-create")
    assert resp.status_code == 400
    html = resp.content.decode()
    assert html.lstrip().startswith('<form id="volume-create"')
    assert says in html
    assert not AuditEntry.objects.exclude(outcome="denied").exists()


def test_the_engine_names_a_volume_when_no_name_is_given(lab_settings, admin, engine):
    resp = admin.post(LIST, {"driver": "local", "labels": f"{TEST_LABEL}={RUN_ID}"})
    assert resp.status_code == 302
    name = resp["Location"].split("/")[-2]
    try:
        assert engine.volumes.inspect(name)["Labels"][TEST_LABEL] == RUN_ID
    finally:
        engine.volumes.remove(name)


def test_viewers_and_operators_cannot_create_or_remove(lab_settings, viewer, operator, make_volume):
    v = make_volume()
    for client in (viewer, operator):
        assert client.post(LIST, {"name": new_name(), "driver": "local"}).status_code == 403
        assert client.post(f"{LIST}{v['Name']}/remove/", {"confirm": v["Name"]}).status_code == 403
    html = viewer.get(LIST).content.decode()
    assert v["Name"] in html and 'id="volume-create"' not in html


def test_an_unknown_volume_is_a_404(lab_settings, viewer):
    resp = viewer.get(f"{LIST}no-such-volume-{RUN_ID}/")
    assert resp.status_code == 404
    assert "no such volume" in resp.content.decode().lower()
