"""The Docker/Podman differences the engine client smooths over, on the engines' own words
(payloads copied from Docker 20.10 and Podman 4.3 answers)."""

from __future__ import annotations

import struct
from typing import Any

from engine_client.flavor import (
    DOCKER,
    PODMAN,
    Flavor,
    PodmanEvents,
    detect_from_ping,
    error_status,
    familiar,
    normalize_event,
    podman_event_filter,
    podman_inspect,
    split_top,
)
from engine_client.streams import LogLine, LogResume, LogStream

PODMAN_ENGINE = Flavor(PODMAN, "Podman", "4.3.1")
DOCKER_ENGINE = Flavor(DOCKER, "Docker Engine", "20.10.24")


def test_the_engine_is_told_from_ping_headers():
    podman = detect_from_ping({"Libpod-Api-Version": "4.3.1", "Server": "Libpod/4.3.1 (linux)"})
    docker = detect_from_ping({"Server": "Docker/20.10.24+dfsg1 (linux)", "Api-Version": "1.41"})
    assert (podman.kind, podman.version) == (PODMAN, "4.3.1") and not podman.has("swarm")
    assert (docker.kind, docker.version) == (DOCKER, "20.10.24+dfsg1") and docker.has("swarm")
    assert detect_from_ping({"Api-Version": "1.41"}).kind == DOCKER, "not Podman: Docker"


def ev(action: str, kind: str = "container") -> dict[str, Any]:
    return {"Type": kind, "Action": action, "status": action, "Actor": {"ID": "c1"}}


def test_podman_events_are_named_as_docker_names_them():
    names = [
        (normalize_event(PODMAN_ENGINE, ev(a, k)) or {}).get("Action")
        for a, k in [
            ("create", "container"),
            ("init", "container"),
            ("start", "container"),
            ("die", "container"),
            ("cleanup", "container"),
            ("remove", "container"),
            ("remove", "image"),
            ("remove", "volume"),
        ]
    ]
    assert names == ["create", None, "start", "die", "stop", "destroy", "delete", "destroy"]
    renamed = normalize_event(PODMAN_ENGINE, ev("cleanup"))
    assert renamed["status"] == "stop" and renamed["scope"] == "local"
    assert normalize_event(DOCKER_ENGINE, ev("cleanup")) == ev("cleanup"), "Docker's as sent"
    assert podman_event_filter(["start", "destroy", "stop"]) == ["start", "remove", "cleanup"]


def test_a_stream_tells_one_stop_per_stop():
    stream = PodmanEvents(PODMAN_ENGINE)
    sent = [ev(a) for a in ("die", "cleanup", "cleanup", "init", "start", "die", "cleanup")]
    assert [e["Action"] for e in stream(sent)] == ["die", "stop", "start", "die", "stop"]
    # Podman sometimes cleans up before it says the container died: Docker's order stands.
    early = [ev(a) for a in ("start", "cleanup", "die", "cleanup", "remove")]
    assert [e["Action"] for e in stream(early)] == ["start", "die", "stop", "destroy"]


def test_podman_refusals_get_dockers_status():
    improper = "cannot remove container x as it is running - ...: container state improper"
    assert error_status(500, improper) == 409
    assert error_status(500, "volume v is being used by the following container(s)") == 409
    assert (
        error_status(
            400, "invalid repository name (00ff), cannot specify 64-byte hexadecimal strings"
        )
        == 404
    )
    assert error_status(500, "something else broke") == 500


def test_names_are_shown_as_docker_shows_them():
    assert familiar("docker.io/library/busybox:1") == "busybox:1"
    assert familiar("docker.io/team/app:v2") == "team/app:v2"
    assert familiar("localhost/lab/busybox:latest") == "localhost/lab/busybox:latest"
    assert familiar("127.0.0.1:5000/x:1") == "127.0.0.1:5000/x:1"


def test_a_top_in_one_column_is_split_into_columns():
    top = {"Titles": ["PID   USER     COMMAND"], "Processes": [["1 root     sleep 100 x"]]}
    assert split_top(top) == {
        "Titles": ["PID", "USER", "COMMAND"],
        "Processes": [["1", "root", "sleep 100 x"]],
    }
    columns = {"Titles": ["PID", "CMD"], "Processes": [["1", "sleep"]]}
    assert split_top(columns) == columns


def test_a_podman_inspect_loses_what_podman_added():
    body = {
        "Config": {
            "Hostname": "hh",
            "Image": "docker.io/library/busybox:latest",
            "Entrypoint": [],
            "Env": ["PATH=/bin", "TERM=xterm", "container=podman", "A=1", "HOSTNAME=hh"],
        },
        "HostConfig": {"NetworkMode": "bridge", "Ulimits": [{"Name": "RLIMIT_NOFILE"}]},
        "NetworkSettings": {"Networks": {"podman": {"NetworkID": "podman"}}},
    }
    out = podman_inspect(body)
    assert out["Config"]["Env"] == ["PATH=/bin", "A=1"]
    assert out["Config"]["Image"] == "busybox:latest" and out["Config"]["Entrypoint"] is None
    assert out["HostConfig"]["NetworkMode"] == "default"
    assert out["HostConfig"]["Ulimits"] == [{"Name": "nofile"}]
    assert list(out["NetworkSettings"]["Networks"]) == ["bridge"]


class _FramesOnly(LogStream):
    """A LogStream over given byte blocks (no engine): the parser's side only."""

    def __init__(self, blocks: list[bytes]) -> None:
        self.tty, self.timestamps, self._blocks = False, True, blocks

    def chunks(self):  # type: ignore[override]
        yield from self._blocks


def frame(kind: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", kind, len(payload)) + payload


def test_a_long_line_stored_in_parts_is_one_line_with_its_first_timestamp():
    # As Podman sends a line its k8s-file log split: each part with a timestamp of its own.
    blocks = [
        frame(1, b"2026-11-27T16:05:12Z 1859\n"),
        frame(1, b"2026-11-27T16:05:12Z 18"),
        frame(2, b"2026-11-27T16:05:12Z oops\n"),
        frame(1, b"2026-11-27T16:05:13Z 60\n"),
    ]
    lines = list(_FramesOnly(blocks).lines())
    assert [(x.stream, x.text, x.timestamp) for x in lines] == [
        ("stdout", "1859", "2026-11-27T16:05:12Z"),
        ("stderr", "oops", "2026-11-27T16:05:12Z"),
        ("stdout", "1860", "2026-11-27T16:05:12Z"),
    ]


def test_a_resume_drops_exactly_the_lines_already_seen_at_a_whole_second():
    resume = LogResume()
    first = [LogLine("stdout", str(i), f"2026-01-01T00:00:0{i // 3}Z") for i in range(7)]
    assert resume.feed(first) == first
    assert resume.since() == "1767225602.000000000"
    # Read again from that second: the line seen there comes again, then new ones.
    again = [LogLine("stdout", str(i), f"2026-01-01T00:00:0{i // 3}Z") for i in range(6, 9)]
    assert [x.text for x in resume.feed(again)] == ["7", "8"]
