"""Image updates: the host's containers by image reference with each one's update state,
a check asked for now, and the update of a selection (one at a time, stopping at the first
failure). The procedures are dashboard/image_updates.py's and engine_client's."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .. import image_updates as iu
from .. import update_jobs
from ..access import OPERATOR, VIEWER, require_role
from ..audit import audited
from ..forms.image_updates import CheckForm, UpdateForm
from ..web import host_client


@require_GET
@require_role(VIEWER)
def update_list(request: HttpRequest, host: str) -> HttpResponse:
    """Each reference the containers use, its last check, and the containers on it (only
    the outdated ones with `?outdated=1`). Reads the cache only: no registry request."""
    h, client = host_client(request, host)
    outdated_only = request.GET.get("outdated") == "1"
    by_ref = iu.container_references(client)
    rows = [r for rs in by_ref.values() for r in rs]
    verdicts = iu.container_verdicts(h.name, client, rows)
    groups: list[dict[str, Any]] = []
    for ref, containers in sorted(by_ref.items()):
        items = [
            {
                "id": r["Id"],
                "name": (r.get("Names") or ["/"])[0].lstrip("/"),
                "state": r.get("State", ""),
                "verdict": verdicts.get(r["Id"]),
                "policy": iu.policy_of(r.get("Labels")),
                "refusal": iu.refusal(r.get("Labels")),
            }
            for r in containers
        ]
        if outdated_only:
            items = [i for i in items if i["verdict"] and i["verdict"].outdated]
        if items:
            groups.append({"reference": ref, "check": iu.cached(h.name, ref), "containers": items})
    context = {
        "host": h,
        "groups": groups,
        "outdated_only": outdated_only,
        "form": CheckForm(),
        "outdated": sum(1 for v in verdicts.values() if v.outdated),
    }
    return render(request, "updates/list.html", context)


@require_POST
@require_role(OPERATOR)
def update_check(request: HttpRequest, host: str) -> HttpResponse:
    """Ask the registries now (one reference, or every one the containers use), whatever the
    cache holds, except inside a rate limit's back-off."""
    h, client = host_client(request, host)
    form = CheckForm(request.POST)
    if not form.is_valid():
        return render(
            request, "updates/list.html", {"host": h, "groups": [], "form": form}, status=400
        )
    ref = form.cleaned_data["reference"]
    refs = [str(ref)] if ref else None
    with audited(request, h.name, "image.update_check", str(ref or ""), str(ref or "")) as entry:
        result = iu.check_host(h.name, client, refs, force=True)
        entry.params.update(
            references=len(result.checks),
            asked=len(result.asked),
            results={
                r: c.status + (f" ({c.reason})" if c.reason else "")
                for r, c in result.checks.items()
            },
        )
    found = sum(1 for c in result.checks.values() if c.status == "update_available")
    messages.success(
        request,
        f"Checked {len(result.checks)} image reference(s) ({len(result.asked)} registry "
        f"request(s)): {found} with an update.",
    )
    return redirect(reverse("update-list", args=[h.name]))


@require_POST
@require_role(OPERATOR)
def update_apply(request: HttpRequest, host: str) -> HttpResponse:
    """Update the selected containers one at a time, as a job the page watches live (each
    one's pull progress and phase); the first failure (or rollback) stops the rest."""
    h, _ = host_client(request, host)
    form = UpdateForm(request.POST, ids=request.POST.getlist("ids"))
    if not form.is_valid():
        context = {"host": h, "form": form, "reports": [], "skipped": []}
        return render(request, "updates/result.html", context, status=400)
    job = update_jobs.issue(request, h.name, form.cleaned_data["ids"])
    # Each container's update is audited by the job when it ends (update_jobs.on_report).
    request._audit_written = True
    context = {
        "host": h,
        "job": job.job,
        "items": [{"id": cid, "phase": "waiting", "phases": []} for cid in job.ids],
        "ws_url": f"/ws/hosts/{h.name}/updates/run/?" + urlencode({"t": update_jobs.ticket(job)}),
        **update_jobs.context(job),
    }
    return render(request, "updates/run.html", context)
