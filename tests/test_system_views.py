"""Disk usage and prunes: each prune is previewed, and the preview must be what goes.

Every prune here is narrowed to this run's label, so that nothing else on the engine (other
tests' images, the lab image) is touched.
"""

from __future__ import annotations

import re
import time

import pytest

from dashboard.models import AuditEntry
from engine_client import NotFound

from .support.lab import LAB_IMAGE, RUN_ID, TEST_LABEL, build_image

pytestmark = [pytest.mark.engine, pytest.mark.django_db]

LABEL = f"{TEST_LABEL}={RUN_ID}"
PRUNE = "/hosts/local/system/prune/"


def preview(client, kind: str, **params: str) -> tuple[list[str], int, str]:
    resp = client.get(f"{PRUNE}{kind}/", {"label": LABEL, **params})
    assert resp.status_code == 200, resp.content[:500]
    html = resp.content.decode()
    keys = re.findall(r'class="prune-item"\s+data-key="([^"]+)"', html)
    m = re.search(r'id="prune-preview" data-count="(\d+)" data-space="(\d+)"', html)
    assert m and int(m.group(1)) == len(keys)
    return keys, int(m.group(2)), html


def prune(client, kind: str, keys: list[str], **params: str) -> tuple[str, int | None]:
    data = {"label": LABEL, "expected": keys, **params}
    resp = client.post(f"{PRUNE}{kind}/", data)
    assert resp.status_code == 200, resp.content[:500]
    html = resp.content.decode()
    assert html.count('<span class="gone">removed</span>') == len(keys), "as previewed"
    assert f"{len(keys)} of the {len(keys)} previewed removed" in html
    assert "still there" not in html
    m = re.search(r'id="prune-result" data-deleted="\d+"\s+data-space="(\d*)"', html)
    return html, int(m.group(1)) if m and m.group(1) else None


def wait_exit(engine, cid: str) -> None:
    deadline = time.monotonic() + 20
    while engine.containers.inspect(cid)["State"]["Running"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_the_disk_usage_page_shows_every_kind(lab_settings, viewer, engine):
    resp = viewer.get("/hosts/local/system/")
    html = resp.content.decode()
    assert resp.status_code == 200
    for kind in ("Images", "Containers", "Local volumes", "Build cache", "Networks"):
        assert f"<td>{kind}</td>" in html
    assert LAB_IMAGE in html
    assert "Dangling images…" not in html, "a viewer gets no prune buttons"


def test_only_admins_preview_or_prune(lab_settings, viewer, operator):
    for client in (viewer, operator):
        for kind in ("images", "containers", "volumes", "networks", "build-cache"):
            assert client.get(f"{PRUNE}{kind}/").status_code == 403
            assert client.post(f"{PRUNE}{kind}/", {"label": LABEL}).status_code == 403
    assert not AuditEntry.objects.exclude(outcome="denied").exists()


def test_image_prunes_remove_what_their_previews_listed(
    lab_settings, admin, engine, image_tags, make_container
):
    dangling = [image_tags(build_image(engine, "", size=3000)) for _ in range(2)]
    used = image_tags(build_image(engine, "", size=3000))
    make_container(Image=used, start=False)
    tagged = image_tags(f"dashboard-test/r{RUN_ID}/prunable:v1")
    tagged_id = build_image(engine, tagged, size=3000)

    keys, space, html = preview(admin, "images")
    assert sorted(keys) == sorted(dangling)
    assert space >= 2 * 3000
    _, freed = prune(admin, "images", keys)
    if engine.lab_kind == "docker":
        assert freed == space, "the preview's space is what the engine freed"
    else:  # Podman reports each image's whole size as freed, the layers it shares included
        assert freed >= space
    for image in dangling:
        with pytest.raises(NotFound):
            engine.images.inspect(image)
    assert engine.images.inspect(used) and engine.images.inspect(tagged)

    keys, space, _ = preview(admin, "images", mode="all")
    assert keys == [tagged_id], "a used image never goes"
    prune(admin, "images", keys, mode="all")
    with pytest.raises(NotFound):
        engine.images.inspect(tagged_id)
    assert engine.images.inspect(used)
    entries = AuditEntry.objects.filter(action="prune.images").order_by("id")
    assert [e.params["mode"] for e in entries] == ["dangling", "all"]
    assert all(e.outcome == "ok" for e in entries)


def test_container_prune_removes_what_its_preview_listed(
    lab_settings, admin, engine, make_container
):
    created = make_container(start=False)
    exited = make_container(["sh", "-c", "head -c 5000 /dev/urandom > /junk"])
    running = make_container()
    wait_exit(engine, exited["Id"])
    keys, space, _ = preview(admin, "containers")
    assert sorted(keys) == sorted([created["Id"], exited["Id"]])
    assert space >= 5000
    _, freed = prune(admin, "containers", keys)
    assert freed == space
    assert engine.containers.get_summary(created["Id"]) is None
    assert engine.containers.get_summary(exited["Id"]) is None
    assert engine.containers.get_summary(running["Id"]) is not None


def test_volume_prune_removes_what_its_preview_listed(
    lab_settings, admin, engine, make_volume, make_container
):
    unused = [make_volume()["Name"] for _ in range(2)]
    used = make_volume()["Name"]
    filler = make_container(
        ["sh", "-c", "head -c 7000 /dev/urandom > /d/x"],
        HostConfig={"Binds": [f"{unused[0]}:/d"]},
    )
    wait_exit(engine, filler["Id"])
    engine.containers.remove(filler["Id"])
    make_container(start=False, HostConfig={"Binds": [f"{used}:/d"]})
    keys, space, _ = preview(admin, "volumes")
    assert sorted(keys) == sorted(unused)
    assert space >= 7000
    _, freed = prune(admin, "volumes", keys)
    assert freed == space
    for name in unused:
        with pytest.raises(NotFound):
            engine.volumes.inspect(name)
    assert engine.volumes.inspect(used)


def test_network_prune_removes_what_its_preview_listed(
    lab_settings, admin, engine, make_network, make_container
):
    unused = [make_network()["Name"] for _ in range(2)]
    used = make_network()
    c = make_container()
    engine.networks.connect(used["Id"], c["Id"])
    keys, _, html = preview(admin, "networks")
    assert sorted(keys) == sorted(unused)
    assert "no disk space" in html
    prune(admin, "networks", keys)
    for name in unused:
        with pytest.raises(NotFound):
            engine.networks.inspect(name)
    assert engine.networks.inspect(used["Id"])


def test_an_empty_preview_offers_nothing_to_do(lab_settings, admin):
    resp = admin.get(f"{PRUNE}containers/", {"label": f"{TEST_LABEL}=nothing-{RUN_ID}"})
    html = resp.content.decode()
    assert "Nothing to prune" in html and 'name="expected"' not in html


def test_the_build_cache_preview_renders(lab_settings, admin, engine):
    resp = admin.get(f"{PRUNE}build-cache/")
    assert resp.status_code == 200
    assert "build cache" in resp.content.decode()


def test_a_bad_label_filter_is_refused_beside_it(lab_settings, admin):
    resp = admin.get(f"{PRUNE}volumes/", {"label": "bad label"})
    assert resp.status_code == 400
    assert "key or key=value" in resp.content.decode()
    resp = admin.post(f"{PRUNE}volumes/", {"label": "bad label"})
    assert resp.status_code == 400
    assert not AuditEntry.objects.exclude(outcome="denied").exists()
