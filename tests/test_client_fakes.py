"""Version negotiation and timeouts against fake engines (faults a real daemon won't make)."""

import time

import pytest

from engine_client import EngineClient, EngineTimeout, EngineUnreachable, UnsupportedVersion

from .support.fakes import FakeEngine, FakeHangingEngine


def test_it_uses_the_daemons_older_version_in_every_path():
    with FakeEngine("1.45") as fake:
        client = EngineClient(fake.url)
        client.containers.list(all=True)
        assert fake.requests[0] == "/_ping"
        assert fake.requests[1].startswith("/v1.45/containers/json?")
        assert "all=1" in fake.requests[1]


def test_it_caps_a_newer_daemon_at_our_newest():
    with FakeEngine("1.99") as fake:
        client = EngineClient(fake.url)
        client.containers.list()
        assert fake.requests[-1].startswith("/v1.56/containers/json")


def test_it_negotiates_once_and_caches():
    with FakeEngine("1.44") as fake:
        client = EngineClient(fake.url)
        client.containers.list()
        client.containers.list()
        assert fake.requests.count("/_ping") == 1


def test_it_refuses_an_engine_older_than_our_oldest():
    with FakeEngine("1.40") as fake:
        client = EngineClient(fake.url)
        with pytest.raises(UnsupportedVersion, match="1.40"):
            client.containers.list()
        assert not any("/containers/" in p for p in fake.requests)


def test_it_falls_back_to_version_when_ping_has_no_header():
    with FakeEngine(None) as fake:
        client = EngineClient(fake.url)
        assert client.api_version == "1.43"
        assert fake.requests == ["/_ping", "/version"]


def test_a_silent_engine_costs_no_more_than_the_timeout():
    with FakeHangingEngine() as fake:
        client = EngineClient(fake.url, timeout=0.5, connect_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(EngineTimeout, match="did not answer"):
            client.containers.list()
        assert time.monotonic() - started < 3


def test_a_missing_socket_says_so():
    client = EngineClient("unix:///run/dl/no-such-engine.sock")
    with pytest.raises(EngineUnreachable, match="No such file or directory") as exc:
        client.containers.list()
    assert "unix:///run/dl/no-such-engine.sock" in str(exc.value)
