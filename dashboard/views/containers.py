"""Containers: the list, a container's page (its tabs), its processes and, for an admin,
one secret-looking variable's value. Actions, logs, create/edit and the terminal have
modules of their own (container_actions, container_logs, container_create, container_exec)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from engine_client import EngineClient, InvalidArgument
from engine_client.container_spec import NOT_IN_DOCKER_RUN, ContainerSpec, EngineDefaults
from engine_client.projects import PROJECT_LABEL
from engine_client.validators import check_env_key

from .. import container_cache, error_counts, image_updates, presenters
from ..access import ADMIN, VIEWER, can_exec, require_role
from ..audit import audited
from ..container_order import SORTS, matches, row_keys
from ..forms.containers import BULK_ACTIONS, ContainerFilterForm, KillForm
from ..paging import PER_PAGE_CHOICES, Page, paginate, sort_of
from ..web import host_client

# Sort keys on (RowKeys, list entry) pairs: the keys are made once per entry (by the
# container cache when the entry changes), never per comparison, and no row is built to sort.
SORT_KEYS: dict[str, Callable[[Any], Any]] = {
    name: (lambda pair, key=key: key(pair[0])) for name, key in SORTS.items()
}
SORT_COLUMNS = [("name", "Name"), ("state", "State"), ("image", "Image"), ("created", "Created")]


# How far behind the events stream the container cache may be when a page reads it.
CACHE_LAG_SECONDS = 10.0


def _inserts(page: Page) -> bool:
    """New containers appear at the top of the list only where they would land: on the
    first page of the newest-first order. Other pages update the rows they show."""
    return page.number == 1 and page.sort == "created" and page.order == "desc"


@require_GET
@require_role(VIEWER)
def container_list(request: HttpRequest, host: str) -> HttpResponse:
    h, client = host_client(request, host)
    # Changes after this moment reach the page through its websocket (see ws_url).
    started = time.time()
    form = ContainerFilterForm(request.GET)
    form.is_valid()
    # A bad field is reported beside the filter and ignored; the good ones still apply.
    q = form.cleaned_data.get("q", "")
    show = form.cleaned_data.get("show") or "all"
    project = form.cleaned_data.get("project", "")
    group = form.cleaned_data.get("group", "")
    # One project's containers: by its label, filtered by the engine.
    filters = {"label": [f"{PROJECT_LABEL}={project}"]} if project else None
    sort, order = sort_of(request.GET, SORT_KEYS, "created", "desc")
    # Sorted first, then filtered (a stable sort: the same order as the other way round).
    # From the cache the order is already made; only the page shown becomes rows.
    pairs = container_cache.ordered(h.name, sort, order == "desc")
    cached = pairs is not None
    if pairs is None:
        summaries = client.containers.list(all=show == "all", filters=filters)
        pairs = [(row_keys(s), s) for s in summaries]
        pairs.sort(key=SORT_KEYS[sort], reverse=order == "desc")
    elif show != "all" or project:
        # What the engine would have listed with `all` off or the project's label filter.
        running = container_cache.RUNNING_STATES
        pairs = [
            (k, s)
            for k, s in pairs
            if (show == "all" or k.state in running) and (not project or k.project == project)
        ]
    total = len(pairs)
    if q:
        # Matched here, not by the engine: its name filter is an unanchored regex.
        needle = q.lower()
        pairs = [(k, s) for k, s in pairs if matches(k, needle)]
    updates = form.cleaned_data.get("updates") or False
    verdicts: dict[str, image_updates.Verdict] = {}
    if updates:
        verdicts = image_updates.list_verdicts(h.name, client, [s for _, s in pairs])
        pairs = [(k, s) for k, s in pairs if s["Id"] in verdicts and verdicts[s["Id"]].outdated]
    by = (lambda pair: pair[0].project) if group else None
    page = paginate(pairs, request.GET, SORT_KEYS, "created", "desc", group=by, presorted=True)
    page = dataclasses.replace(page, items=[s for _, s in page.items])
    if not updates:
        # A verdict is the row's own: the page's rows are all that need one.
        verdicts = image_updates.list_verdicts(h.name, client, page.items)
    shown = page.items if not cached else container_cache.aged(h.name, page.items)
    rows = [presenters.container_row(s) for s in shown]
    for row in rows:
        row["update"] = verdicts.get(row["id"])
    errors = form.cleaned_data.get("errors") or False
    if errors:
        ids = [row["id"] for row in rows]
        error_counts.annotate(rows, error_counts.counts(h.name, client, ids))
    if group:
        # Each group's size over every page, for its heading.
        counts = Counter(k.project for k, _ in pairs)
        for row in rows:
            row["group_count"] = counts[row["project"]]
    base = {
        "q": q,
        "show": show,
        **({"project": project} if project else {}),
        **({"group": group} if group else {}),
        **({"updates": "on"} if updates else {}),
        **({"errors": "on"} if errors else {}),
    }
    # Rows from the cache are as new as the last event it applied, which may lag the events
    # stream the page's socket replays from: the socket replays a little further back, and a
    # row sent twice only renders the same again.
    since = started - CACHE_LAG_SECONDS if cached else started
    live_query = urlencode({**base, "since": f"{since:.3f}"})
    context = {
        "host": h,
        "rows": rows,
        "form": form,
        "q": q,
        "show": show,
        "project": project,
        "group": group,
        "updates": updates,
        "errors": errors,
        "error_pattern": settings.LOG_ERROR_PATTERN,
        "total": total,
        "page": page,
        "base": base,
        # Grouped, a new container belongs inside its group: the page does not guess where.
        "inserts": _inserts(page) and not group,
        "per_choices": PER_PAGE_CHOICES,
        "list_url": reverse("container-list", args=[h.name]),
        "columns": SORT_COLUMNS,
        "ws_url": f"/ws/hosts/{h.name}/containers/live/?{live_query}",
        "bulk_actions": BULK_ACTIONS,
        "initial_status": {"state": "connecting", "text": "connecting…"},
        "from_cache": cached,
    }
    if request.htmx and request.htmx.target == "containers-live":
        return render(request, "containers/_live_table.html", context)
    if request.htmx and request.htmx.target == "container-rows":
        return render(request, "containers/_rows.html", context)
    return render(request, "containers/list.html", context)


TABS = [
    ("overview", "Overview"),
    ("inspect", "Inspect"),
    ("processes", "Processes"),
    ("env", "Environment"),
    ("mounts", "Mounts"),
    ("networks", "Networks"),
    ("health", "Health"),
    ("run", "docker run"),
]


def _secret_keys(raw: dict[str, Any]) -> set[str]:
    env = presenters.mask_env((raw.get("Config") or {}).get("Env"))
    return {e["key"] for e in env if e["secret"]}


@require_GET
@require_role(VIEWER)
def container_detail(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    tab = request.GET.get("tab", "overview")
    tab = tab if tab in dict(TABS) else "overview"
    raw = client.containers.inspect(ref)
    c = presenters.container_detail(raw)
    context: dict[str, Any] = {
        "host": h,
        "c": c,
        "tab": tab,
        "tabs": TABS,
        "may_exec": c["running"] and can_exec(request.user),
        "stats_ws": f"/ws/hosts/{h.name}/containers/{c['id']}/stats/",
        "signals": KillForm.base_fields["signal"].choices,
    }
    if tab == "inspect":
        masked = presenters.masked_inspect(raw)
        context["inspect_tree"] = presenters.json_tree(masked)
        context["inspect_json"] = json.dumps(masked, indent=2, ensure_ascii=False)
    elif tab == "processes":
        context.update(_top_context(client, c))
    elif tab == "run":
        spec = ContainerSpec.from_inspect(
            raw,
            client.images.config(raw.get("Image", "")),
            EngineDefaults.from_info(client.system.info()),
        )
        context["docker_run"] = spec.docker_run_text(secret_keys=_secret_keys(raw))
        context["network_connects"] = spec.network_connects_text()
        context["unexpressed"] = [(k, NOT_IN_DOCKER_RUN[k]) for k in spec.unexpressed]
        context["not_in_docker_run"] = sorted(NOT_IN_DOCKER_RUN.items())
        context["secret_keys"] = sorted(
            k for k in _secret_keys(raw) if any(e.startswith(f"{k}=") for e in spec.env)
        )
    if request.htmx and request.htmx.target == "tab-panel":
        return render(request, "containers/_tab.html", context)
    return render(request, "containers/detail.html", context)


def _top_context(client: EngineClient, c: dict[str, Any]) -> dict[str, Any]:
    if not c["running"] or c["paused"]:
        why = "paused" if c["paused"] else "not running"
        return {"top": None, "top_note": f"The container is {why}: no processes to show."}
    return {"top": presenters.top_table(client.containers.top(c["id"])), "top_note": ""}


@require_GET
@require_role(VIEWER)
def container_top(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    """The processes tab's table, for its refresh button."""
    h, client = host_client(request, host)
    c = presenters.container_detail(client.containers.inspect(container_id))
    return render(request, "containers/_top.html", {"host": h, "c": c, **_top_context(client, c)})


@require_POST
@require_role(ADMIN)
def container_env_reveal(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    """One secret-looking variable's value, for an admin who asks; every reveal is audited."""
    h, client = host_client(request, host)
    key = request.POST.get("key", "")
    try:
        check_env_key(key)
    except InvalidArgument:
        raise InvalidArgument("which variable?") from None
    with audited(
        request, h.name, "container.env.reveal", container_id, params={"variable": key}
    ) as entry:
        raw = client.containers.inspect(container_id)
        entry.target_name = (raw.get("Name") or "").lstrip("/")
        values = [
            e.partition("=")[2]
            for e in (raw.get("Config") or {}).get("Env") or []
            if e.partition("=")[0] == key
        ]
        if not values:
            raise Http404(f"no variable {key}")
    return render(request, "containers/_env_value.html", {"key": key, "value": values[-1]})
