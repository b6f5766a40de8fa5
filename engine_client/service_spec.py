"""A service's settings as `POST /services/create` takes them (a ServiceSpec, API 1.41),
built from checked values. Only what the dashboard's form offers; durations are sent in
nanoseconds, CPUs in nano-CPUs, memory in bytes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidArgument
from .validators import (
    check_constraint,
    check_labels,
    check_preference,
    check_secret_name,
    check_service_name,
)

PUBLISH_MODES = ("ingress", "host")
PROTOCOLS = ("tcp", "udp", "sctp")
MOUNT_TYPES = ("volume", "bind", "tmpfs")
RESTART_CONDITIONS = ("any", "on-failure", "none")
FAILURE_ACTIONS = ("pause", "continue", "rollback")
ROLLBACK_FAILURE_ACTIONS = ("pause", "continue")
ORDERS = ("stop-first", "start-first")
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
_DURATION_NS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def parse_duration(text: str) -> int:
    """'10s', '1m30s', '500ms', '0' -> nanoseconds (Go duration syntax, as the CLI takes it)."""
    text = text.strip()
    if text == "0":
        return 0
    pos, total = 0, 0
    for m in _DURATION_RE.finditer(text):
        if m.start() != pos:
            break
        total += int(float(m.group(1)) * _DURATION_NS[m.group(2)])
        pos = m.end()
    if not text or pos != len(text):
        raise InvalidArgument("a duration such as 10s, 1m30s or 500ms")
    return total


def format_duration(ns: int | None) -> str:
    if not ns:
        return "0s"
    for unit in ("h", "m", "s", "ms", "us"):
        if ns % _DURATION_NS[unit] == 0:
            return f"{ns // _DURATION_NS[unit]}{unit}"
    return f"{ns}ns"


@dataclass
class ServicePort:
    target: int
    published: int | None = None  # None: the swarm picks one (ingress) or none (host)
    protocol: str = "tcp"
    mode: str = "ingress"

    def body(self) -> dict[str, Any]:
        if not 1 <= self.target <= 65535 or (
            self.published is not None and not 1 <= self.published <= 65535
        ):
            raise InvalidArgument("ports are 1 to 65535")
        if self.protocol not in PROTOCOLS or self.mode not in PUBLISH_MODES:
            raise InvalidArgument("unknown protocol or publish mode")
        out: dict[str, Any] = {
            "Protocol": self.protocol,
            "TargetPort": self.target,
            "PublishMode": self.mode,
        }
        if self.published is not None:
            out["PublishedPort"] = self.published
        return out


@dataclass
class ServiceMount:
    type: str
    target: str
    source: str = ""
    read_only: bool = False

    def body(self) -> dict[str, Any]:
        if self.type not in MOUNT_TYPES:
            raise InvalidArgument(f"mount type is one of {', '.join(MOUNT_TYPES)}")
        if not self.target.startswith("/"):
            raise InvalidArgument("a mount's target is an absolute path")
        if self.type == "bind" and not self.source.startswith("/"):
            raise InvalidArgument("a bind mount's source is an absolute path on each node")
        if self.type == "tmpfs" and self.source:
            raise InvalidArgument("a tmpfs mount has no source")
        out: dict[str, Any] = {"Type": self.type, "Target": self.target}
        if self.source:
            out["Source"] = self.source
        if self.read_only:
            out["ReadOnly"] = True
        return out


@dataclass
class FileRef:
    """A secret or config given to the service's containers as a file."""

    id: str
    name: str
    target: str = ""  # file name under /run/secrets (secrets) or a path (configs)

    def body(self, kind: str) -> dict[str, Any]:
        check_secret_name(self.name, kind)
        target = self.target or self.name
        if "\x00" in target or ".." in target.split("/"):
            raise InvalidArgument(f"{kind} target {target!r} is not a file name")
        key = "Secret" if kind == "secret" else "Config"
        return {
            f"{key}ID": self.id,
            f"{key}Name": self.name,
            "File": {"Name": target, "UID": "0", "GID": "0", "Mode": 0o444},
        }


@dataclass
class Policy:
    """Update or rollback policy."""

    parallelism: int = 1
    delay: int = 0  # ns
    failure_action: str = "pause"
    monitor: int = 5 * 10**9  # ns
    order: str = "stop-first"

    def body(self, rollback: bool = False) -> dict[str, Any]:
        actions = ROLLBACK_FAILURE_ACTIONS if rollback else FAILURE_ACTIONS
        if self.failure_action not in actions or self.order not in ORDERS:
            raise InvalidArgument("unknown failure action or order")
        return {
            "Parallelism": self.parallelism,
            "Delay": self.delay,
            "FailureAction": self.failure_action,
            "Monitor": self.monitor,
            "MaxFailureRatio": 0,
            "Order": self.order,
        }


@dataclass
class ServiceSpec:
    name: str
    image: str
    mode: str = "replicated"  # or "global"
    replicas: int = 1
    args: list[str] | None = None  # None: the image's own command
    env: list[str] = field(default_factory=list)
    workdir: str = ""
    user: str = ""
    tty: bool = False
    ports: list[ServicePort] = field(default_factory=list)
    mounts: list[ServiceMount] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    spread: list[str] = field(default_factory=list)  # placement preferences
    max_replicas_per_node: int = 0
    limit_cpus: int = 0  # nano-CPUs
    limit_memory: int = 0  # bytes
    reserve_cpus: int = 0
    reserve_memory: int = 0
    restart_condition: str = "any"
    restart_delay: int = 5 * 10**9
    restart_max_attempts: int = 0
    restart_window: int = 0
    update: Policy = field(default_factory=Policy)
    rollback: Policy = field(default_factory=Policy)
    secrets: list[FileRef] = field(default_factory=list)
    configs: list[FileRef] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    container_labels: dict[str, str] = field(default_factory=dict)
    stop_grace: int | None = None  # ns

    def body(self) -> dict[str, Any]:
        check_service_name(self.name)
        if self.mode not in ("replicated", "global"):
            raise InvalidArgument("mode is replicated or global")
        for c in self.constraints:
            check_constraint(c)
        for s in self.spread:
            check_preference(s)
        if self.restart_condition not in RESTART_CONDITIONS:
            raise InvalidArgument("unknown restart condition")
        container: dict[str, Any] = {
            "Image": self.image,
            "Labels": check_labels(self.container_labels),
            "Env": list(self.env),
        }
        if self.args is not None:
            container["Args"] = list(self.args)
        if self.workdir:
            container["Dir"] = self.workdir
        if self.user:
            container["User"] = self.user
        if self.tty:
            container["TTY"] = True
        if self.mounts:
            container["Mounts"] = [m.body() for m in self.mounts]
        if self.secrets:
            container["Secrets"] = [s.body("secret") for s in self.secrets]
        if self.configs:
            container["Configs"] = [c.body("config") for c in self.configs]
        if self.stop_grace is not None:
            container["StopGracePeriod"] = self.stop_grace
        limits: dict[str, int] = {}
        if self.limit_cpus:
            limits["NanoCPUs"] = self.limit_cpus
        if self.limit_memory:
            limits["MemoryBytes"] = self.limit_memory
        reservations: dict[str, int] = {}
        if self.reserve_cpus:
            reservations["NanoCPUs"] = self.reserve_cpus
        if self.reserve_memory:
            reservations["MemoryBytes"] = self.reserve_memory
        placement: dict[str, Any] = {}
        if self.constraints:
            placement["Constraints"] = list(self.constraints)
        if self.spread:
            placement["Preferences"] = [{"Spread": {"SpreadDescriptor": s}} for s in self.spread]
        if self.max_replicas_per_node:
            placement["MaxReplicas"] = self.max_replicas_per_node
        task: dict[str, Any] = {
            "ContainerSpec": container,
            "Resources": {"Limits": limits, "Reservations": reservations},
            "RestartPolicy": {
                "Condition": self.restart_condition,
                "Delay": self.restart_delay,
                "MaxAttempts": self.restart_max_attempts,
                "Window": self.restart_window,
            },
            "Placement": placement,
        }
        if self.networks:
            # TaskTemplate.Networks: the top-level Networks is deprecated from API 1.44.
            task["Networks"] = [{"Target": n} for n in self.networks]
        mode: dict[str, Any] = {"Global": {}}
        if self.mode == "replicated":
            mode = {"Replicated": {"Replicas": self.replicas}}
        spec: dict[str, Any] = {
            "Name": self.name,
            "Labels": check_labels(self.labels),
            "TaskTemplate": task,
            "Mode": mode,
            "UpdateConfig": self.update.body(),
            "RollbackConfig": self.rollback.body(rollback=True),
            "EndpointSpec": {"Mode": "vip", "Ports": [p.body() for p in self.ports]},
        }
        return spec
