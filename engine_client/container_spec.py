"""A container's settings, in both directions: what `POST /containers/create` takes, read
back from what `GET /containers/{id}/json` shows, and the `docker run` command that makes it.

The spec's fields are the settings the dashboard's form offers; a duplicate or recreate
keeps the rest from the source container's inspect (`create_body(base=...)`). The `docker
run` command covers every setting of the inspect that the docker CLI (20.10 and later) can
express: the form's through the fields, the others through `others`, read by `from_inspect`.
What `docker run` cannot express at all is listed once, in NOT_IN_DOCKER_RUN, and a
container's own such settings are named in `unexpressed` (the page shows both).
tests/test_docker_run_exact.py runs the command with the real CLI and compares the inspects.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import InvalidArgument
from .validators import format_duration

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
    # The mount's other options as the engine reports them (BindOptions, VolumeOptions,
    # Consistency): not in the form, kept so that a duplicate and the command lose nothing.
    options: dict[str, Any] = field(default_factory=dict)
    # The `-v` text this mount was read from (HostConfig.Binds): the command gives it back as
    # `-v`, since `--mount` would make a different inspect (Mounts instead of Binds).
    bind: str = field(default="", compare=False)

    def body(self) -> dict[str, Any]:
        return {
            **self.options,
            "Type": self.type,
            "Source": self.source,
            "Target": self.target,
            "ReadOnly": self.read_only,
        }

    def docker_arg(self) -> str:
        return mount_csv(self.body())

    def docker_args(self) -> list[str]:
        return ["-v", self.bind] if self.bind else ["--mount", self.docker_arg()]


def mount_csv(m: dict[str, Any]) -> str:
    """A HostConfig.Mounts entry as the value of `docker run --mount`."""
    fields = [f"type={m.get('Type') or 'volume'}"]
    if m.get("Source"):
        fields.append(f"source={m['Source']}")
    fields.append(f"target={m.get('Target', '')}")
    if m.get("ReadOnly"):
        fields.append("readonly")
    if m.get("Consistency") and m["Consistency"] != "default":
        fields.append(f"consistency={m['Consistency']}")
    bind = m.get("BindOptions") or {}
    if bind.get("Propagation"):
        fields.append(f"bind-propagation={bind['Propagation']}")
    if bind.get("NonRecursive"):
        fields.append("bind-nonrecursive")
    volume = m.get("VolumeOptions") or {}
    if volume.get("NoCopy"):
        fields.append("volume-nocopy")
    if volume.get("Subpath"):
        fields.append(f"volume-subpath={volume['Subpath']}")
    for k, v in sorted((volume.get("Labels") or {}).items()):
        fields.append(f"volume-label={k}={v}")
    driver = volume.get("DriverConfig") or {}
    if driver.get("Name"):
        fields.append(f"volume-driver={driver['Name']}")
    for k, v in sorted((driver.get("Options") or {}).items()):
        fields.append(f"volume-opt={k}={v}")
    tmpfs = m.get("TmpfsOptions") or {}
    if tmpfs.get("SizeBytes"):
        fields.append(f"tmpfs-size={tmpfs['SizeBytes']}")
    if tmpfs.get("Mode"):
        fields.append(f"tmpfs-mode={tmpfs['Mode']:o}")
    # --mount is CSV: a field with a comma or a quote is quoted, its quotes doubled.
    return ",".join(
        f'"{f.replace(chr(34), chr(34) * 2)}"' if ("," in f or '"' in f) else f for f in fields
    )


@dataclass
class HealthSpec:
    """A health check (Config.Healthcheck). `test` as the engine has it: [] keeps the image's
    command, ["NONE"] turns the image's check off, ["CMD-SHELL", command] runs it with the
    shell, ["CMD", program, args...] without. Durations in nanoseconds, 0: the image's (or
    the engine's default)."""

    test: list[str] = field(default_factory=list)
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0  # API 1.44 and later
    retries: int = 0

    @classmethod
    def from_config(cls, h: dict[str, Any] | None) -> HealthSpec | None:
        if not h:
            return None
        return cls(
            test=list(h.get("Test") or []),
            interval=int(h.get("Interval") or 0),
            timeout=int(h.get("Timeout") or 0),
            start_period=int(h.get("StartPeriod") or 0),
            start_interval=int(h.get("StartInterval") or 0),
            retries=int(h.get("Retries") or 0),
        )

    @property
    def disabled(self) -> bool:
        return self.test[:1] == ["NONE"]

    @property
    def shell_command(self) -> str:
        """The check as one shell command line (what `--health-cmd` takes)."""
        if self.test[:1] == ["CMD-SHELL"]:
            return " ".join(self.test[1:])
        if self.test[:1] == ["CMD"]:
            return shlex.join(self.test[1:])
        return ""

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Test": list(self.test)} if self.test else {}
        for key, value in (
            ("Interval", self.interval),
            ("Timeout", self.timeout),
            ("StartPeriod", self.start_period),
            ("StartInterval", self.start_interval),
            ("Retries", self.retries),
        ):
            if value:
                out[key] = value
        return out

    def docker_args(self) -> list[list[str]]:
        if self.disabled:
            return [["--no-healthcheck"]]
        lines = [["--health-cmd", self.shell_command]] if self.shell_command else []
        for opt, ns in (
            ("--health-interval", self.interval),
            ("--health-timeout", self.timeout),
            ("--health-start-period", self.start_period),
            ("--health-start-interval", self.start_interval),
        ):
            if ns:
                lines.append([opt, format_duration(ns)])
        if self.retries:
            lines.append(["--health-retries", str(self.retries)])
        return lines


@dataclass(frozen=True)
class EngineDefaults:
    """What an engine fills in for a setting left out of a create (read from its /info), so
    that the command can leave out the values it would get anyway."""

    log_driver: str = "json-file"
    runtime: str = "runc"
    cgroupns: str = ""  # "": not known, always shown

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> EngineDefaults:
        cgroupns = {"1": "host", "2": "private"}.get(str(info.get("CgroupVersion") or ""), "")
        return cls(
            log_driver=info.get("LoggingDriver") or "json-file",
            runtime=info.get("DefaultRuntime") or "runc",
            cgroupns=cgroupns,
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
    health: HealthSpec | None = None  # None: the image's own
    tmpfs: dict[str, str] = field(default_factory=dict)  # path -> mount options
    # Read by from_inspect, for the command only: `docker run` arguments for the container's
    # settings the form does not offer (a create keeps those from its base instead), and the
    # NOT_IN_DOCKER_RUN entries that this container has.
    others: list[list[str]] = field(default_factory=list, compare=False)
    # The networks besides the first, with their aliases and fixed address: `docker run`
    # attaches one network, these take a `docker network connect` each.
    connects: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)
    unexpressed: list[str] = field(default_factory=list, compare=False)

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
        if self.health is not None:
            body["Healthcheck"] = self.health.body()
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
            "Mounts": [m.body() for m in self.mounts],
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
        if self.tmpfs:
            host["Tmpfs"] = dict(self.tmpfs)
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
        cls,
        c: dict[str, Any],
        image_config: dict[str, Any] | None = None,
        defaults: EngineDefaults | None = None,
    ) -> ContainerSpec:
        """A container's settings from its inspect. With the image's `Config`, settings equal
        to the image's own defaults are left out (they come back from the image anyway); with
        the engine's `defaults`, so are the values it fills in by itself."""
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
                m.get("Type", ""),
                m.get("Source", ""),
                m.get("Target", ""),
                bool(m.get("ReadOnly")),
                options={k: v for k, v in m.items() if k in _MOUNT_OPTION_KEYS and v},
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
            health=HealthSpec.from_config(config.get("Healthcheck")),
            tmpfs=dict(hc.get("Tmpfs") or {}),
        )
        if image_config is not None:
            spec.drop_image_defaults(image_config)
        spec.others, spec.unexpressed = _run_extras(c, image_config or {}, defaults)
        spec.connects = other_networks(c, network)
        if spec.entrypoint and len(spec.entrypoint) > 1:
            spec.unexpressed.append("Config.Entrypoint")
        if spec.health is not None and spec.health.test[:1] == ["CMD"]:
            spec.unexpressed.append("Config.Healthcheck.Test")
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
        # The engine lays the image's check under the container's: one equal to the image's
        # is the image's.
        if self.health is not None and self.health == HealthSpec.from_config(
            image_config.get("Healthcheck")
        ):
            self.health = None

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
            lines.append(m.docker_args())
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
        if self.health is not None:
            lines.extend(self.health.docker_args())
        for path, options in sorted(self.tmpfs.items()):
            lines.append(["--tmpfs", f"{path}:{options}" if options else path])
        lines.extend(self.others)
        extra: list[str] = []
        if self.entrypoint is not None:
            # --entrypoint takes one word; the rest of an entrypoint goes before the command.
            lines.append(["--entrypoint", self.entrypoint[0] if self.entrypoint else ""])
            extra = self.entrypoint[1:]
        lines.append([self.image, *extra, *(self.cmd or [])])
        return lines

    def network_connects(self) -> list[list[str]]:
        """`docker network connect` for each network besides the first (after the run)."""
        lines = []
        for net, how in sorted(self.connects.items()):
            words = ["docker", "network", "connect"]
            for alias in how.get("aliases") or []:
                words += ["--alias", alias]
            if how.get("ipv4"):
                words += ["--ip", how["ipv4"]]
            lines.append([*words, net, self.name])
        return lines

    def network_connects_text(self) -> str:
        return "\n".join(" ".join(shlex.quote(w) for w in line) for line in self.network_connects())

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
    "Healthcheck",
}
# A mount's keys besides type, source, target and read-only (see MountSpec.options).
_MOUNT_OPTION_KEYS = ("BindOptions", "VolumeOptions", "Consistency")


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
    # Mounts the form does not show (tmpfs-type ones) stay as they were.
    kept = [m for m in host.get("Mounts") or [] if m.get("Type") not in MOUNT_TYPES]
    host.update(own_host)
    host["Mounts"] = [*own_host["Mounts"], *kept]
    # What the form cleared must be cleared here too, not kept from the base.
    host.update(
        Memory=spec.memory,
        NanoCpus=spec.nano_cpus,
        CapAdd=list(spec.cap_add) or None,
        CapDrop=list(spec.cap_drop) or None,
        Tmpfs=dict(spec.tmpfs) or None,
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
    return MountSpec(kind, source, target, "ro" in options, bind=bind)


# -- what `docker run` cannot say ------------------------------------------------------------

# Every setting of a container's inspect that the command cannot reproduce, and why: the one
# list (the page shows it; `ContainerSpec.unexpressed` names the ones a container has). What
# the command leaves out on purpose because the engine chooses it (ids, addresses, paths, the
# default hostname, the default log driver...) is not a setting and is not here.
NOT_IN_DOCKER_RUN: dict[str, str] = {
    "Config.Entrypoint": "--entrypoint takes one word: the rest of a longer entrypoint is "
    "put before the command (the same program runs with the same arguments, but the new "
    "container's Entrypoint and Cmd are split differently)",
    "Config.Healthcheck.Test": "--health-cmd always makes a shell-form check (CMD-SHELL): an "
    "exec-form check (CMD) is shown as a shell command running the same words",
    "Config.NetworkDisabled": "no docker run flag (--network none is another setting)",
    "Config.StdinOnce": "set by docker run only for a run attached to stdin (-i without -d)",
    "Config.OnBuild": "an image build setting: docker run has no flag",
    "Config.Shell": "an image build setting: docker run has no flag",
    "HostConfig.DeviceRequests": "docker run makes device requests only through --gpus, "
    "for the GPU capability alone",
    "HostConfig.KernelMemoryTCP": "no docker run flag",
    "HostConfig.Cgroup": "no docker run flag",
    "HostConfig.MaskedPaths": "docker run keeps the engine's list or clears it "
    "(--security-opt systempaths=unconfined); a list of one's own has no flag",
    "HostConfig.ReadonlyPaths": "docker run keeps the engine's list or clears it "
    "(--security-opt systempaths=unconfined); a list of one's own has no flag",
    "HostConfig.SecurityOpt seccomp": "a seccomp profile is stored as its JSON, and "
    "--security-opt seccomp= takes a file: save the profile and name the file",
    "HostConfig.Mounts (npipe, cluster)": "Windows named pipes and cluster volumes: not shown",
    "HostConfig.Mounts BindOptions": "bind options besides propagation and non-recursive "
    "(create the mount point, read-only recursion): not shown",
    "NetworkSettings.Networks (more than one)": "docker run (CLI 20.10) attaches one "
    "network: the page shows a docker network connect for each of the others, to run after it",
    "NetworkSettings.Networks DriverOpts": "per-endpoint driver options: not shown",
}

_SHM_DEFAULT = 64 * 1024**2  # the engine's default /dev/shm size
# HostConfig keys that map one value to one flag; an empty or zero value is left out.
_HOST_FLAGS = (
    ("CpuShares", "--cpu-shares"),
    ("CpuPeriod", "--cpu-period"),
    ("CpuQuota", "--cpu-quota"),
    ("CpuRealtimePeriod", "--cpu-rt-period"),
    ("CpuRealtimeRuntime", "--cpu-rt-runtime"),
    ("CpusetCpus", "--cpuset-cpus"),
    ("CpusetMems", "--cpuset-mems"),
    ("BlkioWeight", "--blkio-weight"),
    ("OomScoreAdj", "--oom-score-adj"),
    ("CgroupParent", "--cgroup-parent"),
    ("VolumeDriver", "--volume-driver"),
    ("UsernsMode", "--userns"),
    ("UTSMode", "--uts"),
    ("PidMode", "--pid"),
    # Windows only, but the CLI takes them everywhere.
    ("CpuCount", "--cpu-count"),
    ("CpuPercent", "--cpu-percent"),
    ("IOMaximumIOps", "--io-maxiops"),
    ("IOMaximumBandwidth", "--io-maxbandwidth"),
)
_HOST_SIZES = (("MemoryReservation", "--memory-reservation"), ("KernelMemory", "--kernel-memory"))
_HOST_LISTS = (
    ("Dns", "--dns"),
    ("DnsSearch", "--dns-search"),
    ("DnsOptions", "--dns-option"),
    ("ExtraHosts", "--add-host"),
    ("GroupAdd", "--group-add"),
    ("DeviceCgroupRules", "--device-cgroup-rule"),
    ("VolumesFrom", "--volumes-from"),
)
_THROTTLES = (
    ("BlkioDeviceReadBps", "--device-read-bps"),
    ("BlkioDeviceWriteBps", "--device-write-bps"),
    ("BlkioDeviceReadIOps", "--device-read-iops"),
    ("BlkioDeviceWriteIOps", "--device-write-iops"),
)


def _run_extras(
    c: dict[str, Any], image: dict[str, Any], defaults: EngineDefaults | None
) -> tuple[list[list[str]], list[str]]:
    """`docker run` arguments for the settings ContainerSpec has no field for, and the
    NOT_IN_DOCKER_RUN keys this container has."""
    defaults = defaults or EngineDefaults()
    config = c.get("Config") or {}
    hc = c.get("HostConfig") or {}
    args: list[list[str]] = []
    missing: list[str] = []

    if config.get("Domainname"):
        args.append(["--domainname", config["Domainname"]])
    published = set(hc.get("PortBindings") or {})
    for port in sorted(config.get("ExposedPorts") or {}):
        if port not in published and port not in (image.get("ExposedPorts") or {}):
            args.append(["--expose", port])
    for path in sorted(config.get("Volumes") or {}):
        if path not in (image.get("Volumes") or {}):
            args.append(["-v", path])  # an anonymous volume
    if config.get("StopSignal") and config["StopSignal"] != image.get("StopSignal"):
        args.append(["--stop-signal", config["StopSignal"]])
    if config.get("StopTimeout") is not None:
        args.append(["--stop-timeout", str(config["StopTimeout"])])
    if config.get("MacAddress"):
        args.append(["--mac-address", config["MacAddress"]])
    for key in ("NetworkDisabled", "StdinOnce"):
        if config.get(key):
            missing.append(f"Config.{key}")
    for key in ("OnBuild", "Shell"):
        if config.get(key) and config[key] != image.get(key):
            missing.append(f"Config.{key}")

    for key, flag in _HOST_FLAGS:
        if hc.get(key):
            args.append([flag, str(hc[key])])
    for key, flag in _HOST_SIZES:
        if hc.get(key):
            args.append([flag, format_memory(int(hc[key]))])
    swap, memory = int(hc.get("MemorySwap") or 0), int(hc.get("Memory") or 0)
    # The engine makes a limited container's swap twice its memory unless told otherwise.
    if swap and not (memory and swap == 2 * memory):
        args.append(["--memory-swap", "-1" if swap < 0 else format_memory(swap)])
    if hc.get("MemorySwappiness") not in (None, -1):
        args.append(["--memory-swappiness", str(hc["MemorySwappiness"])])
    if hc.get("PidsLimit"):
        args.append(["--pids-limit", str(hc["PidsLimit"])])
    if hc.get("OomKillDisable"):
        args.append(["--oom-kill-disable"])
    if hc.get("Init") is not None:
        # false is a setting too: never an init, whatever the engine's default.
        args.append(["--init"] if hc["Init"] else ["--init=false"])
    if hc.get("ReadonlyRootfs"):
        args.append(["--read-only"])
    if hc.get("PublishAllPorts"):
        args.append(["-P"])
    if hc.get("ShmSize") and int(hc["ShmSize"]) != _SHM_DEFAULT:
        args.append(["--shm-size", format_memory(int(hc["ShmSize"]))])
    if hc.get("IpcMode") not in (None, "", "private"):
        args.append(["--ipc", hc["IpcMode"]])
    if hc.get("CgroupnsMode") and hc["CgroupnsMode"] != defaults.cgroupns:
        args.append(["--cgroupns", hc["CgroupnsMode"]])
    if hc.get("Runtime") and hc["Runtime"] != defaults.runtime:
        args.append(["--runtime", hc["Runtime"]])
    if hc.get("Isolation") not in (None, "", "default"):
        args.append(["--isolation", hc["Isolation"]])
    log = hc.get("LogConfig") or {}
    if log.get("Type") and log["Type"] != defaults.log_driver:
        args.append(["--log-driver", log["Type"]])
    for k, v in sorted((log.get("Config") or {}).items()):
        args.append(["--log-opt", f"{k}={v}"])
    for key, flag in _HOST_LISTS:
        for value in hc.get(key) or []:
            args.append([flag, value])
    for link in hc.get("Links") or []:
        # Inspect says "/other:/this/alias"; --link takes "other:alias".
        name, _, alias = link.partition(":")
        args.append(["--link", f"{name.lstrip('/')}:{alias.rsplit('/', 1)[-1]}"])
    for opt in hc.get("SecurityOpt") or []:
        if opt.startswith("seccomp=") and opt[len("seccomp=") :].lstrip().startswith("{"):
            missing.append("HostConfig.SecurityOpt seccomp")
        else:
            args.append(["--security-opt", opt])
    if hc.get("MaskedPaths") == [] and hc.get("ReadonlyPaths") == [] and not hc.get("Privileged"):
        args.append(["--security-opt", "systempaths=unconfined"])
    for k, v in sorted((hc.get("Sysctls") or {}).items()):
        args.append(["--sysctl", f"{k}={v}"])
    for k, v in sorted((hc.get("StorageOpt") or {}).items()):
        args.append(["--storage-opt", f"{k}={v}"])
    for k, v in sorted((hc.get("Annotations") or {}).items()):
        args.append(["--annotation", f"{k}={v}"])  # docker CLI 25 and later
    for u in hc.get("Ulimits") or []:
        args.append(["--ulimit", f"{u.get('Name')}={u.get('Soft')}:{u.get('Hard')}"])
    for d in hc.get("Devices") or []:
        parts = [d.get("PathOnHost", ""), d.get("PathInContainer") or d.get("PathOnHost", "")]
        args.append(["--device", ":".join([*parts, d.get("CgroupPermissions") or "rwm"])])
    for w in hc.get("BlkioWeightDevice") or []:
        args.append(["--blkio-weight-device", f"{w.get('Path')}:{w.get('Weight')}"])
    for key, flag in _THROTTLES:
        for t in hc.get(key) or []:
            args.append([flag, f"{t.get('Path')}:{t.get('Rate')}"])
    for m in hc.get("Mounts") or []:
        if m.get("Type") == "tmpfs":
            args.append(["--mount", mount_csv(m)])
        elif m.get("Type") not in MOUNT_TYPES:
            missing.append("HostConfig.Mounts (npipe, cluster)")
        bind = m.get("BindOptions") or {}
        if {k for k, v in bind.items() if v} - {"Propagation", "NonRecursive"}:
            missing.append("HostConfig.Mounts BindOptions")
    for key in ("DeviceRequests", "KernelMemoryTCP", "Cgroup"):
        if hc.get(key):
            missing.append(f"HostConfig.{key}")

    mode = hc.get("NetworkMode") or ""
    networks = (c.get("NetworkSettings") or {}).get("Networks") or {}
    primary = "bridge" if mode in ("", "default") else mode
    endpoint = networks.get(primary) or {}
    ipam = endpoint.get("IPAMConfig") or {}
    if ipam.get("IPv4Address"):
        args.append(["--ip", ipam["IPv4Address"]])
    if ipam.get("IPv6Address"):
        args.append(["--ip6", ipam["IPv6Address"]])
    for ip in ipam.get("LinkLocalIPs") or []:
        args.append(["--link-local-ip", ip])
    for link in endpoint.get("Links") or []:
        args.append(["--link", link])
    if any((e or {}).get("DriverOpts") for e in networks.values()):
        missing.append("NetworkSettings.Networks DriverOpts")
    return args, list(dict.fromkeys(missing))
