"""Hosts and their engine clients: one client per host, created once and reused."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from django.conf import settings
from django.http import Http404

from engine_client import EngineClient, TLSConfig

HOST_NAME_RE = r"[a-z0-9][a-z0-9-]{0,62}"


@dataclass(frozen=True)
class Host:
    name: str
    url: str
    tls: TLSConfig | None = None


# Keyed by the whole Host, so a host whose URL or TLS changes gets a new client.
_clients: dict[Host, EngineClient] = {}
_lock = threading.Lock()


def parse_env_hosts(spec: str) -> list[tuple[str, str]]:
    """`DASHBOARD_HOSTS`: `name=url` pairs separated by commas or whitespace."""
    pairs = []
    for item in re.split(r"[,\s]+", spec.strip()):
        if not item:
            continue
        name, sep, url = item.partition("=")
        if not sep or not re.fullmatch(HOST_NAME_RE, name) or not url:
            raise ValueError(
                f"DASHBOARD_HOSTS items are name=url with name {HOST_NAME_RE}: {item!r}"
            )
        pairs.append((name, url))
    return pairs


def configured_hosts() -> dict[str, Host]:
    """The hosts people can pick: DOCKER_HOST under DASHBOARD_HOST_NAME first, then the
    `DASHBOARD_HOSTS` ones (no TLS; TLS hosts are added from the hosts page)."""
    name = settings.DASHBOARD_HOST_NAME
    if not re.fullmatch(HOST_NAME_RE, name):
        raise ValueError(f"DASHBOARD_HOST_NAME must match {HOST_NAME_RE}: {name!r}")
    hosts = {name: Host(name=name, url=settings.DOCKER_HOST, tls=TLSConfig.from_env())}
    for extra, url in parse_env_hosts(settings.DASHBOARD_HOSTS):
        hosts.setdefault(extra, Host(name=extra, url=url))
    return hosts


def default_host() -> Host:
    return next(iter(configured_hosts().values()))


def get_host(name: str) -> Host:
    try:
        return configured_hosts()[name]
    except KeyError:
        raise Http404(f"no host named {name!r}") from None


def client_for(host: Host) -> EngineClient:
    with _lock:
        client = _clients.get(host)
        if client is None:
            client = EngineClient(
                host.url,
                tls=host.tls,
                timeout=settings.ENGINE_TIMEOUT,
                connect_timeout=settings.ENGINE_CONNECT_TIMEOUT,
            )
            from .metrics import engine_observer

            client.observer = engine_observer(host.name)
            _clients[host] = client
        return client


def reset_clients() -> None:
    """Forget cached clients (tests that change DOCKER_HOST)."""
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
