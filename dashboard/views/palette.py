"""The Ctrl/Cmd-K palette's search (static/js/keyboard.js asks it as a person types)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import palette
from ..access import VIEWER, require_role
from ..forms.palette import PaletteSearchForm


@require_GET
@require_role(VIEWER)
def palette_search(request: HttpRequest) -> HttpResponse:
    """Results as a fragment for the palette's list box: grouped by kind, each with its
    host; hosts that failed or ran out of time are named below them."""
    form = PaletteSearchForm(request.GET)
    if not form.is_valid():
        return render(request, "palette/_results.html", {"form": form}, status=400)
    query = form.cleaned_data["q"]
    if not query:
        # The palette was opened: start reading the hosts while the person types.
        palette.warm(request.user)
    results = palette.search(request.user, query)
    return render(request, "palette/_results.html", {"form": form, "results": results})
