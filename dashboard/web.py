"""Request helpers every view module uses: look up the host and its client, where to go
back to, how to send the browser on after an action, and a live list page.

They live outside dashboard/views/ so that no view module imports another one."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from engine_client import EngineClient

from .engines import Host, client_for, get_host


def host_client(request: HttpRequest, host_name: str) -> tuple[Host, EngineClient]:
    """The host named in the URL (404 if unknown) and its engine client."""
    host = get_host(host_name)
    request.dashboard_host = host  # read by the error middleware
    return host, client_for(host)


def safe_next(request: HttpRequest, default: str) -> str:
    """The `next` form field if it points inside this site, else `default`."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def hx_redirect(request: HttpRequest, url: str) -> HttpResponse:
    """Go to `url` after an action: htmx follows an HX-Redirect header (a plain 302 would
    be followed inside the XHR and its page swapped into the fragment), a form a 302."""
    if request.htmx:
        response = HttpResponse("")
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def live_list(
    request: HttpRequest,
    host: Host,
    kind: str,
    fetch_rows: Callable[[], list[dict[str, Any]]],
    create_form: forms.Form,
) -> HttpResponse:
    """A list page (volumes, networks: templates/_live_list.html) whose rows its websocket
    keeps live: filter by name, and hand the socket the moment the rows were read, so no
    change falls in between. `create_form` is the page's create form, empty or sent back with
    errors (400): htmx then gets the form alone, as it swaps only the form."""
    status = 400 if create_form.errors else 200
    if status == 400 and request.htmx:
        context = {"host": host, "form": create_form}
        return render(request, f"{kind}/_create_form.html", context, status=status)
    started = time.time()
    q = request.GET.get("q", "")[:128]
    rows = fetch_rows()
    total = len(rows)
    if q:
        rows = [r for r in rows if q.lower() in r["name"].lower()]
    context = {
        "host": host,
        "kind": kind,
        # As every list names its filters (image-filters...): the live socket re-reads the
        # rows with them (consumers/live.py ResourceListConsumer).
        "filters_id": f"{kind.removesuffix('s')}-filters",
        "list_url": request.path,  # the list's view also takes the create form's POST
        "prune_url": reverse(f"prune-{kind}", args=[host.name]),
        "form": create_form,
        "rows": rows,
        "q": q,
        "total": total,
        "ws_url": f"/ws/hosts/{host.name}/{kind}/live/?"
        + urlencode({"q": q, "since": f"{started:.3f}"}),
        "initial_status": {"state": "connecting", "text": "connecting…"},
    }
    if request.htmx and request.htmx.target == f"{kind}-rows":
        return render(request, f"{kind}/_rows.html", context)
    return render(request, f"{kind}/list.html", context, status=status)
