"""Image pages and actions through the dashboard, against the lab engine."""

from __future__ import annotations

import asyncio
import html as htmllib
import io
import json
import tarfile

import pytest

from dashboard.models import AuditEntry

from .support.lab import LAB_IMAGE, RUN_ID, TEST_LABEL, build_image

pytestmark = [pytest.mark.engine, pytest.mark.django_db]

LIST = "/hosts/local/images/"


def hexid(image_id: str) -> str:
    return image_id.split(":")[-1]


def test_the_list_shows_tags_sizes_and_users(lab_settings, viewer, engine, make_container):
    c = make_container(start=False)
    image = engine.images.inspect(LAB_IMAGE)
    html = viewer.get(LIST).content.decode()
    assert f'id="image-{hexid(image["Id"])[:12]}"' in html
    assert LAB_IMAGE in html
    short = hexid(image["Id"])[:12]
    assert f'id="users-{short}"' in html, "the used-by cell, filled by the usage request"
    assert "/hosts/local/images/usage/" in html
    # The column's data: one element, the image's users named in its title text.
    usage = viewer.get(LIST + "usage/").content.decode()
    data = json.loads(htmllib.unescape(usage.split('data-usage="', 1)[1].split('"', 1)[0]))
    count, names = data[short]
    assert count >= 1 and c["Name"].lstrip("/") in names


def test_the_dangling_filter_shows_only_untagged_images(lab_settings, viewer, engine, image_tags):
    dangling = image_tags(build_image(engine, "", size=1000))
    resp = viewer.get(
        LIST, {"dangling": "on"}, headers={"HX-Request": "true", "HX-Target": "images-rows"}
    )
    html = resp.content.decode()
    assert html.lstrip().startswith("<tbody")
    assert hexid(dangling)[:12] in html
    assert LAB_IMAGE not in html


def test_the_detail_page_shows_inspect_history_and_users(
    lab_settings, viewer, engine, make_container
):
    c = make_container(start=False)
    image = engine.images.inspect(LAB_IMAGE)
    resp = viewer.get(f"{LIST}{hexid(image['Id'])}/")
    html = resp.content.decode()
    assert resp.status_code == 200
    assert image["Id"] in html
    assert "History" in html and "Imported from" in html or "import" in html.lower()
    assert c["Name"].lstrip("/") in html
    # A viewer sees no actions.
    assert 'id="image-remove"' not in html and "Export" not in html


def test_an_unknown_image_is_a_404(lab_settings, viewer):
    resp = viewer.get(f"{LIST}{'0' * 64}/")
    assert resp.status_code == 404
    assert "no such image" in resp.content.decode().lower()


@pytest.mark.parametrize("bad", ["UPPER/Case", "a@b@c", "x" * 5000, "a b", f"{'f' * 64}"])
def test_malformed_references_are_refused_before_any_engine_call(settings, admin, bad):
    # No engine at all behind this host: a request that reached it would answer 503.
    from dashboard.engines import reset_clients

    settings.DOCKER_HOST = "unix:///nonexistent/engine.sock"
    reset_clients()
    try:
        resp = admin.hx_post(f"{LIST}pull/", {"reference": bad}, target="pull")
        assert resp.status_code == 400
        html = resp.content.decode()
        assert 'class="field-error"' in html
        assert "cannot reach" not in html
    finally:
        reset_clients()
    assert not AuditEntry.objects.exclude(outcome="denied").exists()


def test_a_valid_pull_request_hands_out_a_progress_ticket(lab_settings, admin):
    resp = admin.hx_post(f"{LIST}pull/", {"reference": "127.0.0.1:5000/lab/busybox"}, target="pull")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'ws-connect="/ws/hosts/local/progress/?t=' in html
    assert "127.0.0.1:5000/lab/busybox" in html


@pytest.mark.parametrize("who", ["viewer", "operator"])
def test_only_admins_pull_tag_push_remove_and_upload(lab_settings, request, who, engine):
    client = request.getfixturevalue(who)
    image = hexid(engine.images.inspect(LAB_IMAGE)["Id"])
    for path, data in [
        (f"{LIST}pull/", {"reference": "busybox"}),
        (f"{LIST}{image}/tag/", {"target": "x/y:z"}),
        (f"{LIST}{image}/push/", {"tag": LAB_IMAGE}),
        (f"{LIST}{image}/remove/", {"ref": LAB_IMAGE}),
        (f"{LIST}upload/", {}),
    ]:
        assert client.post(path, data).status_code == 403, path
    assert client.get(f"{LIST}{image}/export/").status_code == 403
    assert not AuditEntry.objects.exclude(outcome="denied").exists()


def test_tag_then_remove_the_tag(lab_settings, admin, engine, image_tags):
    image = engine.images.inspect(LAB_IMAGE)
    target = image_tags(f"dashboard-test/r{RUN_ID}/tagged:v1")
    resp = admin.hx_post(f"{LIST}{hexid(image['Id'])}/tag/", {"target": target}, target="image-tag")
    assert resp.status_code == 200
    assert resp["HX-Redirect"] == f"{LIST}{hexid(image['Id'])}/"
    assert target in engine.images.inspect(target)["RepoTags"]
    entry = AuditEntry.objects.get(action="image.tag")
    assert entry.outcome == "ok" and entry.params["tag"] == target

    resp = admin.hx_post(
        f"{LIST}{hexid(image['Id'])}/remove/", {"ref": target}, target="image-remove"
    )
    assert resp.status_code == 200
    assert target not in engine.images.inspect(LAB_IMAGE)["RepoTags"]
    assert engine.lab_image_name in engine.images.inspect(LAB_IMAGE)["RepoTags"], (
        "only the tag went"
    )


def test_a_bad_tag_is_reported_beside_the_field(lab_settings, admin, engine):
    image = hexid(engine.images.inspect(LAB_IMAGE)["Id"])
    resp = admin.hx_post(f"{LIST}{image}/tag/", {"target": "Bad/Tag"}, target="image-tag")
    assert resp.status_code == 400
    html = resp.content.decode()
    assert html.lstrip().startswith('<form id="image-tag"')
    assert "lowercase" in html
    assert not AuditEntry.objects.exclude(outcome="denied").exists()


def test_removing_an_image_a_container_uses_is_refused_and_it_stays(
    lab_settings, admin, engine, image_tags, make_container
):
    ref = image_tags(f"dashboard-test/r{RUN_ID}/inuse:v1")
    image_id = build_image(engine, ref, size=1000)
    c = make_container(Image=ref)  # running
    url = f"{LIST}{hexid(image_id)}/remove/"

    resp = admin.hx_post(url, {"ref": ref}, target="image-remove")
    assert resp.status_code == 409
    assert resp["HX-Retarget"] == "#image-remove-msg"
    assert c["Id"][:12] in resp.content.decode()  # the engine names the container

    resp = admin.hx_post(url, {"ref": image_id, "force": "on"}, target="image-remove")
    assert resp.status_code == 409
    assert "running container" in resp.content.decode()
    assert engine.images.inspect(image_id)["Id"] == image_id
    entries = AuditEntry.objects.filter(action="image.remove")
    assert [e.outcome for e in entries] == ["failed", "failed"]


def test_removing_by_id_deletes_it(lab_settings, admin, engine, image_tags):
    ref = image_tags(f"dashboard-test/r{RUN_ID}/gone:v1")
    image_id = build_image(engine, ref, size=1000)
    resp = admin.post(f"{LIST}{hexid(image_id)}/remove/", {"ref": image_id})
    assert resp.status_code == 302 and resp["Location"] == LIST
    assert not engine.images.list(filters={"reference": [ref]})


def test_remove_refuses_a_reference_of_another_image(lab_settings, admin, engine, image_tags):
    ref = image_tags(f"dashboard-test/r{RUN_ID}/other:v1")
    image_id = build_image(engine, ref, size=1000)
    resp = admin.hx_post(
        f"{LIST}{hexid(image_id)}/remove/", {"ref": LAB_IMAGE}, target="image-remove"
    )
    assert resp.status_code == 400
    assert engine.lab_image_name in engine.images.inspect(LAB_IMAGE)["RepoTags"]


def test_export_streams_a_loadable_tar_and_load_brings_it_back(
    lab_settings, admin, engine, image_tags
):
    ref = image_tags(f"dashboard-test/r{RUN_ID}/roundtrip:v1")
    image_id = build_image(engine, ref, size=2000)
    resp = admin.get(f"{LIST}{hexid(image_id)}/export/")
    assert resp.status_code == 200 and resp["Content-Type"] == "application/x-tar"
    assert "attachment" in resp["Content-Disposition"]

    async def read():
        return b"".join([chunk async for chunk in resp.streaming_content])

    data = asyncio.run(read())
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        names = tf.getnames()
    assert "manifest.json" in names and "repositories" in names

    engine.images.remove(ref, force=True)
    archive = io.BytesIO(data)
    archive.name = "roundtrip.tar"
    resp = admin.post(f"{LIST}upload/", {"mode": "load", "archive": archive})
    assert resp.status_code == 302
    assert engine.images.inspect(ref)["Id"] == image_id
    entry = AuditEntry.objects.get(action="image.load")
    assert entry.outcome == "ok" and ref in entry.target_name


def test_import_makes_an_image_from_a_filesystem_tar(lab_settings, admin, engine, image_tags):
    ref = image_tags(f"dashboard-test/r{RUN_ID}/imported:v1")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("hello.txt")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"hi\n"))
    buf.seek(0)
    buf.name = "rootfs.tar"
    resp = admin.post(f"{LIST}upload/", {"mode": "import", "archive": buf, "reference": ref})
    assert resp.status_code == 302, resp.content[:500]
    size = engine.images.inspect(ref)["Size"]
    # Docker counts the files' bytes; Podman the stored layer (tar headers and padding too).
    assert size == 3 if engine.lab_kind == "docker" else 3 < size < 64 * 1024


def test_a_broken_archive_shows_the_engines_error(lab_settings, admin):
    archive = io.BytesIO(b"this is not a tar archive" * 40)
    archive.name = "broken.tar"
    resp = admin.post(f"{LIST}upload/", {"mode": "load", "archive": archive})
    assert resp.status_code == 502
    assert "tar" in resp.content.decode()
    assert AuditEntry.objects.get(action="image.load").outcome == "failed"


def test_an_upload_over_the_limit_is_refused_unread(lab_settings, admin):
    lab_settings.IMAGE_UPLOAD_MAX_BYTES = 1000
    archive = io.BytesIO(b"x" * 200_000)
    archive.name = "big.tar"
    resp = admin.post(f"{LIST}upload/", {"mode": "load", "archive": archive})
    assert resp.status_code == 413
    assert "larger than the limit" in resp.content.decode()
    assert not AuditEntry.objects.exclude(outcome="denied").exists()


def test_an_upload_that_grows_past_the_limit_while_read_is_cut_off(lab_settings, admin):
    lab_settings.IMAGE_UPLOAD_MAX_BYTES = 100_000
    archive = io.BytesIO(b"x" * 150_000)  # under the up-front check's slack, over the limit
    archive.name = "big.tar"
    resp = admin.post(f"{LIST}upload/", {"mode": "load", "archive": archive})
    assert resp.status_code == 413
    assert not AuditEntry.objects.exclude(outcome="denied").exists()


def test_an_import_needs_a_name(lab_settings, admin):
    archive = io.BytesIO(b"x" * 100)
    archive.name = "a.tar"
    resp = admin.post(f"{LIST}upload/", {"mode": "import", "archive": archive})
    assert resp.status_code == 400
    assert "needs a name" in resp.content.decode()


def test_image_labels_are_shown_escaped(lab_settings, viewer, engine, image_tags):
    ref = image_tags(f"dashboard-test/r{RUN_ID}/labelled:v1")
    image_id = build_image(engine, ref, size=10, note="<script>alert(1)</script>")
    html = viewer.get(f"{LIST}{hexid(image_id)}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert TEST_LABEL in html


def test_a_pulled_image_lists_its_digest(lab_settings, viewer, engine, registry_image, image_tags):
    from engine_client.images import read_progress

    state = read_progress(engine.images.pull(image_tags(registry_image)))
    html = viewer.get(LIST, {"q": registry_image}).content.decode()
    assert registry_image in html
    assert f"@{state.digest[:19]}…" in html
