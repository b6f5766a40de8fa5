"""One container's "errors in the last hour" cell of the containers list (the column itself
is the list's, see dashboard/error_counts.py). A row re-rendered live after its count was
forgotten carries a cell that asks for it here once."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import error_counts
from ..access import VIEWER, require_role
from ..web import host_client


@require_GET
@require_role(VIEWER)
def container_errors(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    h, client = host_client(request, host)
    row = {"id": container_id, "short_id": container_id[:12]}
    error_counts.annotate([row], error_counts.counts(h.name, client, [container_id]))
    return render(request, "containers/_errors_cell.html", {"host": h, "row": row})
