"""Which hosts the dashboard offers: DOCKER_HOST first, then DASHBOARD_HOSTS."""

from __future__ import annotations

import pytest

from dashboard.engines import configured_hosts, parse_env_hosts


@pytest.mark.django_db
def test_env_hosts_follow_the_first_host(settings) -> None:
    settings.DOCKER_HOST = "unix:///run/dl/n1.sock"
    settings.DASHBOARD_HOST_NAME = "local"
    settings.DASHBOARD_HOSTS = "worker=unix:///run/dl/n2.sock, podman=unix:///run/dl/p.sock"
    hosts = configured_hosts()
    assert list(hosts) == ["local", "worker", "podman"]
    assert hosts["worker"].url == "unix:///run/dl/n2.sock"
    assert hosts["podman"].tls is None


@pytest.mark.parametrize(
    "spec", ["worker", "Worker=unix:///x", "w=", "=unix:///x", "a/b=unix:///x"]
)
def test_malformed_env_hosts_are_refused_with_the_item(spec: str) -> None:
    with pytest.raises(ValueError, match="name=url"):
        parse_env_hosts(spec)
