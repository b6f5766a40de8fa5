"""Server-side sorting and paging of long lists (thousands of containers, hundreds of images).

The engine sends the whole list in one call; the page shows one slice of it. Filtering and
sorting run on the engine's raw entries with cheap keys, and only the rows of the slice
shown are turned into table rows and rendered, so a page costs about one list call
whatever the number of containers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

PER_PAGE_CHOICES = (50, 100, 200, 500)
# A screenful and a bit: rendering rows is most of what a page of a long list costs.
DEFAULT_PER_PAGE = 50


@dataclass(frozen=True)
class Page:
    items: list[Any]
    number: int
    per: int
    total: int  # items that matched the filter
    sort: str
    order: str  # "asc" or "desc"

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per))

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.per + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.number * self.per, self.total)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    def query(self, base: dict[str, str], **changes: Any) -> str:
        """The query string of this list with `changes` (page, sort, order, per) applied."""
        params = {
            **base,
            "sort": self.sort,
            "order": self.order,
            "per": str(self.per),
            "page": str(self.number),
            **{k: str(v) for k, v in changes.items()},
        }
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})

    def sort_query(self, base: dict[str, str], column: str) -> str:
        """Sorting by `column`: a second click on the current column turns the order."""
        flipped = "asc" if self.order == "desc" else "desc"
        order = flipped if column == self.sort else "asc"
        return self.query(base, sort=column, order=order, page=1)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default


def sort_of(
    params: Any, keys: dict[str, Callable[[Any], Any]], default_sort: str, default_order: str
) -> tuple[str, str]:
    """The `sort` and `order` parameters (unknown ones fall back to the defaults)."""
    sort = params.get("sort") or default_sort
    if sort not in keys:
        sort = default_sort
    order = params.get("order") or default_order
    if order not in ("asc", "desc"):
        order = default_order
    return sort, order


def paginate(
    items: Sequence[Any],
    params: Any,
    keys: dict[str, Callable[[Any], Any]],
    default_sort: str,
    default_order: str = "asc",
    group: Callable[[Any], str] | None = None,
    presorted: bool = False,
) -> Page:
    """Sort `items` by the `sort`/`order` parameters (unknown ones fall back to the
    defaults) and cut out the `page` of `per` items (clamped to the pages there are).
    With `group`, items are kept together by its key (by name, the empty key last) and
    sorted within their group, before the page is cut. `presorted`: `items` are in the
    order `sort_of` names already (a cache kept it), so they are not sorted again."""
    sort, order = sort_of(params, keys, default_sort, default_order)
    per = _int(params.get("per"), DEFAULT_PER_PAGE)
    if per not in PER_PAGE_CHOICES:
        per = DEFAULT_PER_PAGE
    desc = order == "desc"
    ordered = list(items) if presorted else sorted(items, key=keys[sort], reverse=desc)
    if group is not None:
        # A stable sort keeps the order chosen above within each group.
        ordered.sort(key=lambda item: (not group(item), group(item)))
    pages = max(1, -(-len(ordered) // per))
    number = min(max(_int(params.get("page"), 1), 1), pages)
    start = (number - 1) * per
    return Page(ordered[start : start + per], number, per, len(ordered), sort, order)
