"""The Ctrl/Cmd-K palette's search: containers, images, services, nodes, hosts and pages by
name, across the hosts a person may use, with only what their role may open.

Why it is shaped this way:
- Each host is read in a thread of its own and waited for until one shared deadline
  (PALETTE_HOST_BUDGET seconds), so a hung host delays nobody else's results: it is named as
  timed out, and its read goes on in the background to fill the cache for the next key.
- A read that has already outlasted a budget (a host that hangs) is not waited for again:
  the keys typed after the first one answer at once.
- What a host holds is reused for PALETTE_TTL seconds (a person types several keys in a
  row), then served up to MAX_STALE seconds longer while one read refreshes it: a list of
  thousands of containers is not read again for each key.
- One read per host at a time, so keys typed against a hung host do not pile up threads.
- Containers come from `host_containers`, the one place to switch to the events-fed cache of
  issue 20 (dashboard/container_cache.py) once it exists.
- Whether a role may open an item is asked of the view its URL resolves to (the access
  decorators' `required_role`), so the palette cannot offer what the page would refuse.
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from engine_client import EngineError

from . import container_cache
from .access import ADMIN, has_role, may_use_host
from .engines import Host, client_for, configured_hosts
from .resource_presenters import image_hex

log = logging.getLogger(__name__)

KIND_TITLES = {
    "page": "Pages",
    "host": "Hosts",
    "container": "Containers",
    "image": "Images",
    "service": "Services",
    "node": "Nodes",
}
# Results shown per kind: the palette is for going somewhere, not for browsing a list.
PER_KIND = 8
# Past PALETTE_TTL, a host's contents are still served this long while a read refreshes them.
MAX_STALE = 60.0

# Pages by name: (title, URL name, whether it is a page of each host).
PAGES: tuple[tuple[str, str, bool], ...] = (
    ("Containers", "container-list", True),
    ("New container", "container-new", True),
    ("Projects", "project-list", True),
    ("New project", "project-new", True),
    ("Images", "image-list", True),
    ("Pull an image", "image-pull", True),
    ("Volumes", "volume-list", True),
    ("Networks", "network-list", True),
    ("Swarm overview", "swarm-overview", True),
    ("Swarm services", "swarm-services", True),
    ("Swarm nodes", "swarm-nodes", True),
    ("Swarm secrets", "swarm-secrets", True),
    ("Swarm configs", "swarm-configs", True),
    ("Events", "events", True),
    ("Disk usage", "disk-usage", True),
    ("Engine", "host-detail", True),
    ("Registry logins", "registry-list", True),
    ("Hosts", "fleet", False),
    ("Manage hosts", "host-settings", False),
    ("Users", "user-list", False),
    ("Audit trail", "audit", False),
    ("Alerts", "alert-history", False),
    ("Alert rules", "alert-rules", False),
    ("Alert channels", "alert-channels", False),
    ("Change password", "password-change", False),
)


@dataclass(frozen=True)
class Item:
    kind: str
    name: str
    url: str
    host: str = ""
    detail: str = ""


@dataclass
class Group:
    kind: str
    title: str
    items: list[Item]
    more: int = 0


@dataclass
class HostProblem:
    host: str
    text: str
    timed_out: bool = False


@dataclass
class Results:
    query: str
    groups: list[Group]
    problems: list[HostProblem]

    @property
    def count(self) -> int:
        return sum(len(g.items) for g in self.groups)

    @property
    def retry(self) -> bool:
        """A host timed out: its read goes on, and the page asks again a moment later (the
        person may type nothing more, and its results should still come)."""
        return any(p.timed_out for p in self.problems)


@lru_cache(maxsize=512)
def role_for_url(url: str) -> str:
    """The role the view behind `url` needs (admin when it declares none, or none resolves)."""
    try:
        func = resolve(url).func
    except Resolver404:
        return ADMIN
    return getattr(getattr(func, "view_class", func), "required_role", ADMIN)


def host_containers(host: Host) -> list[dict[str, Any]]:
    """Every container of `host`, as the engine's list entries: from this process's
    events-fed cache when it can be trusted, else the engine's list call."""
    cached = container_cache.containers(host.name)
    return cached if cached is not None else client_for(host).containers.list(all=True)


def _read_host(host: Host) -> list[Item]:
    """Containers, images, and (on a swarm manager) services and nodes of one host."""
    client = client_for(host)
    items: list[Item] = []
    # One reverse per kind, not per item: thousands of containers are read.
    base = reverse("container-list", args=[host.name])
    for c in host_containers(host):
        names = c.get("Names") or []
        name = names[0].lstrip("/") if names else c["Id"][:12]
        items.append(Item("container", name, f"{base}{c['Id']}/", host.name, c.get("State", "")))
    base = reverse("image-list", args=[host.name])
    for image in client.images.list():
        for tag in image.get("RepoTags") or []:
            if not tag.startswith("<none>"):
                items.append(Item("image", tag, f"{base}{image_hex(image['Id'])}/", host.name))
    if not client.flavor.is_podman:
        try:
            services = client.services.list(status=False)
            nodes = client.nodes.list()
        except EngineError:
            services = nodes = []  # not a swarm manager: it has none to show
        base = reverse("swarm-services", args=[host.name])
        for s in services:
            items.append(Item("service", s["Spec"]["Name"], f"{base}{s['ID']}/", host.name))
        base = reverse("swarm-nodes", args=[host.name])
        for n in nodes:
            hostname = (n.get("Description") or {}).get("Hostname") or n["ID"][:12]
            role = (n.get("Spec") or {}).get("Role", "")
            items.append(Item("node", hostname, f"{base}{n['ID']}/", host.name, role))
    return items


@dataclass
class _Index:
    """What one host holds, as last read, and the read under way if any."""

    items: list[Item] = field(default_factory=list)
    lowered: list[str] = field(default_factory=list)
    # The role each kind's pages need (one resolve per kind, not per item).
    roles: dict[str, str] = field(default_factory=dict)
    error: str = ""
    read_at: float = -math.inf
    reading: Future[None] | None = None
    # The read under way has already kept one search waiting a whole budget: a host that
    # hangs is not waited for again until that read ends.
    overdue: bool = False


_indexes: dict[Host, _Index] = {}
_lock = threading.Lock()


def forget() -> None:
    """Drop every host's cached contents (tests; a host whose address changed is keyed anew)."""
    with _lock:
        _indexes.clear()


def _start_read(host: Host, index: _Index) -> Future[None]:
    """Read `host` in a thread of its own (called with _lock held)."""
    done: Future[None] = Future()
    index.reading, index.overdue = done, False

    def run() -> None:
        error = ""
        items: list[Item] = []
        try:
            items = _read_host(host)
        except EngineError as exc:
            error = exc.message
        except Exception as exc:  # a thread of its own: say it, do not lose it
            log.exception("palette read of host %s failed", host.name)
            error = f"could not be read: {exc}"
        roles = {}
        for item in items:
            if item.kind not in roles:
                roles[item.kind] = role_for_url(item.url)
        with _lock:
            index.items, index.lowered = items, [i.name.lower() for i in items]
            index.roles, index.error = roles, error
            index.read_at, index.reading = time.monotonic(), None
        done.set_result(None)

    threading.Thread(target=run, name=f"palette-{host.name}", daemon=True).start()
    return done


def _begin(host: Host) -> tuple[_Index, Future[None] | None]:
    """The host's index if it may be used now (the future is None then), else the read to
    wait for. Starts a read when the index is old or missing."""
    ttl = settings.PALETTE_TTL
    now = time.monotonic()
    with _lock:
        index = _indexes.setdefault(host, _Index())
        age = now - index.read_at
        if age < ttl:
            return index, None
        reading = index.reading or _start_read(host, index)
        if age < ttl + MAX_STALE:
            return index, None  # served as it was while the read refreshes it
        return index, reading


def warm(user: Any) -> None:
    """Start reading the hosts `user` may use (the palette was opened: keys come next)."""
    for host in configured_hosts().values():
        if may_use_host(user, host.name):
            _begin(host)


def _score(name: str, q: str, words: list[str]) -> int | None:
    """Lower is better: the whole name, its start, a word's start, anywhere; None: no match."""
    if not all(w in name for w in words):
        return None
    if name == q:
        return 0
    if name.startswith(q):
        return 1
    if any(name.startswith(w) or f"-{w}" in name or f"_{w}" in name for w in words):
        return 2
    return 3


def _pages(user: Any, hosts: list[Host]) -> list[Item]:
    items = []
    for title, url_name, per_host in PAGES:
        for host in hosts if per_host else [None]:
            try:
                url = reverse(url_name, args=[host.name] if host else [])
            except NoReverseMatch:
                continue
            if has_role(user, role_for_url(url)):
                items.append(Item("page", title, url, host.name if host else ""))
    return items


def search(user: Any, query: str) -> Results:
    """What `user` may open whose name holds every word of `query` (case-insensitive), by
    kind, best matches first; hosts that failed or ran out of time are named."""
    configured = configured_hosts()
    with _lock:
        # A host removed, or whose address or TLS changed (a new Host), is read no more.
        for gone in [h for h in _indexes if configured.get(h.name) != h]:
            del _indexes[gone]
    hosts = [h for h in configured.values() if may_use_host(user, h.name)]
    q = " ".join(query.lower().split())
    words = q.split()
    candidates: list[tuple[str, Item]] = [(i.name.lower(), i) for i in _pages(user, hosts)]
    candidates += [
        (h.name, Item("host", h.name, reverse("container-list", args=[h.name]), h.name))
        for h in hosts
    ]
    problems: list[HostProblem] = []
    found: dict[str, list[tuple[int, int, str, Item]]] = {k: [] for k in KIND_TITLES}
    if q:
        budget = settings.PALETTE_HOST_BUDGET
        started = time.monotonic()
        pending = [(h, *_begin(h)) for h in hosts]
        for host, index, reading in pending:
            if reading is not None:
                wait = 0.0 if index.overdue else max(0.0, started + budget - time.monotonic())
                try:
                    reading.result(timeout=wait)
                except FutureTimeout:
                    with _lock:
                        index.overdue = index.reading is reading
                    text = f"{host.name} timed out: no answer within {budget:g} s"
                    problems.append(HostProblem(host.name, text, timed_out=True))
                    continue
            with _lock:
                items, lowered, roles, error = (
                    index.items,
                    index.lowered,
                    index.roles,
                    index.error,
                )
            if error:
                problems.append(HostProblem(host.name, f"{host.name}: {error}"))
            allowed = {k for k, role in roles.items() if has_role(user, role)}
            # A plain `in` over every name first: thousands of names, few of them matches.
            longest = max(words, key=len)
            for k in [k for k, name in enumerate(lowered) if longest in name]:
                item, name = items[k], lowered[k]
                if item.kind in allowed:
                    score = _score(name, q, words)
                    if score is not None:
                        found[item.kind].append((score, len(name), name, item))
    for name, item in candidates:
        score = _score(name, q, words) if q else 3
        if score is not None:
            found[item.kind].append((score, len(name), name, item))
    groups = []
    for kind, title in KIND_TITLES.items():
        matches = found[kind]
        if matches:
            best = heapq.nsmallest(PER_KIND, matches, key=lambda m: m[:3])
            more = len(matches) - len(best)
            groups.append(Group(kind, title, [m[3] for m in best], more))
    return Results(query=q, groups=groups, problems=problems)
