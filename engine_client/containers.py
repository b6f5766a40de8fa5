"""Container calls: list, inspect, create, start, stop, restart, pause, kill, rename, wait,
top, remove, and recreate (a sequence of them, reported step by step)."""

from __future__ import annotations

import builtins
import contextlib
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .client import encode_filters
from .errors import Conflict, EngineError, InvalidArgument, NotFound
from .flavor import (
    DOCKER_25,
    default_network_mode,
    own_aliases,
    podman_inspect,
    podman_networks,
    podman_stats,
    split_top,
)
from .streams import JSONStream, LogStream, RawLogStream

if TYPE_CHECKING:
    from .client import EngineClient

# Seconds added to a stop/restart's own grace period before we give up waiting for the
# engine's answer: the engine answers only once the container has stopped.
_STOP_SLACK = 15.0
# What the engine waits by default before killing (a container may set its own StopTimeout).
_DEFAULT_STOP_GRACE = 10


# A signal as the engine takes it: a name (with or without SIG) or a number.
_SIGNAL_RE = re.compile(r"(SIG)?[A-Z][A-Z0-9+-]{1,15}|[1-9][0-9]?")
_NETWORK_ID = re.compile(r"[0-9a-f]{64}")
PS_ARGS_RE = re.compile(r"[A-Za-z0-9 ,=-]{0,64}")


def check_signal(signal: object) -> str:
    if not isinstance(signal, str) or not _SIGNAL_RE.fullmatch(signal):
        raise InvalidArgument("a signal is a name such as SIGTERM or HUP, or a number")
    return signal


@dataclass
class Step:
    what: str
    outcome: str  # "done", "failed", "skipped"
    message: str = ""


@dataclass
class RecreateReport:
    """What a recreate did, step by step, including what it undid after a failure."""

    old_id: str
    name: str
    steps: list[Step] = field(default_factory=list)
    new_id: str = ""
    ok: bool = False

    @property
    def failed(self) -> Step | None:
        return next((s for s in self.steps if s.outcome == "failed"), None)


@dataclass
class MakeReport:
    """What `make` did, step by step, including what it undid after a failure."""

    name: str
    steps: list[Step] = field(default_factory=list)
    id: str = ""  # the container's, once created (empty again when a failure removed it)
    warnings: list[str] = field(default_factory=list)
    ok: bool = False

    @property
    def failed(self) -> Step | None:
        return next((s for s in self.steps if s.outcome == "failed"), None)

    @property
    def undone(self) -> bool:
        """Everything made before the failure was removed again."""
        return not self.id


class _Abort(Exception):
    pass


def _step(steps: list[Step], what: str, action: Callable[[], Any]) -> Any:
    """One step of a procedure (make, recreate): its outcome goes into `steps`; a refusal
    ends the procedure (`_Abort`) with the engine's words, never raises past it."""
    try:
        result = action()
    except (EngineError, InvalidArgument) as exc:
        # A pull may refuse a reference that names an image by ID (nothing to pull).
        message = exc.message if isinstance(exc, EngineError) else str(exc)
        steps.append(Step(what, "failed", message))
        raise _Abort from exc
    steps.append(Step(what, "done"))
    return result


def _grace(timeout: object) -> int | None:
    if timeout is None:
        return None
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not -1 <= timeout <= 3600:
        raise InvalidArgument("stop timeout must be whole seconds between -1 and 3600")
    return timeout


def _new_name(name: object) -> str:
    if not isinstance(name, str) or not re.fullmatch(r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]+", name):
        raise InvalidArgument("a container name is letters, digits, _ . - (2 or more)")
    return name


class ContainersAPI:
    def __init__(self, client: EngineClient) -> None:
        self._c = client

    def list(
        self,
        all: bool = False,
        filters: Mapping[str, Iterable[str] | str] | None = None,
        limit: int | None = None,
        size: bool = False,
    ) -> list[dict[str, Any]]:
        """`GET /containers/json`. Only running containers unless `all`."""
        if filters and self._c.flavor.is_podman and "status" in filters:
            # Podman has no "dead" state and refuses to filter on it.
            status = filters["status"]
            status = [status] if isinstance(status, str) else list(status)
            filters = {**filters, "status": [s for s in status if s != "dead"] or ["exited"]}
        rows = self._c.get_json(
            "/containers/json",
            params={
                "all": all,
                "filters": encode_filters(filters),
                "limit": limit,
                "size": size or None,
            },
        )
        if self._c.flavor.is_podman and rows:
            for row in rows:
                podman_networks(row)
            self._podman_network_ids(rows)
        return rows

    def get_summary(self, container_id: str) -> dict[str, Any] | None:
        """The list entry (same shape as `list`) of one container, or None if gone.

        The engine's `id` filter matches prefixes, so the result is checked for an exact id.
        """
        for row in self.list(all=True, filters={"id": [container_id]}):
            if row.get("Id") == container_id:
                return row
        return None

    def inspect(self, container_id: str, size: bool = False) -> dict[str, Any]:
        body = self._c.get_json("/containers/{}/json", container_id, params={"size": size or None})
        own_aliases(body)
        if not self._c.flavor.is_podman:
            return default_network_mode(body) if self._docker_25() else body
        body = podman_inspect(body)
        self._podman_network_ids([body])
        return body

    def _podman_network_ids(self, containers: builtins.list[dict[str, Any]]) -> None:
        """Podman puts a network's name where Docker puts its id (`NetworkID`)."""
        endpoints = [
            ep
            for c in containers
            for ep in ((c.get("NetworkSettings") or {}).get("Networks") or {}).values()
            if not _NETWORK_ID.fullmatch(str(ep.get("NetworkID", "")))
        ]
        if endpoints:
            ids = {n.get("Name"): n.get("Id") for n in self._c.networks.list()}
            ids["bridge"] = ids.get("bridge") or ids.get("podman")
            for ep in endpoints:
                name = ep.get("NetworkID")
                ep["NetworkID"] = ids.get("bridge" if name == "podman" else name) or name

    def create(
        self, config: Mapping[str, Any], name: str | None = None, platform: str | None = None
    ) -> dict[str, Any]:
        """`POST /containers/create`: returns {Id, Warnings}."""
        return self._c.post_json(
            "/containers/create", params={"name": name, "platform": platform}, json=dict(config)
        )

    def start(self, container_id: str) -> bool:
        """Start; returns False when it was already running (the engine's 304)."""
        resp = self._c.request("POST", "/containers/{}/start", container_id)
        return resp.status_code != 304

    def stop(self, container_id: str, timeout: int | None = None) -> bool:
        """Stop, killing after `timeout` seconds; returns False when it was already stopped."""
        grace = _grace(timeout)
        resp = self._c.request(
            "POST",
            "/containers/{}/stop",
            container_id,
            params={"t": grace},
            timeout=self._slow_timeout(grace),
        )
        stopped = resp.status_code != 304
        if stopped and self._docker_25():
            self._until_listed_stopped(container_id)
        return stopped

    def _docker_25(self) -> bool:
        return not self._c.flavor.is_podman and self._c.negotiate() >= DOCKER_25

    def _until_listed_stopped(self, container_id: str, within: float = 2.0) -> None:
        """Docker 25+ answers a stop as soon as the container has stopped, a moment before
        its row in the container list says so (the list is a copy the engine writes after):
        wait for the row, so that what is read next is the stopped container (20.10's order)."""
        deadline = time.monotonic() + within
        while True:
            rows = self.list(all=True, filters={"id": [container_id]})
            if not rows or rows[0].get("State") != "running" or time.monotonic() > deadline:
                return
            time.sleep(0.01)

    def restart(self, container_id: str, timeout: int | None = None) -> None:
        grace = _grace(timeout)
        self._c.request(
            "POST",
            "/containers/{}/restart",
            container_id,
            params={"t": grace},
            timeout=self._slow_timeout(grace),
        )

    def pause(self, container_id: str) -> None:
        self._c.request("POST", "/containers/{}/pause", container_id)

    def unpause(self, container_id: str) -> None:
        self._c.request("POST", "/containers/{}/unpause", container_id)

    def kill(self, container_id: str, signal: str = "SIGKILL") -> None:
        """Send a signal (SIGKILL unless told); 409 when the container is not running."""
        self._c.request(
            "POST", "/containers/{}/kill", container_id, params={"signal": check_signal(signal)}
        )

    def rename(self, container_id: str, name: str) -> None:
        """409 when the name is taken."""
        params = {"name": _new_name(name)}
        self._c.request("POST", "/containers/{}/rename", container_id, params=params)

    def wait(
        self, container_id: str, condition: str = "not-running", timeout: float = 0
    ) -> dict[str, Any]:
        """Block until the container reaches `condition`; {StatusCode, Error}. `timeout` is
        seconds to wait for the answer, 0 for as long as it takes."""
        if condition not in ("not-running", "next-exit", "removed"):
            raise InvalidArgument("condition is not-running, next-exit or removed")
        return self._c.post_json(
            "/containers/{}/wait", container_id, params={"condition": condition}, timeout=timeout
        )

    def top(self, container_id: str, ps_args: str | None = None) -> dict[str, Any]:
        """The container's processes as `ps` shows them: {Titles, Processes}."""
        if ps_args is not None and not PS_ARGS_RE.fullmatch(ps_args):
            raise InvalidArgument("ps arguments are letters, digits, spaces and , = -")
        params = {"ps_args": ps_args}
        if not self._c.flavor.is_podman:
            return self._c.get_json("/containers/{}/top", container_id, params=params)
        resp = self._c.request("GET", "/containers/{}/top", container_id, params=params)
        if not resp.content:
            # Podman answers 200 with nothing for a container that is not running.
            raise Conflict(f"Container {container_id} is not running", 409)
        return split_top(resp.json())

    def make(
        self,
        body: Mapping[str, Any],
        name: str = "",
        *,
        pull: bool = False,
        networks: Mapping[str, Mapping[str, Any]] | None = None,
        start: bool = False,
    ) -> MakeReport:
        """Make a container as one thing: pull its image (if asked), create it, connect it to
        `networks` ({name: {aliases, ipv4}}: a create attaches only one) and start it (if
        asked). A failure after the create removes it again, so that nothing half-made (not
        connected, not started) is left behind. Never raises for an engine refusal: the
        report says what happened, step by step."""
        report = MakeReport(name=name)

        def step(what: str, action: Callable[[], Any]) -> Any:
            return _step(report.steps, what, action)

        try:
            if pull:
                step(f"pull {body.get('Image')}", lambda: self._pull(str(body.get("Image"))))
            created = step("create the container", lambda: self.create(body, name=name or None))
            report.id = created["Id"]
            report.warnings = list(created.get("Warnings") or [])
            for net, endpoint in (networks or {}).items():
                step(f"connect it to {net}", self._connect(report.id, net, endpoint))
            if start:
                step("start the container", lambda: self.start(report.id))
        except _Abort:
            if report.id:
                try:
                    self.remove(report.id, force=True)
                except EngineError as exc:
                    report.steps.append(Step("undo: remove the container", "failed", exc.message))
                else:
                    report.steps.append(Step("undo: remove the container", "done"))
                    report.id = ""
            return report
        report.ok = True
        return report

    def recreate(
        self,
        container_id: str,
        body: Mapping[str, Any],
        name: str,
        pull: bool = False,
        networks: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> RecreateReport:
        """Replace a container by a new one made from `body`, under `name`, in the state the
        old one was in (running or not), also connected to `networks` ({name: {aliases,
        ipv4}}: a create attaches one). The new one is made first under a temporary name, so
        a refused create changes nothing; a later failure is undone as far as it can be.
        Never raises for an engine refusal: the report says what happened, step by step."""
        old = self.inspect(container_id)
        old_id, old_name = old["Id"], (old.get("Name") or "").lstrip("/")
        was_running = bool((old.get("State") or {}).get("Running"))
        auto_remove = bool((old.get("HostConfig") or {}).get("AutoRemove"))
        report = RecreateReport(old_id=old_id, name=name)
        tag = secrets.token_hex(3)
        temp_new, temp_old = f"{name}-new-{tag}", f"{old_name}-old-{tag}"
        undo: list[tuple[str, Callable[[], Any]]] = []

        def step(what: str, action: Callable[[], Any]) -> Any:
            return _step(report.steps, what, action)

        try:
            if pull:
                step(f"pull {body.get('Image')}", lambda: self._pull(str(body.get("Image"))))
            created = step("create the new container", lambda: self.create(body, name=temp_new))
            new_id = report.new_id = created["Id"]
            undo.append(("remove the new container", lambda: self.remove(new_id, force=True)))
            for net, endpoint in (networks or {}).items():
                step(f"connect the new container to {net}", self._connect(new_id, net, endpoint))
            if was_running:
                step("stop the old container", lambda: self.stop(old_id))
                undo.append(("start the old container again", lambda: self.start(old_id)))
            if auto_remove and was_running:
                # It removed itself when it stopped: there is nothing to go back to, so the
                # new container stays whatever happens next.
                undo.clear()
            else:
                step(
                    f"rename the old container to {temp_old}", lambda: self.rename(old_id, temp_old)
                )
                undo.append(
                    (
                        f"rename the old container back to {old_name}",
                        lambda: self.rename(old_id, old_name),
                    )
                )
            step(f"name the new container {name}", lambda: self.rename(new_id, name))
            undo.append(
                (f"rename the new container to {temp_new}", lambda: self.rename(new_id, temp_new))
            )
            if was_running:
                step("start the new container", lambda: self.start(new_id))
        except _Abort:
            for what, action in reversed(undo):
                try:
                    action()
                except EngineError as exc:
                    report.steps.append(Step(f"undo: {what}", "failed", exc.message))
                else:
                    report.steps.append(Step(f"undo: {what}", "done"))
                    if what == "remove the new container":
                        report.new_id = ""
            return report
        report.ok = True
        if not (auto_remove and was_running):
            try:
                self.remove(old_id)
                report.steps.append(Step("remove the old container", "done"))
            except NotFound:
                report.steps.append(Step("remove the old container", "done", "it was gone"))
            except EngineError as exc:
                report.steps.append(
                    Step(
                        "remove the old container",
                        "failed",
                        f"{exc.message} (it is still there as {temp_old})",
                    )
                )
        return report

    def _connect(
        self, container_id: str, network: str, endpoint: Mapping[str, Any]
    ) -> Callable[[], None]:
        return lambda: self._c.networks.connect(
            network,
            container_id,
            aliases=endpoint.get("aliases"),
            ipv4_address=endpoint.get("ipv4", ""),
        )

    def _pull(self, ref: str) -> None:
        from .images import read_progress

        read_progress(self._c.images.pull(ref))

    def remove(self, container_id: str, force: bool = False, volumes: bool = False) -> None:
        """Remove; `force` kills a running container first, `volumes` drops anonymous volumes."""
        if force and self._c.flavor.is_podman:
            # Podman's forced remove stops first, waiting the container's stop timeout;
            # Docker's kills at once.
            with contextlib.suppress(Conflict, NotFound):
                self.kill(container_id)
        self._c.request(
            "DELETE",
            "/containers/{}",
            container_id,
            params={"force": force, "v": volumes},
            timeout=self._c.timeout + _STOP_SLACK,
        )

    def _slow_timeout(self, grace: int | None) -> float:
        seconds = _DEFAULT_STOP_GRACE if grace is None or grace < 0 else grace
        return seconds + self._c.timeout + _STOP_SLACK

    def logs(
        self,
        container_id: str,
        *,
        follow: bool = False,
        tail: int | str = "all",
        since: float | str | None = None,
        until: float | str | None = None,
        timestamps: bool = False,
        stdout: bool = True,
        stderr: bool = True,
        tty: bool | None = None,
    ) -> LogStream:
        """A log stream. Framing follows the container's own `Config.Tty` (inspected when
        `tty` is not given), never the content type, which API 1.41 reports wrongly."""
        if not (stdout or stderr):
            raise InvalidArgument("ask for stdout, stderr or both")
        if tail != "all" and (not isinstance(tail, int) or isinstance(tail, bool) or tail < 0):
            raise InvalidArgument("tail must be 'all' or a whole number >= 0")
        if tty is None:
            tty = bool((self.inspect(container_id).get("Config") or {}).get("Tty"))
        params = {
            "follow": follow,
            "stdout": stdout,
            "stderr": stderr,
            "timestamps": timestamps,
            "tail": str(tail),
            "since": _unix(since),
            "until": _unix(until),
        }
        if follow and self._c.flavor.is_podman and self._c.can_send_raw:
            # Podman answers a followed log only once there is a line to send.
            sock = self._c.send_raw("GET", "/containers/{}/logs", container_id, params=params)
            return RawLogStream(sock, tty=tty, timestamps=timestamps, url=self._c.url)
        resp = self._c.request(
            "GET",
            "/containers/{}/logs",
            container_id,
            params=params,
            stream=True,
            timeout=0 if follow else None,
        )
        return LogStream(resp, tty=tty, timestamps=timestamps, url=self._c.url)

    def stats(self, container_id: str) -> JSONStream:
        """The live stats stream: about one document a second until closed."""
        resp = self._c.request(
            "GET",
            "/containers/{}/stats",
            container_id,
            params={"stream": True},
            stream=True,
            timeout=0,
        )
        stream = JSONStream(resp, url=self._c.url)
        if self._c.flavor.is_podman:
            stream.transform = lambda docs: [podman_stats(d) for d in docs]
        return stream

    def stats_once(self, container_id: str) -> dict[str, Any]:
        """One sample, at once (`one-shot`): no precpu_stats, so CPU % needs two of them."""
        doc = self._c.get_json(
            "/containers/{}/stats", container_id, params={"stream": False, "one-shot": True}
        )
        if self._c.flavor.is_podman:
            return podman_stats(doc)
        if isinstance(doc, dict) and not doc.get("name"):
            # Docker 25+ leaves the container's name and id out of a one-shot sample.
            info = self._c.get_json("/containers/{}/json", container_id)
            doc.setdefault("id", info.get("Id", ""))
            doc["name"] = info.get("Name", "")
        return doc


def _unix(value: object) -> str | None:
    if value is None or value == 0:
        return None
    if isinstance(value, str):
        sec, dot, nanos = value.partition(".")
        if sec.isdigit() and (not dot or nanos.isdigit()):
            return value
        raise InvalidArgument("since/until are Unix seconds")
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InvalidArgument("since/until are Unix seconds")
    return f"{value:.9f}".rstrip("0").rstrip(".")
