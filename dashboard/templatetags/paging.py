"""Links of a paged, sortable list (dashboard/paging.py)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.simple_tag
def sort_query(page: Any, base: dict[str, str], column: str) -> str:
    return page.sort_query(base, column)


@register.simple_tag
def page_query(page: Any, base: dict[str, str], number: int, per: int | None = None) -> str:
    changes: dict[str, Any] = {"page": number}
    if per is not None:
        changes["per"] = per
    return page.query(base, **changes)
