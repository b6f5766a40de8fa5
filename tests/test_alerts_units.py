"""Alert rules, the lease and channel URL rules without an engine: events as the engines
send them (Docker 20.10's order, Docker 26's stop-before-die, Podman's cleanup-as-stop)."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.alerts import evaluate
from dashboard.alerts.deliver import sign
from dashboard.alerts.evaluate import Evaluator, RuleSpec
from dashboard.alerts.lease import Lease
from engine_client import InvalidArgument
from engine_client.validators import check_apprise_url, check_webhook_url

CRASH = RuleSpec(id=1, name="crash", kind=evaluate.EXIT, cooldown=60)


def ev(action: str, cid: str, **attrs: str) -> dict[str, Any]:
    return {
        "Type": "container",
        "Action": action,
        "Actor": {"ID": cid, "Attributes": {"name": f"c-{cid}", **attrs}},
    }


def run(e: Evaluator, host: str, events: list[dict[str, Any]], at: float) -> list[Any]:
    return e.feed(host, {"events": events, "rows": {}}, now=at)


def settle(e: Evaluator, at: float) -> list[Any]:
    """Past the hold (the die is decided), then past the group window (it is sent)."""
    return e.tick(at + 5) + e.tick(at + 10)


def test_a_non_zero_exit_fires_after_the_hold_and_the_group_window():
    e = Evaluator([CRASH], hold=1, group=2)
    assert run(e, "h", [ev("start", "a"), ev("die", "a", exitCode="3")], 100) == []
    assert e.tick(101.5) == []
    [m] = e.tick(104)
    assert m.state == "fired" and "c-a" in m.text and "exit code 3" in m.text


@pytest.mark.parametrize(
    "events",
    [
        # docker stop on 20.10: kill with SIGTERM, die, stop
        [ev("kill", "a", signal="15"), ev("die", "a", exitCode="143"), ev("stop", "a")],
        # a stop that timed out: SIGTERM then SIGKILL
        [ev("kill", "a", signal="15"), ev("kill", "a", signal="9"), ev("die", "a", exitCode="137")],
        # Docker 26 sends the stop before the die
        [ev("stop", "a"), ev("die", "a", exitCode="137")],
    ],
)
def test_a_stop_on_purpose_is_no_crash(events):
    e = Evaluator([CRASH], hold=1, group=1)
    run(e, "h", [ev("start", "a"), *events], 100)
    assert settle(e, 100) == []


def test_a_kill_without_the_stop_signal_is_a_crash():
    e = Evaluator([CRASH], hold=1, group=1)
    run(e, "h", [ev("start", "a"), ev("kill", "a", signal="9"), ev("die", "a", exitCode="137")], 1)
    assert len(settle(e, 1)) == 1


def test_on_podman_a_stop_event_does_not_excuse_a_crash():
    e = Evaluator([CRASH], hold=1, group=1)
    e.stop_means_nothing.add("p")
    run(e, "p", [ev("start", "a"), ev("die", "a", exitCode="3"), ev("stop", "a")], 1)
    assert len(settle(e, 1)) == 1


def test_a_stop_through_the_dashboard_is_no_crash():
    e = Evaluator([CRASH], hold=1, group=1, stopped_by_dashboard=lambda h, c, s: c == "a")
    run(e, "h", [ev("die", "a", exitCode="137"), ev("die", "b", exitCode="137")], 1)
    [m] = settle(e, 1)
    assert [t.id for t in m.targets] == ["b"]


def test_a_burst_is_one_message_and_the_cooldown_holds_back_repeats():
    e = Evaluator([CRASH], hold=1, group=2)
    run(e, "h", [ev("die", c, exitCode="1") for c in "abcdefghij"], 1)
    [m] = settle(e, 1)
    assert len(m.targets) == 10 and m.text.startswith("[h] 10 containers died")
    run(e, "h", [ev("start", "a"), ev("die", "a", exitCode="1")], 20)
    assert settle(e, 20) == [], "within the cooldown"
    run(e, "h", [ev("start", "a"), ev("die", "a", exitCode="1")], 100)
    assert len(settle(e, 100)) == 1


def test_scope_by_glob_label_project_and_the_opt_out_label():
    rule = RuleSpec(id=2, name="r", kind=evaluate.EXIT, name_glob="web-*", label="tier=front")
    assert rule.covers("h", "web-1", {"tier": "front"})
    assert not rule.covers("h", "db-1", {"tier": "front"})
    assert not rule.covers("h", "web-1", {"tier": "back"})
    assert not rule.covers("h", "web-1", {"tier": "front", "dashboard.alerts": "off"})
    proj = RuleSpec(id=3, name="p", kind=evaluate.EXIT, project="shop", host="h")
    assert proj.covers("h", "x", {"com.docker.compose.project": "shop"})
    assert not proj.covers("other", "x", {"com.docker.compose.project": "shop"})


def test_an_engine_going_down_is_one_alert_and_one_recovery_not_a_crash_each():
    down = RuleSpec(id=4, name="down", kind=evaluate.UNREACHABLE, seconds=5)
    e = Evaluator([CRASH, down], hold=1, group=1)
    run(e, "h", [ev("die", c, exitCode="137") for c in "abc"], 100)
    e.feed("h", {"status": {"state": "reconnecting", "text": "Reconnecting: refused"}}, now=100.5)
    assert e.tick(103) == []
    [m] = e.tick(106) + e.tick(108)
    assert m.state == "fired" and m.rule.kind == "unreachable" and "refused" in m.text
    e.feed("h", {"status": {"state": "reconnecting", "text": "again"}}, now=110)
    assert e.tick(120) == []
    e.feed("h", {"status": {"state": "live", "text": "Live"}}, now=121)
    [r] = e.tick(123)
    assert r.state == "recovered" and "reachable again" in r.text


def test_unhealthy_fires_once_and_recovers():
    rule = RuleSpec(id=5, name="health", kind=evaluate.UNHEALTHY)
    e = Evaluator([rule], hold=1, group=1)
    run(e, "h", [ev("health_status: unhealthy", "a")], 1)
    run(e, "h", [ev("health_status: unhealthy", "a")], 1.5)
    [m] = e.tick(5)
    run(e, "h", [ev("health_status: healthy", "a")], 6)
    [r] = e.tick(10)
    assert (m.state, r.state) == ("fired", "recovered")


def test_a_restart_loop_fires_at_n_exits_and_recovers_when_quiet():
    rule = RuleSpec(id=6, name="loop", kind=evaluate.RESTART_LOOP, count=3, minutes=1)
    e = Evaluator([rule], hold=1, group=1)
    for i in range(3):
        run(e, "h", [ev("start", "a"), ev("die", "a", exitCode="1")], 10 + i * 5)
    [m] = e.tick(40) + e.tick(45)
    assert m.state == "fired" and "3 exits" in m.text
    [r] = e.tick(200) + e.tick(205)
    assert r.state == "recovered"


def test_the_lease_is_held_by_one_and_taken_over_when_it_expires(db):
    a, b = Lease("job", "a", 0.5), Lease("job", "b", 0.5)
    assert a.acquire() and not b.acquire()
    assert a.acquire(), "the holder renews"
    import time

    time.sleep(0.7)
    assert b.acquire() and not a.acquire()
    b.release()
    assert a.acquire()


def test_the_signature_is_hmac_sha256_of_the_body():
    # openssl dgst -sha256 -hmac k <<< '{}' (without the newline) says the same
    assert sign("k", b"{}") == (
        "sha256=add853b103fbcc936a194f9eb15e29c4ff08af6e47d5d1bca4f20218e31e4fff"
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://example.com/x", "starts with http:// or https://"),
        ("file:///etc/passwd", "starts with http:// or https://"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[fe80::1]:8080/", "link-local"),
        ("http://127.0.0.1:8000/hook", "the dashboard itself or an engine"),
        ("http://10.0.0.5:2376/", "the dashboard itself or an engine"),
        ("http://user:pw@example.com/", "no user or password"),
        ("http://exa mple.com/", "one line without spaces"),
    ],
)
def test_bad_webhook_urls_are_refused_with_their_reason(url, says):
    with pytest.raises(InvalidArgument, match=says):
        check_webhook_url(url, [("127.0.0.1", 8000), ("10.0.0.5", 2376)])


@pytest.mark.parametrize("url", ["file:///tmp/x", "dbus://", "syslog://", "windows://"])
def test_local_apprise_schemes_are_not_offered(url):
    with pytest.raises(InvalidArgument, match="not offered"):
        check_apprise_url(url)


def test_a_network_apprise_url_is_taken():
    assert check_apprise_url("ntfys://ntfy.example.com/topic") == "ntfys://ntfy.example.com/topic"


def stats(e: Evaluator, at: float, **cpu: float) -> list[Any]:
    sample = {
        cid: {"cpu": v, "mem": 30, "limit": 100, "name": f"c-{cid}", "labels": {"t": "1"}}
        for cid, v in cpu.items()
    }
    return e.feed("h", {"liststats": sample}, now=at)


def test_cpu_above_its_threshold_over_the_window_fires_and_recovers():
    rule = RuleSpec(id=7, name="hot", kind=evaluate.CPU, percent=80, seconds=20, label="t")
    e = Evaluator([rule], hold=1, group=1)
    for t in range(0, 15, 5):
        stats(e, 100 + t, a=95.0, b=10.0)
    assert e.tick(116) == [], "15 s of samples do not yet cover the 20 s window"
    stats(e, 120, a=95.0, b=10.0)
    [m] = e.tick(122)
    assert m.state == "fired" and [t.id for t in m.targets] == ["a"]
    assert "CPU 95% over 20 s (above 80%)" in m.text
    out = []
    for t in range(125, 150, 5):
        out += stats(e, t, a=5.0, b=10.0)
    [r] = out + e.tick(152)
    assert r.state == "recovered" and "back under its CPU threshold" in r.text


def test_memory_is_a_share_of_the_limit_and_only_covered_containers_are_sampled():
    rule = RuleSpec(id=8, name="mem", kind=evaluate.MEMORY, percent=25, seconds=5, label="t")
    e = Evaluator([rule], hold=1, group=1)
    out = []
    for t in (0, 5, 10):
        out += stats(e, t, a=1.0)
    [m] = out + e.tick(12)
    assert "memory 30% over 5 s" in m.text
    assert e.needs_stats("h", {"Names": ["/x"], "Labels": {"t": "1"}})
    assert not e.needs_stats("h", {"Names": ["/x"], "Labels": {}})
    assert not Evaluator([CRASH]).needs_stats("h", {"Names": ["/x"], "Labels": {"t": "1"}})


def test_disk_use_above_its_size_fires_once_and_recovers():
    rule = RuleSpec(id=9, name="disk", kind=evaluate.DISK, megabytes=1000)
    e = Evaluator([rule], hold=1, group=1)
    big = {"images": 900_000_000, "containers": 50_000_000, "volumes": 300_000_000}
    out = e.feed("h", {"disk": big}, now=1) + e.feed("h", {"disk": big}, now=5)
    [m] = out + e.tick(7)
    assert m.text == (
        "[h] the engine uses more disk than its threshold: 1.2 GB (images 900.0 MB, "
        "containers 50.0 MB, volumes 300.0 MB), above 1.0 GB (rule disk)"
    )
    [r] = e.feed("h", {"disk": {"images": 10}}, now=10) + e.tick(12)
    assert r.state == "recovered"


def swarm(e: Evaluator, at: float, nodes=(), services=()) -> list[Any]:
    return e.feed("h", {"swarm": {"nodes": list(nodes), "services": list(services)}}, now=at)


def node(state: str = "ready", availability: str = "active") -> dict[str, Any]:
    return {
        "id": "n2",
        "name": "node-2",
        "labels": {},
        "state": state,
        "availability": availability,
    }


def service(running: int, desired: int, update: str = "") -> dict[str, Any]:
    return {
        "id": "s1",
        "name": "web",
        "labels": {},
        "running": running,
        "desired": desired,
        "update": update,
    }


def test_a_swarm_node_down_or_drained_fires_and_recovers():
    rule = RuleSpec(id=10, name="nodes", kind=evaluate.SWARM_NODE)
    e = Evaluator([rule], hold=1, group=1)
    out = swarm(e, 1, [node()]) + swarm(e, 2, [node("down")]) + swarm(e, 5, [node("down")])
    [m] = out
    assert m.text == "[h] swarm node node-2 is down or drained: down, active (rule nodes)"
    [r] = swarm(e, 6, [node()]) + e.tick(8)
    assert r.state == "recovered"
    [d] = swarm(e, 9, [node(availability="drain")]) + e.tick(11)
    assert d.state == "fired" and "drain" in d.text


def test_a_service_short_of_replicas_fires_after_its_seconds_and_an_update_paused_fires():
    short = RuleSpec(id=11, name="short", kind=evaluate.SERVICE_REPLICAS, seconds=10)
    upd = RuleSpec(id=12, name="upd", kind=evaluate.SERVICE_UPDATE)
    e = Evaluator([short, upd], hold=1, group=1)
    out = swarm(e, 0, services=[service(1, 2)]) + swarm(e, 5, services=[service(1, 2)])
    assert out + e.tick(8) == [], "short for 8 s of the 10"
    out = swarm(e, 10, services=[service(1, 2)]) + e.tick(12)
    [m] = out
    assert m.text.startswith("[h] service web is short of its replicas: 1/2 running for 10 s")
    out = swarm(e, 13, services=[service(2, 2, "paused")]) + e.tick(15)
    by_rule = {m.rule.name: m for m in out}
    assert by_rule["short"].state == "recovered" and len(out) == 2
    assert by_rule["upd"].state == "fired" and "update paused" in by_rule["upd"].text


@pytest.mark.django_db
def test_a_process_taking_over_does_not_announce_an_engine_already_down_again():
    """The last holder fired "unreachable" and died; the new one starts from the database's
    open conditions: the engine still down is no news, its recovery is."""
    from dashboard.alerts.watch import unreachable_conditions
    from dashboard.models import Alert, AlertRule

    rule = AlertRule.objects.create(name="down", kind=evaluate.UNREACHABLE, seconds=5)
    Alert.objects.create(
        rule=rule, rule_name="down", kind=rule.kind, host="h", state="fired", text="t", open=True
    )
    other = AlertRule.objects.create(name="sick", kind=evaluate.UNHEALTHY)
    Alert.objects.create(
        rule=other, rule_name="sick", kind=other.kind, host="h", state="fired", text="t", open=True
    )
    assert unreachable_conditions() == {(rule.pk, "h", "engine")}
    spec = RuleSpec(id=rule.pk, name="down", kind=evaluate.UNREACHABLE, seconds=5)
    e = Evaluator([spec], hold=1, group=1)
    e.open |= unreachable_conditions()
    e.feed("h", {"status": {"state": "reconnecting", "text": "Reconnecting: refused"}}, now=100)
    assert e.tick(110) + e.tick(120) == []
    e.feed("h", {"status": {"state": "live", "text": "Live"}}, now=121)
    [r] = e.tick(123)
    assert r.state == "recovered"
    # Without the seed the same input fires again: the test tells the two apart.
    fresh = Evaluator([spec], hold=1, group=1)
    fresh.feed("h", {"status": {"state": "reconnecting", "text": "refused"}}, now=100)
    assert [m.state for m in fresh.tick(110) + fresh.tick(120)] == ["fired"]
