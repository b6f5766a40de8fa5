"""Rule evaluation: engine events and stream status in, alert messages out.

Plain Python with no I/O (the watcher feeds it and writes what it returns), so every rule
can be checked without an engine. Decisions that need what comes next are held briefly:
a `die` waits `hold` seconds for the `stop` that tells a stop on purpose (Docker 20.10 sends
it after the die); fired alerts of one rule on one host wait `group` seconds so a burst
becomes one message.
"""

from __future__ import annotations

import fnmatch
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

EXIT = "exit"
OOM = "oom"
UNHEALTHY = "unhealthy"
RESTART_LOOP = "restart_loop"
UNREACHABLE = "unreachable"
CPU = "cpu"
MEMORY = "memory"
DISK = "disk"
SWARM_NODE = "swarm_node"
SERVICE_REPLICAS = "service_replicas"
SERVICE_UPDATE = "service_update"
SWARM = {SWARM_NODE, SERVICE_REPLICAS, SERVICE_UPDATE}
# Update states that need a person: paused (by failures) or rolled back.
UPDATE_TROUBLE = {"paused", "rollback_paused", "rollback_completed"}
THRESHOLDS = {CPU, MEMORY}
FIRED = "fired"
RECOVERED = "recovered"
# Kinds that are a condition with an end (a "recovered" message), not a one-off event.
CONDITIONS = {UNHEALTHY, RESTART_LOOP, UNREACHABLE, CPU, MEMORY, DISK, *SWARM}
# How much of a threshold rule's window the samples must span before it may fire.
COVERAGE = 0.8
SAMPLES_KEEP_SECONDS = 3600
OPT_OUT_LABEL = "dashboard.alerts"
PROJECT_LABEL = "com.docker.compose.project"
# A kill with one of these before a die is someone stopping the container (docker stop,
# the dashboard's stop, a restart, the engine shutting down): its die is no crash.
STOP_SIGNALS = {"15", "SIGTERM", "TERM"}
# Event attributes that are not the container's labels.
_NOT_LABELS = {
    "name",
    "image",
    "exitCode",
    "signal",
    "execDuration",
    "container",
    "containerExitCode",
    "podId",
}


@dataclass(frozen=True)
class RuleSpec:
    id: int
    name: str
    kind: str
    host: str = ""
    name_glob: str = ""
    label: str = ""
    project: str = ""
    count: int = 3
    minutes: int = 5
    seconds: int = 30
    percent: int = 90
    megabytes: int = 50_000
    cooldown: int = 300
    channels: tuple[int, ...] = ()

    def covers(self, host: str, name: str, labels: dict[str, str]) -> bool:
        if self.host and self.host != host:
            return False
        if labels.get(OPT_OUT_LABEL, "").lower() == "off":
            return False
        if self.name_glob and not fnmatch.fnmatchcase(name, self.name_glob):
            return False
        if self.label:
            key, eq, value = self.label.partition("=")
            if key not in labels or (eq and labels[key] != value):
                return False
        return not (self.project and labels.get(PROJECT_LABEL) != self.project)


@dataclass
class Target:
    id: str
    name: str
    detail: str


@dataclass
class Message:
    rule: RuleSpec
    host: str
    state: str
    targets: list[Target]
    at: float

    @property
    def text(self) -> str:
        return render_text(self)


def render_text(m: Message) -> str:
    what = {
        EXIT: "died",
        OOM: "was OOM-killed",
        UNHEALTHY: "turned unhealthy",
        RESTART_LOOP: "is in a restart loop",
        UNREACHABLE: "is unreachable",
        CPU: "is above its CPU threshold",
        MEMORY: "is above its memory threshold",
        DISK: "uses more disk than its threshold",
        SWARM_NODE: "is down or drained",
        SERVICE_REPLICAS: "is short of its replicas",
        SERVICE_UPDATE: "has an update paused or rolled back",
    }[m.rule.kind]
    if m.state == RECOVERED:
        what = {
            UNREACHABLE: "is reachable again",
            RESTART_LOOP: "stopped restarting",
            CPU: "is back under its CPU threshold",
            MEMORY: "is back under its memory threshold",
            DISK: "is back under its disk threshold",
            SWARM_NODE: "is ready and active again",
            SERVICE_REPLICAS: "has all its replicas again",
            SERVICE_UPDATE: "is no longer paused or rolled back",
        }.get(m.rule.kind, "recovered")
    if m.rule.kind in (UNREACHABLE, DISK):
        detail = f": {m.targets[0].detail}" if m.targets and m.targets[0].detail else ""
        return f"[{m.host}] the engine {what}{detail} (rule {m.rule.name})"
    noun = {SWARM_NODE: "swarm node", SERVICE_REPLICAS: "service", SERVICE_UPDATE: "service"}
    if len(m.targets) == 1:
        t = m.targets[0]
        detail = f": {t.detail}" if t.detail else ""
        kind = noun.get(m.rule.kind, "container")
        return f"[{m.host}] {kind} {t.name} {what}{detail} (rule {m.rule.name})"
    listed = ", ".join(f"{t.name} ({t.detail})" if t.detail else t.name for t in m.targets)
    plural = {
        "was OOM-killed": "were OOM-killed",
        "is in a restart loop": "are restarting",
        "is above its CPU threshold": "are above their CPU threshold",
        "is above its memory threshold": "are above their memory threshold",
        "is back under its CPU threshold": "are back under their CPU threshold",
        "is back under its memory threshold": "are back under their memory threshold",
        "is down or drained": "are down or drained",
        "is short of its replicas": "are short of their replicas",
        "has an update paused or rolled back": "have updates paused or rolled back",
        "is ready and active again": "are ready and active again",
        "has all its replicas again": "have all their replicas again",
        "is no longer paused or rolled back": "are no longer paused or rolled back",
    }
    nouns = {SWARM_NODE: "swarm nodes", SERVICE_REPLICAS: "services", SERVICE_UPDATE: "services"}
    return (
        f"[{m.host}] {len(m.targets)} {nouns.get(m.rule.kind, 'containers')} "
        f"{plural.get(what, what)} "
        f"(rule {m.rule.name}): {listed}"
    )


def _mb(size: float) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.1f} MB"


@dataclass
class _Container:
    name: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    stop_signals: int = 0  # kills with a stop signal since its last start
    stopped_at: float = 0.0  # its last `stop` event
    oom: bool = False
    dies: deque[float] = field(default_factory=lambda: deque(maxlen=1000))


@dataclass
class _Die:
    at: float
    host: str
    cid: str
    exit_code: int


class Evaluator:
    """Feed it the host's events-stream messages (`feed`) and call `tick` every second or so;
    both return the messages to send. `stopped_by_dashboard(host, cid, since)` says whether
    someone stopped the container through the dashboard (Podman sends no kill events)."""

    def __init__(
        self,
        rules: Iterable[RuleSpec] = (),
        hold: float = 2.0,
        group: float = 3.0,
        stopped_by_dashboard: Callable[[str, str, float], bool] | None = None,
    ) -> None:
        self.rules = list(rules)
        self.hold = hold
        self.group = group
        self.stopped_by_dashboard = stopped_by_dashboard or (lambda host, cid, since: False)
        self.containers: dict[tuple[str, str], _Container] = {}
        self.pending_dies: list[_Die] = []
        # (rule id, host, state) -> the group being gathered
        self.groups: dict[tuple[int, str, str], Message] = {}
        self.last_fired: dict[tuple[int, str, str], float] = {}
        self.open: set[tuple[int, str, str]] = set()  # conditions on: (rule, host, target id)
        self.down_since: dict[str, float] = {}
        self.down_reason: dict[str, str] = {}
        # Hosts whose `stop` events say nothing (Podman cleans up after every exit, which
        # reaches us as a `stop`): there only a dashboard stop tells a stop on purpose.
        self.stop_means_nothing: set[str] = set()
        self.flavors_noted: set[str] = set()
        self.short_since: dict[tuple[str, str], float] = {}  # (host, service) -> since when
        # (host, container) -> samples (time, cpu %, memory % of its limit)
        self.samples: dict[tuple[str, str], deque[tuple[float, float | None, float | None]]] = {}

    # -- input ------------------------------------------------------------------------------

    def feed(self, host: str, message: dict[str, Any], now: float | None = None) -> list[Message]:
        now = time.time() if now is None else now
        status = message.get("status")
        rows = message.get("rows") or {}
        for ev in message.get("events") or []:
            if ev.get("Type") == "container":
                self._container_event(host, ev, rows, now)
        if status:
            self._status(host, status.get("state", ""), status.get("text", ""), now)
        if "liststats" in message:
            self._stats(host, message["liststats"] or {}, now)
        if "disk" in message:
            self._disk(host, message["disk"] or {}, now)
        if "swarm" in message:
            self._swarm(host, message["swarm"] or {}, now)
        return self.tick(now)

    def _swarm(self, host: str, state: dict[str, Any], now: float) -> None:
        """A manager's nodes and services, as SwarmStateSource reads them."""
        seen: set[str] = set()
        for node in state.get("nodes") or []:
            bad = node.get("state") != "ready" or node.get("availability") == "drain"
            detail = f"{node.get('state')}, {node.get('availability')}"
            self._condition(SWARM_NODE, host, node, bad, detail, detail, now)
            seen.add(node.get("id", ""))
        for svc in state.get("services") or []:
            seen.add(svc.get("id", ""))
            running, desired = svc.get("running"), svc.get("desired")
            key = (host, svc.get("id", ""))
            if running is not None and desired is not None and running < desired:
                self.short_since.setdefault(key, now)
            else:
                self.short_since.pop(key, None)
            since = self.short_since.get(key)
            detail = f"{running}/{desired} running"
            lasted = now - since if since is not None else 0.0
            for rule in self._rules(SERVICE_REPLICAS):
                short = since is not None and now - since >= rule.seconds
                self._condition_rule(
                    rule,
                    host,
                    svc,
                    short,
                    f"{detail} for {lasted:.0f} s",
                    detail,
                    now,
                )
            update = svc.get("update") or ""
            self._condition(
                SERVICE_UPDATE,
                host,
                svc,
                update in UPDATE_TROUBLE,
                f"update {update}",
                f"update {update or 'done'}",
                now,
            )
        # Nodes and services gone: their conditions end without a message.
        self.open = {
            k
            for k in self.open
            if not (k[1] == host and self._kind_of(k[0]) in SWARM and k[2] not in seen)
        }
        self.short_since = {
            k: v for k, v in self.short_since.items() if k[0] != host or k[1] in seen
        }

    def _kind_of(self, rule_id: int) -> str:
        return next((r.kind for r in self.rules if r.id == rule_id), "")

    def _condition(
        self,
        kind: str,
        host: str,
        obj: dict[str, Any],
        on: bool,
        fired: str,
        recovered: str,
        now: float,
    ) -> None:
        for rule in self._rules(kind):
            self._condition_rule(rule, host, obj, on, fired, recovered, now)

    def _condition_rule(
        self,
        rule: RuleSpec,
        host: str,
        obj: dict[str, Any],
        on: bool,
        fired: str,
        recovered: str,
        now: float,
    ) -> None:
        name, labels = str(obj.get("name", "")), dict(obj.get("labels") or {})
        if not rule.covers(host, name, labels):
            return
        key = (rule.id, host, str(obj.get("id", "")))
        if on and key not in self.open:
            self.open.add(key)
            self._signal(rule, host, Target(key[2], name, fired), FIRED, now)
        elif not on and key in self.open:
            self.open.discard(key)
            self._signal(rule, host, Target(key[2], name, recovered), RECOVERED, now)

    def _disk(self, host: str, sizes: dict[str, int], now: float) -> None:
        total = sum(int(v or 0) for v in sizes.values())
        parts = ", ".join(f"{k.replace('_', ' ')} {_mb(v)}" for k, v in sizes.items())
        for rule in self._rules(DISK):
            if rule.host and rule.host != host:
                continue
            key = (rule.id, host, "disk")
            limit = rule.megabytes * 1_000_000
            if total > limit and key not in self.open:
                self.open.add(key)
                detail = f"{_mb(total)} ({parts}), above {_mb(limit)}"
                self._signal(rule, host, Target("disk", "disk", detail), FIRED, now)
            elif total <= limit and key in self.open:
                self.open.discard(key)
                detail = f"{_mb(total)}, at most {_mb(limit)}"
                self._signal(rule, host, Target("disk", "disk", detail), RECOVERED, now)

    def needs_stats(self, host: str, row: dict[str, Any]) -> bool:
        """Whether a threshold rule covers this container (a list row): only those are
        sampled."""
        name = ((row.get("Names") or [""])[0]).lstrip("/")
        labels = row.get("Labels") or {}
        return any(r.covers(host, name, labels) for r in self.rules if r.kind in THRESHOLDS)

    def _stats(self, host: str, liststats: dict[str, Any], now: float) -> None:
        for cid, sample in liststats.items():
            c = self.containers.setdefault((host, cid), _Container())
            c.name = sample.get("name") or c.name or cid[:12]
            if sample.get("labels") is not None:
                c.labels = dict(sample["labels"])
            mem, limit = sample.get("mem"), sample.get("limit")
            mem_pct = mem / limit * 100 if mem is not None and limit else None
            samples = self.samples.setdefault((host, cid), deque())
            samples.append((now, sample.get("cpu"), mem_pct))
            while samples and now - samples[0][0] > SAMPLES_KEEP_SECONDS:
                samples.popleft()
        for key in [k for k in self.samples if k[0] == host and k[1] not in liststats]:
            # Not running any more (or no longer covered): its exit, if any, is the exit
            # rule's to tell; a threshold condition just ends.
            del self.samples[key]
            self.open = {
                k
                for k in self.open
                if not (k[1] == host and k[2] == key[1] and self._threshold(k[0]))
            }
        for rule in self.rules:
            if rule.kind in THRESHOLDS:
                self._check_threshold(rule, host, now)

    def _threshold(self, rule_id: int) -> bool:
        return any(r.id == rule_id and r.kind in THRESHOLDS for r in self.rules)

    def _check_threshold(self, rule: RuleSpec, host: str, now: float) -> None:
        index = 1 if rule.kind == CPU else 2
        for (h, cid), samples in self.samples.items():
            c = self.containers.get((h, cid))
            if h != host or c is None or not rule.covers(host, c.name, c.labels):
                continue
            window = [s for s in samples if now - s[0] <= rule.seconds]
            values = [float(v) for s in window if (v := s[index]) is not None]
            if not values or now - window[0][0] < rule.seconds * COVERAGE:
                continue  # not enough history yet to speak of an average over the window
            average = sum(values) / len(values)
            key = (rule.id, host, cid)
            what = "CPU" if rule.kind == CPU else "memory"
            if average > rule.percent and key not in self.open:
                self.open.add(key)
                detail = f"{what} {average:.0f}% over {rule.seconds} s (above {rule.percent}%)"
                self._signal(rule, host, Target(cid, c.name, detail), FIRED, now)
            elif average <= rule.percent and key in self.open:
                self.open.discard(key)
                detail = f"{what} {average:.0f}% over {rule.seconds} s"
                self._signal(rule, host, Target(cid, c.name, detail), RECOVERED, now)

    def _container_event(
        self, host: str, ev: dict[str, Any], rows: dict[str, Any], now: float
    ) -> None:
        actor = ev.get("Actor") or {}
        cid = str(actor.get("ID") or ev.get("id") or "")
        attrs = {str(k): str(v) for k, v in (actor.get("Attributes") or {}).items()}
        action = str(ev.get("Action") or ev.get("status") or "")
        c = self.containers.setdefault((host, cid), _Container())
        row = rows.get(cid)
        if row:
            c.labels = dict(row.get("Labels") or {})
            c.name = ((row.get("Names") or [""])[0]).lstrip("/") or c.name
        else:
            c.labels = c.labels or {k: v for k, v in attrs.items() if k not in _NOT_LABELS}
        c.name = attrs.get("name") or c.name or cid[:12]
        if action == "start":
            c.stop_signals = 0
            c.oom = False
        elif action == "kill":
            if attrs.get("signal", "").upper() in STOP_SIGNALS:
                c.stop_signals += 1
        elif action == "stop":
            c.stopped_at = now
        elif action == "oom":
            c.oom = True
        elif action == "die":
            try:
                code = int(attrs.get("exitCode", "0"))
            except ValueError:
                code = 0
            self.pending_dies.append(_Die(now, host, cid, code))
        elif action.startswith("health_status"):
            health = action.partition(":")[2].strip()
            self._health(host, cid, c, health, now)
        elif action == "destroy":
            self._forget(host, cid)

    def _health(self, host: str, cid: str, c: _Container, health: str, now: float) -> None:
        for rule in self._rules(UNHEALTHY):
            if not rule.covers(host, c.name, c.labels):
                continue
            key = (rule.id, host, cid)
            if health == "unhealthy" and key not in self.open:
                self.open.add(key)
                self._signal(rule, host, Target(cid, c.name, "healthcheck failing"), FIRED, now)
            elif health == "healthy" and key in self.open:
                self.open.discard(key)
                self._signal(rule, host, Target(cid, c.name, "healthy again"), RECOVERED, now)

    def _forget(self, host: str, cid: str) -> None:
        # A removed container cannot recover: its open conditions end without a message.
        self.open = {k for k in self.open if not (k[1] == host and k[2] == cid)}
        self.containers.pop((host, cid), None)

    def _status(self, host: str, state: str, text: str, now: float) -> None:
        if state == "live":
            self.down_since.pop(host, None)
            for rule in self._rules(UNREACHABLE):
                key = (rule.id, host, "engine")
                if key in self.open:
                    self.open.discard(key)
                    self._signal(rule, host, Target("engine", "engine", ""), RECOVERED, now)
        elif state == "reconnecting":
            if host not in self.down_since:
                self.down_since[host] = now
                # Containers die as the engine shuts down: that is the engine's outage, not
                # a crash each. Deaths not yet sent are dropped (the unreachable rule speaks).
                self.pending_dies = [d for d in self.pending_dies if d.host != host]
                for key in [k for k in self.groups if k[1] == host]:
                    if self.groups[key].rule.kind in (EXIT, OOM, RESTART_LOOP):
                        del self.groups[key]
            self.down_reason[host] = text.removeprefix("Reconnecting: ")

    # -- time -------------------------------------------------------------------------------

    def tick(self, now: float | None = None) -> list[Message]:
        now = time.time() if now is None else now
        ready = [d for d in self.pending_dies if now - d.at >= self.hold]
        self.pending_dies = [d for d in self.pending_dies if now - d.at < self.hold]
        for die in ready:
            self._decide(die, now)
        for host, since in self.down_since.items():
            for rule in self._rules(UNREACHABLE):
                key = (rule.id, host, "engine")
                if (
                    key not in self.open
                    and now - since >= rule.seconds
                    and (not rule.host or rule.host == host)
                ):
                    self.open.add(key)
                    reason = self.down_reason.get(host, "")
                    self._signal(rule, host, Target("engine", "engine", reason), FIRED, now)
        self._quiet_loops(now)
        out = []
        for key, msg in list(self.groups.items()):
            if now - msg.at >= self.group:
                del self.groups[key]
                out.append(msg)
        return out

    def _decide(self, die: _Die, now: float) -> None:
        c = self.containers.get((die.host, die.cid)) or _Container(name=die.cid[:12])
        on_purpose = (
            c.stop_signals > 0
            or (
                die.host not in self.stop_means_nothing
                and c.stopped_at
                and abs(c.stopped_at - die.at) <= self.hold + 1
            )
            or self.stopped_by_dashboard(die.host, die.cid, die.at - 60)
        )
        if on_purpose:
            return
        c.dies.append(die.at)
        detail = f"OOM-killed (exit {die.exit_code})" if c.oom else f"exit code {die.exit_code}"
        target = Target(die.cid, c.name, detail)
        for rule in self.rules:
            if not rule.covers(die.host, c.name, c.labels):
                continue
            if (rule.kind == EXIT and die.exit_code != 0) or (rule.kind == OOM and c.oom):
                self._fire_once(rule, die.host, target, now)
            elif rule.kind == RESTART_LOOP:
                recent = [t for t in c.dies if now - t <= rule.minutes * 60]
                key = (rule.id, die.host, die.cid)
                if len(recent) >= rule.count and key not in self.open:
                    self.open.add(key)
                    loop = Target(die.cid, c.name, f"{len(recent)} exits in {rule.minutes} min")
                    self._signal(rule, die.host, loop, FIRED, now)

    def _quiet_loops(self, now: float) -> None:
        for rule in self._rules(RESTART_LOOP):
            for key in [k for k in self.open if k[0] == rule.id]:
                _, host, cid = key
                c = self.containers.get((host, cid))
                if c is None or not c.dies or now - c.dies[-1] > rule.minutes * 60:
                    self.open.discard(key)
                    name = c.name if c else cid[:12]
                    quiet = f"no exit for {rule.minutes} min"
                    self._signal(rule, host, Target(cid, name, quiet), RECOVERED, now)

    # -- output -----------------------------------------------------------------------------

    def _fire_once(self, rule: RuleSpec, host: str, target: Target, now: float) -> None:
        """A one-off event, at most once per cooldown for the same rule and container."""
        key = (rule.id, host, target.id)
        last = self.last_fired.get(key)
        if last is not None and now - last < rule.cooldown:
            return
        self.last_fired[key] = now
        self._signal(rule, host, target, FIRED, now)

    def _signal(self, rule: RuleSpec, host: str, target: Target, state: str, now: float) -> None:
        key = (rule.id, host, state)
        group = self.groups.get(key)
        if group is None:
            self.groups[key] = Message(rule, host, state, [target], now)
        elif all(t.id != target.id for t in group.targets):
            group.targets.append(target)

    def _rules(self, kind: str) -> list[RuleSpec]:
        return [r for r in self.rules if r.kind == kind]

    def forget_host(self, host: str) -> None:
        """The host is gone (or no longer followed): drop what is known of it."""
        self.down_since.pop(host, None)
        self.pending_dies = [d for d in self.pending_dies if d.host != host]
        self.containers = {k: v for k, v in self.containers.items() if k[0] != host}
        self.samples = {k: v for k, v in self.samples.items() if k[0] != host}
