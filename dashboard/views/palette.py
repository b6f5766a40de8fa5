"""The Ctrl/Cmd-K palette's search (static/js/keyboard.js asks it as a person types)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
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
        return _fragment({"form": form}, status=400)
    query = form.cleaned_data["q"]
    if not query:
        # The palette was opened: start reading the hosts while the person types.
        palette.warm(request.user)
    results = palette.search(request.user, query)
    # A host that timed out is asked again once, a moment later (`retry=1`), not for ever.
    retried = request.GET.get("retry") == "1"
    return _fragment({"form": form, "results": results, "retried": retried})


def _fragment(context: dict[str, Any], status: int = 200) -> HttpResponse:
    # Rendered without the request: the fragment needs none of the page's context (host
    # switcher, alerts badge), whose database reads would be paid on every key typed.
    return HttpResponse(render_to_string("palette/_results.html", context), status=status)
