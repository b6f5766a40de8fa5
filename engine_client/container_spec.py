"""A container's settings, in both directions: what `POST /containers/create` takes, read
back from what `GET /containers/{id}/json` shows, and the `docker run` command that makes it.

Only the settings the dashboard's form offers; whatever else a container has is not carried
over by `from_inspect` (say so where it matters).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import InvalidArgument

PROTOCOLS = ("tcp", "udp", "sctp")
RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")
MOUNT_TYPES = ("bind", "volume")
# Linux capabilities the engine knows (without the CAP_ prefix), and ALL.
CAPABILITIES = frozenset(
    [
        "AUDIT_CONTROL",
        "AUDIT_READ",
        "AUDIT_WRITE",
        "BLOCK_SUSPEND",
        "BPF",
        "CHECKPOINT_RESTORE",
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "IPC_LOCK",
        "IPC_OWNER",
        "KILL",
        "LEASE",
        "LINUX_IMMUTABLE",
        "MAC_ADMIN",
        "MAC_OVERRIDE",
        "MKNOD",
        "NET_ADMIN",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_RAW",
        "PERFMON",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYSLOG",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_CHROOT",
        "SYS_MODULE",
        "SYS_NICE",
        "SYS_PACCT",
        "SYS_PTRACE",
        "SYS_RAWIO",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "WAKE_ALARM",
        "ALL",
    ]
)
# Networks that take no aliases (aliases are for user-defined networks only).
BUILTIN_NETWORKS = ("", "default", "bridge", "host", "none")

_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
_MEMORY_RE = re.compile(r"(\d+(?:\.\d+)?) ?([kmgtp]?)(?:i?b)?", re.IGNORECASE)


def parse_memory(text: str) -> int:
    """'512m', '1.5g', '1048576', '64MiB' -> bytes, as `docker run --memory` reads them."""
    m = _MEMORY_RE.fullmatch(text.strip())
    if not m:
        raise InvalidArgument("a size like 512m, 1g or a number of bytes")
    value = Decimal(m.group(1)) * _UNITS[m.group(2).lower()]
    return int(value)


def format_memory(n: int) -> str:
    """Bytes -> the shortest exact `--memory` spelling: 536870912 -> '512m'."""
    for unit in ("g", "m", "k"):
        if n and n % _UNITS[unit] == 0:
            return f"{n // _UNITS[unit]}{unit}"
    return str(n)


def parse_cpus(text: str) -> int:
    """'1.5' -> 1500000000 nano-CPUs, as `docker run --cpus` reads it."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidArgument("a number of CPUs such as 0.5 or 2") from None
    nano = value * 10**9
    if not value.is_finite() or nano != nano.to_integral_value():
        raise InvalidArgument("a number of CPUs with at most 9 decimals")
    return int(nano)


def format_cpus(nano: int) -> str:
    text = format(Decimal(nano) / 10**9, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass
class PortSpec:
    container_port: int
    protocol: str = "tcp"
    host_ip: str = ""
    host_port: int | None = None  # None: the engine picks a free one

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.protocol}"

    def docker_arg(self) -> str:
        host = ""
        if self.host_ip:
            ip = f"[{self.host_ip}]" if ":" in self.host_ip else self.host_ip
            host = f"{ip}:{self.host_port or ''}:"
        elif self.host_port:
            host = f"{self.host_port}:"
        return f"{host}{self.container_port}/{self.protocol}"


@dataclass
class MountSpec:
    type: str  # bind or volume
    source: str  # an absolute host path (bind) or a volume name
    target: str  # an absolute path in the container
    read_only: bool = False

    def docker_arg(self) -> str:
        fields = [f"type={self.type}", f"source={self.source}", f"target={self.target}"]
        if self.read_only:
            fields.append("readonly")
        # --mount is CSV: a field with a comma or a quote is quoted, its quotes doubled.
        return ",".join(
            f'"{f.replace(chr(34), chr(34) * 2)}"' if ("," in f or '"' in f) else f for f in fields
        )


@dataclass
class ContainerSpec:
    image: str
    name: str = ""
    cmd: list[str] | None = None  # None: the image's own
    entrypoint: list[str] | None = None  # None: the image's own
    env: list[str] = field(default_factory=list)
    ports: list[PortSpec] = field(default_factory=list)
    mounts: list[MountSpec] = field(default_factory=list)
    network: str = ""  # "": the engine's default (the bridge)
    aliases: list[str] = field(default_factory=list)
    restart: str = "no"
    restart_max: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    workdir: str = ""
    user: str = ""
    hostname: str = ""
    memory: int = 0  # bytes, 0: no limit
    nano_cpus: int = 0  # 10^-9 CPUs, 0: no limit
    tty: bool = False
    interactive: bool = False  # keep stdin open
    auto_remove: bool = False
    privileged: bool = False
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)

    # -- to the engine ----------------------------------------------------------------------

    def create_body(
        self, base: dict[str, Any] | None = None, keep_identity: bool = False
    ) -> dict[str, Any]:
        """The body of `POST /containers/create` (the name goes in the query).

        With `base`, the inspect of the container this spec was read from, every setting the
        spec does not cover (health check, logging, DNS, ulimits, devices, ...) is kept from
        it, so that a duplicate or a recreate loses nothing the form did not show.
        `keep_identity` (a recreate) also keeps its MAC address and fixed IP addresses.
        """
        body = self._own_body()
        return body if base is None else _over(body, base, self, keep_identity)

    def _own_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "Image": self.image,
            "Env": list(self.env),
            "Labels": dict(self.labels),
            "Tty": self.tty,
            "OpenStdin": self.interactive,
        }
        if self.cmd is not None:
            body["Cmd"] = list(self.cmd)
        if self.entrypoint is not None:
            body["Entrypoint"] = list(self.entrypoint)
        for key, value in (
            ("WorkingDir", self.workdir),
            ("User", self.user),
            ("Hostname", self.hostname),
        ):
            if value:
                body[key] = value
        bindings: dict[str, list[dict[str, str]]] = {}
        for p in self.ports:
            bindings.setdefault(p.key, []).append(
                {"HostIp": p.host_ip, "HostPort": str(p.host_port or "")}
            )
        if bindings:
            body["ExposedPorts"] = {key: {} for key in bindings}
        host: dict[str, Any] = {
            "PortBindings": bindings,
            "Mounts": [
                {"Type": m.type, "Source": m.source, "Target": m.target, "ReadOnly": m.read_only}
                for m in self.mounts
            ],
            "RestartPolicy": {
                "Name": self.restart if self.restart != "no" else "",
                "MaximumRetryCount": self.restart_max if self.restart == "on-failure" else 0,
            },
            "AutoRemove": self.auto_remove,
            "Privileged": self.privileged,
        }
        if self.memory:
            host["Memory"] = self.memory
        if self.nano_cpus:
            host["NanoCpus"] = self.nano_cpus
        if self.cap_add:
            host["CapAdd"] = list(self.cap_add)
        if self.cap_drop:
            host["CapDrop"] = list(self.cap_drop)
        if self.network:
            host["NetworkMode"] = self.network
        body["HostConfig"] = host
        if self.network and self.aliases:
            endpoint = {"Aliases": list(self.aliases)}
            body["NetworkingConfig"] = {"EndpointsConfig": {self.network: endpoint}}
        return body

    # -- from the engine --------------------------------------------------------------------

    @classmethod
    def from_inspect(
        cls, c: dict[str, Any], image_config: dict[str, Any] | None = None
    ) -> ContainerSpec:
        """A container's settings from its inspect. With the image's `Config`, settings equal
        to the image's own defaults are left out (they come back from the image anyway)."""
        config = c.get("Config") or {}
        hc = c.get("HostConfig") or {}
        cid = c.get("Id", "")
        ports = []
        for key, bindings in sorted((hc.get("PortBindings") or {}).items()):
            number, _, proto = key.partition("/")
            for b in bindings or []:
                hp = (b or {}).get("HostPort") or ""
                ports.append(
                    PortSpec(
                        int(number),
                        proto or "tcp",
                        (b or {}).get("HostIp") or "",
                        int(hp) if hp.isdigit() else None,
                    )
                )
        mounts = [
            MountSpec(
                m.get("Type", ""), m.get("Source", ""), m.get("Target", ""), bool(m.get("ReadOnly"))
            )
            for m in hc.get("Mounts") or []
            if m.get("Type") in MOUNT_TYPES
        ]
        for bind in hc.get("Binds") or []:
            mounts.append(_parse_bind(bind))
        network = hc.get("NetworkMode") or ""
        network = "" if network == "default" else network
        endpoint = ((c.get("NetworkSettings") or {}).get("Networks") or {}).get(network) or {}
        # Up to API 1.44 the engine adds the short id to the aliases of a user-defined network.
        aliases = [a for a in endpoint.get("Aliases") or [] if a != cid[:12]]
        policy = hc.get("RestartPolicy") or {}
        hostname = config.get("Hostname") or ""
        spec = cls(
            image=config.get("Image", ""),
            name=(c.get("Name") or "").lstrip("/"),
            cmd=config.get("Cmd"),
            entrypoint=config.get("Entrypoint"),
            env=list(config.get("Env") or []),
            ports=ports,
            mounts=mounts,
            network=network,
            aliases=aliases if network not in BUILTIN_NETWORKS else [],
            restart=policy.get("Name") or "no",
            restart_max=int(policy.get("MaximumRetryCount") or 0),
            labels=dict(config.get("Labels") or {}),
            workdir=config.get("WorkingDir") or "",
            user=config.get("User") or "",
            # The engine's default hostname is the short id: not a setting to copy.
            hostname="" if hostname == cid[:12] else hostname,
            memory=int(hc.get("Memory") or 0),
            nano_cpus=int(hc.get("NanoCpus") or 0),
            tty=bool(config.get("Tty")),
            interactive=bool(config.get("OpenStdin")),
            auto_remove=bool(hc.get("AutoRemove")),
            privileged=bool(hc.get("Privileged")),
            cap_add=list(hc.get("CapAdd") or []),
            cap_drop=list(hc.get("CapDrop") or []),
        )
        if image_config is not None:
            spec.drop_image_defaults(image_config)
        return spec

    def drop_image_defaults(self, image_config: dict[str, Any]) -> None:
        """Leave out what equals the image's own settings (the engine fills those in)."""
        image_env = set(image_config.get("Env") or [])
        self.env = [e for e in self.env if e not in image_env]
        image_labels = image_config.get("Labels") or {}
        self.labels = {k: v for k, v in self.labels.items() if image_labels.get(k) != v}
        if self.entrypoint == (image_config.get("Entrypoint") or None):
            self.entrypoint = None
            # An entrypoint of one's own drops the image's command, so the command is the
            # image's only while the entrypoint is too.
            if self.cmd == (image_config.get("Cmd") or None):
                self.cmd = None
        if self.workdir == (image_config.get("WorkingDir") or ""):
            self.workdir = ""
        if self.user == (image_config.get("User") or ""):
            self.user = ""

    # -- as a command -----------------------------------------------------------------------

    def docker_run(self, secret_keys: set[str] | None = None) -> list[list[str]]:
        """`docker run` that makes this container, as argument groups (one per line).
        Variables named in `secret_keys` are passed by name only (`-e KEY`: the value comes
        from the environment of whoever runs it)."""
        secret_keys = secret_keys or set()
        lines: list[list[str]] = [["docker", "run", "-d"]]
        if self.name:
            lines.append(["--name", self.name])
        flags = [
            ("-t", self.tty),
            ("-i", self.interactive),
            ("--rm", self.auto_remove),
            ("--privileged", self.privileged),
        ]
        if any(on for _, on in flags):
            lines.append([flag for flag, on in flags if on])
        for opt, value in (
            ("--hostname", self.hostname),
            ("--user", self.user),
            ("--workdir", self.workdir),
        ):
            if value:
                lines.append([opt, value])
        for e in self.env:
            key = e.partition("=")[0]
            lines.append(["-e", key if key in secret_keys else e])
        for p in self.ports:
            lines.append(["-p", p.docker_arg()])
        for m in self.mounts:
            lines.append(["--mount", m.docker_arg()])
        if self.network:
            lines.append(["--network", self.network])
        for a in self.aliases:
            lines.append(["--network-alias", a])
        if self.restart != "no":
            policy = self.restart
            if self.restart == "on-failure" and self.restart_max:
                policy += f":{self.restart_max}"
            lines.append(["--restart", policy])
        for k, v in sorted(self.labels.items()):
            lines.append(["--label", f"{k}={v}"])
        if self.memory:
            lines.append(["--memory", format_memory(self.memory)])
        if self.nano_cpus:
            lines.append(["--cpus", format_cpus(self.nano_cpus)])
        for cap in self.cap_add:
            lines.append(["--cap-add", cap])
        for cap in self.cap_drop:
            lines.append(["--cap-drop", cap])
        extra: list[str] = []
        if self.entrypoint is not None:
            # --entrypoint takes one word; the rest of an entrypoint goes before the command.
            lines.append(["--entrypoint", self.entrypoint[0] if self.entrypoint else ""])
            extra = self.entrypoint[1:]
        lines.append([self.image, *extra, *(self.cmd or [])])
        return lines

    def docker_run_text(self, secret_keys: set[str] | None = None) -> str:
        """The command as shell text, every word quoted, one option per line."""
        return " \\\n  ".join(
            " ".join(shlex.quote(word) for word in group) for group in self.docker_run(secret_keys)
        )


# Config keys the spec sets (or leaves to the image) itself; a base's values are not copied.
_SPEC_CONFIG_KEYS = {
    "Image",
    "Env",
    "Labels",
    "Tty",
    "OpenStdin",
    "Cmd",
    "Entrypoint",
    "WorkingDir",
    "User",
    "Hostname",
    "ExposedPorts",
}


def _over(
    body: dict[str, Any], base: dict[str, Any], spec: ContainerSpec, keep_identity: bool
) -> dict[str, Any]:
    """The spec's own body laid over a container's inspect."""
    config = {k: v for k, v in (base.get("Config") or {}).items() if k not in _SPEC_CONFIG_KEYS}
    if not keep_identity:
        config.pop("MacAddress", None)
    host = dict(base.get("HostConfig") or {})
    # Binds were read into the spec's mounts: copying them too would mount twice.
    host.pop("Binds", None)
    if host.get("Links"):
        # Inspect says "/other:/this/alias"; create wants "other:alias".
        host["Links"] = [
            f"{link.split(':')[0].lstrip('/')}:{link.split(':')[-1].rsplit('/', 1)[-1]}"
            for link in host["Links"]
        ]
    if spec.memory != (host.get("Memory") or 0):
        host["MemorySwap"] = 0  # the engine's default for the new limit
    own_host = body["HostConfig"]
    host.update(own_host)
    # What the form cleared must be cleared here too, not kept from the base.
    host.update(
        Memory=spec.memory,
        NanoCpus=spec.nano_cpus,
        CapAdd=list(spec.cap_add) or None,
        CapDrop=list(spec.cap_drop) or None,
        NetworkMode=spec.network or "default",
    )
    merged = {**config, **body, "HostConfig": host}
    if keep_identity and spec.network == ((base.get("HostConfig") or {}).get("NetworkMode") or ""):
        net = spec.network
        endpoint = ((base.get("NetworkSettings") or {}).get("Networks") or {}).get(net) or {}
        if net and endpoint.get("IPAMConfig"):
            merged.setdefault("NetworkingConfig", {"EndpointsConfig": {net: {}}})
            merged["NetworkingConfig"]["EndpointsConfig"].setdefault(net, {})
            merged["NetworkingConfig"]["EndpointsConfig"][net]["IPAMConfig"] = endpoint[
                "IPAMConfig"
            ]
    return merged


def other_networks(c: dict[str, Any], primary: str) -> dict[str, dict[str, Any]]:
    """The networks a container is attached to besides `primary` (its NetworkMode), with
    the aliases given to it there: a create attaches one network, the others are connected
    afterwards."""
    mode = (c.get("HostConfig") or {}).get("NetworkMode") or ""
    if mode in ("host", "none") or mode.startswith("container:"):
        return {}
    primary = "bridge" if primary in ("", "default") else primary
    cid = c.get("Id", "")
    out = {}
    for name, endpoint in ((c.get("NetworkSettings") or {}).get("Networks") or {}).items():
        if name == primary:
            continue
        aliases = [a for a in (endpoint or {}).get("Aliases") or [] if a != cid[:12]]
        ipv4 = ((endpoint or {}).get("IPAMConfig") or {}).get("IPv4Address") or ""
        out[name] = {"aliases": aliases, "ipv4": ipv4}
    return out


def _parse_bind(bind: str) -> MountSpec:
    """'src:dst[:opts]' (HostConfig.Binds) -> a mount."""
    parts = bind.split(":")
    source, target = parts[0], parts[1] if len(parts) > 1 else ""
    options = parts[2].split(",") if len(parts) > 2 else []
    kind = "bind" if source.startswith("/") else "volume"
    return MountSpec(kind, source, target, "ro" in options)
