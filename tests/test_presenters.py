from datetime import UTC, datetime

import pytest

from dashboard import presenters as p


def test_times_from_the_list_and_from_inspect():
    assert p.parse_time(1700000000) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    t = p.parse_time("2024-05-01T10:20:30.123456789Z")
    assert t == datetime(2024, 5, 1, 10, 20, 30, 123456, tzinfo=UTC)
    assert p.parse_time("2024-05-01T10:20:30+02:00").utcoffset().total_seconds() == 7200
    assert p.parse_time("0001-01-01T00:00:00Z") is None
    assert p.parse_time("garbage") is None


def test_ports_read_like_docker_ps():
    ports = [
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"PrivatePort": 53, "Type": "udp"},
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
    ]
    assert p.format_ports(ports) == ["53/udp", "0.0.0.0:8080->80/tcp", "[::]:8080->80/tcp"]


def test_the_containers_own_name_wins_over_link_aliases():
    assert p.container_name(["/web/db", "/db"]) == "db"
    assert p.container_name([], "abc") == "abc"


@pytest.mark.parametrize(
    "status, health",
    [
        ("Up 2 minutes (healthy)", "healthy"),
        ("Up 1 second (health: starting)", "starting"),
        ("Up 3 hours (unhealthy)", "unhealthy"),
        ("Exited (0) 2 minutes ago", ""),
    ],
)
def test_health_is_read_from_the_status_text(status, health):
    row = p.container_row({"Id": "a" * 64, "Names": ["/x"], "State": "running", "Status": status})
    assert row["health"] == health


def test_secret_looking_environment_values_are_flagged():
    env = p.mask_env(
        ["PATH=/bin", "DB_PASSWORD=x", "api_token=y", "AWS_SECRET_ACCESS_KEY=z", "EMPTY"]
    )
    assert [(e["key"], e["secret"]) for e in env] == [
        ("PATH", False),
        ("DB_PASSWORD", True),
        ("api_token", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("EMPTY", False),
    ]
