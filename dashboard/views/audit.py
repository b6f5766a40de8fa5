"""The audit trail, for admins: filter, page through, export as CSV. Read-only by design:
there is no view that edits or deletes an entry."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from ..access import ADMIN, require_role
from ..models import AuditEntry

PAGE_SIZE = 100
CSV_FIELDS = [
    "when",
    "username",
    "remote_addr",
    "host",
    "action",
    "target_id",
    "target_name",
    "params",
    "outcome",
    "message",
]


class AuditFilter(forms.Form):
    user = forms.CharField(required=False, max_length=150)
    host = forms.CharField(required=False, max_length=64)
    action = forms.CharField(required=False, max_length=64)
    target = forms.CharField(required=False, max_length=128, help_text="id or name, any part")
    outcome = forms.ChoiceField(
        required=False,
        choices=[
            ("", "any"),
            (AuditEntry.OK, "ok"),
            (AuditEntry.FAILED, "failed"),
            (AuditEntry.DENIED, "denied"),
        ],
    )
    start = forms.DateTimeField(
        required=False, label="From", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    end = forms.DateTimeField(
        required=False, label="To", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", "“To” is before “From”.")
        return data


def filtered(data: dict[str, Any]) -> QuerySet[AuditEntry]:
    rows = AuditEntry.objects.all()
    if data.get("user"):
        rows = rows.filter(username__icontains=data["user"])
    if data.get("host"):
        rows = rows.filter(host=data["host"])
    if data.get("action"):
        rows = rows.filter(action__icontains=data["action"])
    if data.get("target"):
        t = data["target"]
        rows = rows.filter(Q(target_id__icontains=t) | Q(target_name__icontains=t))
    if data.get("outcome"):
        rows = rows.filter(outcome=data["outcome"])
    if data.get("start"):
        rows = rows.filter(when__gte=data["start"])
    if data.get("end"):
        rows = rows.filter(when__lte=data["end"])
    return rows


@require_GET
@require_role(ADMIN)
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilter(request.GET or None)
    if request.GET and not form.is_valid():
        context = {"form": form, "page": None, "query": ""}
        return render(request, "settings/audit.html", context, status=400)
    data = form.cleaned_data if request.GET else {}
    page = Paginator(filtered(data), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    return render(request, "settings/audit.html", context)


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    # A spreadsheet would run a cell starting with these as a formula.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(rows: QuerySet[AuditEntry]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_FIELDS)
    for e in rows.iterator(chunk_size=500):
        when = timezone.localtime(e.when).isoformat()
        values = [when] + [getattr(e, f) for f in CSV_FIELDS[1:]]
        yield writer.writerow([_cell(v) for v in values])


@require_GET
@require_role(ADMIN)
def audit_export(request: HttpRequest) -> HttpResponse:
    form = AuditFilter(request.GET or None)
    if request.GET and not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        return HttpResponse(f"Bad filter: {errors}", status=400, content_type="text/plain")
    data = form.cleaned_data if request.GET else {}
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(_csv_rows(filtered(data)), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
