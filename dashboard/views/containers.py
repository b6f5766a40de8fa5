"""Containers: list, detail, start/stop/restart, remove."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import presenters
from ..access import ADMIN, OPERATOR, VIEWER, require_role
from ..audit import audited
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
    context = {"host": h, "rows": rows, "form": form, "q": q, "show": show, "total": total}
    if request.htmx and request.htmx.target == "container-rows":
        return render(request, "containers/_rows.html", context)
    return render(request, "containers/list.html", context)


@require_GET
@require_role(VIEWER)
def container_detail(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    c = presenters.container_detail(client.containers.inspect(ref))
    return render(request, "containers/detail.html", {"host": h, "c": c})


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
