"""One run of an external program (compose, the docker CLI), the one way the dashboard runs one.

An argument list, never a shell; the environment is the caller's, whole (nothing of the
dashboard's own leaks in: the caller builds it from scratch); the program gets a process
group of its own, so a deadline or a `stop()` ends it and everything it started (a plugin,
a credential helper, a child that would hold the output open). Its output, stdout and
stderr in the order written, is read a line at a time as it comes.

What to run and with which environment is the caller's business (`compose.py`,
`stack_cli.py`); this module knows neither. Plain Python; no Django.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

# After SIGTERM (deadline or stop), this long before SIGKILL to what is left of the group.
KILL_GRACE_SECONDS = 2.0


class ExternalRun:
    """Iterate `lines()`, then read `exit_status` (negative: ended by that signal);
    `timed_out` when the deadline ended it, `stopped` when `stop()` did."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: str | Path,
        timeout: float,
        kill_grace: float = KILL_GRACE_SECONDS,
    ) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.cwd = cwd
        self.timeout = timeout
        self.kill_grace = kill_grace
        self.exit_status: int | None = None
        self.timed_out = False
        self.stopped = False
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._drained = False

    def lines(self) -> Iterator[str]:
        """The output a line at a time as it comes; `exit_status` is set when it ends."""
        process = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.cwd,
            # Its own process group: the deadline ends the program and all it started.
            start_new_session=True,
        )
        with self._lock:
            self._process = process
        deadline = threading.Timer(self.timeout, self._expire)
        deadline.daemon = True
        deadline.start()
        try:
            assert process.stdout is not None
            for raw in iter(process.stdout.readline, b""):
                yield raw.decode("utf-8", errors="replace").rstrip("\r\n")
            self._drained = True
            # Still under the deadline: a program that closed its output may go on running.
            self.exit_status = process.wait()
        finally:
            deadline.cancel()
            if process.poll() is None:
                self._end(process)
                self.exit_status = process.wait()
            if process.stdout is not None:
                with contextlib.suppress(OSError):
                    process.stdout.close()

    def run(self) -> list[str]:
        """The whole run; its output lines."""
        return list(self.lines())

    def stop(self) -> None:
        """End the run now (any thread)."""
        self.stopped = True
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            self._end(process)

    def _expire(self) -> None:
        with self._lock:
            process = self._process
        if process is not None:
            # Even when the program itself has ended: a child of it may still hold the
            # output open, and that run did not finish either.
            self.timed_out = process.poll() is None or not self._drained
            self._end(process)

    def _end(self, process: subprocess.Popen[bytes]) -> None:
        """SIGTERM to the whole group, SIGKILL to what is left of it after the grace."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except (ProcessLookupError, PermissionError):
                return
            if sig == signal.SIGTERM:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(self.kill_grace)
        # A signal is taken when its process next runs: on a busy machine the group's last
        # members may still be on their way out. Ended means gone (or a zombie), so wait a
        # little for that.
        gone_by = time.monotonic() + self.kill_grace
        while time.monotonic() < gone_by and _group_running(process.pid):
            time.sleep(0.05)


def _group_running(pgid: int) -> bool:
    """Whether a process of the group is still running (zombies do not count)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rpartition(")")[2].split()
            # fields: state, ppid, pgrp, ...
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False
