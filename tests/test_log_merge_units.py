"""The merge of several followed logs (no engine): lines sorted by the engines' timestamps
whatever their precision or zone, tags put in, notices for containers that stop; and the
selection's rules."""

from __future__ import annotations

import json

from dashboard.log_selection import Selection
from dashboard.streams.merge import (
    LogMerger,
    parse_message,
    sort_key,
    split_lines,
    tag_html,
    with_tag,
)
from dashboard.streams.render import render_lines
from engine_client.streams import LogLine


def _message(*lines: tuple[str, str], status: dict | None = None) -> str:
    html = render_lines([LogLine("stdout", text, ts) for ts, text in lines])
    return json.dumps({"lines": html, "n": len(lines), **({"status": status} if status else {})})


def test_timestamps_sort_by_time_not_by_text():
    # The engines trim trailing zeros: as text ".1Z" sorts after ".12Z", in time before.
    assert "2024-05-01T10:00:00.1Z" > "2024-05-01T10:00:00.12Z"
    assert sort_key("2024-05-01T10:00:00.1Z") < sort_key("2024-05-01T10:00:00.12Z")
    assert sort_key("2024-05-01T10:00:00Z") < sort_key("2024-05-01T10:00:00.000000001Z")
    assert sort_key("2024-05-01T12:00:00.5+02:00") == sort_key("2024-05-01T10:00:00.5Z")


def test_batches_of_two_sources_come_out_in_time_order_with_their_tags():
    m = LogMerger()
    m.feed(
        "h/a",
        tag_html("h/a", "a"),
        _message(("2024-05-01T10:00:00.1Z", "1"), ("2024-05-01T10:00:00.3Z", "3")),
    )
    m.feed(
        "h/b",
        tag_html("h/b", "b"),
        _message(("2024-05-01T10:00:00.2Z", "2"), ("2024-05-01T10:00:00.4Z", "4")),
    )
    out = m.drain()
    assert out is not None and out["n"] == 4
    lines = split_lines(out["lines"])
    assert [line.rsplit(">", 2)[-2].split("<")[0] for line in lines] == ["1", "2", "3", "4"]
    assert 'data-src="h/a"' in lines[0] and 'data-src="h/b"' in lines[1]
    assert m.drain() is None


def test_lines_of_one_source_keep_their_order_when_stamped_alike():
    m = LogMerger()
    same = "2024-05-01T10:00:00Z"  # Podman stamps to the second
    m.feed("a", None, _message((same, "x"), (same, "y"), (same, "z")))
    out = m.drain()
    assert [line[-7:-6] for line in split_lines(out["lines"])] == ["x", "y", "z"]


def test_a_stopped_container_says_so_in_the_stream_and_the_state_follows():
    m = LogMerger()
    m.feed("a", "", _message(status={"state": "live", "text": "following"}))
    m.feed("a", "", _message(status={"state": "ended", "text": "The container stopped."}))
    out = m.drain()
    assert "The container stopped." in out["lines"] and out["status"]["state"] == "ended"


def test_a_tag_goes_after_the_timestamp_and_is_escaped():
    line = render_lines([LogLine("stdout", "<b>", "2024-05-01T10:00:00Z")])
    tagged = with_tag(line, tag_html("h/x", "<img src=x>"))
    assert tagged.startswith('<div class="l o"><time>2024-05-01T10:00:00Z</time><button')
    assert "<img" not in tagged and "&lt;b&gt;" in tagged


def test_a_selection_matches_list_entries_by_id_project_and_label():
    row = {"Id": "a" * 64, "Labels": {"com.docker.compose.project": "shop", "tier": "web"}}
    assert Selection(ids=("a" * 64,)).matches(row)
    assert not Selection(ids=("b" * 64,)).matches(row)
    assert Selection(project="shop").matches(row)
    assert not Selection(project="blog").matches(row)
    assert Selection(label="tier").matches(row) and Selection(label="tier=web").matches(row)
    assert not Selection(label="tier=db").matches(row)
    assert Selection(all=True).matches({"Id": "c" * 64})
    assert Selection(project="shop", label="tier").filters() == {
        "label": ["com.docker.compose.project=shop", "tier"]
    }


def test_a_quiet_selection_still_says_it_follows_once():
    """No lines yet, but each log is live: the page is told it follows (once, not per batch)."""
    m = LogMerger()
    assert not m.due and m.drain() is None
    m.feed("a", "<b>a</b>", json.dumps({"status": {"state": "live", "text": "Live"}}))
    assert m.due
    message = m.drain()
    assert message is not None and message["n"] == 0 and message["status"]["state"] == "live"
    assert not m.due and m.drain() is None


def test_views_of_the_same_container_parse_its_message_once_and_agree():
    # Each merged view is fed the very same message string: the lines are split, stamped
    # and tagged once for all of them (dashboard CPU at 20 containers x 100 lines/s).
    parse_message.cache_clear()
    text = _message(("2024-05-01T10:00:00.1Z", "one"), ("2024-05-01T10:00:00.2Z", "two"))
    views = [LogMerger() for _ in range(3)]
    for m in views:
        m.feed("h/a", tag_html("h/a", "a"), text)
    info = parse_message.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    out = [m.drain() for m in views]
    assert out[0] == out[1] == out[2] and out[0]["n"] == 2
    assert out[0]["lines"].count('data-src="h/a"') == 2


def test_lines_without_a_timestamp_go_after_those_gathered_before_them():
    m = LogMerger()
    m.feed("a", None, _message(("2024-05-01T10:00:00.1Z", "old")))
    m.feed("b", None, json.dumps({"lines": '<div class="l o">plain</div>', "n": 1}))
    out = m.drain()
    assert out is not None and out["lines"].index("old") < out["lines"].index("plain")
