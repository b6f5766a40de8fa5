"""Every rule for a value a person types that ends up in an Engine API request: names,
aliases, labels, label filters, image references, host names, addresses, swarm objects.

One rule per input: the resource modules check with these before a request, and the
dashboard's forms call the same functions (turning InvalidArgument into a message beside
the field), so the form and the client can never disagree about a value. A `check_*`
function returns the value (normalised where it says so) or raises InvalidArgument with a
sentence a person can act on. Most take `object`: what arrives may not even be text.

Where the Engine accepts more than a rule here, the rule is ours on purpose (the reason is
beside it): a value the engine would take but that cannot work (an alias no resolver can
look up) or that we could not show or send back safely is refused before the request.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from .errors import InvalidArgument

# -- containers, volumes, networks ----------------------------------------------------------

# The engine's rule for container names (`POST /containers/create?name=`: at least two
# characters), with a length bound of our own so a name fits a row and a URL.
CONTAINER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{1,127}", re.ASCII)
# What a path names a container by: an ID, an ID prefix or a name (one character is a prefix).
CONTAINER_REF = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}", re.ASCII)
CONTAINER_ID = re.compile(r"[0-9a-f]{64}", re.ASCII)
# The local volume driver's rule (at least two characters), with the same length bound.
VOLUME_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{1,127}", re.ASCII)
NETWORK_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}", re.ASCII)
_DRIVER = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_./:-]{0,127}", re.ASCII)
# An alias is a name the network's DNS answers for. The engine stores any string, but a
# trailing '.', '-' or '_' makes a name its resolver (and most clients) will not look up:
# it must start and end with a letter or digit.
_ALIAS = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,62}[a-zA-Z0-9])?", re.ASCII)
# An environment variable's name: anything but '=', spaces and NUL (as `docker run -e`).
_ENV_KEY = re.compile(r"[^=\s\x00]{1,256}")
# `user`, `uid`, `user:group`, `uid:gid` (the names Linux accepts, at most 32 characters).
_USER = re.compile(
    r"[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,31}(:[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,31})?", re.ASCII
)
# A host name (RFC 1123): dot-separated labels of letters, digits and '-' inside, each at
# most 63, the whole at most 253. Used for a container's hostname and for a TCP engine's
# address; a trailing dot (the DNS root) is refused: neither place needs it.
_DNS_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_DNS_LABEL}(?:\.{_DNS_LABEL})*", re.ASCII)


def check_container_name(name: object) -> str:
    if not isinstance(name, str) or not CONTAINER_NAME.fullmatch(name):
        raise InvalidArgument(
            "a container name is 2 to 128 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_container_ref(ref: object) -> str:
    if not isinstance(ref, str) or not CONTAINER_REF.fullmatch(ref):
        raise InvalidArgument("not a container ID or name")
    return ref


def check_container_id(text: object) -> str:
    """A full container ID (64 lowercase hex digits), or a refusal."""
    if not is_container_id(text):
        raise InvalidArgument("not a full container ID (64 hex digits)")
    return str(text)


def is_container_id(text: object) -> bool:
    """A full container ID (64 lowercase hex digits)."""
    return isinstance(text, str) and bool(CONTAINER_ID.fullmatch(text))


# Compose's own rule for a project name (compose-spec: `^[a-z0-9][a-z0-9_-]*$`).
PROJECT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,127}", re.ASCII)


def check_project_name(name: object) -> str:
    """A compose project (or swarm stack) name as compose accepts it."""
    if not isinstance(name, str) or not PROJECT_NAME.fullmatch(name):
        raise InvalidArgument(
            "a project name is 1 to 128 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return name


def check_volume_name(name: object) -> str:
    if not isinstance(name, str) or not VOLUME_NAME.fullmatch(name):
        raise InvalidArgument(
            "a volume name is 2 to 128 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_network_name(name: object) -> str:
    if not isinstance(name, str) or not NETWORK_NAME.fullmatch(name):
        raise InvalidArgument(
            "a network name is 1 to 128 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_driver(driver: object) -> str:
    if not isinstance(driver, str) or not _DRIVER.fullmatch(driver):
        raise InvalidArgument("not a driver name")
    return driver


def check_alias(alias: object) -> str:
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
        raise InvalidArgument(
            f"{alias!r} is not a valid alias (a DNS name of up to 64 letters, digits, '_', "
            "'.' or '-', starting and ending with a letter or digit)"
        )
    return alias


def check_aliases(aliases: Iterable[str] | None) -> list[str]:
    """Each alias checked; repeats dropped, order kept."""
    out: list[str] = []
    for alias in aliases or []:
        if check_alias(alias) not in out:
            out.append(alias)
    return out


def check_subnet(subnet: str, gateway: str = "", ip_range: str = "") -> dict[str, str]:
    """An IPAM config entry, checked: the gateway and range must lie in the subnet."""
    try:
        net = ipaddress.ip_network(subnet, strict=True)
    except ValueError as exc:
        raise InvalidArgument(f"subnet {subnet!r}: {exc}") from None
    entry = {"Subnet": str(net)}
    if gateway:
        try:
            gw = ipaddress.ip_address(gateway)
        except ValueError:
            raise InvalidArgument(f"gateway {gateway!r} is not an IP address") from None
        if gw not in net:
            raise InvalidArgument(f"gateway {gw} is not in subnet {net}")
        entry["Gateway"] = str(gw)
    if ip_range:
        try:
            rng = ipaddress.ip_network(ip_range, strict=True)
        except ValueError as exc:
            raise InvalidArgument(f"IP range {ip_range!r}: {exc}") from None
        if rng.version != net.version or not rng.subnet_of(net):  # type: ignore[arg-type]
            raise InvalidArgument(f"IP range {rng} is not inside subnet {net}")
        entry["IPRange"] = str(rng)
    return entry


def valid_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def check_hostname(name: object) -> str:
    if not isinstance(name, str) or not _HOSTNAME.fullmatch(name):
        raise InvalidArgument(
            "a host name is letters, digits and '-' in dot-separated parts (each at most 63, "
            "starting and ending with a letter or digit; at most 253 in all)"
        )
    return name


def check_env_key(key: object) -> str:
    if not isinstance(key, str) or not _ENV_KEY.fullmatch(key):
        raise InvalidArgument(f"{str(key)[:40]!r} is not a variable name")
    return key


def check_user(user: object) -> str:
    if not isinstance(user, str) or not _USER.fullmatch(user):
        raise InvalidArgument("a user is a name or uid, optionally :group or :gid")
    return user


# -- health checks and tmpfs ----------------------------------------------------------------

# Go's time.ParseDuration units, which `docker run --health-interval` and friends read.
_DURATION_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9}
_DURATION_UNITS["h"] = 3600 * 10**9
_DURATION = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h)")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
# The engine refuses a health check interval, timeout or start period under 1 ms (other
# than 0, "inherit from the image").
HEALTH_MIN_NS = 10**6
HEALTH_MAX_NS = 10 * 365 * 24 * 3600 * 10**9


def parse_duration(text: object) -> int:
    """'30s', '1m30s', '500ms', '0' -> nanoseconds, as Go's time.ParseDuration (the docker
    CLI's --health-interval) reads them; a health check duration is 0 or at least 1 ms."""
    if not isinstance(text, str):
        raise InvalidArgument("a duration such as 30s, 1m30s or 500ms")
    text = text.strip()
    if text == "0":
        return 0
    if not text or len(text) > 40 or not re.fullmatch(rf"(?:{_DURATION.pattern})+", text):
        raise InvalidArgument("a duration such as 30s, 1m30s or 500ms")
    total = 0
    for number, unit in _DURATION_PART.findall(text):
        total += int(Decimal(number) * _DURATION_UNITS[unit])
    if total and not HEALTH_MIN_NS <= total <= HEALTH_MAX_NS:
        raise InvalidArgument("a duration of 0 or from 1ms up to ten years")
    return total


def format_duration(ns: int) -> str:
    """Nanoseconds -> the shortest exact spelling ParseDuration reads: 90s -> '1m30s'."""
    if ns % 10**9 == 0 and ns:
        seconds = ns // 10**9
        h, rest = divmod(seconds, 3600)
        m, s = divmod(rest, 60)
        return "".join(f"{n}{u}" for n, u in ((h, "h"), (m, "m"), (s, "s")) if n) or "0s"
    for unit in ("ms", "us"):
        if ns % _DURATION_UNITS[unit] == 0 and ns:
            return f"{ns // _DURATION_UNITS[unit]}{unit}"
    return f"{ns}ns" if ns else "0s"


# A tmpfs mount's options, as `docker run --tmpfs /path:size=64m,mode=1777,noexec` takes them
# (mount(8) options: a word, or word=value; the engine refuses what the kernel does not know).
_TMPFS_OPTION = re.compile(r"[a-z][a-z_]{0,31}(=[A-Za-z0-9._:+-]{1,64})?", re.ASCII)
TMPFS_PATH_MAX = 4096


def check_tmpfs(path: object, options: object = "") -> tuple[str, str]:
    """A tmpfs mount (HostConfig.Tmpfs): an absolute path in the container, not the root,
    and its comma-separated mount options."""
    if not isinstance(path, str) or not path.startswith("/") or len(path) > TMPFS_PATH_MAX:
        raise InvalidArgument("a tmpfs is mounted at an absolute path in the container")
    if path.rstrip("/") == "":
        raise InvalidArgument("a tmpfs cannot be mounted over the container's root")
    if ":" in path or "," in path or any(c.isspace() or c == "\x00" for c in path):
        raise InvalidArgument("a tmpfs path has no ':', ',', spaces or NUL")
    if not isinstance(options, str) or len(options) > 1024:
        raise InvalidArgument("tmpfs options are at most 1024 characters")
    for option in filter(None, options.split(",")):
        if not _TMPFS_OPTION.fullmatch(option):
            raise InvalidArgument(
                f"{option[:40]!r} is not a tmpfs option (such as size=64m, mode=1777, noexec)"
            )
    return path, options


# -- labels --------------------------------------------------------------------------------

# Label keys in the form the engine's docs ask for (reverse DNS: `com.example.key`), ASCII
# letters, digits, '.', '_', '/' and '-', starting with a letter or digit. The engine takes
# any key without '=', but a key with spaces, NUL or other scripts could not be written back
# in a `key=value` line, nor filtered on, nor shown safely.
LABEL_KEY_MAX = 255
_LABEL_KEY = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_./-]{0,254}", re.ASCII)
# A value is any text without NUL, up to 4096 characters: a bound of ours (the engine has
# none) that every label a person can set here stays under, so every one can be filtered on.
LABEL_VALUE_MAX = 4096
LABEL_FILTER_MAX = LABEL_KEY_MAX + 1 + LABEL_VALUE_MAX


def check_label_key(key: object, what: str = "label") -> str:
    if not isinstance(key, str) or not _LABEL_KEY.fullmatch(key):
        raise InvalidArgument(
            f"{what} key {str(key)[:60]!r}: up to {LABEL_KEY_MAX} letters, digits, '.', '_', "
            "'/' and '-', starting with a letter or digit"
        )
    return key


def check_label_value(key: str, value: str, what: str = "label") -> str:
    value = str(value)
    if "\x00" in value or len(value) > LABEL_VALUE_MAX:
        raise InvalidArgument(
            f"{what} {key!r}: the value is longer than {LABEL_VALUE_MAX} characters or not text"
        )
    return value


def check_labels(labels: Mapping[str, str] | None, what: str = "label") -> dict[str, str]:
    """Keys like `com.example.key`; values any text without NUL, up to 4096 characters."""
    out: dict[str, str] = {}
    for key, value in (labels or {}).items():
        out[check_label_key(str(key), what)] = check_label_value(str(key), value, what)
    return out


def check_label_filter(label: str) -> str:
    """`key` or `key=value`, as the engine's `label` filter takes it: the same key and value
    rules as a label (a filter can name every label that can be set)."""
    if label:
        key, eq, value = label.partition("=")
        try:
            check_label_key(key)
            if eq:
                check_label_value(key, value)
        except InvalidArgument:
            raise InvalidArgument(
                "a label filter is key or key=value (key: letters, digits, '.', '_', '/' "
                "and '-', starting with a letter or digit)"
            ) from None
    return label


# -- image references (github.com/distribution/reference grammar) --------------------------

NAME_MAX = 255
# name:tag@sha256:<64 hex>, each part at its longest.
IMAGE_REF_MAX = NAME_MAX + 1 + 128 + 1 + 71
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = re.compile(rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*", re.ASCII)
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]{{1,5}})?",
    re.ASCII,
)
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}", re.ASCII)
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)
_SHORT_ID = re.compile(r"(?:sha256:)?[0-9a-f]{12,64}", re.ASCII)
DEFAULT_REGISTRY = "docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference: [domain/]path[:tag][@digest]."""

    domain: str | None
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The repository as written: `127.0.0.1:5000/lab/busybox`, `busybox`."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def registry(self) -> str:
        """The registry it lives in: its domain, or docker.io."""
        return normalize_registry(self.domain or DEFAULT_REGISTRY)

    @property
    def tag_or_latest(self) -> str:
        return self.tag or "latest"

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: object, *, allow_digest: bool = True) -> ImageRef:
    """Check `text` against the reference grammar; raise InvalidArgument saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidArgument("an image reference is required")
    if len(text) > IMAGE_REF_MAX:
        raise InvalidArgument(f"too long for an image reference ({len(text)} characters)")
    if text != text.strip() or any(c.isspace() for c in text):
        raise InvalidArgument("an image reference may not contain spaces")
    rest, at, digest = text.partition("@")
    if at:
        if "@" in digest:
            raise InvalidArgument("an image reference has at most one '@digest'")
        if not allow_digest:
            raise InvalidArgument("a digest cannot be given here, only a tag")
        if not _DIGEST.fullmatch(digest):
            raise InvalidArgument("the digest must be sha256: followed by 64 lowercase hex digits")
    name, tag = rest, None
    colon = rest.rfind(":")
    if colon > rest.rfind("/"):
        name, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise InvalidArgument(
                "a tag is up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
            )
    if not name:
        raise InvalidArgument("the repository name is missing")
    if len(name) > NAME_MAX:
        raise InvalidArgument(f"the repository name is longer than {NAME_MAX} characters")
    domain, path = None, name
    first, slash, remainder = name.partition("/")
    # As the docker CLI decides it: a first component with '.' or ':', 'localhost', or any
    # capital letter is a registry host; otherwise the name is a Docker Hub path.
    if slash and (any(c in first for c in ".:") or first == "localhost" or first != first.lower()):
        if not _DOMAIN.fullmatch(first):
            raise InvalidArgument(f"{first!r} is not a valid registry host[:port]")
        domain, path = first, remainder
    if not path:
        raise InvalidArgument("the repository path is missing")
    for component in path.split("/"):
        if component != component.lower():
            raise InvalidArgument("the repository name must be lowercase")
        if not _PATH_COMPONENT.fullmatch(component):
            raise InvalidArgument(
                f"{component!r} is not a valid repository path component (lowercase letters "
                "and digits, separated by '.', '_', '__' or dashes)"
            )
    if domain is None and _HEX64.fullmatch(path):
        raise InvalidArgument("a repository name cannot be 64 hex digits (that is an image ID)")
    return ImageRef(domain, path, tag, digest or None)


def is_image_id(text: object) -> bool:
    """An image ID or a 12+ digit prefix of one, with or without `sha256:`."""
    return isinstance(text, str) and bool(_SHORT_ID.fullmatch(text))


def check_image(text: str) -> str:
    """A reference or an image ID, as the engine's `{name}` path parameter takes; else raise."""
    if is_image_id(text):
        return text
    return str(parse_reference(text))


def normalize_registry(address: str) -> str:
    """A registry as host[:port]: 'https://index.docker.io/v1/' -> 'docker.io',
    'http://127.0.0.1:5001/' -> '127.0.0.1:5001'."""
    text = (address or "").strip()
    text = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", text)
    text = text.split("/", 1)[0]
    if not text:
        raise InvalidArgument("a registry address is required, e.g. registry.example.com:5000")
    if not _DOMAIN.fullmatch(text):
        raise InvalidArgument(f"{text!r} is not a registry host[:port]")
    text = text.lower()
    return DEFAULT_REGISTRY if text in _HUB_ALIASES else text


# -- swarm ---------------------------------------------------------------------------------

# Swarm object IDs are 25 base-36 characters; names follow each kind's own rule. Paths take
# either, so `{id}` is checked against what both may look like.
OBJECT_REF = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}", re.ASCII)
SWARM_ID = re.compile(r"[a-z0-9]{25}", re.ASCII)
# swarmkit's rule for service names (a DNS label): letters, digits, '-' and '_' inside.
SERVICE_NAME = re.compile(r"[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*", re.ASCII)
SERVICE_NAME_MAX = 63
# swarmkit's rule for secret and config names.
SECRET_NAME = re.compile(r"[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?", re.ASCII)
SECRET_NAME_MAX = 64
JOIN_TOKEN = re.compile(r"SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}", re.ASCII)
UNLOCK_KEY = re.compile(r"SWMKEY-1-[A-Za-z0-9+/=]{20,100}", re.ASCII)
# `node.labels.x==y`, `node.role!=manager`, ... as the scheduler reads constraints.
CONSTRAINT_RE = re.compile(
    r"(node\.(id|hostname|role|platform\.os|platform\.arch)|(node|engine)\.labels\.[A-Za-z0-9_.-]+)"
    r"\s*(==|!=)\s*[^\s=!][^\s]{0,254}",
    re.ASCII,
)
SPREAD_RE = re.compile(r"(node|engine)\.labels\.[A-Za-z0-9_.-]{1,200}", re.ASCII)
_INTERFACE = re.compile(r"[a-zA-Z][a-zA-Z0-9_.-]{0,14}", re.ASCII)


def check_ref(ref: object, what: str = "object") -> str:
    if not isinstance(ref, str) or not OBJECT_REF.fullmatch(ref):
        raise InvalidArgument(f"not a {what} ID or name")
    return ref


def check_service_name(name: object) -> str:
    if (
        not isinstance(name, str)
        or len(name) > SERVICE_NAME_MAX
        or not SERVICE_NAME.fullmatch(name)
    ):
        raise InvalidArgument(
            "a service name is up to 63 letters, digits, '-' or '_', "
            "starting and ending with a letter or digit"
        )
    return name


def check_secret_name(name: object, what: str = "secret") -> str:
    if not isinstance(name, str) or len(name) > SECRET_NAME_MAX or not SECRET_NAME.fullmatch(name):
        raise InvalidArgument(
            f"a {what} name is up to 64 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit"
        )
    return name


def check_constraint(constraint: object) -> str:
    if not isinstance(constraint, str) or not CONSTRAINT_RE.fullmatch(constraint):
        raise InvalidArgument(f"constraint {constraint!r}: write e.g. node.labels.zone==a")
    return constraint


def check_preference(preference: object) -> str:
    if not isinstance(preference, str) or not SPREAD_RE.fullmatch(preference):
        raise InvalidArgument(f"preference {preference!r}: write e.g. node.labels.zone")
    return preference


def is_swarm_id(text: object) -> bool:
    """A swarm object's full ID (a node's, a service's, a task's)."""
    return isinstance(text, str) and bool(SWARM_ID.fullmatch(text))


def check_join_token(token: object) -> str:
    if not isinstance(token, str) or not JOIN_TOKEN.fullmatch(token):
        raise InvalidArgument("a join token looks like SWMTKN-1-… (docker swarm join-token)")
    return token


def check_unlock_key(key: object) -> str:
    if not isinstance(key, str) or not UNLOCK_KEY.fullmatch(key.strip()):
        raise InvalidArgument("an unlock key looks like SWMKEY-1-…")
    return key.strip()


def check_addr(addr: object, what: str = "address", *, port: bool = True) -> str:
    """`ip`, `ip:port`, `[v6]:port`, or an interface name (`eth0`, `eth0:2377`), as the
    engine takes listen/advertise addresses."""
    if not isinstance(addr, str) or not addr or len(addr) > 100:
        raise InvalidArgument(f"the {what} is empty or too long")
    host, port_text = addr, ""
    if addr.startswith("["):
        host, sep, rest = addr[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise InvalidArgument(f"the {what} {addr!r} is not [IPv6]:port")
        port_text = rest[1:]
    elif addr.count(":") == 1:
        host, port_text = addr.split(":")
    if port_text:
        if not port:
            raise InvalidArgument(f"the {what} takes no port")
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise InvalidArgument(f"the {what} {addr!r} has no valid port (1-65535)")
    if not valid_ip(host) and not _INTERFACE.fullmatch(host):
        raise InvalidArgument(f"the {what} {addr!r} is neither an IP address nor an interface name")
    return addr


# -- alert channels --------------------------------------------------------------------------

# Apprise schemes that reach a service over the network. Its local ones (file, dbus, glib,
# gnome, kde, macosx, windows, syslog, rsyslog...) would let an admin's URL write files or
# talk to the dashboard machine's own desktop and logging: they are not offered at all.
APPRISE_SCHEMES = frozenset(
    [
        "slack",
        "discord",
        "msteams",
        "ntfy",
        "ntfys",
        "gotify",
        "gotifys",
        "mailto",
        "mailtos",
        "json",
        "jsons",
        "xml",
        "xmls",
        "form",
        "forms",
        "tgram",
        "matrix",
        "matrixs",
        "mmost",
        "mmosts",
        "rocket",
        "rockets",
        "pover",
        "pagerduty",
        "opsgenie",
        "signal",
        "signals",
        "twilio",
        "mastodon",
        "mastodons",
        "ifttt",
        "join",
        "zulip",
        "apprise",
        "apprises",
    ]
)
_LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))


def is_link_local(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in net for net in _LINK_LOCAL if ip.version == net.version)


def _url_host_port(url: str, default_port: int) -> tuple[str, int]:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port or default_port
    except ValueError:
        raise InvalidArgument("the URL cannot be read (check its host and port)") from None
    if not parts.hostname:
        raise InvalidArgument("the URL names no host")
    return parts.hostname.lower(), port


def check_channel_target(
    host: str,
    port: int,
    forbidden: Iterable[tuple[str, int]] = (),
    addresses: Iterable[str] = (),
) -> None:
    """Where a channel's URL leads must not be the dashboard itself or an engine it manages
    (`forbidden`: host names or addresses with their ports), nor a link-local address (cloud
    metadata services live at 169.254.169.254). `addresses` are what `host` resolves to."""
    for address in (host, *addresses):
        if is_link_local(address):
            raise InvalidArgument(
                f"{host} is a link-local address ({address}): not a place alerts may go"
            )
    names = {host, *addresses}
    for bad_host, bad_port in forbidden:
        if bad_host.lower().strip("[]") in {n.strip("[]") for n in names} and bad_port == port:
            raise InvalidArgument(
                f"{host}:{port} is the dashboard itself or an engine it manages: "
                "alerts cannot be sent there"
            )


def check_webhook_url(
    url: object, forbidden: Iterable[tuple[str, int]] = (), addresses: Iterable[str] = ()
) -> str:
    """A webhook URL: http or https, a host, no credentials in it, not a forbidden place."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidArgument("enter the webhook's URL")
    url = url.strip()
    if len(url) > 2000 or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidArgument("the URL must be one line without spaces, at most 2000 characters")
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in ("http", "https"):
        raise InvalidArgument("a webhook URL starts with http:// or https://")
    host, port = _url_host_port(url, 443 if scheme == "https" else 80)
    if "@" in url.partition("://")[2].split("/")[0]:
        raise InvalidArgument(
            "put no user or password in the URL (the signature proves who sent it)"
        )
    check_channel_target(host, port, forbidden, addresses)
    return url


def check_apprise_url(
    url: object, forbidden: Iterable[tuple[str, int]] = (), addresses: Iterable[str] = ()
) -> str:
    """An Apprise URL whose scheme is one of APPRISE_SCHEMES."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidArgument("enter the Apprise URL (e.g. ntfys://ntfy.sh/topic)")
    url = url.strip()
    if len(url) > 2000 or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidArgument("the URL must be one line without spaces, at most 2000 characters")
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in APPRISE_SCHEMES:
        raise InvalidArgument(
            f"{scheme or 'that'}:// is not offered: use a network service "
            f"({', '.join(sorted(APPRISE_SCHEMES)[:12])}, …)"
        )
    if scheme in ("json", "jsons", "xml", "xmls", "form", "forms"):
        host, port = _url_host_port(url, 443 if scheme.endswith("s") else 80)
        check_channel_target(host, port, forbidden, addresses)
    return url


SEARCH_TEXT_MAX = 128


def check_search_text(text: object) -> str:
    """What a person types into a search box (the Ctrl-K palette): at most 128 characters,
    no control characters (they match no name the engine allows, and would end up in logs)."""
    if not isinstance(text, str):
        raise InvalidArgument("search text must be text")
    if len(text) > SEARCH_TEXT_MAX:
        raise InvalidArgument(f"search text is at most {SEARCH_TEXT_MAX} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise InvalidArgument("search text may not hold control characters")
    return text
