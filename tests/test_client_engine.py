"""The engine client against the real lab engine."""

import pytest

from engine_client import Conflict, EngineClient, InvalidArgument, NotFound, versions

from .support.lab import RUN_ID, TEST_LABEL, lacks

pytestmark = pytest.mark.engine


def test_it_negotiates_with_the_real_daemon(engine):
    daemon_max = engine.system.ping()["Api-Version"]
    fresh = EngineClient(engine.lab_url)
    assert fresh.negotiate() == min(versions.NEWEST, versions.parse(daemon_max))
    assert fresh.negotiate() >= versions.OLDEST


def test_list_with_a_label_filter_finds_only_ours(engine, make_container):
    mine = make_container()
    rows = engine.containers.list(all=True, filters={"label": [f"{TEST_LABEL}={RUN_ID}"]})
    assert mine["Id"] in [r["Id"] for r in rows]
    assert all(r["Labels"].get(TEST_LABEL) == RUN_ID for r in rows)


def test_list_shows_stopped_containers_only_with_all(engine, make_container):
    stopped = make_container(start=False)
    running_ids = [r["Id"] for r in engine.containers.list()]
    all_ids = [r["Id"] for r in engine.containers.list(all=True)]
    assert stopped["Id"] not in running_ids
    assert stopped["Id"] in all_ids


def test_start_stop_restart_change_the_real_state(engine, make_container):
    c = make_container(start=False)
    assert engine.containers.start(c["Id"]) is True
    assert engine.containers.inspect(c["Id"])["State"]["Running"] is True
    # Starting it again is the engine's 304: success, nothing done.
    assert engine.containers.start(c["Id"]) is False
    first_start = engine.containers.inspect(c["Id"])["State"]["StartedAt"]
    engine.containers.restart(c["Id"], timeout=1)
    again = engine.containers.inspect(c["Id"])["State"]
    assert again["Running"] is True and again["StartedAt"] != first_start
    assert engine.containers.stop(c["Id"], timeout=1) is True
    assert engine.containers.inspect(c["Id"])["State"]["Running"] is False
    assert engine.containers.stop(c["Id"]) is False


def test_removing_a_running_container_without_force_is_a_conflict(engine, make_container):
    c = make_container()
    with pytest.raises(Conflict) as exc:
        engine.containers.remove(c["Id"])
    assert exc.value.status == 409
    assert "running" in exc.value.message.lower()
    assert engine.containers.inspect(c["Id"])["State"]["Running"] is True
    engine.containers.remove(c["Id"], force=True)
    with pytest.raises(NotFound):
        engine.containers.inspect(c["Id"])


def test_an_unknown_id_is_not_found_with_the_engines_message(engine):
    with pytest.raises(NotFound) as exc:
        engine.containers.inspect("0" * 64)
    assert exc.value.status == 404
    assert "no such container" in exc.value.message.lower()


@pytest.mark.parametrize("ref", ["../../info", "..", "x/../../info"])
def test_a_path_traversal_attempt_never_leaves_its_route(engine, ref):
    # The engine decodes %2F and cleans the path, so quoting alone is not enough.
    with pytest.raises(InvalidArgument):
        engine.containers.inspect(ref)


def test_the_engine_would_have_followed_a_quoted_traversal(engine):
    lacks(engine, "podman", "a redirect to the cleaned path (it answers 404: nothing to follow)")
    # Why the client refuses dot segments: sent raw, the engine redirects to the cleaned path.
    url = engine._transport.base_url + f"/v{engine.api_version}/containers/..%2F..%2Finfo/json"
    resp = engine._transport.session.get(url, allow_redirects=False, timeout=5)
    assert resp.status_code == 301 and resp.headers["Location"].endswith("/info/json")


def test_get_summary_matches_the_exact_id_only(engine, make_container):
    c = make_container(start=False)
    assert engine.containers.get_summary(c["Id"])["Id"] == c["Id"]
    assert engine.containers.get_summary(c["Id"][:12]) is None
