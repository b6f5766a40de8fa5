"""Shared helpers for the benchmark scripts in bench/.

Every script: starts the lab engine unless DOCKER_HOST names one (and stops it only if it
started it), starts the dashboard (tests.support.browser.live_dashboard: migrate, ensure_admin and
daphne on a free port with a private data dir), labels every container it makes with
`dashboard.bench=<run id>` and force-removes them at the end, prints progress to stderr and
ONE JSON object as the last line of stdout.

Measuring from outside the dashboard:
- CPU seconds of a process: utime+stime from /proc/<pid>/stat (children excluded).
- The engine: dockerd (found by its pid file or its command line, in any network
  namespace; not found is an error, never 0%), its containerd, and that containerd's shims.
- Connections from the dashboard to the engine: the engine's side of every accepted
  connection on the engine socket shows the socket path and its peer's inode (`ss -xn`, in
  the client's network namespace: an accepted unix socket lives in the connector's netns);
  the dashboard's side is one of its fds (/proc/<pid>/fd -> socket:[inode]). A connection
  is *streaming* when, in any of a dozen looks over ~0.6 s, a thread of the dashboard was
  blocked reading it (/proc/<pid>/task/*/syscall: read/recvfrom/recvmsg/readv on that fd)
  or data the engine sent was waiting in it (Recv-Q), *idle* otherwise (a kept-alive
  pooled connection). `python bench/common.py selftest` checks the counter
  against connections this process opens itself.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine_client import EngineClient, EngineError  # noqa: E402

LAB_SCRIPT = ROOT / "lab" / "engine-lab"
# The lab engine (lab/engine-lab's names: LAB_RUN, LAB_SOCK, LAB_PIDFILE).
_LAB_RUN = os.environ.get("LAB_RUN") or "/run/dl"
LAB_SOCK = os.environ.get("LAB_SOCK") or f"{_LAB_RUN}/n1.sock"
LAB_PIDFILE = os.environ.get("LAB_PIDFILE") or f"{_LAB_RUN}/n1.pid"
# dockerd's socket when it is started without -H (or with systemd's fd://).
DEFAULT_DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
IMAGE = os.environ.get("BENCH_IMAGE") or "lab/busybox:latest"
LABEL = "dashboard.bench"
RUN_ID = uuid.uuid4().hex[:12]
CLK_TCK = os.sysconf("SC_CLK_TCK")
CHROMIUM = os.environ.get("BENCH_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-precise-memory-info",
]
_T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.monotonic() - _T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def git_state() -> dict[str, Any]:
    """The tree measured: HEAD and the files changed outside bench/ (the tree moves)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True
        ).stdout.splitlines()
    except OSError:
        return {}
    dirty = [line[3:] for line in status if not line[3:].startswith("bench/")]
    return {"head": head, "dirty": dirty}


def emit_result(result: dict[str, Any]) -> None:
    """The one JSON line, last on stdout."""
    result.setdefault("git", git_state())
    result.setdefault("loadavg", loadavg())
    sys.stdout.flush()
    print(json.dumps(result, sort_keys=False), flush=True)


def run_bench(
    out: dict[str, Any],
    measure: Any,
    *,
    dashboard_env: dict[str, str] | None = None,
    with_dashboard: bool = True,
) -> int:
    """Start what a bench needs (engine, container tracker, dashboard), run
    `measure(eng, made, dash)`, merge what it returns into `out`, print the result line last
    (also on failure) and return the exit status."""
    try:
        with engine() as eng, containers(eng.client) as made:
            out["docker_host"] = eng.docker_host
            if with_dashboard:
                with dashboard(eng, **(dashboard_env or {})) as dash:
                    out.update(measure(eng, made, dash))
                    out["dashboard_log_problems"] = dash.log_problems()
            else:
                out.update(measure(eng, made, None))
    except BaseException as exc:
        out["error"] = repr(exc)
        out["pass"] = False
        emit_result(out)
        raise
    emit_result(out)
    return 0 if out["pass"] else 1


def watchdog(seconds: float) -> None:
    """Bound the whole run: after `seconds`, raise TimeoutError in the main thread (the
    scripts' finally blocks then remove their containers and stop what they started).
    SIGTERM cleans up the same way."""
    import signal

    def fire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"benchmark watchdog: still running after {seconds:.0f}s")

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)  # clean up as after Ctrl-C

    signal.signal(signal.SIGALRM, fire)
    signal.signal(signal.SIGTERM, terminate)
    signal.alarm(max(1, int(seconds)))


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def rnd(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(x, nd)


# ------------------------------------------------------------------------- processes


def proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of a process, its threads included, children excluded."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): utime is field 14, stime field 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss(pid: int) -> int | None:
    """Resident set size in bytes."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def proc_cmdline(pid: int | str) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def proc_ppid(pid: int | str) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    return int(data[data.rindex(")") + 2 :].split()[1])


def all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def dockerd_hosts(cmd: list[str]) -> list[str]:
    """What a dockerd command line listens on (its -H/--host values; none: the default
    socket), with unix sockets as real paths (`unix:///var/run/x` is `unix:///run/x`)."""
    hosts = []
    for i, arg in enumerate(cmd):
        if arg in ("-H", "--host") and i + 1 < len(cmd):
            hosts.append(cmd[i + 1])
        elif arg.startswith(("--host=", "-H=")):
            hosts.append(arg.split("=", 1)[1])
        elif arg.startswith("-H") and not arg.startswith("-H="):
            hosts.append(arg[2:])
    if not hosts or "fd://" in hosts:
        hosts += [f"unix://{p}" for p in DEFAULT_DOCKER_SOCKETS]
    return [_real_host(h) for h in hosts]


def _real_host(host: str) -> str:
    if host.startswith("unix://"):
        return "unix://" + os.path.realpath(host[len("unix://") :])
    return host


def serves(pid: int, docker_host: str) -> bool:
    """Is `pid` a dockerd that listens on `docker_host`?"""
    cmd = proc_cmdline(pid)
    if not cmd or os.path.basename(cmd[0]) != "dockerd":
        return False
    return _real_host(docker_host) in dockerd_hosts(cmd[1:])


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        vals = [int(v) for v in f.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return float(sum(vals[:8]) - idle), float(sum(vals[:8]))


def loadavg() -> list[float]:
    with open("/proc/loadavg") as f:
        return [float(v) for v in f.read().split()[:3]]


def descendants(pid: int) -> list[int]:
    """All processes below `pid` (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for p in all_pids():
        pp = proc_ppid(p)
        if pp is not None:
            children.setdefault(pp, []).append(p)
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def chromium_renderer_rss() -> int:
    """RSS (bytes) of the largest Chromium renderer process this process started (through
    playwright): the page's renderer, DOM included."""
    sizes = [
        proc_rss(p) or 0
        for p in descendants(os.getpid())
        if "--type=renderer" in " ".join(proc_cmdline(p))
    ]
    return max(sizes, default=0)


class CPUMeter:
    """CPU seconds of a changing set of processes over a window: processes present at both
    ends count their difference, those born inside the window count all they used."""

    def __init__(self, groups: dict[str, Any]) -> None:
        # name -> callable returning the pids of that group now
        self.groups = groups
        self._start: dict[str, dict[int, float]] = {}
        self._t0 = 0.0

    def _read(self) -> dict[str, dict[int, float]]:
        out: dict[str, dict[int, float]] = {}
        for name, pids_of in self.groups.items():
            cpu: dict[int, float] = {}
            for pid in pids_of():
                c = proc_cpu(pid)
                if c is not None:
                    cpu[pid] = c
            out[name] = cpu
        return out

    def start(self) -> None:
        self._start = self._read()
        self._machine0 = machine_cpu()
        self._t0 = time.monotonic()

    def stop(self) -> dict[str, Any]:
        end = self._read()
        machine1 = machine_cpu()
        elapsed = time.monotonic() - self._t0
        busy = machine1[0] - self._machine0[0]
        total = machine1[1] - self._machine0[1]
        result: dict[str, Any] = {
            "seconds": round(elapsed, 2),
            # All processes on the machine (noise from others shows here), % of one core.
            "machine_busy_pct_core": round(100 * busy / total * os.cpu_count(), 1)
            if total
            else None,
        }
        for name, cpu in end.items():
            before = self._start.get(name, {})
            used = sum(c - before.get(pid, 0.0) for pid, c in cpu.items())
            result[name] = {
                "cpu_s": round(used, 3),
                "pct_core": round(100 * used / elapsed, 3) if elapsed else None,
            }
        return result


# ---------------------------------------------------------------------------- engine


@dataclass
class Engine:
    docker_host: str
    client: EngineClient
    socket_path: str | None
    started_lab: bool = False
    _dockerd: int | None = None

    def dockerd_pid(self) -> int | None:
        """The dockerd serving `docker_host`, wherever it runs (another network namespace
        included: a listening unix socket is only seen by `ss` in its own namespace). Found
        by a pid file (BENCH_DOCKERD_PIDFILE, the lab's for the lab's socket), else by a
        dockerd whose command line says it serves that socket (`-H unix://<socket>`, or
        none for the default socket), else by `ss` in this namespace."""
        if self._dockerd and serves(self._dockerd, self.docker_host):
            return self._dockerd
        self._dockerd = self._find_dockerd()
        return self._dockerd

    def _find_dockerd(self) -> int | None:
        pidfiles = [os.environ.get("BENCH_DOCKERD_PIDFILE", "")]
        if self.docker_host == f"unix://{LAB_SOCK}":
            pidfiles.append(LAB_PIDFILE)
        for pidfile in filter(None, pidfiles):
            with contextlib.suppress(OSError, ValueError):
                pid = int(Path(pidfile).read_text().strip())
                if serves(pid, self.docker_host):
                    return pid
        found = [pid for pid in all_pids() if serves(pid, self.docker_host)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise RuntimeError(f"several dockerd processes serve {self.docker_host}: {found}")
        if not self.socket_path:
            return None
        out = subprocess.run(["ss", "-xlpnH"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if f" {self.socket_path} " in f" {line} ":
                m = re.search(r"pid=(\d+)", line)
                if m:
                    return int(m.group(1))
        return None

    def require_dockerd(self) -> int:
        """The dockerd's pid, or a loud failure: an engine that cannot be found would be
        measured as using no CPU at all."""
        pid = self.dockerd_pid()
        if pid is None:
            raise RuntimeError(
                f"cannot find the dockerd serving {self.docker_host} (no pid file "
                "(BENCH_DOCKERD_PIDFILE), no dockerd process with -H for it, nothing "
                "listening on it in this network namespace): its CPU cannot be measured"
            )
        return pid

    def containerd_pid(self) -> int | None:
        dpid = self.dockerd_pid()
        if dpid is None:
            return None
        for pid in all_pids():
            if proc_ppid(pid) == dpid:
                cmd = proc_cmdline(pid)
                if cmd and os.path.basename(cmd[0]) == "containerd":
                    return pid
        return None

    def containerd_address(self) -> str | None:
        cpid = self.containerd_pid()
        if cpid is None:
            return None
        cmd = proc_cmdline(cpid)
        for i, arg in enumerate(cmd):
            if arg == "--config" and i + 1 < len(cmd):
                return str(Path(cmd[i + 1]).parent / "containerd.sock")
            if arg == "--address" and i + 1 < len(cmd):
                return cmd[i + 1]
        return None

    def shim_pids(self) -> list[int]:
        address = self.containerd_address()
        if not address:
            return []
        out = []
        for pid in all_pids():
            cmd = proc_cmdline(pid)
            if cmd and "containerd-shim" in cmd[0] and address in cmd:
                out.append(pid)
        return out

    def cpu_groups(self) -> dict[str, Any]:
        """Groups for CPUMeter: dockerd, containerd, shims (pids looked up at each read).
        Fails when the dockerd cannot be found (now or at a later read), never reads 0."""
        self.require_dockerd()
        return {
            "dockerd": lambda: [self.require_dockerd()],
            "containerd": lambda: [p for p in [self.containerd_pid()] if p],
            "shims": self.shim_pids,
        }


def engine_total(window: dict[str, Any]) -> float | None:
    """Engine % of a core in a CPUMeter window: dockerd + containerd + shims."""
    parts = [window.get(k, {}).get("pct_core") for k in ("dockerd", "containerd", "shims")]
    if parts[0] is None:
        return None
    return round(sum(p or 0.0 for p in parts), 3)


def _lab_up() -> bool:
    return (
        subprocess.run([str(LAB_SCRIPT), "status"], capture_output=True, timeout=60).returncode == 0
    )


@contextmanager
def engine() -> Iterator[Engine]:
    """The engine to measure: DOCKER_HOST if set, else the lab engine (started if needed)."""
    docker_host = os.environ.get("DOCKER_HOST", "")
    started = False
    if not docker_host:
        docker_host = f"unix://{LAB_SOCK}"
        if not _lab_up():
            log("starting the lab engine (lab/engine-lab up)")
            subprocess.run([str(LAB_SCRIPT), "up"], check=True, stdout=sys.stderr, timeout=600)
            started = True
    client = EngineClient(docker_host, timeout=60)
    client.system.ping(timeout=10)
    sock = docker_host[len("unix://") :] if docker_host.startswith("unix://") else None
    eng = Engine(docker_host, client, sock, started)
    try:
        yield eng
    finally:
        client.close()
        if started:
            log("stopping the lab engine this run started")
            subprocess.run([str(LAB_SCRIPT), "down"], stdout=sys.stderr, timeout=300)


class Containers:
    """Containers this run makes (labelled `dashboard.bench=<run id>`); removed on exit."""

    def __init__(self, client: EngineClient) -> None:
        self.client = client
        self.ids: list[str] = []

    def create(
        self, cmd: list[str], *, start: bool = True, name: str | None = None, **config: Any
    ) -> str:
        name = name or f"bench-{RUN_ID}-{secrets.token_hex(3)}"
        body = {
            "Image": IMAGE,
            "Cmd": cmd,
            "Labels": {LABEL: RUN_ID, **config.pop("Labels", {})},
            "StopTimeout": 1,
            **config,
        }
        cid = self.client.containers.create(body, name=name)["Id"]
        self.ids.append(cid)
        if start:
            self.client.containers.start(cid)
        return cid

    def put_file(self, cid: str, directory: str, name: str, data: bytes = b"") -> None:
        """Drop a file into a container (`PUT /containers/{id}/archive`): a start gate."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
        self.client.request(
            "PUT",
            "/containers/{}/archive",
            cid,
            params={"path": directory},
            data=buf.getvalue(),
            headers={"Content-Type": "application/x-tar"},
        )

    def cleanup(self) -> None:
        ids = set(self.ids)
        with contextlib.suppress(EngineError):
            for row in self.client.containers.list(
                all=True, filters={"label": [f"{LABEL}={RUN_ID}"]}
            ):
                ids.add(row["Id"])
        for cid in ids:
            with contextlib.suppress(EngineError):
                self.client.containers.remove(cid, force=True, volumes=True)
        if ids:
            log(f"removed {len(ids)} bench container(s)")


@contextmanager
def containers(client: EngineClient) -> Iterator[Containers]:
    made = Containers(client)
    try:
        yield made
    finally:
        made.cleanup()


def rate_writer(
    rate: int, lines: int = 0, gate: str = "", then: str = "exec sleep 3600"
) -> list[str]:
    """A busybox sh command printing `rate` numbered lines a second (0 = as fast as it can),
    `lines` of them (0 = forever), after /tmp/<gate> appears when `gate` is given.

    Rate control reads /proc/uptime (centiseconds) and prints up to where the clock says it
    should be, then sleeps 2 ms: builtins only, no fork per line. Each line is
    "<n> <filler>"; a last line "END" follows when `lines` is given."""
    text = "lorem ipsum dolor sit amet consectetur adipiscing elit"
    wait = f"while [ ! -e /tmp/{gate} ]; do usleep 20000; done; " if gate else ""
    if rate <= 0:
        if not lines:
            raise ValueError("rate 0 needs a line count")
        body = f"seq 1 {lines} | sed 's/$/ {text}/'; echo END; "
        return ["sh", "-c", wait + body + then]
    stop = f"[ $n -ge {lines} ] && break; " if lines else ""
    cap = f"[ $target -gt {lines} ] && target={lines}; " if lines else ""
    script = (
        wait + "n=0; read up rest < /proc/uptime; t0=${up%.*}${up#*.}; "
        "while :; do " + stop + "read up rest < /proc/uptime; t=${up%.*}${up#*.}; "
        f"target=$(( (t - t0) * {rate} / 100 )); "
        + cap
        + f'while [ $n -lt $target ]; do n=$((n+1)); echo "$n {text}"; done; '
        "usleep 2000; done; " + ("echo END; " if lines else "") + then
    )
    return ["sh", "-c", script]


# ------------------------------------------------------------------------- dashboard


@dataclass
class Dashboard:
    url: str
    port: int
    pid: int
    session: Any  # requests.Session, logged in
    live: Any  # tests.support.browser.LiveDashboard
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return self.url

    def cookie_header(self) -> str:
        return f"sessionid={self.session.cookies['sessionid']}"

    def ws_url(self, path: str) -> str:
        return "ws://" + self.url.split("://", 1)[1] + path

    def cpu(self) -> float | None:
        return proc_cpu(self.pid)

    def rss(self) -> int | None:
        return proc_rss(self.pid)

    def log_problems(self, limit: int = 5) -> dict[str, Any]:
        """Warnings, errors and tracebacks daphne logged so far."""
        try:
            lines = self.live.log().splitlines()
        except OSError:
            return {}
        bad = [ln for ln in lines if re.search(r"WARNING|ERROR|CRITICAL|Traceback", ln)]
        return {"count": len(bad), "first": [ln[:300] for ln in bad[:limit]]}

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.live.log().splitlines()[-n:])
        except OSError:
            return ""


def _daphne_pid(port: int) -> int:
    for pid in all_pids():
        cmd = proc_cmdline(pid)
        if "daphne" in " ".join(cmd[:3]) and "-p" in cmd and str(port) in cmd:
            i = cmd.index("-p")
            if i + 1 < len(cmd) and cmd[i + 1] == str(port):
                return pid
    raise RuntimeError(f"no daphne process on port {port}")


@contextmanager
def dashboard(eng: Engine, **extra_env: str) -> Iterator[Dashboard]:
    """A live dashboard (daphne) against the engine, and a logged-in requests session."""
    from tests.support.browser import live_dashboard, login

    t0 = time.monotonic()
    with live_dashboard(eng.docker_host, **extra_env) as live:
        port = int(live.url.rsplit(":", 1)[1])
        pid = _daphne_pid(port)
        session = login(live)
        log(f"dashboard up at {live.url} (daphne pid {pid}) in {time.monotonic() - t0:.1f}s")
        dash = Dashboard(live.url, port, pid, session, live)
        try:
            yield dash
        except BaseException:
            tail = dash.log_tail()
            if tail:
                log("daphne log tail:\n" + tail)
            raise
        finally:
            session.close()


async def ws_connect(dash: Dashboard, path: str, **kwargs: Any) -> Any:
    """A websocket to the dashboard, with its session cookie and its own Origin."""
    from websockets.asyncio.client import connect

    return await connect(
        dash.ws_url(path),
        origin=dash.origin,  # type: ignore[arg-type]
        additional_headers={"Cookie": dash.cookie_header()},
        max_size=None,
        compression=None,
        ping_interval=None,
        open_timeout=30,
        close_timeout=5,
        max_queue=None,
    )


def logs_ws_path(cid: str, tail: str | int = "all", since: str = "", host: str = "local") -> str:
    return f"/ws/hosts/{host}/containers/{cid}/logs/?tail={tail}&since={since}"


# Parsing log lines out of a logs websocket message.
_LINE = re.compile(r'<div class="l ([^"]*)">(?:<time>([^<]*)</time>)?(.*?)</div>', re.S)


def parse_lines(html: str) -> list[tuple[str, str, str]]:
    """[(classes, timestamp, text html)] of every line in a message's `lines`."""
    return _LINE.findall(html)


_SEC_CACHE: dict[str, int] = {}


def rfc3339_to_unix(ts: str) -> float:
    """'2024-05-01T10:20:30.123456789Z' -> Unix seconds (float)."""
    import calendar

    head = ts[:19]
    sec = _SEC_CACHE.get(head)
    if sec is None:
        sec = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S"))
        if len(_SEC_CACHE) > 10000:
            _SEC_CACHE.clear()
        _SEC_CACHE[head] = sec
    frac = 0.0
    if len(ts) > 20 and ts[19] == ".":
        digits = ts[20:].rstrip("Z")
        end = 0
        while end < len(digits) and digits[end].isdigit():
            end += 1
        if end:
            frac = int(digits[:end]) / 10**end
        if digits[end:] not in ("", "Z"):
            raise ValueError(f"timestamp with an offset: {ts!r}")
    return sec + frac


def line_number(text: str) -> int | None:
    head = text.split(" ", 1)[0]
    return int(head) if head.isdigit() else None


def check_sequence(numbers: list[int], expected: int) -> dict[str, Any]:
    """Did a client get 1..expected exactly once each, in order?"""
    ok = numbers == list(range(1, expected + 1))
    out: dict[str, Any] = {"received": len(numbers), "complete_in_order": ok}
    if not ok:
        seen = set(numbers)
        out["missing"] = expected - len(seen & set(range(1, expected + 1)))
        out["duplicates"] = len(numbers) - len(seen)
        out["out_of_order"] = sum(1 for a, b in zip(numbers, numbers[1:], strict=False) if b < a)
        if numbers:
            out["first"], out["last"] = numbers[0], numbers[-1]
    return out


# ----------------------------------------------------------------- engine connections


# How a process's engine connections are counted from outside (ss, /proc): one copy, in
# tests/support/connections.py, for the benches and the tests.
from tests.support.connections import (  # noqa: E402 - needs ROOT on sys.path, set above
    engine_peers as _unix_sockets,
)
from tests.support.connections import reading_fds as _reading_fds  # noqa: E402
from tests.support.connections import socket_fds as _socket_fds  # noqa: E402


def engine_connections(
    pid: int, socket_path: str, samples: int = 12, interval: float = 0.05
) -> dict[str, int]:
    """Open connections from process `pid` to the engine socket: total, streaming, idle.

    Streaming: at least once over `samples` looks, a thread of `pid` was blocked reading it,
    or data the engine sent was waiting in it (a reader busy with the previous chunk).
    Idle: neither (a kept-alive pooled connection)."""
    fds: dict[int, int] = {}
    active: set[int] = set()
    for i in range(samples):
        peers, recvq = _unix_sockets(pid, socket_path)
        fds = {fd: ino for fd, ino in _socket_fds(pid).items() if ino in peers}
        active |= _reading_fds(pid) & set(fds)
        active |= {fd for fd, ino in fds.items() if recvq.get(ino, 0) > 0}
        if i + 1 < samples:
            time.sleep(interval)
    # Only fds still connected to the engine at the last look count.
    streaming = len(active & set(fds))
    return {"total": len(fds), "streaming": streaming, "idle": len(fds) - streaming}


def selftest_connection_counter(
    eng: Engine, cid: str, streams: int = 3, idle: int = 2
) -> dict[str, Any]:
    """Open `streams` follow-log streams (each read by a thread) and `idle` kept-alive
    connections from this process, and check the counter sees exactly them."""
    import socket

    assert eng.socket_path, "the connection counter needs a unix socket engine"
    me = os.getpid()
    before = engine_connections(me, eng.socket_path)
    client = EngineClient(eng.docker_host, timeout=30)
    client.negotiate()  # its pooled connection is then taken by the first stream
    opened = []
    threads = []
    raw: list[socket.socket] = []
    try:
        for _ in range(streams):
            s = client.containers.logs(cid, follow=True, tail=0, tty=False)
            opened.append(s)
            t = threading.Thread(target=lambda s=s: sum(1 for _ in s.lines()), daemon=True)
            t.start()
            threads.append(t)
        for _ in range(idle):
            sk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sk.connect(eng.socket_path)
            sk.sendall(b"GET /_ping HTTP/1.1\r\nHost: engine\r\n\r\n")
            sk.recv(4096)
            raw.append(sk)
        time.sleep(0.3)
        during = engine_connections(me, eng.socket_path)
    finally:
        for s in opened:
            s.close()
        for sk in raw:
            sk.close()
        for t in threads:
            t.join(5)
        client.close()
    time.sleep(0.3)
    after = engine_connections(me, eng.socket_path)
    expect_total = before["total"] + streams + idle
    expect_streaming = before["streaming"] + streams
    ok = (
        during["total"] == expect_total
        and during["streaming"] == expect_streaming
        and after["total"] == before["total"]
        and after["streaming"] == before["streaming"]
    )
    return {
        "opened_streams": streams,
        "opened_idle": idle,
        "before": before,
        "during": during,
        "after": after,
        "ok": ok,
    }


# ---------------------------------------------------------------------------- misc


def start_profiler(pid: int, out: str) -> subprocess.Popen[bytes]:
    """py-spy (PY_SPY or on PATH) sampling `pid` into `out` as collapsed stacks."""
    import shutil

    exe = os.environ.get("PY_SPY") or shutil.which("py-spy")
    if not exe:
        raise RuntimeError("py-spy not found: pip install py-spy somewhere and set PY_SPY")
    proc = subprocess.Popen(
        [
            exe,
            "record",
            "-p",
            str(pid),
            "-o",
            out,
            "-f",
            "raw",
            "-r",
            "200",
            "--threads",
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    return proc


def stop_profiler(proc: subprocess.Popen[bytes], out: str) -> None:
    import signal

    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log(f"profile written to {out}")


def wait_log_lines(eng: Engine, cid: str, last_text: str, timeout: float = 120) -> None:
    """Wait until the container's log ends with a line whose text is `last_text`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.closing(eng.client.containers.logs(cid, tail=1, tty=False)) as s:
            lines = list(s.lines())
        if lines and lines[-1].text == last_text:
            return
        time.sleep(0.2)
    raise TimeoutError(f"container {cid[:12]} did not print {last_text!r} in {timeout}s")


def main_selftest() -> int:
    with engine() as eng, containers(eng.client) as made:
        cid = made.create(["sh", "-c", "while :; do echo tick; sleep 1; done"])
        result = selftest_connection_counter(eng, cid)
        emit_result({"bench": "connection_counter_selftest", **result, "pass": result["ok"]})
        return 0 if result["ok"] else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["selftest"]:
        sys.exit(main_selftest())
    print(__doc__)
