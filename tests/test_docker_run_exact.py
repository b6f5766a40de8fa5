"""The container page's `docker run` command is exact: a container made through the API with
many settings, and the one the page's command makes with the real docker CLI (under another
name), have the same inspect, field by field, but for the fields in LEFT_OUT.

The command is for the docker CLI 20.10 and later: it runs here with Debian 12's CLI 20.10
(/usr/bin/docker) and with the lab's CLI 26.1.5 (Debian 13's docker-cli, unpacked by
`lab/engine-lab deps` into $LAB_TRIXIE_DIR/root/usr/bin/docker), against the lab's Docker
20.10 and Docker 26 engines. Podman is left out: the docker CLI's run through Podman's
compatible API gets Podman's defaults for what the CLI sends empty, which is Podman's story,
not the command's.
"""

from __future__ import annotations

import contextlib
import fnmatch
import html
import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine_client import EngineClient, EngineError
from engine_client.container_spec import NOT_IN_DOCKER_RUN
from tests.support.lab import LAB_IMAGE, RUN_ID, TEST_LABEL, lacks, require

TRIXIE_DIR = Path(os.environ.get("LAB_TRIXIE_DIR") or "/var/lib/engine-lab/trixie")
CLIS = {
    "cli20": Path("/usr/bin/docker"),  # Debian 12's docker.io CLI, 20.10
    "cli26": TRIXIE_DIR / "root/usr/bin/docker",  # the lab's, 26.1.5 (Debian 13)
}

# Fields of the inspect the comparison leaves out (glob patterns over dotted paths), and why:
# none of them is a setting a command could give.
LEFT_OUT = {
    "Id": "the engine's id for each container",
    "Name": "the new container runs under another name",
    "Created": "a timestamp",
    "State.*": "running state, pid, start and finish times",
    "Path": "Path and Args are Entrypoint and Cmd again (those are compared)",
    "Args*": "as Path",
    "ResolvConfPath": "an engine-chosen path (by container id)",
    "HostnamePath": "an engine-chosen path",
    "HostsPath": "an engine-chosen path",
    "LogPath": "an engine-chosen path",
    "GraphDriver.*": "the storage driver's paths for this container",
    "Mounts.*.Source": "an anonymous volume's engine-chosen path (named ones: compared by Name)",
    "Mounts.*.Name": "an anonymous volume's engine-chosen name",
    "NetworkSettings.SandboxID": "engine-chosen",
    "NetworkSettings.SandboxKey": "an engine-chosen path",
    "NetworkSettings.Ports*": "host ports the engine picked for ports published without one",
    "NetworkSettings.Networks.*.NetworkID": "compared through the network's name, the key",
    "NetworkSettings.Networks.*.EndpointID": "engine-chosen",
    "NetworkSettings.Networks.*.IPAddress": "an engine-chosen address (a fixed one is in "
    "IPAMConfig, compared)",
    "NetworkSettings.Networks.*.MacAddress": "an engine-chosen address",
    "NetworkSettings.Networks.*.DNSNames*": "Docker 26: the names it answers to, the id among them",
    "NetworkSettings.Networks.*.Aliases*": "compared without the short id the engine adds",
    "NetworkSettings.*IPAddress": "engine-chosen addresses",
    "NetworkSettings.*IPv6Address": "engine-chosen addresses",
    "NetworkSettings.MacAddress": "an engine-chosen address",
    "NetworkSettings.EndpointID": "engine-chosen",
    "Config.Hostname": "a default hostname is the container's short id (a given one is "
    "compared: see HOSTNAME below)",
    "RestartCount": "state",
    "ExecIDs": "state",
    "SizeRw": "state",
    "SizeRootFs": "state",
    "HostConfig.ConsoleSize*": "the terminal size of the client that made the container",
    "MountLabel": "engine-chosen (SELinux)",
    "ProcessLabel": "engine-chosen (SELinux)",
}
# What the test compares where the raw field says something engine-chosen beside the setting.
NORMALISED = {
    "NetworkSettings.Networks.*.Aliases": "without the short id of the container",
    "Config.Env": "as a set: the engine merges the image's variables in its own order",
    "HostConfig.Links": "a link names the container itself (/other:/this/alias): compared "
    "with this container's name taken out",
    "HostConfig.RestartPolicy.Name": "'' and 'no' are one policy (never): Docker 20.10 keeps "
    "the API body's '', the CLI sends 'no'",
    "*": "null, an empty list and an empty map are one (no value): the CLI sends empty lists "
    "where the API body sends none",
}


def left_out(path: str) -> bool:
    return any(fnmatch.fnmatchcase(path, pat) for pat in LEFT_OUT)


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{path}.{k}" if path else k))
        return out or {path: {}}
    if isinstance(value, list) and value and any(isinstance(v, dict) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(flatten(v, f"{path}.{i}"))
        return out
    return {path: value}


def comparable(c: dict[str, Any]) -> dict[str, Any]:
    c = {**c, "Config": dict(c.get("Config") or {})}
    c["Config"]["Env"] = sorted(c["Config"].get("Env") or [])
    c["HostConfig"] = dict(c.get("HostConfig") or {})
    policy = dict(c["HostConfig"].get("RestartPolicy") or {})
    policy["Name"] = policy.get("Name") or "no"
    c["HostConfig"]["RestartPolicy"] = policy
    own = c["Name"]
    c["HostConfig"]["Links"] = [
        link.replace(f":{own}/", ":/") for link in c["HostConfig"].get("Links") or []
    ]
    short = c["Id"][:12]
    networks = (c.get("NetworkSettings") or {}).get("Networks") or {}
    for name, endpoint in networks.items():
        aliases = [a for a in (endpoint or {}).get("Aliases") or [] if a != short]
        c.setdefault("_aliases", {})[name] = sorted(aliases)
    # Mounts in the order of their destinations (the engine lists them in map order).
    c["Mounts"] = sorted(c.get("Mounts") or [], key=lambda m: m.get("Destination", ""))
    return {k: v for k, v in flatten(c).items() if not left_out(k) and v not in (None, [], {})}


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    fa, fb = comparable(a), comparable(b)
    return [
        f"{k}: API {fa.get(k, '<absent>')!r} != CLI {fb.get(k, '<absent>')!r}"
        for k in sorted(set(fa) | set(fb))
        if fa.get(k) != fb.get(k)
    ]


@pytest.fixture(params=sorted(CLIS))
def cli(request: pytest.FixtureRequest) -> Path:
    path = CLIS[request.param]
    if not path.is_file():
        require(f"no docker CLI at {path} ({request.param}); lab/engine-lab deps unpacks it")
    return path


@pytest.fixture
def cli_containers(
    engine: EngineClient, make_volume: Callable[..., dict], make_container: Callable[..., dict]
) -> Iterator[list[str]]:
    """Names of the containers the CLI makes; removed afterwards, before the test's volumes
    and containers (they may use them: a volume in use is not removed, and leaks)."""
    names: list[str] = []
    yield names
    for name in names:
        with contextlib.suppress(EngineError):
            engine.containers.remove(name, force=True, volumes=True)


def page_command(client: Any, cid: str) -> list[str]:
    page = client.get(f"/hosts/local/containers/{cid}/", {"tab": "run"}).content.decode()
    text = html.unescape(re.search(r'id="docker-run">(.*?)</pre>', page, re.S).group(1))
    return shlex.split(text.replace("\\\n", " "))


def page_connects(client: Any, cid: str) -> list[list[str]]:
    """The `docker network connect` commands the page shows after the run, one a line."""
    page = client.get(f"/hosts/local/containers/{cid}/", {"tab": "run"}).content.decode()
    found = re.search(r'id="docker-network-connect">(.*?)</pre>', page, re.S)
    lines = html.unescape(found.group(1)).splitlines() if found else []
    return [shlex.split(line) for line in lines]


def run_connect(cli: Path, engine: EngineClient, argv: list[str], name: str) -> None:
    assert argv[:3] == ["docker", "network", "connect"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DOCKER_HOST": engine.lab_url}
    with tempfile.TemporaryDirectory() as config:
        done = subprocess.run(
            [str(cli), *argv[1:-1], name],
            env={**env, "DOCKER_CONFIG": config},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr


def run_cli(
    cli: Path, engine: EngineClient, argv: list[str], name: str
) -> subprocess.CompletedProcess:
    assert argv[:2] == ["docker", "run"]
    i = argv.index("--name")
    argv = [str(cli), *argv[1:i], "--name", name, *argv[i + 2 :]]
    with tempfile.TemporaryDirectory() as config:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DOCKER_HOST": engine.lab_url,
            "DOCKER_CONFIG": config,  # no one's docker config (contexts, auths) gets in
        }
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)


def made_by_api(engine: EngineClient, body: dict[str, Any], name: str) -> dict[str, Any]:
    created = engine.containers.create(body, name=name)
    engine.containers.start(created["Id"])
    return engine.containers.inspect(created["Id"])


def many_settings(volume: str, bind_dir: str) -> dict[str, Any]:
    """A container with most of what `docker run` can set, as the API takes it."""
    return {
        "Image": LAB_IMAGE,
        "Cmd": ["sh", "-c", "echo 'it''s'; sleep 300"],
        "Env": ["GREETING=hello world", "EMPTY="],
        "Labels": {TEST_LABEL: RUN_ID, "note": "a 'quoted' value, with commas"},
        "Hostname": "exact-host",
        "Domainname": "example.org",
        "User": "1000:1000",
        "WorkingDir": "/tmp",
        "Tty": True,
        "OpenStdin": True,
        "StopSignal": "SIGINT",
        "StopTimeout": 7,
        "ExposedPorts": {"8080/tcp": {}, "9000/udp": {}},
        "Volumes": {"/anon": {}},
        "Healthcheck": {
            "Test": ["CMD-SHELL", "test -e /tmp || exit 1"],
            "Interval": 30 * 10**9,
            "Timeout": 5 * 10**9,
            "StartPeriod": 2 * 10**9,
            "Retries": 4,
        },
        "HostConfig": {
            "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]},
            "Binds": [f"{bind_dir}:/bound:ro"],
            "Mounts": [
                {"Type": "volume", "Source": volume, "Target": "/vol", "ReadOnly": False},
                {
                    "Type": "tmpfs",
                    "Target": "/scratch",
                    "TmpfsOptions": {"SizeBytes": 8 * 1024**2, "Mode": 0o755},
                },
            ],
            "Tmpfs": {"/run": "size=16m,mode=1777", "/cache": ""},
            "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
            "ReadonlyRootfs": True,
            "Init": True,
            "ExtraHosts": ["db.internal:10.1.2.3", "cache:10.1.2.4"],
            "Dns": ["10.0.0.53"],
            "DnsSearch": ["example.com"],
            "DnsOptions": ["ndots:2"],
            "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}],
            "CapAdd": ["NET_ADMIN"],
            "CapDrop": ["MKNOD"],
            "SecurityOpt": ["no-new-privileges"],
            "Sysctls": {"net.core.somaxconn": "1024"},
            "Devices": [
                {
                    "PathOnHost": "/dev/null",
                    "PathInContainer": "/dev/nothing",
                    "CgroupPermissions": "rw",
                }
            ],
            "ShmSize": 128 * 1024**2,
            "PidsLimit": 100,
            "Memory": 64 * 1024**2,
            "MemoryReservation": 32 * 1024**2,
            "NanoCpus": 500_000_000,
            "CpuShares": 512,
            "CpusetCpus": "0",
            "OomScoreAdj": 100,
            "GroupAdd": ["10"],
            "IpcMode": "shareable",
            "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "2"}},
        },
    }


def test_the_command_the_page_shows_makes_the_same_container(
    lab_settings, viewer, engine, cli, cli_containers, make_volume
):
    lacks(engine, "podman", "the docker CLI's defaults (see the module docstring)")
    volume = make_volume()["Name"]
    with tempfile.TemporaryDirectory(dir="/tmp") as bind_dir:
        name = f"dt-{RUN_ID}-run-api"
        cli_containers.append(name)
        body = many_settings(volume, bind_dir)
        newer = cli == CLIS["cli26"] and engine.lab_engine == "docker26"
        if newer:
            # API 1.43/1.44 settings that only CLI 25+ can give (the page says so).
            body["Healthcheck"]["StartInterval"] = 10**9
            body["HostConfig"]["Annotations"] = {"org.example.team": "blue"}
        made = made_by_api(engine, body, name)
        argv = page_command(viewer, made["Id"])
        for flag in (
            "--health-cmd",
            "--stop-signal",
            "--stop-timeout",
            "--read-only",
            "--init",
            "--tmpfs",
            "--add-host",
            "--dns",
            "--ulimit",
        ):
            assert flag in argv, f"{flag} missing from {argv}"
        if newer:
            assert "--health-start-interval" in argv and "--annotation" in argv
        copy = f"dt-{RUN_ID}-run-cli"
        cli_containers.append(copy)
        done = run_cli(cli, engine, argv, copy)
        assert done.returncode == 0, done.stderr
        again = engine.containers.inspect(copy)
        assert again["Name"] == f"/{copy}"
        assert differences(made, again) == []


def test_a_network_of_its_own_with_a_fixed_address_and_no_health_check(
    lab_settings, viewer, engine, cli, cli_containers, make_network
):
    lacks(engine, "podman", "the docker CLI's defaults (see the module docstring)")
    net = make_network(subnet="10.231.7.0/24")["Name"]
    side = make_network()["Name"]
    name = f"dt-{RUN_ID}-net-api"
    cli_containers.append(name)
    body = {
        "Image": LAB_IMAGE,
        "Entrypoint": ["sleep"],
        "Cmd": ["300"],
        "Labels": {TEST_LABEL: RUN_ID},
        "Healthcheck": {"Test": ["NONE"]},
        "HostConfig": {
            "NetworkMode": net,
            "Init": False,
            "PublishAllPorts": True,
            "AutoRemove": False,
            "Privileged": False,
        },
        "NetworkingConfig": {
            "EndpointsConfig": {
                net: {"Aliases": ["web", "www"], "IPAMConfig": {"IPv4Address": "10.231.7.20"}}
            }
        },
    }
    made = made_by_api(engine, body, name)
    # A second network: docker run attaches one, the page shows a connect for the other.
    engine.networks.connect(side, made["Id"], aliases=["sidecar"])
    made = engine.containers.inspect(made["Id"])
    argv = page_command(viewer, made["Id"])
    connects = page_connects(viewer, made["Id"])
    assert connects == [["docker", "network", "connect", "--alias", "sidecar", side, name]]
    assert "--no-healthcheck" in argv and "--ip" in argv and "--init=false" in argv
    # The CLI's copy cannot have the same address: the page's command, with the address moved.
    i = argv.index("--ip")
    argv[i + 1] = "10.231.7.21"
    copy = f"dt-{RUN_ID}-net-cli"
    cli_containers.append(copy)
    done = run_cli(cli, engine, argv, copy)
    assert done.returncode == 0, done.stderr
    for line in connects:
        run_connect(cli, engine, line, copy)
    again = engine.containers.inspect(copy)
    assert set(again["NetworkSettings"]["Networks"]) == {net, side}
    diffs = differences(made, again)
    assert diffs == [
        f"NetworkSettings.Networks.{net}.IPAMConfig.IPv4Address: "
        "API '10.231.7.20' != CLI '10.231.7.21'"
    ]


def test_links_namespaces_and_limits(
    lab_settings, viewer, engine, cli, cli_containers, make_container
):
    lacks(engine, "podman", "the docker CLI's defaults (see the module docstring)")
    other = make_container(Volumes={"/shared": {}})["Name"].lstrip("/")
    name = f"dt-{RUN_ID}-ns-api"
    cli_containers.append(name)
    body = {
        "Image": LAB_IMAGE,
        "Cmd": ["sleep", "300"],
        "Labels": {TEST_LABEL: RUN_ID},
        "HostConfig": {
            "Links": [f"{other}:upstream"],
            "VolumesFrom": [f"{other}:ro"],
            "CgroupnsMode": "private",
            "PidMode": "host",
            "UTSMode": "host",
            "IpcMode": "none",
            "DeviceCgroupRules": ["c 1:3 mr"],
            "VolumeDriver": "local",
            "ShmSize": 0,
            "CpuPeriod": 100000,
            "CpuQuota": 50000,
            "Memory": 64 * 1024**2,
            "MemorySwap": 128 * 1024**2 + 4096,
            "OomKillDisable": True,
            "MaskedPaths": [],
            "ReadonlyPaths": [],
            "LogConfig": {"Type": "local", "Config": {"max-size": "5m"}},
            "RestartPolicy": {"Name": "unless-stopped"},
        },
    }
    # CLI 25 and later send --mac-address per network, which needs API 1.44: against Docker
    # 20.10 they refuse it (the page says so), so only the other pairs try a fixed MAC address.
    fixed_mac = not (cli == CLIS["cli26"] and engine.lab_engine == "docker")
    if fixed_mac:
        body["MacAddress"] = "02:42:ac:11:00:99"
    made = made_by_api(engine, body, name)
    argv = page_command(viewer, made["Id"])
    assert ("--mac-address" in argv) == fixed_mac
    if fixed_mac:
        # The same MAC address twice on one network would clash: the copy gets another one.
        argv[argv.index("--mac-address") + 1] = "02:42:ac:11:00:98"
    copy = f"dt-{RUN_ID}-ns-cli"
    cli_containers.append(copy)
    done = run_cli(cli, engine, argv, copy)
    assert done.returncode == 0, done.stderr
    diffs = differences(made, engine.containers.inspect(copy))
    assert [d for d in diffs if "MacAddress" not in d] == []


def test_what_docker_run_cannot_express_is_said_on_the_page(
    lab_settings, viewer, engine, make_container
):
    c = make_container(
        Entrypoint=["sh", "-c"],
        Cmd=["sleep 300"],
        Healthcheck={"Test": ["CMD", "true"], "Interval": 10**10},
    )
    page = viewer.get(f"/hosts/local/containers/{c['Id']}/", {"tab": "run"}).content.decode()
    said = re.search(r'id="docker-run-unexpressed">(.*?)</div>', page, re.S)
    assert said, "the page does not say what the command leaves out"
    assert "Config.Entrypoint" in said.group(1) and "Config.Healthcheck.Test" in said.group(1)
    listed = re.search(r'id="docker-run-cannot">(.*?)</ul>', page, re.S).group(1)
    assert all(html.escape(key) in listed for key in NOT_IN_DOCKER_RUN)


def test_the_nine_settings_the_command_used_to_drop_are_in_it():
    """Without an engine: the settings the issue found missing, read from an inspect."""
    from engine_client.container_spec import ContainerSpec, EngineDefaults

    inspect = {
        "Id": "a" * 64,
        "Name": "/web",
        "Config": {
            "Image": "app:1",
            "Hostname": "a" * 12,
            "Healthcheck": {"Test": ["CMD-SHELL", "curl -f localhost"], "Interval": 15 * 10**9},
            "StopSignal": "SIGQUIT",
            "StopTimeout": 20,
        },
        "HostConfig": {
            "ReadonlyRootfs": True,
            "Init": True,
            "Tmpfs": {"/run": "size=1m"},
            "ExtraHosts": ["db:10.0.0.2"],
            "Dns": ["10.0.0.53"],
            "Ulimits": [{"Name": "nofile", "Soft": 100, "Hard": 200}],
            "LogConfig": {"Type": "json-file", "Config": {}},
            "CgroupnsMode": "host",
            "ShmSize": 64 * 1024**2,
            "IpcMode": "private",
        },
    }
    spec = ContainerSpec.from_inspect(inspect, {}, EngineDefaults(cgroupns="host"))
    text = spec.docker_run_text()
    words = shlex.split(text.replace("\\\n", " "))
    pairs = {(words[i], words[i + 1]) for i in range(len(words) - 1)}
    for pair in (
        ("--health-cmd", "curl -f localhost"),
        ("--health-interval", "15s"),
        ("--stop-signal", "SIGQUIT"),
        ("--stop-timeout", "20"),
        ("--tmpfs", "/run:size=1m"),
        ("--add-host", "db:10.0.0.2"),
        ("--dns", "10.0.0.53"),
        ("--ulimit", "nofile=100:200"),
    ):
        assert pair in pairs, pair
    assert "--read-only" in words and "--init" in words
    # What the engine fills in by itself is not repeated.
    for flag in ("--log-driver", "--cgroupns", "--shm-size", "--ipc", "--hostname"):
        assert flag not in words
    assert spec.unexpressed == []
