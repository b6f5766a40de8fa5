"""Swarm pieces that need no engine: address, name, duration and constraint checks, the
service spec the form builds, `details=1` log prefixes, and how payloads in the engine's
shapes are summarised (health, failing tasks, masked tokens)."""

from __future__ import annotations

import pytest

from dashboard import swarm_presenters as sp
from engine_client import InvalidArgument
from engine_client.service_spec import (
    FileRef,
    ServiceMount,
    ServicePort,
    ServiceSpec,
    format_duration,
    parse_duration,
)
from engine_client.swarm import split_details
from engine_client.validators import check_addr, check_secret_name, check_service_name


@pytest.mark.parametrize(
    "addr", ["10.0.0.1", "10.0.0.1:2377", "[fe80::1]:2377", "eth0", "eth0:4567"]
)
def test_addresses_the_engine_takes(addr):
    assert check_addr(addr) == addr


@pytest.mark.parametrize("addr", ["", "10.0.0.1:99999", "a b", "10.0.0.1:x", "-eth0", "[fe80::1"])
def test_addresses_refused(addr):
    with pytest.raises(InvalidArgument):
        check_addr(addr)


def test_names():
    assert check_service_name("web_1-a") == "web_1-a"
    for bad in ("-web", "web-", "a" * 64, "we b", "web.1"):
        with pytest.raises(InvalidArgument):
            check_service_name(bad)
    assert check_secret_name("db.password-1") == "db.password-1"
    for bad in (".x", "x.", "a" * 65, "a/b"):
        with pytest.raises(InvalidArgument):
            check_secret_name(bad)


@pytest.mark.parametrize(
    "text, ns",
    [
        ("0", 0),
        ("5s", 5 * 10**9),
        ("1m30s", 90 * 10**9),
        ("500ms", 5 * 10**8),
        ("2h", 7200 * 10**9),
    ],
)
def test_durations(text, ns):
    assert parse_duration(text) == ns
    assert parse_duration(format_duration(ns)) == ns


@pytest.mark.parametrize("text", ["", "5", "s", "5 s", "-1s", "1d"])
def test_bad_durations(text):
    with pytest.raises(InvalidArgument):
        parse_duration(text)


def test_the_service_spec_the_form_builds():
    spec = ServiceSpec(
        name="web",
        image="lab/busybox:latest",
        replicas=3,
        args=["sleep", "300"],
        env=["A=1"],
        ports=[ServicePort(80, 8080, "tcp", "host")],
        mounts=[ServiceMount("volume", "/data", "web-data", read_only=True)],
        networks=["backend"],
        constraints=["node.labels.zone==a", "node.role!=manager"],
        spread=["node.labels.rack"],
        limit_cpus=5 * 10**8,
        limit_memory=64 * 2**20,
        secrets=[FileRef("sid", "db.pw")],
        configs=[FileRef("cid", "app.conf", "/etc/app.conf")],
        labels={"team": "x"},
        stop_grace=10**9,
    ).body()
    task = spec["TaskTemplate"]
    assert spec["Mode"] == {"Replicated": {"Replicas": 3}}
    assert task["ContainerSpec"]["Args"] == ["sleep", "300"]
    assert task["ContainerSpec"]["Mounts"] == [
        {"Type": "volume", "Target": "/data", "Source": "web-data", "ReadOnly": True}
    ]
    assert task["ContainerSpec"]["Secrets"][0]["File"]["Name"] == "db.pw"
    assert task["ContainerSpec"]["Configs"][0] == {
        "ConfigID": "cid",
        "ConfigName": "app.conf",
        "File": {"Name": "/etc/app.conf", "UID": "0", "GID": "0", "Mode": 0o444},
    }
    assert task["Networks"] == [{"Target": "backend"}] and "Networks" not in spec
    assert task["Placement"]["Preferences"] == [
        {"Spread": {"SpreadDescriptor": "node.labels.rack"}}
    ]
    assert task["Resources"]["Limits"] == {"NanoCPUs": 5 * 10**8, "MemoryBytes": 64 * 2**20}
    assert spec["EndpointSpec"]["Ports"] == [
        {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "host"}
    ]
    assert ServiceSpec("g", "img", mode="global").body()["Mode"] == {"Global": {}}


@pytest.mark.parametrize(
    "change, says",
    [
        ({"constraints": ["zone=a"]}, "constraint"),
        ({"spread": ["rack"]}, "preference"),
        ({"mounts": [ServiceMount("bind", "/x", "relative")]}, "absolute path on each node"),
        ({"ports": [ServicePort(0)]}, "1 to 65535"),
        ({"name": "bad name"}, "service name"),
    ],
)
def test_bad_service_settings_are_refused(change, says):
    with pytest.raises(InvalidArgument, match=says):
        ServiceSpec(**{"name": "web", "image": "img", **change}).body()


def test_details_prefix_of_service_log_lines():
    details, text = split_details(
        "com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,"
        "com.docker.swarm.task.id=t1 hi there"
    )
    assert details["com.docker.swarm.task.id"] == "t1" and text == "hi there"
    assert split_details("plain line") == ({}, "plain line")


def test_tokens_are_masked():
    assert sp.mask_token("SWMTKN-1-abc-def") == "SWMTKN-1-••••••••"
    assert sp.mask_token("") == ""


def _task(tid, slot, state, desired, ts, err="", exit_code=None):
    status = {"State": state, "Timestamp": ts, "Err": err, "Message": state}
    if exit_code is not None:
        status["ContainerStatus"] = {"ExitCode": exit_code}
    return {
        "ID": tid,
        "ServiceID": "s1",
        "Slot": slot,
        "NodeID": "n1",
        "Status": status,
        "DesiredState": desired,
    }


def test_the_overview_finds_crash_loops_and_unschedulable_tasks():
    nodes = [
        {
            "ID": "n1",
            "Spec": {"Role": "manager", "Availability": "active"},
            "Description": {"Hostname": "h1"},
            "Status": {"State": "ready"},
        }
    ]
    services = [
        {
            "ID": "s1",
            "Spec": {"Name": "web", "Mode": {"Replicated": {"Replicas": 3}}},
            "ServiceStatus": {"RunningTasks": 1, "DesiredTasks": 3},
        }
    ]
    tasks = [
        _task("a", 1, "running", "running", "2024-01-01T00:00:05Z"),
        # slot 2: failed, restarting: a crash loop
        _task("b1", 2, "failed", "shutdown", "2024-01-01T00:00:01Z", "non-zero exit (3)", 3),
        _task("b2", 2, "ready", "running", "2024-01-01T00:00:06Z"),
        # slot 3: cannot be placed
        _task("c", 3, "pending", "running", "2024-01-01T00:00:02Z", "no suitable node"),
        # a task of a service that is gone
        {**_task("d", 1, "failed", "shutdown", "2024-01-01T00:00:03Z"), "ServiceID": "gone"},
    ]
    o = sp.overview(nodes, services, tasks)
    failing = {(t["name"], t["state"], t["error"], t["exit_code"]) for t in o["failing"]}
    assert failing == {
        ("web.2", "failed", "non-zero exit (3)", 3),
        ("web.3", "pending", "no suitable node", None),
    }
    assert o["services_by_health"] == [("degraded", 1)] and o["converging"]
    assert o["nodes_by_state"] == [("ready", 1)]


@pytest.mark.parametrize(
    "status, update, health",
    [
        ({"RunningTasks": 2, "DesiredTasks": 2}, None, "healthy"),
        ({"RunningTasks": 0, "DesiredTasks": 2}, None, "down"),
        ({"RunningTasks": 0, "DesiredTasks": 0}, None, "idle"),
        ({"RunningTasks": 2, "DesiredTasks": 2}, {"State": "updating"}, "updating"),
        ({"RunningTasks": 1, "DesiredTasks": 2}, {"State": "paused"}, "paused"),
        (None, None, "unknown"),
    ],
)
def test_service_health(status, update, health):
    s = {"ID": "s", "Spec": {"Name": "x", "Mode": {"Replicated": {"Replicas": 2}}}}
    if status is not None:
        s["ServiceStatus"] = status
    if update:
        s["UpdateStatus"] = update
    assert sp.service_row(s)["health"] == health
