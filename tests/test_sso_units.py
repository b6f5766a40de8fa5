"""The group maps shared by OIDC and forward-auth: parsed strictly, highest role wins, hosts
are the union of the mapped groups' hosts, no mapped group is no access."""

from __future__ import annotations

import pytest

from dashboard.forward_auth import identity
from dashboard.sso_accounts import hosts_for, parse_host_map, parse_role_map, role_for

ROLE_MAP = parse_role_map("admins=admin, ops=operator,devs=viewer")
HOST_MAP = parse_host_map("devs=local,lab2; ops=local")


@pytest.mark.parametrize("text", ["admins=root", "admins", "=admin", "ops=operator,x=superuser"])
def test_a_malformed_role_map_is_refused(text):
    with pytest.raises(ValueError, match="DASHBOARD_OIDC_ROLE_MAP"):
        parse_role_map(text)


def test_a_malformed_host_map_is_refused():
    with pytest.raises(ValueError, match="DASHBOARD_OIDC_HOST_MAP"):
        parse_host_map("devs=")


def test_the_highest_role_wins_and_no_mapped_group_is_no_access():
    assert role_for(["devs", "ops"], ROLE_MAP) == "operator"
    assert role_for(["admins", "devs"], ROLE_MAP) == "admin"
    assert role_for(["sales"], ROLE_MAP) is None
    assert role_for([], ROLE_MAP) is None


def test_hosts_are_the_union_of_the_mapped_groups():
    assert hosts_for(["devs", "ops"], HOST_MAP) == {"local", "lab2"}
    assert hosts_for(["ops"], HOST_MAP) == {"local"}
    assert hosts_for(["admins"], HOST_MAP) is None  # in no mapped group: every host


def test_forward_auth_identity_needs_a_trusted_address(settings):
    settings.FORWARD_AUTH_TRUSTED = "10.0.0.0/8,fd00::/8"
    headers = [("Remote-User", "fiona"), ("Remote-Groups", "ops, devs ,")]
    assert identity("10.1.2.3", headers) == ("fiona", ["ops", "devs"])
    assert identity("fd00::1", headers) == ("fiona", ["ops", "devs"])
    assert identity("11.0.0.1", headers) is None
    assert identity("not-an-address", headers) is None
    assert identity("10.1.2.3", [("Remote-Groups", "ops")]) is None  # no user named
    assert identity("10.1.2.3", [*headers, ("remote_groups", "admins")]) is None
    settings.FORWARD_AUTH_TRUSTED = ""
    assert identity("10.1.2.3", headers) is None
