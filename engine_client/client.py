"""The request core: one EngineClient per engine; every Engine API URL is built here."""

from __future__ import annotations

import json as jsonlib
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypedDict
from urllib.parse import quote, urlencode

import requests

from . import versions
from .errors import (
    EngineError,
    EngineTimeout,
    EngineUnreachable,
    InvalidArgument,
    ProxyRefused,
    error_for_status,
)
from .flavor import Flavor, detect_from_ping, error_status
from .rawhttp import read_error, read_head, request_head, socket_of
from .transport import POOL_SIZE, TLSConfig, make_transport

DEFAULT_TIMEOUT = 10.0
DEFAULT_CONNECT_TIMEOUT = 3.0


def encode_query(params: Mapping[str, object] | None) -> dict[str, str]:
    """Engine query conventions: booleans as 1/0, mappings and lists (filters) as JSON,
    None left out, anything else as its text."""
    out: dict[str, str] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "1" if value else "0"
        elif isinstance(value, Mapping | list):
            out[key] = jsonlib.dumps(value, separators=(",", ":"))
        else:
            out[key] = str(value)
    return out


def encode_filters(
    filters: Mapping[str, Iterable[str] | str] | None,
) -> dict[str, list[str]] | None:
    """{'status': 'running', 'label': ['a=b']} -> {'status': ['running'], 'label': ['a=b']}."""
    if not filters:
        return None
    out: dict[str, list[str]] = {}
    for key, values in filters.items():
        vals = [values] if isinstance(values, str) else list(values)
        if vals:
            out[key] = [str(v) for v in vals]
    return out or None


class _Settings(TypedDict):
    """What a client was made with (less its pool size), to make a sibling of it."""

    url: str
    tls: TLSConfig | None
    timeout: float
    connect_timeout: float
    api_version: str | None


def _segment(arg: object) -> str:
    """A path parameter quoted as one path segment (callers may pass anything: it is checked)."""
    if not isinstance(arg, str) or not arg:
        raise InvalidArgument(f"path parameter must be a non-empty string: {arg!r}")
    # The engine decodes %2F and then cleans the path (answering with a redirect to the
    # cleaned one), so a quoted "../" still climbs: refuse dot segments outright.
    if any(seg in (".", "..") for seg in arg.split("/")) or "\x00" in arg:
        raise InvalidArgument(f"path parameter may not contain dot segments: {arg!r}")
    return quote(arg, safe="")


def _reason(exc: BaseException) -> str:
    """The innermost OS-level reason of a requests failure, in plain words."""
    queue: list[BaseException] = [exc]
    seen: set[int] = set()
    while queue:
        cur = queue.pop(0)
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, OSError) and cur.strerror:
            return cur.strerror
        queue.extend(a for a in cur.args if isinstance(a, BaseException))
        for attr in ("reason", "__cause__", "__context__"):
            nxt = getattr(cur, attr, None)
            if isinstance(nxt, BaseException):
                queue.append(nxt)
    return str(exc)


class EngineClient:
    """A client for one engine. Thread-safe; create one per engine and reuse it."""

    def __init__(
        self,
        url: str,
        *,
        tls: TLSConfig | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        api_version: str | None = None,
        pool_size: int = POOL_SIZE,
    ) -> None:
        self._config = _Settings(
            url=url,
            tls=tls,
            timeout=timeout,
            connect_timeout=connect_timeout,
            api_version=api_version,
        )
        self._transport = make_transport(url, tls, pool_size)
        self.url = self._transport.display_url
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        # Told of every request's duration and status (None: no answer), e.g. for metrics.
        self.observer: Callable[[float, int | None], None] | None = None
        self._pinned = versions.parse(api_version) if api_version else None
        self._version: versions.Version | None = self._pinned
        self._flavor: Flavor | None = None

        from .containers import ContainersAPI
        from .exec import ExecAPI
        from .images import ImagesAPI
        from .networks import NetworksAPI
        from .projects import ProjectsAPI
        from .prune import PruneAPI
        from .swarm import ConfigsAPI, NodesAPI, SecretsAPI, ServicesAPI, SwarmAPI, TasksAPI
        from .system import SystemAPI
        from .updates import UpdatesAPI
        from .volumes import VolumesAPI

        self.containers = ContainersAPI(self)
        self.exec = ExecAPI(self)
        self.system = SystemAPI(self)
        self.images = ImagesAPI(self)
        self.volumes = VolumesAPI(self)
        self.networks = NetworksAPI(self)
        self.prune = PruneAPI(self)
        self.swarm = SwarmAPI(self)
        self.nodes = NodesAPI(self)
        self.services = ServicesAPI(self)
        self.tasks = TasksAPI(self)
        self.secrets = SecretsAPI(self)
        self.configs = ConfigsAPI(self)
        self.projects = ProjectsAPI(self)
        self.updates = UpdatesAPI(self)

    def close(self) -> None:
        self._transport.close()

    def sibling(self, pool_size: int) -> EngineClient:
        """A client for the same engine with a connection pool of its own (for work that
        holds many connections at once and must not starve the pages)."""
        client = EngineClient(**self._config, pool_size=pool_size)
        client.observer = self.observer
        return client

    # -- versions -------------------------------------------------------------------------

    @property
    def api_version(self) -> str:
        """The negotiated API version, asking the engine on first use."""
        return versions.fmt(self.negotiate())

    def negotiate(self) -> versions.Version:
        """The API version to speak: min(ours, the engine's), asked once and then cached.

        No lock around the request: threads racing here each ask and store the same answer,
        while a lock would queue every page behind one slow engine's timeout.
        """
        version = self._version
        if version is not None:
            return version
        resp = self.request("GET", "/_ping", versioned=False)
        if self._flavor is None:
            self._flavor = detect_from_ping(resp.headers)
        header = resp.headers.get("Api-Version")
        if header:
            version = versions.negotiate(header)
        else:
            info = self.request("GET", "/version", versioned=False).json()
            version = versions.negotiate(info.get("ApiVersion", ""), info.get("MinAPIVersion"))
        self._version = version
        return version

    def forget_version(self) -> None:
        """Negotiate again on the next call (the engine may have been replaced)."""
        if self._pinned is None:
            self._version = None
        self._flavor = None

    @property
    def flavor(self) -> Flavor:
        """Which engine this is (Docker or Podman, and its version), asked once and cached."""
        flavor = self._flavor
        if flavor is None:
            self.negotiate()  # its ping tells (unless the version was pinned)
            flavor = self._flavor
        if flavor is None:
            ping = self.request("GET", "/_ping", versioned=False)
            flavor = self._flavor = detect_from_ping(ping.headers)
        return flavor

    # -- requests -------------------------------------------------------------------------

    def path(self, template: str, *args: str, versioned: bool = True) -> str:
        """Fill `{}` placeholders with path parameters, each quoted as one path segment."""
        if template.count("{}") != len(args):
            raise InvalidArgument(f"{template!r} takes {template.count('{}')} parameters")
        filled = template.format(*(_segment(a) for a in args))
        if versioned:
            filled = f"/v{self.api_version}{filled}"
        return filled

    def request(
        self,
        method: str,
        template: str,
        *args: str,
        params: Mapping[str, object] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        stream: bool = False,
        versioned: bool = True,
    ) -> requests.Response:
        """Send one request; raise a typed EngineError for any status >= 400.

        `timeout` is the read timeout in seconds; None means this client's default. A stream
        (`stream=True`) with `timeout=0` waits forever between chunks.
        """
        url = self._transport.base_url + self.path(template, *args, versioned=versioned)
        # A stream that may wait forever between chunks still gets its answer's head within
        # the usual timeout: an engine that accepts and never answers must not hang it.
        forever = stream and timeout == 0
        read = self.timeout if timeout is None or forever else timeout
        started = time.perf_counter()
        try:
            resp = self._transport.session.request(
                method,
                url,
                params=encode_query(params),
                json=json,
                data=data,
                headers=dict(headers or {}),
                timeout=(self.connect_timeout, read),
                stream=stream,
                # The Engine API never redirects; following one would leave the path we built.
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            self.forget_version()
            self._observe(started, None)
            raise EngineTimeout(
                f"engine at {self.url} did not answer within "
                f"{read if read else self.connect_timeout:g} s",
                self.url,
            ) from exc
        except requests.ConnectionError as exc:
            self.forget_version()
            self._observe(started, None)
            raise EngineUnreachable(
                f"cannot reach engine at {self.url}: {_reason(exc)}", self.url
            ) from exc
        self._observe(started, resp.status_code)
        if forever and resp.status_code < 400:
            sock = socket_of(resp)
            if sock is not None:
                sock.settimeout(None)
        if resp.status_code == 403 and not _is_engine_error(resp):
            resp.close()
            raise ProxyRefused(method, self.path(template, *args, versioned=False))
        if resp.status_code >= 400 or 300 <= resp.status_code < 400 and resp.status_code != 304:
            message = _error_message(resp)
            resp.close()
            raise error_for_status(error_status(resp.status_code, message), message)
        return resp

    def _observe(self, started: float, status: int | None) -> None:
        if self.observer is not None:
            self.observer(time.perf_counter() - started, status)

    def hijack(
        self,
        method: str,
        template: str,
        *args: str,
        params: Mapping[str, object] | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> tuple[socket.socket, bytes]:
        """Send one request on a connection of its own and take that connection over.

        For exec start and attach: the engine answers `101 UPGRADED` (or 200 without the
        upgrade headers) and the socket then carries the raw two-way stream, which HTTP
        libraries cannot drive. Returns the socket (blocking, no timeout) and the stream bytes
        that arrived with the answer's head. Errors before the stream starts raise as usual.
        """
        open_socket = self._transport.open_socket
        if open_socket is None:
            raise InvalidArgument(f"cannot open a raw connection to {self.url}")
        target = self.path(template, *args)
        query = urlencode(encode_query(params))
        body = b"" if json is None else jsonlib.dumps(json).encode()
        head = request_head(
            method,
            f"{target}{'?' + query if query else ''}",
            self._transport.host_header,
            {
                "Connection": "Upgrade",
                "Upgrade": "tcp",
                # Exec start refuses a body without this content type.
                "Content-Type": "application/json",
                "Content-Length": str(len(body)),
            },
        )
        read = self.timeout if timeout is None else timeout
        sock = self._connect_raw(open_socket)
        try:
            sock.settimeout(read)
            sock.sendall(head + body)
            status, headers, rest = read_head(sock)
            if status >= 400 or status not in (101, 200):
                message, from_engine = read_error(sock, status, headers, rest)
                # A socket proxy that lets exec be created but not started (docker-socket-
                # proxy's CONTAINERS=1 without EXEC=1) refuses here, with its own page.
                if status == 403 and not from_engine:
                    raise ProxyRefused(method, self.path(template, *args, versioned=False))
                raise error_for_status(error_status(status, message), message)
            sock.settimeout(None)
            return sock, rest
        except TimeoutError as exc:
            sock.close()
            self.forget_version()
            raise EngineTimeout(
                f"engine at {self.url} did not answer within {read:g} s", self.url
            ) from exc
        except OSError as exc:
            sock.close()
            raise EngineUnreachable(
                f"connection to {self.url} broke: {_reason(exc)}", self.url
            ) from exc
        except BaseException:
            sock.close()
            raise

    def _connect_raw(self, open_socket: Callable[[float], socket.socket]) -> socket.socket:
        """A connection of its own (hijack, raw requests), its failures as engine errors."""
        try:
            return open_socket(self.connect_timeout)
        except TimeoutError as exc:
            raise EngineTimeout(
                f"engine at {self.url} did not accept a connection", self.url
            ) from exc
        except OSError as exc:
            raise EngineUnreachable(
                f"cannot reach engine at {self.url}: {_reason(exc)}", self.url
            ) from exc

    @property
    def can_send_raw(self) -> bool:
        return self._transport.open_socket is not None

    def send_raw(
        self,
        method: str,
        template: str,
        *args: str,
        params: Mapping[str, object] | None = None,
    ) -> socket.socket:
        """Send one bodiless request on a connection of its own and return that connection
        without waiting for the answer (see rawhttp.RawAnswer, which reads it). For an
        engine that sends no answer head until it has something to say (Podman's events)."""
        open_socket = self._transport.open_socket
        if open_socket is None:
            raise InvalidArgument(f"cannot open a raw connection to {self.url}")
        query = urlencode(encode_query(params))
        target = self.path(template, *args)
        head = request_head(
            method, f"{target}{'?' + query if query else ''}", self._transport.host_header
        )
        sock = self._connect_raw(open_socket)
        try:
            sock.sendall(head)
        except OSError as exc:
            sock.close()
            raise EngineUnreachable(
                f"connection to {self.url} broke: {_reason(exc)}", self.url
            ) from exc
        sock.settimeout(None)
        return sock

    def get_json(self, template: str, *args: str, **kwargs: Any) -> Any:
        resp = self.request("GET", template, *args, **kwargs)
        return _json(resp)

    def post_json(self, template: str, *args: str, **kwargs: Any) -> Any:
        resp = self.request("POST", template, *args, **kwargs)
        return _json(resp) if resp.content else None


def _json(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError as exc:
        raise EngineError(
            f"engine sent something that is not JSON: {resp.text[:200]!r}", resp.status_code
        ) from exc


def _is_engine_error(resp: requests.Response) -> bool:
    """The engine (Docker or Podman) says every error as JSON with a `message`."""
    try:
        body = resp.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("message"), str)


def _error_message(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    text = resp.text.strip()
    return text or f"engine answered HTTP {resp.status_code} {resp.reason}"
