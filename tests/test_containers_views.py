"""Container pages and actions through the dashboard, against the lab engine."""

import re
import time

import pytest

from dashboard.models import AuditEntry

pytestmark = [pytest.mark.engine, pytest.mark.django_db]

LIST = "/hosts/local/containers/"


def action_url(cid: str, action: str) -> str:
    return f"{LIST}{cid}/{action}/"


def state(engine, cid: str) -> str:
    return engine.containers.inspect(cid)["State"]["Status"]


def test_the_list_shows_a_container_the_test_created(lab_settings, viewer, make_container):
    c = make_container()
    name = c["Name"].lstrip("/")
    resp = viewer.get(LIST)
    assert resp.status_code == 200
    html = resp.content.decode()
    assert f'id="container-{c["Id"][:12]}"' in html
    assert name in html


def test_the_running_toggle_hides_stopped_containers(lab_settings, viewer, make_container):
    stopped = make_container(start=False)
    running = make_container()
    html = viewer.get(LIST, {"show": "running"}).content.decode()
    assert running["Id"][:12] in html
    assert stopped["Id"][:12] not in html


def test_the_name_filter_narrows_the_rows(lab_settings, viewer, make_container):
    a = make_container(start=False)
    b = make_container(start=False)
    resp = viewer.get(
        LIST,
        {"q": a["Name"].lstrip("/")},
        headers={"HX-Request": "true", "HX-Target": "containers-live"},
    )
    html = resp.content.decode()
    assert "<h1>" not in html, "an htmx filter request gets only the table"
    # ...with a websocket that follows the same filter.
    assert f'ws-connect="/ws/hosts/local/containers/live/?q={a["Name"].lstrip("/")}' in html
    assert a["Id"][:12] in html
    assert b["Id"][:12] not in html


def test_the_name_filter_is_plain_text_not_a_regex(lab_settings, viewer, make_container):
    make_container(start=False)
    resp = viewer.get(LIST, {"q": "dt-.*("})
    assert resp.status_code == 200
    assert "No container matches" in resp.content.decode()


def test_stop_changes_the_real_state_and_returns_the_new_row(
    lab_settings, operator, engine, make_container
):
    c = make_container()
    resp = operator.hx_post(action_url(c["Id"], "stop"), target=f"container-{c['Id'][:12]}")
    assert resp.status_code == 200
    assert state(engine, c["Id"]) == "exited"
    html = resp.content.decode()
    assert html.lstrip().startswith(f'<tr id="container-{c["Id"][:12]}"')
    assert 'class="badge exited"' in html
    entry = AuditEntry.objects.get(action="container.stop", target_id=c["Id"])
    assert entry.outcome == "ok" and entry.username == "oscar-operator"
    assert entry.target_name == c["Name"].lstrip("/")


def test_start_and_restart_change_the_real_state(lab_settings, operator, engine, make_container):
    c = make_container(start=False)
    assert operator.hx_post(action_url(c["Id"], "start")).status_code == 200
    assert state(engine, c["Id"]) == "running"
    before = engine.containers.inspect(c["Id"])["State"]["StartedAt"]
    assert operator.hx_post(action_url(c["Id"], "restart")).status_code == 200
    after = engine.containers.inspect(c["Id"])["State"]
    assert after["Running"] and after["StartedAt"] != before


def test_an_action_without_htmx_redirects_back_with_a_message(
    lab_settings, operator, engine, make_container
):
    c = make_container()
    detail = f"{LIST}{c['Id']}/"
    resp = operator.post(action_url(c["Id"], "stop"), {"next": detail})
    assert resp.status_code == 302 and resp["Location"] == detail
    assert state(engine, c["Id"]) == "exited"


def test_next_cannot_send_people_off_site(lab_settings, operator, make_container):
    c = make_container()
    resp = operator.post(action_url(c["Id"], "stop"), {"next": "https://evil.example/"})
    assert resp["Location"] == LIST


def test_removing_a_running_container_without_force_shows_the_engines_conflict(
    lab_settings, admin, engine, make_container
):
    c = make_container()
    row_id = f"container-{c['Id'][:12]}"
    resp = admin.hx_post(action_url(c["Id"], "remove"), {"confirm": "yes"}, target=row_id)
    assert resp.status_code == 409
    assert resp["HX-Retarget"] == f"#{row_id}-msg"
    # Docker 20.10: "cannot remove a running container"; Docker 26: "... container is
    # running: stop the container before removing or force remove"; Podman: "... as it is
    # running" (the engine's own words, shown as it says them).
    assert re.search(
        "running container|container is running|as it is running", resp.content.decode()
    )
    assert state(engine, c["Id"]) == "running"
    entry = AuditEntry.objects.get(action="container.remove", target_id=c["Id"])
    assert entry.outcome == "failed" and "running" in entry.message


def test_remove_with_force_removes_it(lab_settings, admin, engine, make_container):
    c = make_container()
    resp = admin.hx_post(action_url(c["Id"], "remove"), {"confirm": "yes", "force": "on"})
    assert resp.status_code == 200 and resp.content == b""
    assert engine.containers.get_summary(c["Id"]) is None


def test_remove_without_confirmation_only_asks(lab_settings, admin, engine, make_container):
    c = make_container(start=False)
    resp = admin.post(action_url(c["Id"], "remove"))
    assert resp.status_code == 200
    assert "Remove container" in resp.content.decode()
    assert engine.containers.get_summary(c["Id"]) is not None


def test_an_unknown_id_is_a_404_page(lab_settings, viewer):
    resp = viewer.get(f"{LIST}{'0' * 64}/")
    assert resp.status_code == 404
    assert "no such container" in resp.content.decode().lower()


def test_an_unknown_id_in_an_action_is_a_404_beside_the_row(lab_settings, operator):
    resp = operator.hx_post(action_url("0" * 64, "stop"), target="container-000000000000")
    assert resp.status_code == 404
    assert "no such container" in resp.content.decode().lower()


@pytest.mark.parametrize("ref", ["..%2F..%2Finfo", "a%20b", "-rf", "x" * 200, "%3Cscript%3E"])
def test_malformed_ids_never_reach_the_engine(lab_settings, viewer, ref):
    assert viewer.get(f"{LIST}{ref}/").status_code == 404


def test_actions_take_only_full_ids(lab_settings, operator, make_container):
    c = make_container()
    name = c["Name"].lstrip("/")
    assert operator.hx_post(action_url(name, "stop")).status_code == 404
    assert operator.hx_post(action_url(c["Id"][:12], "stop")).status_code == 404


def test_the_detail_page_shows_the_inspect_summary(lab_settings, viewer, make_container):
    c = make_container(
        Env=["GREETING=hello", "DB_PASSWORD=hunter2"],
        Labels={"app": "web"},
        HostConfig={"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}},
    )
    html = viewer.get(f"{LIST}{c['Id']}/").content.decode()
    assert c["Name"].lstrip("/") in html
    assert "on-failure" in html and "max 3 retries" in html
    env = viewer.get(f"{LIST}{c['Id']}/", {"tab": "env"}).content.decode()
    assert "GREETING" in env and "hello" in env
    assert "hunter2" not in env, "secret-looking values are masked"
    networks = viewer.get(f"{LIST}{c['Id']}/", {"tab": "networks"}).content.decode()
    assert "bridge" in networks


def test_the_detail_page_is_reachable_by_name(lab_settings, viewer, make_container):
    c = make_container(start=False)
    assert viewer.get(f"{LIST}{c['Name'].lstrip('/')}/").status_code == 200


def test_engine_markup_is_escaped(lab_settings, viewer, make_container):
    c = make_container(start=False, Labels={"note": "<script>alert(1)</script>"})
    html = viewer.get(f"{LIST}{c['Id']}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_host_page_shows_the_engine_and_the_api_in_use(lab_settings, viewer, engine):
    html = viewer.get("/hosts/local/").content.decode()
    assert engine.system.version()["Version"] in html
    assert re.search(r"API in use</dt><dd>1\.\d+", html)


def test_a_bad_filter_is_reported_beside_it_and_the_rest_still_applies(
    lab_settings, viewer, make_container
):
    stopped = make_container(start=False)
    resp = viewer.get(LIST, {"q": "x" * 300, "show": "running"})
    html = resp.content.decode()
    assert resp.status_code == 200
    assert "Filter: Ensure this value has at most 128 characters" in html
    assert stopped["Id"][:12] not in html, "show=running still applied"
    resp = viewer.get(LIST, {"show": "<bogus>"})
    assert "Select a valid choice" in resp.content.decode()
    assert stopped["Id"][:12] in resp.content.decode(), "falls back to all"


def test_the_confirmation_page_removes_with_the_options_chosen(
    lab_settings, admin, engine, make_container
):
    c = make_container()
    page = admin.get(action_url(c["Id"], "remove"))
    assert page.status_code == 200
    assert "It is running" in page.content.decode()
    resp = admin.post(action_url(c["Id"], "remove"), {"confirm": "yes", "force": "on"})
    assert resp.status_code == 302 and resp["Location"] == LIST
    assert engine.containers.get_summary(c["Id"]) is None
    entry = AuditEntry.objects.get(action="container.remove", target_id=c["Id"])
    assert entry.params == {"force": True, "volumes": False} and entry.outcome == "ok"


def test_the_full_log_downloads_as_text(lab_settings, viewer, engine, make_container):
    import asyncio

    c = make_container(["sh", "-c", "seq 1 5000; echo problem >&2"])
    deadline = time.monotonic() + 20
    while engine.containers.inspect(c["Id"])["State"]["Running"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    resp = viewer.get(f"{LIST}{c['Id']}/logs/download/")
    assert resp.status_code == 200
    assert resp["Content-Disposition"].startswith("attachment;")

    async def read():
        return b"".join([chunk async for chunk in resp.streaming_content])

    text = asyncio.run(read()).decode()
    lines = text.splitlines()
    # The engine orders by the time it read each stream, so stderr may come in between.
    assert [line for line in lines if line != "problem"] == [str(i) for i in range(1, 5001)]
    assert lines.count("problem") == 1


def test_the_logs_page_renders_its_controls(lab_settings, viewer, make_container):
    c = make_container()
    html = viewer.get(f"{LIST}{c['Id']}/logs/", {"tail": "500", "since": "1h"}).content.decode()
    assert f"/ws/hosts/local/containers/{c['Id']}/logs/?tail=500&amp;since=1h" in html
    assert 'id="log-filter"' in html and 'id="log-pause"' in html
    bogus = viewer.get(f"{LIST}{c['Id']}/logs/", {"tail": "<x>", "since": "forever"})
    assert "?tail=100&amp;since=" in bogus.content.decode(), "bad values fall back to defaults"
