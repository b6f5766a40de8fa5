"""Docker and Podman behind one client: which engine it is, what it lacks, and the
differences the client smooths over, each against both lab engines."""

from __future__ import annotations

import time

import pytest

from .support.lab import RUN_ID, TEST_LABEL

pytestmark = [pytest.mark.engine, pytest.mark.django_db]


def test_the_client_knows_which_engine_it_talks_to(engine):
    flavor = engine.flavor
    assert flavor.kind == engine.lab_kind
    assert flavor.version and flavor.version in engine.system.version()["Version"]
    assert flavor.has("swarm") == (engine.lab_kind == "docker")


def test_the_host_page_names_the_engine_and_explains_what_it_lacks(lab_settings, viewer, engine):
    resp = viewer.get("/hosts/local/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert f'data-engine="{engine.lab_kind}"' in html
    if engine.lab_kind == "podman":
        assert "Podman 4." in html
        assert 'id="swarm-missing"' in html and "no swarm mode" in html
    else:
        assert "Docker Engine" in html and 'id="swarm-missing"' not in html


def test_the_disk_page_offers_a_build_cache_prune_only_where_there_is_one(
    lab_settings, admin, engine
):
    html = admin.get("/hosts/local/system/").content.decode()
    offered = 'href="/hosts/local/system/prune/build-cache/"' in html
    assert offered == (engine.lab_kind == "docker")
    if not offered:
        assert "not on this engine" in html
        resp = admin.post("/hosts/local/system/prune/build-cache/", {"confirm": "yes"})
        assert resp.status_code == 503 and "no separate build cache" in resp.content.decode()


def events_of(engine, container_id: str, since: str) -> list[str]:
    until = f"{time.time() + 1:.9f}"
    stream = engine.system.events(since=since, until=until, filters={"container": [container_id]})
    with stream:
        return [ev["Action"] for ev in stream.objects()]


def test_a_containers_life_is_told_in_dockers_event_names(engine, make_container):
    since = f"{time.time():.9f}"
    c = make_container(start=False)
    engine.containers.start(c["Id"])
    engine.containers.stop(c["Id"], timeout=1)
    engine.containers.remove(c["Id"])
    time.sleep(0.3)  # the last events reach the engine's log
    actions = events_of(engine, c["Id"], since)
    wanted = ["create", "start", "die", "stop", "destroy"]
    assert [a for a in actions if a in wanted] == wanted, actions
    assert not {"init", "cleanup", "remove"} & set(actions), actions


def test_an_event_filter_in_dockers_names_matches_podmans_events(engine, make_container):
    since = f"{time.time():.9f}"
    c = make_container()
    engine.containers.remove(c["Id"], force=True)
    time.sleep(0.3)
    stream = engine.system.events(
        since=since,
        until=f"{time.time() + 1:.9f}",
        filters={"container": [c["Id"]], "event": ["destroy"]},
    )
    with stream:
        assert [ev["Action"] for ev in stream.objects()] == ["destroy"]


def test_disk_usage_names_labels_and_ids_as_docker_does(engine, make_volume, make_container):
    v = make_volume(labels={"purpose": "df"})
    c = make_container(start=False, Labels={"purpose": "df"})
    df = engine.system.df()
    assert all(i["Id"].startswith("sha256:") for i in df["images"])
    lab = next(i for i in df["images"] if engine.lab_image_name in (i["RepoTags"] or []))
    assert lab["Size"] > 0 and df["layers_size"] > 0
    (vol,) = [x for x in df["volumes"] if x["Name"] == v["Name"]]
    assert vol["Labels"] == {TEST_LABEL: RUN_ID, "purpose": "df"} and vol["Driver"] == "local"
    (row,) = [x for x in df["containers"] if x["Id"] == c["Id"]]
    assert row["Labels"]["purpose"] == "df" and row["Names"] == [c["Name"]]
