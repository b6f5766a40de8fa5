"""The input rules where two copies used to disagree (engine_client/validators.py says why
each one won)."""

from __future__ import annotations

import pytest

from engine_client import InvalidArgument
from engine_client import validators as v


@pytest.mark.parametrize("alias", ["web.", "web-", "web_", "x" * 65])
def test_an_alias_ends_with_a_letter_or_digit(alias):
    with pytest.raises(InvalidArgument):
        v.check_alias(alias)
    assert v.check_alias("a.b_c-d") == "a.b_c-d"


def test_a_label_filter_takes_every_label_value_that_can_be_set():
    longest = "k=" + "v" * v.LABEL_VALUE_MAX
    assert v.check_labels({"k": "v" * v.LABEL_VALUE_MAX})
    assert v.check_label_filter(longest) == longest
    assert len(longest) < v.LABEL_FILTER_MAX
    for bad in [longest + "v", "ké=v", "k k", "=v", "k=\x00"]:
        with pytest.raises(InvalidArgument):
            v.check_label_filter(bad)


@pytest.mark.parametrize("key", ["a b", "ké", "-k", "k" * 256, "k\x00", ""])
def test_a_label_key_is_the_reverse_dns_form(key):
    with pytest.raises(InvalidArgument):
        v.check_label_key(key)
    assert v.check_label_key("com.example/x_y-z.") == "com.example/x_y-z."


def test_a_container_name_has_the_same_bound_as_a_volume_name():
    assert v.check_container_name("a" * 128)
    for bad in ["a", "a" * 129, "-a", "a b", "/a"]:
        with pytest.raises(InvalidArgument):
            v.check_container_name(bad)


@pytest.mark.parametrize("name", ["host.", "-host", "host-", "a" * 64, "hôst", "a..b", ""])
def test_a_host_name_is_rfc_1123(name):
    with pytest.raises(InvalidArgument):
        v.check_hostname(name)


@pytest.mark.parametrize("check", [v.check_alias, v.check_image, v.check_label_key])
def test_what_is_not_text_is_refused_not_crashed_on(check):
    with pytest.raises(InvalidArgument):
        check(None)


def test_durations_read_as_go_reads_them_and_write_back_the_same():
    from engine_client.validators import format_duration, parse_duration

    for text, ns in (
        ("30s", 30 * 10**9),
        ("1m30s", 90 * 10**9),
        ("500ms", 5 * 10**8),
        ("1.5s", 15 * 10**8),
        ("2h", 7200 * 10**9),
        ("0", 0),
    ):
        assert parse_duration(text) == ns
        assert parse_duration(format_duration(ns)) == ns
    assert format_duration(90 * 10**9) == "1m30s"
    for bad in ("", "30", "often", "-1s", "1s;reboot", "100us", "1e3s", None):
        with pytest.raises(InvalidArgument):
            parse_duration(bad)


def test_a_tmpfs_is_an_absolute_path_and_mount_options():
    from engine_client.validators import check_tmpfs

    assert check_tmpfs("/run", "size=64m,mode=1777,noexec") == ("/run", "size=64m,mode=1777,noexec")
    assert check_tmpfs("/cache") == ("/cache", "")
    for path, options in (
        ("run", ""),
        ("/", ""),
        ("/a b", ""),
        ("/a,b", ""),
        ("/run", "size=1m;x"),
        ("/run", "Size=1m"),
        ("/run", "x" * 2000),
    ):
        with pytest.raises(InvalidArgument):
            check_tmpfs(path, options)
