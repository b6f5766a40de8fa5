"""Docker 25+ (API 1.44+) differences the engine client smooths over, on the payloads Docker
26.1.5 (the lab's third engine) sent (see docs/engines.md); and the engine-facing contracts
behind them, on every lab engine."""

from __future__ import annotations

import copy
import json

import pytest

from engine_client import versions
from engine_client.flavor import StopAfterDie, default_network_mode, own_aliases

CID = "0546783166a4558fad6b20efb4f47e3afb7e30beb5e1f4deca2f5cedb5e74082"


def _event(action: str, nano: int, cid: str = CID, **attrs: str) -> dict:
    # As Docker 26 sent them (API 1.45; labels and other attributes left out).
    return {
        "status": action,
        "id": cid,
        "from": "lab/busybox:latest",
        "Type": "container",
        "Action": action,
        "Actor": {
            "ID": cid,
            "Attributes": {"image": "lab/busybox:latest", "name": "d26ev", **attrs},
        },
        "scope": "local",
        "time": nano // 10**9,
        "timeNano": nano,
    }


# `docker run -d` then `docker stop -t 1` (sleep ignores SIGTERM) then `docker rm`, on 26.1.5.
DOCKER26_STOP = [
    _event("create", 1796021335648447479),
    _event("start", 1796021336609003547),
    _event("kill", 1796021336645723653, signal="15"),
    _event("kill", 1796021337667736739, signal="9"),
    _event("stop", 1796021337770892137),
    _event("die", 1796021337779558615, exitCode="137"),
    _event("destroy", 1796021338000880182),
]


def actions(events: list[dict]) -> list[str]:
    return [e["Action"] for e in events]


def test_a_stop_is_told_after_the_die_as_20_10_tells_it():
    out = StopAfterDie()(copy.deepcopy(DOCKER26_STOP))
    assert actions(out) == ["create", "start", "kill", "kill", "die", "stop", "destroy"]
    assert out[5] == DOCKER26_STOP[4], "the stop itself is sent unchanged"


def test_a_held_stop_waits_across_batches_and_other_containers_pass():
    other = "f" * 64
    order = StopAfterDie()
    assert actions(order(DOCKER26_STOP[:5])) == ["create", "start", "kill", "kill"]
    assert actions(order([_event("start", 1, cid=other)])) == ["start"]
    assert actions(order(DOCKER26_STOP[5:])) == ["die", "stop", "destroy"]


def test_a_stop_without_a_die_is_sent_before_the_containers_next_event():
    out = StopAfterDie()([_event("stop", 1), _event("destroy", 2)])
    assert actions(out) == ["stop", "destroy"]


def test_20_10s_order_and_other_kinds_are_left_as_they_are():
    ordered = [e for e in DOCKER26_STOP if e["Action"] not in ("stop", "die")]
    ordered[4:4] = [DOCKER26_STOP[5], DOCKER26_STOP[4]]  # die, stop
    image = {"Type": "image", "Action": "pull", "Actor": {"ID": "lab/busybox:latest"}}
    assert StopAfterDie()([*copy.deepcopy(ordered), image]) == [*ordered, image]


def test_the_default_network_mode_is_said_as_20_10_says_it():
    # Docker 26's inspect of a container created without a network mode (at any API version).
    body = {
        "HostConfig": {"NetworkMode": "bridge"},
        "NetworkSettings": {"Networks": {"bridge": {}}},
    }
    out = default_network_mode(json.loads(json.dumps(body)))
    assert out["HostConfig"]["NetworkMode"] == "default"
    assert list(out["NetworkSettings"]["Networks"]) == ["bridge"], "the network keeps its name"
    for mode in ("host", "none", "my-net", "container:abc"):
        same = {"HostConfig": {"NetworkMode": mode}}
        assert default_network_mode(copy.deepcopy(same)) == same


def _running_on(net: str, aliases: list[str] | None, dns: list[str] | None = None) -> dict:
    endpoint: dict = {"Aliases": aliases, "NetworkID": "n" * 64}
    if dns is not None:
        endpoint["DNSNames"] = dns
    return {
        "Id": CID,
        "NetworkSettings": {"Networks": {net: endpoint, "bridge": {"Aliases": None}}},
    }


def test_aliases_are_the_ones_given_on_every_engine():
    # `docker run --network n --network-alias web`: 20.10 (and Podman) add the short id ...
    docker20 = own_aliases(_running_on("n", ["web", CID[:12]]))
    # ... Docker 26 does not; the names the network's DNS answers to are in DNSNames.
    docker26 = own_aliases(_running_on("n", ["web"], ["d26ev", "web", CID[:12]]))
    for body in (docker20, docker26):
        assert body["NetworkSettings"]["Networks"]["n"]["Aliases"] == ["web"]
        assert body["NetworkSettings"]["Networks"]["bridge"]["Aliases"] is None
    assert docker26["NetworkSettings"]["Networks"]["n"]["DNSNames"][2] == CID[:12]
    # Without an alias of its own: none (as Docker 26 says it), not the short id.
    alone = own_aliases(_running_on("n", [CID[:12]]))
    assert alone["NetworkSettings"]["Networks"]["n"]["Aliases"] is None


# -- on every lab engine ------------------------------------------------------------------


@pytest.mark.engine
def test_the_client_speaks_the_engines_newest_api(engine):
    # Docker 20.10 and Podman 4.3: 1.41; Docker 26: 1.45 (so its 1.44+ behaviour is what runs).
    said = engine.system.version()["ApiVersion"]
    assert engine.negotiate() == min(versions.parse(said), versions.NEWEST)
    assert engine.negotiate() == ((1, 45) if engine.lab_engine == "docker26" else (1, 41))


@pytest.mark.engine
def test_a_containers_aliases_are_the_ones_it_was_given(engine, make_container, make_network):
    net = make_network()
    c = make_container(
        HostConfig={"NetworkMode": net["Name"]},
        NetworkingConfig={"EndpointsConfig": {net["Name"]: {"Aliases": ["web"]}}},
    )
    assert c["State"]["Running"]
    assert c["NetworkSettings"]["Networks"][net["Name"]]["Aliases"] == ["web"]


@pytest.mark.engine
def test_a_stopped_container_is_listed_stopped_when_the_stop_returns(engine, make_container):
    for _ in range(5):  # Docker 26 said "running" for about one stop in two before the fix
        c = make_container(["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"])
        assert engine.containers.stop(c["Id"], timeout=5)
        rows = engine.containers.list(all=True, filters={"id": [c["Id"]]})
        assert [r["State"] for r in rows] == ["exited"]


@pytest.mark.engine
def test_a_one_shot_sample_names_its_container(engine, make_container):
    c = make_container()
    once = engine.containers.stats_once(c["Id"])
    assert once["name"] == c["Name"] and once["cpu_stats"]["cpu_usage"]["total_usage"] > 0


@pytest.mark.engine
def test_a_container_made_without_a_network_says_the_default(engine, make_container):
    c = make_container()
    assert c["HostConfig"]["NetworkMode"] == "default"
    assert "bridge" in c["NetworkSettings"]["Networks"]
