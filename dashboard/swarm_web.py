"""What every swarm view shares (kept outside dashboard/views/, as web.py is): an engine that
is not a manager answers 503 ("not part of a swarm", "not a swarm manager"); that is a state of
the host, not an outage, so the page says what it is and where to go instead of the engine-down
banner."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from engine_client import Conflict, NotAvailable

from .engines import Host
from .web import host_client

WORKER_TEXT = "This engine is a swarm worker; manage the swarm from a manager host."


def not_manager_text(state: dict[str, Any]) -> str:
    if state["state"] == "active" and not state["manager"]:
        return WORKER_TEXT
    if state["state"] == "locked":
        return "This swarm manager is locked: unlock it with the swarm's unlock key."
    if state["state"] == "pending":
        return "This engine is joining a swarm; try again in a moment."
    if state["state"] == "error":
        return f"This engine's swarm is in error: {state['error'] or 'no detail'}"
    return "This engine is not in a swarm."


def swarm_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn the engine's 503 on a swarm call into a page that says why (and, for htmx, a
    message beside what was acted on)."""

    @wraps(view)
    def wrapped(request: HttpRequest, host: str, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, host, *args, **kwargs)
        except NotAvailable as exc:
            h, client = host_client(request, host)
            state = client.swarm.local_state()
            if state["state"] == "active" and state["manager"]:
                raise  # a manager that answered 503: something else, shown as it is
            text = not_manager_text(state)
            if request.htmx:
                raise Conflict(text, 409) from exc
            return render(
                request,
                "swarm/unavailable.html",
                {"host": h, "text": text, "state": state, "engine_message": exc.message},
            )

    return wrapped


def live_url(host: Host, kind: str, **params: str) -> str:
    """The swarm pages' websocket: events that change what `kind` shows make it re-read."""
    # `since`: events from the moment the page was read on change it (none fall between).
    query = urlencode({"kind": kind, **params, "since": f"{time.time():.3f}"})
    return f"/ws/hosts/{host.name}/swarm/live/?{query}"


def swarm_url(name: str, host: Host, *args: str) -> str:
    return reverse(name, args=[host.name, *args])
