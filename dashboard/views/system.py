"""Disk usage (`system df`) and pruning, one kind at a time, always previewed first: the
preview lists exactly what would go and the space it frees, then a button does it and the
answer says what actually went."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from engine_client import InvalidArgument
from engine_client.prune import KINDS
from engine_client.validators import LABEL_FILTER_MAX, check_label_filter

from .. import resource_presenters as rp
from ..access import ADMIN, VIEWER, require_role
from ..audit import audited
from ..forms.fields import RuleField
from ..web import host_client

TITLES = {
    "images": "images",
    "containers": "stopped containers",
    "volumes": "unused volumes",
    "networks": "unused networks",
    "build-cache": "build cache",
}
# How many previewed keys the confirmation carries back (to compare with what went).
MAX_EXPECTED = 2000


class PruneForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[("dangling", "Dangling images only (untagged)"), ("all", "All unused images")],
        initial="dangling",
        required=False,
        widget=forms.RadioSelect,
    )
    label = RuleField(
        check_label_filter,
        required=False,
        max_length=LABEL_FILTER_MAX,
        help_text="only those with this label: key or key=value",
    )

    def clean_mode(self) -> str:
        return self.cleaned_data.get("mode") or "dangling"


@require_GET
@require_role(VIEWER)
def disk_usage(request: HttpRequest, host: str) -> HttpResponse:
    h, client = host_client(request, host)
    df = client.system.df()
    context = {
        "host": h,
        "usage": rp.disk_usage(df),
        "images": sorted(
            (rp.image_row(i) | {"users": int(i.get("Containers") or 0)} for i in df["images"]),
            key=lambda r: -r["size"],
        )[:50],
        "volumes": sorted(
            (rp.volume_row(v, None, []) for v in df["volumes"]),
            key=lambda r: -(r["size"] or 0),
        )[:50],
        "build_cache": df["build_cache"][:50],
        "build_cache_missing": client.flavor.missing.get("build-cache", ""),
        "kinds": [(k, TITLES[k]) for k in KINDS],
    }
    return render(request, "system/df.html", context)


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def prune(request: HttpRequest, host: str, kind: str) -> HttpResponse:
    """GET: the preview (nothing is removed). POST: prune with the same choices, and show
    what went next to what the preview said."""
    h, client = host_client(request, host)
    if kind not in KINDS:
        raise InvalidArgument(f"unknown kind {kind!r}")
    data = (request.POST if request.method == "POST" else request.GET).copy()
    data.setdefault("mode", "dangling")
    form = PruneForm(data)
    context: dict[str, Any] = {"host": h, "kind": kind, "title": TITLES[kind], "form": form}
    if not form.is_valid():
        return render(request, "system/prune.html", context, status=400)
    dangling = form.cleaned_data["mode"] != "all"
    label = form.cleaned_data["label"]
    if request.method == "GET":
        plan = client.prune.preview(kind, dangling=dangling, label=label)
        context.update({"plan": plan, "dangling": dangling, "label": label})
        return render(request, "system/prune.html", context)
    expected = request.POST.getlist("expected")[:MAX_EXPECTED]
    params: dict[str, Any] = {"label": label, "expected": len(expected)}
    if kind == "images":
        params["mode"] = "dangling" if dangling else "all"
    with audited(request, h.name, f"prune.{kind}", params=params) as entry:
        result = client.prune.run(kind, dangling=dangling, label=label)
        entry.params["deleted"] = result.deleted[:50]
        entry.params["space"] = result.space
    went = set(result.deleted) | set(result.untagged)
    context.update(
        {
            "result": result,
            "expected": [{"key": k, "gone": k in went} for k in expected],
            "gone": sum(1 for k in expected if k in went),
            "unexpected": [d for d in result.deleted if d not in set(expected)],
            "label": label,
            "dangling": dangling,
        }
    )
    return render(request, "system/prune_done.html", context)
