"""Which containers a merged log or a log search covers: ticked ones, a compose project, a
label filter or a whole host, on one host or the same selection on several.

A selection is read from the page's query (`dashboard/forms/logs.py` checks it) and travels
in the websocket's URL; `matches` tells whether a container's list entry belongs to it (a
container that starts later joins a merged view by this), `resolve` lists what it covers on
a host now, in one list call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from engine_client import EngineClient
from engine_client.projects import PROJECT_LABEL

from .access import may_use_host
from .engines import Host
from .web import host_client

# The most containers one merged view follows or one search reads: beyond it the page says
# how many were left out (each is an engine stream; the 10,000 never reach the engine).
SELECTION_MAX = 50


@dataclass(frozen=True)
class Selection:
    ids: tuple[str, ...] = ()
    project: str = ""
    label: str = ""
    all: bool = False
    hosts: tuple[str, ...] = ()  # more hosts with the same selection, beside the URL's

    @property
    def dynamic(self) -> bool:
        """Whether containers that appear later can belong to it (ticked ones cannot)."""
        return bool(self.project or self.label or self.all)

    @property
    def empty(self) -> bool:
        return not (self.ids or self.dynamic)

    def matches(self, row: dict[str, Any]) -> bool:
        """Whether an engine list entry is in the selection."""
        if self.ids and row.get("Id") in self.ids:
            return True
        if not self.dynamic:
            return False
        labels = row.get("Labels") or {}
        if self.project and labels.get(PROJECT_LABEL) != self.project:
            return False
        if self.label:
            key, eq, value = self.label.partition("=")
            if key not in labels or (eq and labels[key] != value):
                return False
        return True

    def filters(self) -> dict[str, list[str]]:
        """The engine's list filters that narrow to the selection (or a superset of it)."""
        labels = []
        if self.project:
            labels.append(f"{PROJECT_LABEL}={self.project}")
        if self.label:
            labels.append(self.label)
        if self.ids and not self.dynamic:
            return {"id": list(self.ids)}
        return {"label": labels} if labels else {}

    def query(self) -> dict[str, str]:
        """The selection as query parameters (what the form reads back)."""
        out: dict[str, str] = {}
        if self.ids:
            out["ids"] = ",".join(self.ids)
        if self.project:
            out["project"] = self.project
        if self.label:
            out["label"] = self.label
        if self.all:
            out["all"] = "1"
        if self.hosts:
            out["hosts"] = ",".join(self.hosts)
        return out

    def querystring(self) -> str:
        return urlencode(self.query())

    def describe(self) -> str:
        parts = []
        if self.ids:
            parts.append(f"{len(self.ids)} ticked container{'s' if len(self.ids) != 1 else ''}")
        if self.project:
            parts.append(f"project {self.project}")
        if self.label:
            parts.append(f"label {self.label}")
        if self.all and not (self.project or self.label):
            parts.append("every container")
        return ", ".join(parts) or "nothing"


def resolve(client: EngineClient, selection: Selection, running: bool) -> list[dict[str, Any]]:
    """The host's containers in the selection (running ones only with `running`; ticked ones
    whatever their state), oldest first, as the engine lists them: one list call."""
    rows = client.containers.list(all=True, filters=selection.filters())
    picked = [
        r
        for r in rows
        if selection.matches(r)
        and (not running or r.get("State") == "running" or r["Id"] in selection.ids)
    ]
    picked.sort(key=lambda r: r.get("Created") or 0)
    return picked


def container_name(row: dict[str, Any]) -> str:
    return ((row.get("Names") or [""])[0] or "").lstrip("/") or row["Id"][:12]


def selection_hosts(
    request: HttpRequest, host: str, selection: Selection
) -> list[tuple[Host, EngineClient]]:
    """The URL's host and the selection's others, each one the user may use (else 403)."""
    out = [host_client(request, host)]
    for name in selection.hosts:
        if name == host:
            continue
        if not may_use_host(request.user, name):
            raise PermissionDenied(f"you may not use host {name}")
        out.append(host_client(request, name))
    request.dashboard_host = out[0][0]
    return out


def selected_containers(
    hosts: list[tuple[Host, EngineClient]], selection: Selection, running: bool
) -> tuple[list[tuple[Host, dict[str, Any]]], int]:
    """Up to SELECTION_MAX (host, list entry) pairs in the selection, and how many there are."""
    found: list[tuple[Host, dict[str, Any]]] = []
    for h, client in hosts:
        found.extend((h, row) for row in resolve(client, selection, running=running))
    return found[:SELECTION_MAX], len(found)
