"""Long lists: the containers page sorts, filters and pages on the server."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from dashboard.paging import paginate

from .support.lab import RUN_ID

pytestmark = [pytest.mark.engine, pytest.mark.django_db]

LIST = "/hosts/local/containers/"
ROW = re.compile(
    r'<tr id="container-[0-9a-f]{12}"[^>]*>.*?<td class="name"><a [^>]*>([^<]+)</a>', re.S
)


@pytest.fixture
def many(make_container):
    """55 created (not started) containers named ...-pg-000 to ...-pg-054."""
    prefix = f"dt-{RUN_ID}-pg-"
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: make_container(start=False, name=f"{prefix}{i:03d}"), range(55)))
    return prefix


def names(html: str) -> list[str]:
    return ROW.findall(html)


def test_a_page_shows_one_slice_sorted_as_asked(lab_settings, viewer, many):
    html = viewer.get(LIST, {"q": many, "sort": "name", "order": "asc", "per": 50}).content.decode()
    shown = names(html)
    assert shown == [f"{many}{i:03d}" for i in range(50)]
    assert "1–50 of 55" in html
    assert "page 1 of 2" in html
    assert 'rel="next"' in html and 'rel="prev"' not in html
    html = viewer.get(
        LIST, {"q": many, "sort": "name", "order": "asc", "per": 50, "page": 2}
    ).content.decode()
    assert names(html) == [f"{many}{i:03d}" for i in range(50, 55)]
    assert "51–55 of 55" in html


def test_the_order_turns_and_pages_past_the_end_clamp(lab_settings, viewer, many):
    query = {"q": many, "sort": "name", "order": "desc", "per": 50, "page": 99}
    html = viewer.get(LIST, query).content.decode()
    assert names(html) == [f"{many}{i:03d}" for i in range(4, -1, -1)]
    assert "page 2 of 2" in html


def test_the_filter_counts_against_everything_and_new_rows_land_only_on_page_one(
    lab_settings, viewer, many
):
    html = viewer.get(LIST, {"q": many + "01"}).content.decode()
    # (made in parallel within a second or two: the newest-first order is by the second)
    assert sorted(names(html)) == [f"{many}{i:03d}" for i in range(10, 20)]
    assert "1–10 of 10 (of " in html, "the count says how many matched out of how many"
    assert 'data-insert="1"' in html
    html = viewer.get(LIST, {"q": many, "sort": "name"}).content.decode()
    assert 'data-insert="0"' in html, "a name-sorted page does not take new containers on top"


def test_a_live_page_swap_keeps_sort_and_per_page_in_the_filter_form(lab_settings, viewer, many):
    html = viewer.get(
        LIST,
        {"q": many, "sort": "state", "order": "desc", "per": 100},
        headers={"HX-Request": "true", "HX-Target": "containers-live"},
    ).content.decode()
    assert '<input type="hidden" name="sort" value="state" form="container-filters">' in html
    assert '<input type="hidden" name="per" value="100" form="container-filters">' in html
    assert 'aria-sort="descending"' in html


def test_unknown_sort_order_and_page_size_fall_back_to_the_defaults():
    items = [{"n": i} for i in range(7)]
    keys = {"n": lambda x: x["n"]}
    page = paginate(
        items, {"sort": "evil", "order": "sideways", "per": "7", "page": "x"}, keys, "n", "desc"
    )
    assert (page.sort, page.order, page.per, page.number) == ("n", "desc", 50, 1)
    assert [x["n"] for x in page.items] == [6, 5, 4, 3, 2, 1, 0]
