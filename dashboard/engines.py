"""Hosts and their engine clients: one client per host, created once and reused.

Hosts come from the environment (DOCKER_HOST first, then DASHBOARD_HOSTS: not editable from
the UI) and from the database (added on the hosts page).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.http import Http404

from engine_client import EngineClient, EngineUnreachable, TLSConfig

HOST_NAME_RE = r"[a-z0-9][a-z0-9-]{0,62}"


@dataclass(frozen=True)
class Host:
    name: str
    url: str
    tls: TLSConfig | None = None
    # "env" (from settings, read-only) or "db" (added on the hosts page).
    origin: str = "env"
    # Why this host cannot be used at all (its TLS key no longer decrypts), shown as the
    # engine being unreachable instead of hiding the host.
    problem: str = ""

    @property
    def editable(self) -> bool:
        return self.origin == "db"


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


def env_hosts() -> dict[str, Host]:
    """DOCKER_HOST under DASHBOARD_HOST_NAME first, then the `DASHBOARD_HOSTS` ones."""
    name = settings.DASHBOARD_HOST_NAME
    if not re.fullmatch(HOST_NAME_RE, name):
        raise ValueError(f"DASHBOARD_HOST_NAME must match {HOST_NAME_RE}: {name!r}")
    hosts = {name: Host(name=name, url=settings.DOCKER_HOST, tls=TLSConfig.from_env())}
    for extra, url in parse_env_hosts(settings.DASHBOARD_HOSTS):
        hosts.setdefault(extra, Host(name=extra, url=url))
    return hosts


# Hosts read from the database, for a moment: pages ask for them several times per request.
# Saving or removing a host forgets them at once in this process (signals below); another
# process sees the change within DB_HOSTS_TTL.
DB_HOSTS_TTL = 2.0
_db_hosts: tuple[float, dict[str, Host]] | None = None


def forget_db_hosts() -> None:
    global _db_hosts
    _db_hosts = None


def _tls_dir(name: str, material: bytes) -> Path:
    return Path(settings.DATA_DIR) / "tls" / f"{name}-{hashlib.sha256(material).hexdigest()[:16]}"


def _write_private(path: Path, text: str) -> str:
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
    return str(path)


def _tls_for(row) -> TLSConfig | None:
    """The row's TLS settings, its PEMs decrypted into files the client can load (0600 in
    a 0700 directory named after a hash of them, so a new upload gets new files)."""
    if not row.tls:
        return None
    from .credentials import decrypt

    pems = {
        k: decrypt(v)
        for k, v in (("ca", row.tls_ca), ("cert", row.tls_cert), ("key", row.tls_key))
        if v
    }
    folder = _tls_dir(row.name, "\0".join(f"{k}={v}" for k, v in sorted(pems.items())).encode())
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths = {k: _write_private(folder / f"{k}.pem", v) for k, v in pems.items()}
    return TLSConfig(
        ca_cert=paths.get("ca"),
        client_cert=paths.get("cert"),
        client_key=paths.get("key"),
        verify=row.tls_verify,
    )


def db_hosts() -> dict[str, Host]:
    global _db_hosts
    cached = _db_hosts
    if cached is not None and time.monotonic() - cached[0] < DB_HOSTS_TTL:
        return cached[1]
    from .credentials import CredentialError
    from .models import EngineHost

    hosts = {}
    for row in EngineHost.objects.all():
        try:
            hosts[row.name] = Host(name=row.name, url=row.url, tls=_tls_for(row), origin="db")
        except (CredentialError, OSError) as exc:
            problem = f"the host's TLS files cannot be used: {exc}"
            hosts[row.name] = Host(name=row.name, url=row.url, origin="db", problem=problem)
    _db_hosts = (time.monotonic(), hosts)
    return hosts


def configured_hosts() -> dict[str, Host]:
    """The hosts people can pick: the environment's first, then those added on the hosts
    page (a name the environment already uses stays the environment's)."""
    hosts = env_hosts()
    for name, host in db_hosts().items():
        hosts.setdefault(name, host)
    return hosts


def default_host() -> Host:
    return next(iter(configured_hosts().values()))


def get_host(name: str) -> Host:
    try:
        return configured_hosts()[name]
    except KeyError:
        raise Http404(f"no host named {name!r}") from None


def client_for(host: Host) -> EngineClient:
    if host.problem:
        raise EngineUnreachable(host.problem, url=host.url)
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


def forget_client(name: str) -> None:
    """Close the clients of host `name` (its address or TLS changed, or it was removed)."""
    with _lock:
        for host in [h for h in _clients if h.name == name]:
            _clients.pop(host).close()


def reset_clients() -> None:
    """Forget cached clients (tests that change DOCKER_HOST)."""
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def _forget_db_hosts_on_change(sender, instance, **kwargs) -> None:
    from . import container_cache

    forget_db_hosts()
    forget_client(instance.name)
    container_cache.forget(instance.name)  # it follows the old address's events


def connect_signals() -> None:
    """Called from the app config: a saved or removed host is seen at once in this process."""
    from django.db.models.signals import post_delete, post_save

    from .models import EngineHost

    post_save.connect(_forget_db_hosts_on_change, sender=EngineHost, dispatch_uid="hosts-save")
    post_delete.connect(_forget_db_hosts_on_change, sender=EngineHost, dispatch_uid="hosts-del")
