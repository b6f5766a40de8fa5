"""Alerts against the lab engines: a watcher of the test's own (its own event loop, as
daphne's would be), rules in the database, and a local webhook receiver that checks the
signature. Each test waits with a deadline; each also makes a container that must alert,
so a watcher that saw nothing cannot pass a test that expects silence."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dashboard.alerts.watch import Watcher
from dashboard.models import Alert, AlertRule, Delivery
from dashboard.streams.hub import get_hub

from .support.alerts import KEY, running_watcher, webhook_channel
from .support.lab import RUN_ID, in_netns, lab_netns, lacks
from .support.receiver import Receiver, webhook_receiver
from .support.swarm_lab import (
    ADDR2,
    LAB_DOCKER_HOST2,
    needs_worker,
    service_spec,
    single_node_swarm,
    two_node_swarm,
)

DEADLINE = 30.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as r:
        yield r


@pytest.fixture
def watcher(transactional_db: Any, lab_settings: Any) -> Iterator[Watcher]:
    lab_settings.ALERTS_RETRY_DELAYS = (0.2, 0.5)
    lab_settings.STREAM_LINGER_SECONDS = 0.2
    with running_watcher() as w:
        yield w


@pytest.fixture
def rule(receiver: Receiver, watcher: Watcher) -> Callable[..., tuple[AlertRule, dict[str, str]]]:
    """A rule of `kind` scoped to a label of this test's own, sending to the receiver;
    returns it and the labels a container needs to be covered."""
    channel = webhook_channel(receiver)
    token = secrets.token_hex(4)

    def make(kind: str, **fields: Any) -> tuple[AlertRule, dict[str, str]]:
        r = AlertRule.objects.create(
            name=f"{kind}-{token}",
            kind=kind,
            label=fields.pop("label", f"alerttest={token}"),
            **fields,
        )
        r.channels.add(channel)
        # The watcher reads the rules every few seconds: a container that dies at once
        # must not beat it.
        deadline = time.monotonic() + 10
        while all(spec.id != r.pk for spec in watcher.evaluator.rules):
            assert time.monotonic() < deadline, "the watcher never loaded the rule"
            time.sleep(0.1)
        return r, {"alerttest": token}

    return make


def payloads(receiver: Receiver, count: int, timeout: float = DEADLINE) -> list[dict[str, Any]]:
    got = receiver.wait_for(count, timeout)
    for r in got:
        assert r.signed_by(KEY), f"bad signature on {r.body[:200]!r}"
    return [r.json() for r in got]


def test_a_container_exiting_non_zero_delivers_a_signed_message(
    watcher, rule, receiver, make_container
):
    r, labels = rule(AlertRule.EXIT)
    c = make_container(["sh", "-c", "sleep 1; exit 3"], Labels=labels)
    [got] = payloads(receiver, 1)
    assert got["state"] == "fired" and got["rule"] == r.name
    assert got["targets"][0]["id"] == c["Id"]
    assert "exit code 3" in got["text"] and c["Name"].lstrip("/") in got["text"]
    deadline = time.monotonic() + 10
    while not Delivery.objects.filter(outcome=Delivery.DELIVERED).exists():
        assert time.monotonic() < deadline, list(Delivery.objects.values())
        time.sleep(0.1)
    assert Alert.objects.get().state == "fired"


def test_an_engine_api_stop_does_not_alert_but_a_crash_beside_it_does(
    watcher, rule, receiver, make_container, engine
):
    lacks(engine, "podman", "kill and stop events that tell a stop (docs/podman.md)")
    _, labels = rule(AlertRule.EXIT)
    stopped = make_container(["sleep", "300"], Labels=labels)
    engine.containers.stop(stopped["Id"], timeout=1)  # what `docker stop` does
    time.sleep(1)
    crashed = make_container(["sh", "-c", "exit 5"], Labels=labels)
    [got] = payloads(receiver, 1)
    time.sleep(4)  # longer than the hold and the group window: nothing else comes
    assert len(receiver.got) == 1
    assert [t["id"] for t in got["targets"]] == [crashed["Id"]]


def test_a_stop_from_the_dashboard_does_not_alert(watcher, rule, receiver, make_container, admin):
    _, labels = rule(AlertRule.EXIT)
    stopped = make_container(["sleep", "300"], Labels=labels)
    resp = admin.post(f"/hosts/local/containers/{stopped['Id']}/stop/", {"t": "1"})
    assert resp.status_code in (200, 302)
    crashed = make_container(["sh", "-c", "sleep 1; exit 7"], Labels=labels)
    [got] = payloads(receiver, 1)
    time.sleep(4)
    assert len(receiver.got) == 1
    assert [t["id"] for t in got["targets"]] == [crashed["Id"]]


def test_ten_containers_killed_together_give_one_grouped_message(
    watcher, rule, receiver, make_container, engine
):
    _, labels = rule(AlertRule.EXIT)
    made = [make_container(["sleep", "300"], Labels=labels) for _ in range(10)]
    threads = [threading.Thread(target=engine.containers.kill, args=(c["Id"],)) for c in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [got] = payloads(receiver, 1)
    time.sleep(4)
    assert len(receiver.got) == 1, [r.json()["text"] for r in receiver.got]
    assert sorted(t["id"] for t in got["targets"]) == sorted(c["Id"] for c in made)
    assert got["text"].startswith("[local] 10 containers died")


def test_an_oom_killed_container_says_oom(watcher, rule, receiver, make_container, engine):
    lacks(engine, "podman", "oom events (its OOM-killed container says OOMKilled false)")
    _, labels = rule(AlertRule.OOM)
    make_container(
        ["sh", "-c", "a=aaaaaaaa; while true; do a=$a$a; done"],
        Labels=labels,
        HostConfig={"Memory": 16 * 1024 * 1024, "MemorySwap": 16 * 1024 * 1024},
    )
    [got] = payloads(receiver, 1)
    assert got["kind"] == "oom" and "OOM-killed" in got["text"], got


def test_unhealthy_fires_and_recovers(watcher, rule, receiver, make_container, engine):
    lacks(engine, "podman", "healthchecks that run (it schedules them with systemd timers)")
    _, labels = rule(AlertRule.UNHEALTHY)
    make_container(
        ["sh", "-c", "sleep 3; touch /tmp/bad; sleep 5; rm /tmp/bad; sleep 300"],
        Labels=labels,
        Healthcheck={
            "Test": ["CMD-SHELL", "test ! -e /tmp/bad"],
            "Interval": 500_000_000,
            "Timeout": 1_000_000_000,
            "Retries": 1,
        },
    )
    fired, recovered = payloads(receiver, 2, timeout=40)
    assert fired["state"] == "fired" and "unhealthy" in fired["text"]
    assert recovered["state"] == "recovered"
    assert not Alert.objects.filter(open=True).exists()


def _upstreams(watcher: Watcher) -> list[str]:
    async def keys() -> list[str]:
        return list(get_hub().upstreams)

    return asyncio.run_coroutine_threadsafe(keys(), watcher.loop).result(5)


def test_cpu_above_a_threshold_fires_and_stats_are_read_only_while_a_rule_needs_them(
    watcher, rule, receiver, make_container, settings
):
    settings.ALERTS_STATS_INTERVAL = 1.0
    time.sleep(1)
    assert not [k for k in _upstreams(watcher) if "liststats" in k], "no rule needs stats yet"
    # A busy loop takes a core, or what a loaded shared machine leaves of one (20-60% seen).
    _, labels = rule(AlertRule.CPU, percent=10, seconds=5)
    busy = make_container(["sh", "-c", "while true; do :; done"], Labels=labels)
    other = make_container(["sh", "-c", "while true; do :; done"])  # no rule covers it
    [got] = payloads(receiver, 1)
    sampled = {cid for _, cid in watcher.evaluator.samples}
    assert busy["Id"] in sampled and other["Id"] not in sampled
    assert got["kind"] == "cpu" and [t["id"] for t in got["targets"]] == [busy["Id"]]
    assert "above its CPU threshold" in got["text"]
    assert [k for k in _upstreams(watcher) if "liststats" in k]


def test_disk_use_above_a_size_fires_and_df_is_read_only_while_a_disk_rule_exists(
    watcher, rule, receiver, settings
):
    settings.ALERTS_DISK_INTERVAL = 1.0
    time.sleep(1)
    assert not [k for k in _upstreams(watcher) if "|disk|" in k]
    rule(AlertRule.DISK, megabytes=1)  # the lab image alone is more than a megabyte
    [got] = payloads(receiver, 1)
    assert got["kind"] == "disk" and "uses more disk than its threshold" in got["text"]
    assert [k for k in _upstreams(watcher) if "|disk|" in k]


def test_a_service_short_of_its_replicas_fires_after_its_seconds(
    watcher, rule, receiver, engine, settings
):
    """A single-node swarm of the lab engine (taken apart afterwards): a service asking for
    more replicas than its placement allows on one node stays short of them."""
    lacks(engine, "podman", "swarm mode")
    settings.ALERTS_SWARM_INTERVAL = 1.0
    with single_node_swarm(engine) as lab:
        r, _ = rule(AlertRule.SERVICE_REPLICAS, seconds=5, label="", name_glob=f"alerts-{RUN_ID}-*")
        name = f"alerts-{RUN_ID}-short"
        spec = service_spec(name, replicas=2)
        spec["TaskTemplate"]["Placement"] = {"MaxReplicas": 1}
        lab.manager.services.create(spec)
        started = time.monotonic()
        [got] = payloads(receiver, 1, timeout=60)
        assert time.monotonic() - started >= 5
        assert got["kind"] == "service_replicas" and got["rule"] == r.name
        assert f"service {name} is short of its replicas: 1/2 running" in got["text"]


def _link_of(ns: str, addr: str) -> str:
    """The interface holding `addr` in the namespace `ns` (the lab's link between nodes)."""
    out = in_netns(ns, "ip", "-o", "-4", "addr", "show", check=True).stdout
    for line in out.splitlines():
        if f" {addr}/" in line:
            return line.split()[1].split("@")[0]
    raise AssertionError(f"no interface with {addr} in {ns}:\n{out}")


def test_a_node_drained_and_a_node_cut_off_fire_and_recover(
    watcher, rule, receiver, engine, settings
):
    """The lab's two engines as a swarm of the test's own: the worker drained (as `docker
    node update --availability drain` does) fires and recovers; its link to the manager cut
    (the node's engine runs on but no heartbeat arrives) fires "down" and recovers."""
    lacks(engine, "podman", "swarm mode")
    needs_worker(engine)
    settings.ALERTS_SWARM_INTERVAL = 1.0
    with two_node_swarm(engine) as lab:
        r, _ = rule(AlertRule.SWARM_NODE, label="", cooldown=0)
        lab.manager.nodes.set_availability(lab.worker_id, "drain")
        [drained] = payloads(receiver, 1)
        assert drained["rule"] == r.name and "drain" in drained["text"], drained
        lab.manager.nodes.set_availability(lab.worker_id, "active")
        back = payloads(receiver, 2)[1]
        assert back["state"] == "recovered", back
        ns2 = lab_netns(LAB_DOCKER_HOST2)
        assert ns2, "no namespace for the lab's second engine"
        link = _link_of(ns2, ADDR2)
        in_netns(ns2, "ip", "link", "set", link, "down", check=True)
        try:
            # The manager marks a node down once its heartbeats stop (some 15 s here).
            down = payloads(receiver, 3, timeout=90)[2]
            assert down["state"] == "fired" and "down" in down["text"], down
            assert [t["id"] for t in down["targets"]] == [lab.worker_id]
        finally:
            in_netns(ns2, "ip", "link", "set", link, "up", check=True)
        up = payloads(receiver, 4, timeout=90)[3]
        assert up["state"] == "recovered" and up["targets"][0]["id"] == lab.worker_id, up
