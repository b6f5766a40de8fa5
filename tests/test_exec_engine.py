"""Exec sessions on the engine's hijacked connection (engine_client.exec), against the lab."""

from __future__ import annotations

import threading
import time

import pytest

from engine_client import Conflict, NotFound

pytestmark = pytest.mark.engine


class Reader:
    """Collects a session's output in a thread of its own, as the terminal consumer does."""

    def __init__(self, session) -> None:
        self.session = session
        self.data = b""
        self.ended = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            while (parts := self.session.read()) is not None:
                self.data += b"".join(d for _, d in parts)
        finally:
            self.ended.set()

    def wait_for(self, needle: bytes, timeout: float = 10) -> bytes:
        deadline = time.monotonic() + timeout
        while needle not in self.data:
            assert time.monotonic() < deadline, f"{needle!r} never came; got {self.data!r}"
            time.sleep(0.02)
        return self.data


def test_a_tty_session_runs_what_is_typed_and_exit_ends_it(engine, make_container):
    c = make_container()
    session = engine.exec.open(c["Id"], ["sh"], tty=True, size=(24, 80))
    reader = Reader(session)
    session.write(b"echo $((6 * 7))\r")
    reader.wait_for(b"42\r\n")
    session.write(b"exit 5\r")
    assert reader.ended.wait(10), "exit ends the stream"
    assert session.exit_code() == 5


def test_without_a_tty_output_is_demultiplexed_and_stdin_can_end(engine, make_container):
    c = make_container()
    session = engine.exec.open(c["Id"], ["sh", "-c", "cat; echo done >&2"], tty=False)
    session.write(b"first line\nsecond\n")
    session.close_stdin()
    got: dict[str, bytes] = {}
    while (parts := session.read()) is not None:
        for stream, data in parts:
            got[stream] = got.get(stream, b"") + data
    assert got == {"stdout": b"first line\nsecond\n", "stderr": b"done\n"}
    assert session.exit_code() == 0


def test_resize_reaches_the_engine(engine, make_container):
    c = make_container()
    session = engine.exec.open(c["Id"], ["sh"], tty=True, size=(24, 80))
    reader = Reader(session)
    session.write(b"stty size\r")
    reader.wait_for(b"24 80")
    session.resize(40, 132)
    session.write(b"stty size\r")
    reader.wait_for(b"40 132")
    session.end()


def test_ctrl_c_interrupts_the_foreground_command(engine, make_container):
    c = make_container()
    session = engine.exec.open(c["Id"], ["sh"], tty=True)
    reader = Reader(session)
    session.write(b"sleep 60; echo sl''ept\r")
    time.sleep(0.3)
    session.write(b"\x03")
    session.write(b"echo after-$((1 + 1))\r")
    out = reader.wait_for(b"after-2")
    assert b"slept" not in out
    session.end()


def test_ending_a_session_ends_its_command_even_with_a_tty(engine, make_container):
    # The engine leaves a TTY command running when its client goes: end() stops it.
    c = make_container()
    session = engine.exec.open(c["Id"], ["sh"], tty=True)
    session.write(b"trap '' HUP; sleep 120\r")
    time.sleep(0.3)
    assert engine.exec.inspect(session.id)["Running"]
    assert session.end(grace=1.0)
    assert not engine.exec.inspect(session.id)["Running"]
    procs = engine.containers.top(c["Id"])["Processes"]
    assert not any("sleep 120" in " ".join(p) for p in procs)


def test_an_unknown_exec_or_a_stopped_container_is_an_engine_error(engine, make_container):
    with pytest.raises(NotFound):
        engine.exec.start("0" * 64, tty=False)
    c = make_container(start=False)
    with pytest.raises(Conflict):
        engine.exec.create(c["Id"], ["true"])


def test_run_collects_a_commands_output_and_exit_code(engine, make_container):
    c = make_container()
    code, out = engine.exec.run(c["Id"], ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (code, out["stdout"], out["stderr"]) == (3, b"out\n", b"err\n")
