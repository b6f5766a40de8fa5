"""Containers: list, detail, start/stop/restart, remove."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import presenters
from ..access import ADMIN, OPERATOR, VIEWER, require_role
from ..audit import audited
from ..streams.threads import iterate_in_thread
from .common import host_client, safe_next


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
    rows = [presenters.container_row(s) for s in client.containers.list(all=show == "all")]
    total = len(rows)
    if q:
        # Matched here, not by the engine: its name filter is an unanchored regex.
        needle = q.lower()
        rows = [r for r in rows if needle in r["name"].lower() or needle in r["image"].lower()]
    live_query = urlencode({"q": q, "show": show, "since": f"{started:.3f}"})
    context = {
        "host": h,
        "rows": rows,
        "form": form,
        "q": q,
        "show": show,
        "total": total,
        "ws_url": f"/ws/hosts/{h.name}/containers/live/?{live_query}",
        "initial_status": {"state": "connecting", "text": "connecting…"},
    }
    if request.htmx and request.htmx.target == "containers-live":
        return render(request, "containers/_live_table.html", context)
    if request.htmx and request.htmx.target == "container-rows":
        return render(request, "containers/_rows.html", context)
    return render(request, "containers/list.html", context)


@require_GET
@require_role(VIEWER)
def container_detail(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    c = presenters.container_detail(client.containers.inspect(ref))
    return render(
        request,
        "containers/detail.html",
        {"host": h, "c": c, "stats_ws": f"/ws/hosts/{h.name}/containers/{c['id']}/stats/"},
    )


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


def _lifecycle(action: str):  # noqa: ANN202
    @require_POST
    @require_role(OPERATOR)
    def view(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
        h, client = host_client(request, host)
        with audited(request, h.name, f"container.{action}", container_id) as entry:
            summary = client.containers.get_summary(container_id)
            if summary is not None:
                entry.target_name = presenters.container_row(summary)["name"]
            getattr(client.containers, action)(container_id)
        if request.htmx:
            return _row_response(request, host, container_id)
        messages.success(request, f"{action.capitalize()}: {entry.target_name or container_id}")
        return redirect(safe_next(request, _list_url(host)))

    view.__name__ = f"container_{action}"
    return view


container_start = _lifecycle("start")
container_stop = _lifecycle("stop")
container_restart = _lifecycle("restart")


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
