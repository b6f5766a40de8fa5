"""Template filters for the images, volumes, networks and disk-usage pages."""

from __future__ import annotations

from typing import Any

from django import template

from ..presenters import human_bytes

register = template.Library()


@register.filter(name="bytes")
def bytes_(value: Any) -> str:
    """1536 -> '1.5 KiB'; None (not reported by the engine) -> '—'."""
    if value is None or value == "":
        return "—"
    try:
        return human_bytes(int(value))
    except (TypeError, ValueError):
        return "—"
