import pytest

from engine_client import InvalidArgument, UnsupportedVersion
from engine_client.versions import NEWEST, OLDEST, fmt, negotiate, parse


def test_it_compares_versions_as_integer_pairs():
    assert parse("1.9") < parse("1.41")
    assert parse("1.100") > parse("1.56")
    assert fmt(parse("1.41")) == "1.41"


@pytest.mark.parametrize("bad", ["", "1", "1.4x", "one.two", "1.41.0", "v1.41"])
def test_it_rejects_what_is_not_a_version(bad):
    with pytest.raises(InvalidArgument):
        parse(bad)


def test_it_takes_the_daemons_version_when_older_than_ours():
    assert negotiate("1.43") == (1, 43)


def test_it_takes_ours_when_the_daemon_is_newer():
    assert negotiate("1.99") == NEWEST
    assert negotiate("2.0") == NEWEST


def test_it_refuses_a_daemon_older_than_our_oldest():
    with pytest.raises(UnsupportedVersion) as exc:
        negotiate("1.40")
    assert fmt(OLDEST) in str(exc.value)


def test_it_refuses_when_the_daemon_requires_newer_than_we_speak():
    with pytest.raises(UnsupportedVersion):
        negotiate("1.99", daemon_min="1.60")
