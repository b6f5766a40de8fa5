"""Stream keys: built and read by one module, so the hub and the metrics agree."""

from __future__ import annotations

import pytest

from dashboard.metrics import stream_kind
from dashboard.streams.keys import LOGS, StreamKey, parse_stream_key, stream_key


class NamedHost:
    name = "edge-1"


def test_a_key_reads_back_as_what_it_was_built_from():
    key = stream_key("local", LOGS, "abc123", 100, "")
    assert key == "local|logs|abc123|100|"
    assert parse_stream_key(key) == StreamKey("local", "logs", ("abc123", "100", ""))


def test_a_host_object_gives_its_name():
    assert stream_key(NamedHost(), "events") == "edge-1|events"


def test_a_part_holding_the_separator_reads_back_whole():
    key = stream_key("local", "health", "unix:///run/a|b%7C.sock")
    assert parse_stream_key(key).parts == ("unix:///run/a|b%7C.sock",)
    assert stream_kind(key) == "health"


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown stream kind"):
        stream_key("local", "log")


def test_a_key_made_otherwise_is_labelled_unknown():
    assert stream_kind("just-a-name") == "unknown"
