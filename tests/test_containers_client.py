"""engine_client: the container calls and ContainerSpec, against the lab engine (and a few
pure units)."""

from __future__ import annotations

import shlex
import time

import pytest

from engine_client import Conflict, InvalidArgument
from engine_client.container_spec import (
    ContainerSpec,
    MountSpec,
    PortSpec,
    format_memory,
    parse_cpus,
    parse_memory,
)

from .support.lab import LAB_IMAGE, RUN_ID, TEST_LABEL


@pytest.mark.engine
def test_pause_and_unpause(engine, make_container):
    c = make_container()
    engine.containers.pause(c["Id"])
    assert engine.containers.inspect(c["Id"])["State"]["Status"] == "paused"
    engine.containers.unpause(c["Id"])
    # Docker 20.10 answers the unpause before its state says so (containerd's event updates
    # it): seen in full runs on a loaded machine, so the state is awaited, briefly.
    deadline = time.monotonic() + 5
    while engine.containers.inspect(c["Id"])["State"]["Status"] == "paused":
        assert time.monotonic() < deadline, "still paused 5 s after the unpause"
        time.sleep(0.05)
    assert engine.containers.inspect(c["Id"])["State"]["Status"] == "running"


@pytest.mark.engine
def test_kill_sends_the_signal_asked_for(engine, make_container):
    c = make_container(["sh", "-c", "trap 'exit 42' USR1; while :; do sleep 0.1; done"])
    engine.containers.kill(c["Id"], "SIGUSR1")
    assert engine.containers.wait(c["Id"], timeout=10)["StatusCode"] == 42
    with pytest.raises(Conflict):
        engine.containers.kill(c["Id"])
    with pytest.raises(InvalidArgument):
        engine.containers.kill(c["Id"], "KILL; rm")


@pytest.mark.engine
def test_rename_and_a_taken_name(engine, make_container):
    a, b = make_container(start=False), make_container(start=False)
    new = f"dt-{RUN_ID}-renamed"
    engine.containers.rename(a["Id"], new)
    assert engine.containers.inspect(a["Id"])["Name"] == f"/{new}"
    with pytest.raises(Conflict):
        engine.containers.rename(b["Id"], new)


@pytest.mark.engine
def test_top_lists_the_processes(engine, make_container):
    c = make_container(["sleep", "321"])
    top = engine.containers.top(c["Id"])
    assert "PID" in top["Titles"]
    assert any("sleep 321" in " ".join(p) for p in top["Processes"])
    with pytest.raises(Conflict):
        engine.containers.top(make_container(start=False)["Id"])


@pytest.mark.engine
def test_a_spec_survives_create_and_inspect(engine, make_container):
    # A port published on a random host port: Podman picks the port at create and inspect
    # shows it as if it had been chosen, so only Docker gives it back as it was asked for.
    random_port = [PortSpec(53, "udp")] if engine.lab_kind == "docker" else []
    spec = ContainerSpec(
        image=engine.lab_image_name,
        name=f"dt-{RUN_ID}-spec",
        cmd=["sleep", "300"],
        env=["A=1", "B=two words"],
        ports=[*random_port, PortSpec(80, "tcp", "127.0.0.1", 18080)],
        mounts=[
            MountSpec("bind", "/tmp", "/host-tmp", True),
            MountSpec("volume", f"v{RUN_ID}", "/data"),
        ],
        restart="on-failure",
        restart_max=3,
        labels={"team": "blue", TEST_LABEL: RUN_ID},
        workdir="/tmp",
        user="nobody",
        hostname="box",
        memory=parse_memory("64m"),
        nano_cpus=parse_cpus("0.5"),
        tty=True,
        interactive=True,
        cap_add=["NET_ADMIN"],
        cap_drop=["MKNOD"],
    )
    created = engine.containers.create(spec.create_body(), name=spec.name)
    try:
        back = ContainerSpec.from_inspect(
            engine.containers.inspect(created["Id"]), engine.images.inspect(LAB_IMAGE)["Config"]
        )
        if engine.lab_kind == "podman":
            back.env.sort()  # Podman keeps a container's variables in no particular order
        assert back == spec
    finally:
        engine.containers.remove(created["Id"], force=True, volumes=True)
        engine.request("DELETE", "/volumes/{}", f"v{RUN_ID}")


def test_sizes_and_cpus_read_as_docker_reads_them():
    assert parse_memory("512m") == 512 * 1024**2
    assert parse_memory("1.5g") == 1536 * 1024**2
    assert parse_memory("64MiB") == 64 * 1024**2
    assert parse_memory("1000") == 1000
    with pytest.raises(InvalidArgument):
        parse_memory("lots")
    assert format_memory(512 * 1024**2) == "512m"
    assert parse_cpus("1.5") == 1_500_000_000
    with pytest.raises(InvalidArgument):
        parse_cpus("0.0000000001")


def test_the_docker_run_command_quotes_every_word():
    spec = ContainerSpec(
        image="repo/app:1.0",
        name="web",
        entrypoint=["/bin/sh", "-c"],
        cmd=["echo 'hi' $HOME; rm -rf /"],
        env=["GREETING=hello world", "API_TOKEN=s3cret"],
        ports=[PortSpec(80, "tcp", "::1", 8080), PortSpec(53, "udp", "", 5353), PortSpec(9000)],
        mounts=[MountSpec("bind", "/srv/a,b", "/data", True)],
        labels={"note": "it's"},
        restart="on-failure",
        restart_max=2,
        memory=parse_memory("1g"),
        nano_cpus=parse_cpus("0.25"),
        tty=True,
    )
    text = spec.docker_run_text(secret_keys={"API_TOKEN"})
    assert "s3cret" not in text
    words = shlex.split(text.replace("\\\n", " "))
    assert words[:3] == ["docker", "run", "-d"]
    assert words[words.index("--entrypoint") + 1] == "/bin/sh"
    # The rest of the entrypoint and the command follow the image, word for word.
    assert words[-3:] == ["repo/app:1.0", "-c", "echo 'hi' $HOME; rm -rf /"]
    assert words[words.index("GREETING=hello world") - 1 :][:2] == ["-e", "GREETING=hello world"]
    assert "API_TOKEN" in words
    for arg in (
        "[::1]:8080:80/tcp",
        "5353:53/udp",
        "9000/tcp",
        "note=it's",
        "on-failure:2",
        "1g",
        "0.25",
        '"source=/srv/a,b"',
    ):
        assert any(arg in w for w in words), arg
