"""Transports: how bytes reach an engine (unix socket, tcp, tcp with TLS).

A transport is a requests Session plus the base URL to put in front of every path.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests_unixsocket.adapters import UnixHTTPConnection

from .errors import InvalidArgument

# Connections kept open per engine. Page views, actions and a few streams share them; a
# stream holds its connection until closed, so keep more than a handful.
POOL_SIZE = 16


@dataclass(frozen=True)
class TLSConfig:
    """Client-side TLS settings for a tcp:// engine (the docker CLI's conventions)."""

    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    verify: bool = True

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> TLSConfig | None:
        """DOCKER_TLS_VERIFY / DOCKER_TLS / DOCKER_CERT_PATH, as the docker CLI reads them."""
        env = os.environ if environ is None else environ
        verify = env.get("DOCKER_TLS_VERIFY", "") not in ("", "0", "false", "no")
        tls = verify or env.get("DOCKER_TLS", "") not in ("", "0", "false", "no")
        if not tls:
            return None
        cert_path = Path(env.get("DOCKER_CERT_PATH") or Path.home() / ".docker")

        def present(name: str) -> str | None:
            p = cert_path / name
            return str(p) if p.is_file() else None

        return cls(
            ca_cert=present("ca.pem"),
            client_cert=present("cert.pem"),
            client_key=present("key.pem"),
            verify=verify,
        )


class _UnixPool(urllib3.connectionpool.HTTPConnectionPool):
    def __init__(self, socket_url: str, maxsize: int) -> None:
        super().__init__("localhost", maxsize=maxsize)
        self.socket_url = socket_url

    def _new_conn(self) -> UnixHTTPConnection:
        # The per-request timeout replaces this one before each request (urllib3 sets it).
        return UnixHTTPConnection(self.socket_url, timeout=self.timeout.connect_timeout)


class UnixSocketAdapter(HTTPAdapter):
    """One connection pool per socket.

    requests-unixsocket's own adapter keys its pools by the whole URL (path and query
    included), so every distinct request opened a new pool and a new connection.
    """

    def __init__(self, socket_path: str, maxsize: int = POOL_SIZE) -> None:
        super().__init__(pool_connections=1, pool_maxsize=maxsize)
        self._pool = _UnixPool("http+unix://" + quote(socket_path, safe=""), maxsize)

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        return self._pool

    def get_connection(self, url, proxies=None):
        return self._pool

    def request_url(self, request, proxies):
        return request.path_url

    def close(self) -> None:
        self._pool.close()


@dataclass
class Transport:
    session: requests.Session
    base_url: str  # what requests sees, e.g. "http+unix://%2Frun%2Fdl%2Fn1.sock"
    display_url: str  # what people see, e.g. "unix:///run/dl/n1.sock"
    # A fresh raw connection to the same engine (TLS-wrapped when the session uses TLS), for
    # the calls HTTP libraries cannot drive: a hijacked exec/attach stream. Takes a timeout.
    open_socket: Callable[[float], socket.socket] | None = None
    host_header: str = "localhost"  # the Host header a raw request carries

    def close(self) -> None:
        self.session.close()


def make_transport(url: str, tls: TLSConfig | None = None, pool_size: int = POOL_SIZE) -> Transport:
    """Build a transport for `unix:///path`, `tcp://host:port`, `http(s)://host:port`."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError as exc:
        raise InvalidArgument(f"malformed engine URL {url!r}: {exc}") from None
    session = requests.Session()
    # The engine is never reached through a proxy, whatever HTTP(S)_PROXY says.
    session.trust_env = False
    if parts.scheme in ("unix", "http+unix"):
        path = parts.path if parts.scheme == "unix" else _unquote_netloc(parts.netloc)
        if not path or not path.startswith("/"):
            raise InvalidArgument(f"unix socket URL needs an absolute path: {url!r}")
        session.mount("http+unix://", UnixSocketAdapter(path, pool_size))
        return Transport(
            session,
            "http+unix://" + quote(path, safe=""),
            f"unix://{path}",
            lambda timeout: _unix_socket(path, timeout),
        )
    if parts.scheme in ("tcp", "http", "https"):
        if not parts.hostname:
            raise InvalidArgument(f"tcp URL needs a host: {url!r}")
        use_tls = parts.scheme == "https" or tls is not None
        port = parts.port or (2376 if use_tls else 2375)
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        scheme = "https" if use_tls else "http"
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        session.mount(f"{scheme}://", adapter)
        if use_tls:
            tls = tls or TLSConfig()
            session.verify = (tls.ca_cert or True) if tls.verify else False
            if tls.client_cert and tls.client_key:
                session.cert = (tls.client_cert, tls.client_key)
            elif tls.client_cert or tls.client_key:
                raise InvalidArgument("TLS needs both a client certificate and its key")
        hostname = parts.hostname
        return Transport(
            session,
            f"{scheme}://{host}:{port}",
            f"tcp://{host}:{port}",
            lambda timeout: _tcp_socket(hostname, port, tls if use_tls else None, timeout),
            f"{host}:{port}",
        )
    raise InvalidArgument(f"unsupported engine URL {url!r}: use unix:///path or tcp://host:port")


def _unix_socket(path: str, timeout: float) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
    except BaseException:
        sock.close()
        raise
    return sock


def _tcp_socket(host: str, port: int, tls: TLSConfig | None, timeout: float) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=timeout)
    if tls is None:
        return sock
    try:
        if tls.verify:
            ctx = ssl.create_default_context(cafile=tls.ca_cert)
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if tls.client_cert and tls.client_key:
            ctx.load_cert_chain(tls.client_cert, tls.client_key)
        return ctx.wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise


def _unquote_netloc(netloc: str) -> str:
    from urllib.parse import unquote

    return unquote(netloc)
