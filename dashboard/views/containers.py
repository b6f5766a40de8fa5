"""Containers: list, detail (tabs), lifecycle (start/stop/restart/pause/unpause/kill/rename),
remove, bulk actions, prune, create / run once / duplicate / edit-and-recreate, terminal."""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from engine_client import EngineClient, EngineError, InvalidArgument, NotFound
from engine_client.container_spec import ContainerSpec, other_networks
from engine_client.images import read_progress

from .. import presenters
from ..access import ADMIN, OPERATOR, VIEWER, can_exec, has_role, require_exec, require_role
from ..audit import audited
from ..middleware import CONTENT_SECURITY_POLICY
from ..paging import PER_PAGE_CHOICES, Page, paginate
from ..streams.run_once import RUN_ONCE_LABEL
from ..streams.threads import iterate_in_thread
from ..web import host_client, safe_next
from .container_forms import (
    BULK_ACTIONS,
    BulkForm,
    ContainerForm,
    KillForm,
    PruneForm,
    RenameForm,
    TimeoutForm,
    form_initial,
    secret_values,
)


class ContainerFilterForm(forms.Form):
    q = forms.CharField(label="Filter", max_length=128, required=False, strip=True)
    show = forms.ChoiceField(
        label="Show",
        choices=[("all", "All"), ("running", "Running")],
        required=False,
        initial="all",
    )


class RemoveForm(forms.Form):
    force = forms.BooleanField(required=False)
    volumes = forms.BooleanField(required=False)
    confirm = forms.CharField(required=False)


def _list_url(host_name: str) -> str:
    return reverse("container-list", args=[host_name])


def _raw_name(summary: dict[str, Any]) -> str:
    return presenters.container_name(summary.get("Names"), summary.get("Id", "")[:12])


# Sort keys on the engine's list entries (cheap: no row is built to sort).
SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "name": lambda s: _raw_name(s).lower(),
    "state": lambda s: ((s.get("State") or "").lower(), _raw_name(s).lower()),
    "image": lambda s: ((s.get("Image") or "").lower(), _raw_name(s).lower()),
    "created": lambda s: (s.get("Created") or 0, s.get("Id", "")),
}
SORT_COLUMNS = [("name", "Name"), ("state", "State"), ("image", "Image"), ("created", "Created")]


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
    summaries = client.containers.list(all=show == "all")
    total = len(summaries)
    if q:
        # Matched here, not by the engine: its name filter is an unanchored regex.
        needle = q.lower()
        summaries = [
            s
            for s in summaries
            if needle in _raw_name(s).lower() or needle in (s.get("Image") or "").lower()
        ]
    # Sorted and cut on the engine's raw entries; only the page shown becomes rows.
    page = paginate(summaries, request.GET, SORT_KEYS, "created", "desc")
    rows = [presenters.container_row(s) for s in page.items]
    base = {"q": q, "show": show}
    live_query = urlencode({**base, "since": f"{started:.3f}"})
    context = {
        "host": h,
        "rows": rows,
        "form": form,
        "q": q,
        "show": show,
        "total": total,
        "page": page,
        "base": base,
        "inserts": _inserts(page),
        "per_choices": PER_PAGE_CHOICES,
        "list_url": _list_url(h.name),
        "columns": SORT_COLUMNS,
        "ws_url": f"/ws/hosts/{h.name}/containers/live/?{live_query}",
        "bulk_actions": BULK_ACTIONS,
        "initial_status": {"state": "connecting", "text": "connecting…"},
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


def _image_config(client: EngineClient, ref: str) -> dict[str, Any] | None:
    """The image's own settings, or None when the image is gone (it may have been removed)."""
    try:
        return client.images.inspect(ref).get("Config") or {}
    except (EngineError, InvalidArgument):
        return None


def _local_tags(client: EngineClient) -> list[str]:
    """Tags of the images on the engine, for the form's image field to offer."""
    tags = {t for i in client.images.list() for t in i.get("RepoTags") or [] if "<none>" not in t}
    return sorted(tags)


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
        spec = ContainerSpec.from_inspect(raw, _image_config(client, raw.get("Image", "")))
        context["docker_run"] = spec.docker_run_text(secret_keys=_secret_keys(raw))
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
    if not re.fullmatch(r"[^=\s\x00]{1,256}", key):
        raise InvalidArgument("which variable?")
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


TAIL_CHOICES = ["100", "500", "1000", "5000", "all"]
SINCE_CHOICES = [("", "the start"), ("10m", "10 minutes"), ("1h", "1 hour"), ("24h", "24 hours")]


@require_GET
@require_role(VIEWER)
def container_logs(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    h, client = host_client(request, host)
    c = presenters.container_detail(client.containers.inspect(container_id))
    tail = request.GET.get("tail", "100")
    tail = tail if tail in TAIL_CHOICES else "100"
    since = request.GET.get("since", "")
    since = since if since in dict(SINCE_CHOICES) else ""
    query = urlencode({"tail": tail, "since": since})
    context = {
        "host": h,
        "c": c,
        "tail": tail,
        "since": since,
        "tail_choices": TAIL_CHOICES,
        "since_choices": SINCE_CHOICES,
        "ws_url": f"/ws/hosts/{h.name}/containers/{c['id']}/logs/?{query}",
        "max_lines": 5000,
    }
    return render(request, "containers/logs.html", context)


@require_GET
@require_role(VIEWER)
def container_logs_download(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    """The whole log as text, streamed from the engine (never held in memory)."""
    h, client = host_client(request, host)
    timestamps = request.GET.get("timestamps") == "1"
    stream = client.containers.logs(container_id, follow=False, timestamps=timestamps)

    def lines():  # runs in a thread of its own (iterate_in_thread)
        for batch in stream.batches():
            out = []
            for line in batch:
                prefix = f"{line.timestamp} " if line.timestamp else ""
                out.append(f"{prefix}{line.text}\n")
            yield "".join(out).encode()

    async def body() -> AsyncIterator[bytes]:
        with contextlib.closing(stream):
            async for chunk in iterate_in_thread(lines()):
                yield chunk

    response = StreamingHttpResponse(body(), content_type="text/plain; charset=utf-8")
    name = f"{h.name}-{container_id[:12]}.log"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _row_response(request: HttpRequest, host_name: str, container_id: str) -> HttpResponse:
    h, client = host_client(request, host_name)
    summary = client.containers.get_summary(container_id)
    if summary is None:
        # Gone (auto-remove): an empty answer removes the row.
        return HttpResponse("")
    return render(
        request, "containers/_row.html", {"host": h, "row": presenters.container_row(summary)}
    )


def _name_of(client: EngineClient, container_id: str) -> str:
    summary = client.containers.get_summary(container_id)
    return presenters.container_row(summary)["name"] if summary is not None else ""


def _acted(request: HttpRequest, host: str, container_id: str, text: str) -> HttpResponse:
    """After an action: the fresh row for htmx, else back where the person came from."""
    if request.htmx:
        return _row_response(request, host, container_id)
    messages.success(request, text)
    return redirect(safe_next(request, _list_url(host)))


def _lifecycle(action: str, past: str):
    @require_POST
    @require_role(OPERATOR)
    def view(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
        h, client = host_client(request, host)
        kwargs: dict[str, Any] = {}
        if action in ("stop", "restart"):
            form = TimeoutForm(request.POST)
            if not form.is_valid():
                raise InvalidArgument("the wait before killing is whole seconds, 0 to 3600")
            if form.cleaned_data["t"] is not None:
                kwargs["timeout"] = form.cleaned_data["t"]
        with audited(request, h.name, f"container.{action}", container_id, params=kwargs) as entry:
            entry.target_name = _name_of(client, container_id)
            getattr(client.containers, action)(container_id, **kwargs)
        return _acted(request, host, container_id, f"{past}: {entry.target_name or container_id}")

    view.__name__ = f"container_{action}"
    return view


container_start = _lifecycle("start", "Started")
container_stop = _lifecycle("stop", "Stopped")
container_restart = _lifecycle("restart", "Restarted")
container_pause = _lifecycle("pause", "Paused")
container_unpause = _lifecycle("unpause", "Resumed")


@require_POST
@require_role(OPERATOR)
def container_kill(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    h, client = host_client(request, host)
    form = KillForm(request.POST)
    if not form.is_valid():
        raise InvalidArgument("pick a signal from the list")
    signal = form.cleaned_data["signal"]
    with audited(
        request, h.name, "container.kill", container_id, params={"signal": signal}
    ) as entry:
        entry.target_name = _name_of(client, container_id)
        client.containers.kill(container_id, signal)
    return _acted(request, host, container_id, f"Sent {signal} to {entry.target_name}")


@require_http_methods(["GET", "POST"])
@require_role(OPERATOR)
def container_rename(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    h, client = host_client(request, host)
    c = presenters.container_detail(client.containers.inspect(container_id))
    form = RenameForm(request.POST or None, initial={"name": c["name"]})
    if request.method == "POST" and form.is_valid():
        new = form.cleaned_data["name"]
        try:
            with audited(
                request,
                h.name,
                "container.rename",
                container_id,
                c["name"],
                params={"new_name": new},
            ):
                client.containers.rename(container_id, new)
        except EngineError as exc:
            # Taken names and the like: beside the field, not on an error page.
            form.add_error("name", exc.message)
        else:
            messages.success(request, f"Renamed {c['name']} to {new}")
            return redirect(safe_next(request, reverse("container-detail", args=[host, c["id"]])))
    return render(request, "containers/rename.html", {"host": h, "c": c, "form": form})


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def container_remove(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    h, client = host_client(request, host)
    form = RemoveForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and form.cleaned_data["confirm"] == "yes":
        force, volumes = form.cleaned_data["force"], form.cleaned_data["volumes"]
        with audited(
            request,
            h.name,
            "container.remove",
            container_id,
            params={"force": force, "volumes": volumes},
        ) as entry:
            summary = client.containers.get_summary(container_id)
            if summary is not None:
                entry.target_name = presenters.container_row(summary)["name"]
            client.containers.remove(container_id, force=force, volumes=volumes)
        if request.htmx:
            return HttpResponse("")
        messages.success(request, f"Removed {entry.target_name or container_id}")
        return redirect(safe_next(request, _list_url(host)))
    # Without an explicit confirmation nothing is removed: show what would go.
    c = presenters.container_detail(client.containers.inspect(container_id))
    return render(request, "containers/confirm_remove.html", {"host": h, "c": c, "form": form})


# -- bulk actions and prune -----------------------------------------------------------------

BULK_WORKERS = 8
_PAST = {
    "start": ("started", "already running"),
    "stop": ("stopped", "already stopped"),
    "restart": ("restarted", ""),
    "pause": ("paused", ""),
    "unpause": ("resumed", ""),
    "kill": ("killed", ""),
    "remove": ("removed", ""),
}


def _bulk_call(client: EngineClient, action: str, force: bool) -> Callable[[str], Any]:
    calls: dict[str, Callable[[str], Any]] = {
        "start": client.containers.start,
        "stop": client.containers.stop,
        "restart": client.containers.restart,
        "pause": client.containers.pause,
        "unpause": client.containers.unpause,
        "kill": client.containers.kill,
        "remove": lambda cid: client.containers.remove(cid, force=force),
    }
    return calls[action]


def _each(ids: list[str], call: Callable[[str], Any]) -> dict[str, tuple[Any, EngineError | None]]:
    """Call `call(id)` for every id, a few at a time; one failure never hides the others."""

    def one(cid: str) -> tuple[Any, EngineError | None]:
        try:
            return call(cid), None
        except EngineError as exc:
            return None, exc

    with ThreadPoolExecutor(max_workers=min(BULK_WORKERS, len(ids))) as pool:
        return dict(zip(ids, pool.map(one, ids), strict=True))


def _outcomes(
    request: HttpRequest,
    host: str,
    action: str,
    audit_action: str,
    results: dict[str, tuple[Any, EngineError | None]],
    names: dict[str, str],
    params: dict[str, Any],
) -> list[dict[str, Any]]:
    """Audit each container's outcome and say it in words."""
    done, unchanged = _PAST.get(action, (action, ""))
    out = []
    for cid, (result, error) in results.items():
        name = names.get(cid, "")
        with (
            contextlib.suppress(EngineError),
            audited(request, host, audit_action, cid, name, params=params),
        ):
            if error is not None:
                raise error
        if isinstance(error, NotFound):
            text, ok = "not found (it is gone)", False
        elif error is not None:
            text, ok = error.message, False
        else:
            text, ok = (unchanged if result is False and unchanged else done), True
        out.append(
            {"id": cid, "short_id": cid[:12], "name": name or cid[:12], "ok": ok, "text": text}
        )
    return out


def _names(client: EngineClient, ids: list[str]) -> dict[str, str]:
    """Names of the containers with exactly these ids (the engine matches id prefixes)."""
    rows = client.containers.list(all=True, filters={"id": ids}) if ids else []
    return {r["Id"]: presenters.container_row(r)["name"] for r in rows if r.get("Id") in ids}


@require_POST
@require_role(OPERATOR)
def container_bulk(request: HttpRequest, host: str) -> HttpResponse:
    """One action on the selected containers (by full id), each outcome reported."""
    h, client = host_client(request, host)
    form = BulkForm(request.POST, ids=request.POST.getlist("ids"))
    context: dict[str, Any] = {"host": h, "form": form, "outcomes": []}
    if form.is_valid():
        action, ids = form.cleaned_data["action"], form.cleaned_data["ids"]
        if action == "remove" and not has_role(request.user, ADMIN):
            raise PermissionDenied("removing containers needs the admin role")
        force = action == "remove" and request.POST.get("force") == "on"
        names = _names(client, ids)
        results = _each(ids, _bulk_call(client, action, force))
        params = {"bulk": len(ids), **({"force": True} if force else {})}
        outcomes = _outcomes(request, h.name, action, f"container.{action}", results, names, params)
        context.update(action=action, outcomes=outcomes, ok=sum(o["ok"] for o in outcomes))
    template = "containers/_bulk_result.html" if request.htmx else "containers/bulk_result.html"
    return render(request, template, context, status=200 if form.is_valid() else 400)


STOPPED_STATES = ["created", "exited", "dead"]


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def container_prune(request: HttpRequest, host: str) -> HttpResponse:
    """Remove stopped containers: first the list of what would go, then exactly those (a
    container started since the list was shown is refused by the engine and kept)."""
    h, client = host_client(request, host)
    form = PruneForm(request.POST if request.method == "POST" else request.GET)
    label = form.cleaned_data["label"] if form.is_valid() else ""
    context: dict[str, Any] = {"host": h, "form": form, "label": label}
    if request.method == "POST" and form.is_valid():
        ids = [i for i in request.POST.getlist("ids") if re.fullmatch(r"[0-9a-f]{64}", i)]
        names = dict(zip(ids, request.POST.getlist("names"), strict=False)) if ids else {}
        results = _each(ids, client.containers.remove) if ids else {}
        context["outcomes"] = _outcomes(
            request, h.name, "remove", "container.prune", results, names, {"label": label}
        )
        context["ok"] = sum(o["ok"] for o in context["outcomes"])
        return render(request, "containers/prune.html", context)
    filters: dict[str, list[str]] = {"status": STOPPED_STATES}
    if label:
        filters["label"] = [label]
    rows = [presenters.container_row(r) for r in client.containers.list(all=True, filters=filters)]
    context["rows"] = rows
    return render(request, "containers/prune.html", context)


# -- create, run once, duplicate, edit/recreate ---------------------------------------------


def _container_form(
    request: HttpRequest, client: EngineClient, data: Any = None, **kwargs: Any
) -> ContainerForm:
    return ContainerForm(
        data,
        client=client,
        allow_privileged=has_role(request.user, ADMIN),
        networks=sorted(n.get("Name", "") for n in client.networks.list() if n.get("Name")),
        **kwargs,
    )


def _audit_params(spec: ContainerSpec, then: str, pull: bool) -> dict[str, Any]:
    """What was asked for, without values of variables (they may be secrets)."""
    return {
        "image": spec.image,
        "name": spec.name,
        "then": then,
        "pull": pull,
        "command": spec.cmd,
        "env_names": [e.partition("=")[0] for e in spec.env],
        "ports": [p.docker_arg() for p in spec.ports],
        "mounts": [m.docker_arg() for m in spec.mounts],
        "network": spec.network,
        "restart": spec.restart,
        "privileged": spec.privileged,
        "cap_add": spec.cap_add,
    }


def _source(client: EngineClient, source: str) -> dict[str, Any] | None:
    """The container a duplicate was filled from (for its hidden values and the settings
    the form does not show), if it is still there."""
    if not re.fullmatch(r"[0-9a-f]{64}", source):
        return None
    try:
        return client.containers.inspect(source)
    except NotFound:
        return None


def _connect_like(
    client: EngineClient, cid: str, source: dict[str, Any], spec: ContainerSpec
) -> None:
    """Attach a duplicate to the other networks its source is on (a create attaches one);
    if that fails, remove it: a half-made duplicate is not an equal one."""
    try:
        for net, endpoint in other_networks(source, spec.network).items():
            client.networks.connect(net, cid, aliases=endpoint["aliases"])
    except EngineError:
        with contextlib.suppress(EngineError):
            client.containers.remove(cid, force=True)
        raise


def _copy_name(client: EngineClient, name: str) -> str:
    taken = {n.lstrip("/") for r in client.containers.list(all=True) for n in r.get("Names") or []}
    for n in range(1, 100):
        candidate = f"{name}-copy" if n == 1 else f"{name}-copy{n}"
        if candidate not in taken:
            return candidate
    return ""


def _form_page(
    request: HttpRequest, h: Any, form: ContainerForm, mode: str, c: dict[str, Any] | None = None
) -> HttpResponse:
    # A POST that comes back to the form did not validate (or a step failed): not a 200.
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "containers/form.html",
        {"host": h, "form": form, "mode": mode, "c": c, "images": _local_tags(form.client)},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def container_new(request: HttpRequest, host: str) -> HttpResponse:
    """The create form: create, create and start, or run once. `?from=<id>` fills it from an
    existing container (duplicate)."""
    h, client = host_client(request, host)
    if request.method == "GET":
        source = request.GET.get("from", "")
        if not source:
            return _form_page(request, h, _container_form(request, client), "new")
        if not re.fullmatch(r"[0-9a-f]{64}", source):
            raise Http404("duplicate takes a full container id")
        raw = client.containers.inspect(source)
        spec = ContainerSpec.from_inspect(raw, _image_config(client, raw.get("Image", "")))
        spec.name = _copy_name(client, spec.name)
        initial, ports, mounts = form_initial(spec)
        initial["source"] = raw["Id"]
        form = _container_form(
            request, client, initial=initial, ports_initial=ports, mounts_initial=mounts
        )
        return _form_page(request, h, form, "duplicate", presenters.container_detail(raw))
    source = request.POST.get("source", "")
    base = _source(client, source)
    hidden_env = secret_values(((base or {}).get("Config") or {}).get("Env") or [])
    form = _container_form(request, client, request.POST, hidden_env=hidden_env)
    mode = "duplicate" if source else "new"
    then = request.POST.get("then", "create")
    then = then if then in ("create", "start", "run") else "create"
    if not form.is_valid() or form.section_errors:
        return _form_page(request, h, form, mode)
    spec = form.spec()
    pull = form.cleaned_data["pull"]
    if then == "run":
        # The run page starts it, streams its output, and removes it at the end (unless kept).
        spec.labels[RUN_ONCE_LABEL] = "keep" if form.cleaned_data["keep"] else "remove"
        spec.auto_remove = False
    params = _audit_params(spec, then, pull)
    try:
        with audited(
            request, h.name, "container.run" if then == "run" else "container.create", params=params
        ) as entry:
            entry.target_name = spec.name
            if pull:
                try:
                    read_progress(client.images.pull(spec.image))
                except (EngineError, InvalidArgument) as exc:
                    form.add_error("image", f"The pull failed: {exc.message}")
                    raise
            created = client.containers.create(spec.create_body(base), name=spec.name or None)
            cid = created["Id"]
            entry.params["container_id"] = cid
            if base is not None:
                _connect_like(client, cid, base, spec)
            if then == "start":
                try:
                    client.containers.start(cid)
                except EngineError as exc:
                    # Create and start is one thing: leave nothing behind that did not start.
                    with contextlib.suppress(EngineError):
                        client.containers.remove(cid, force=True)
                    raise EngineError(
                        f"It was created but did not start, so it was removed again: {exc.message}",
                        exc.status,
                    ) from exc
    except EngineError as exc:
        if not form.errors.get("image"):
            form.engine_refused(exc.message)
        return _form_page(request, h, form, mode)
    if then == "run":
        return redirect(reverse("container-run", args=[host, cid]))
    verb = "Created and started" if then == "start" else "Created"
    messages.success(request, f"{verb} {spec.name or cid[:12]}")
    for warning in created.get("Warnings") or []:
        messages.warning(request, f"The engine warns: {warning}")
    return redirect(reverse("container-detail", args=[host, cid]))


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def container_edit(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    """The form filled from a container; saving recreates it (same name, new settings) and
    says what it did, step by step, if anything fails part-way."""
    h, client = host_client(request, host)
    raw = client.containers.inspect(container_id)
    c = presenters.container_detail(raw)
    if request.method == "GET":
        spec = ContainerSpec.from_inspect(raw, _image_config(client, raw.get("Image", "")))
        initial, ports, mounts = form_initial(spec)
        form = _container_form(
            request,
            client,
            initial=initial,
            ports_initial=ports,
            mounts_initial=mounts,
            own_name=c["name"],
        )
        return _form_page(request, h, form, "edit", c)
    form = _container_form(
        request,
        client,
        request.POST,
        own_name=c["name"],
        hidden_env=secret_values(raw["Config"].get("Env") or []),
    )
    if not form.is_valid():
        return _form_page(request, h, form, "edit", c)
    spec = form.spec()
    spec.name = spec.name or c["name"]
    pull = form.cleaned_data["pull"]
    params = _audit_params(spec, "recreate", pull)
    report = None
    with (
        contextlib.suppress(EngineError),
        audited(
            request, h.name, "container.recreate", container_id, c["name"], params=params
        ) as entry,
    ):
        report = client.containers.recreate(
            container_id,
            spec.create_body(raw, keep_identity=True),
            spec.name,
            pull,
            networks=other_networks(raw, spec.network),
        )
        entry.params["steps"] = [f"{s.what}: {s.outcome}" for s in report.steps]
        entry.params["new_id"] = report.new_id
        if not report.ok:
            failed = report.failed
            raise EngineError(f"{failed.what}: {failed.message}" if failed else "failed")
    if report is None:  # the old container could not even be read again
        raise NotFound(f"No such container: {container_id}")
    if report.ok and not any(s.outcome == "failed" for s in report.steps):
        messages.success(request, f"Recreated {spec.name}")
        return redirect(reverse("container-detail", args=[host, report.new_id]))
    return render(
        request,
        "containers/recreate_result.html",
        {"host": h, "c": c, "report": report, "spec": spec},
    )


@require_GET
@require_role(ADMIN)
def container_run(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    """The run page: the output of a container run once, streamed while it runs."""
    h, client = host_client(request, host)
    raw = client.containers.inspect(container_id)
    if RUN_ONCE_LABEL not in ((raw.get("Config") or {}).get("Labels") or {}):
        raise Http404("this container was not made to be run once")
    c = presenters.container_detail(raw)
    spec = ContainerSpec.from_inspect(raw)
    return render(
        request,
        "containers/run.html",
        {
            "host": h,
            "c": c,
            "command": " ".join(spec.cmd or []) or "(the image's command)",
            "keep": raw["Config"]["Labels"][RUN_ONCE_LABEL] == "keep",
            "ws_url": f"/ws/hosts/{h.name}/containers/{c['id']}/run/",
        },
    )


# xterm.js writes <style> elements and style attributes: this page allows inline styles
# (scripts stay 'self' only, as everywhere).
TERMINAL_CSP = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)


@require_GET
@require_exec
def container_exec(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    """The terminal page: a shell (or any command) in the running container."""
    h, client = host_client(request, host)
    c = presenters.container_detail(client.containers.inspect(container_id))
    command = request.GET.get("cmd", "sh")[:4096] or "sh"
    response = render(
        request,
        "containers/exec.html",
        {
            "host": h,
            "c": c,
            "command": command,
            "user_name": request.GET.get("user", "")[:65],
            "ws_url": f"/ws/hosts/{h.name}/containers/{c['id']}/exec/",
        },
    )
    response["Content-Security-Policy"] = TERMINAL_CSP
    return response
