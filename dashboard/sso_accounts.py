"""The account a signed-in identity (an OpenID provider's user, or a user a trusted proxy
names) maps to, with its role and hosts set from its groups at every sign-in.

Accounts are linked by (issuer, subject), never by a user name a local account may already
hold. A user in no group the role map names gets no access at all (refused), not viewer: a
provider or proxy shared with other applications would otherwise open the dashboard to
everyone behind it.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction

from .access import ROLES
from .models import HostGrant, OIDCIdentity
from .sessions import end_user_sockets


class Refused(Exception):
    """A sign-in refused: the message says why, for the person and the audit trail."""


def parse_role_map(text: str) -> dict[str, str]:
    """`admins=admin,ops=operator,devs=viewer` -> {group: role}."""
    out: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        group, sep, role = (s.strip() for s in pair.partition("="))
        if not sep or not group or role not in ROLES:
            raise ValueError(
                f"DASHBOARD_OIDC_ROLE_MAP: {pair!r} is not group=role (role one of "
                f"{', '.join(ROLES)})"
            )
        out[group] = role
    return out


def parse_host_map(text: str) -> dict[str, set[str]]:
    """`devs=local,lab2;ops=local` -> {group: hosts} (pairs split by `;`, hosts by `,`)."""
    out: dict[str, set[str]] = {}
    for pair in filter(None, (p.strip() for p in text.split(";"))):
        group, sep, hosts = (s.strip() for s in pair.partition("="))
        names = {h.strip() for h in hosts.split(",") if h.strip()}
        if not sep or not group or not names:
            raise ValueError(f"DASHBOARD_OIDC_HOST_MAP: {pair!r} is not group=host1,host2")
        out.setdefault(group, set()).update(names)
    return out


def role_for(groups: list[str], role_map: dict[str, str]) -> str | None:
    """The highest role any of `groups` maps to, or None (no access)."""
    roles = [role_map[g] for g in groups if g in role_map]
    return max(roles, key=ROLES.index) if roles else None


def hosts_for(groups: list[str], host_map: dict[str, set[str]]) -> set[str] | None:
    """The hosts the user is limited to (every host named for one of their groups), or None
    (every host) when no group of theirs is in the host map."""
    named = [host_map[g] for g in groups if g in host_map]
    return set().union(*named) if named else None


_USERNAME = re.compile(r"[^\w.@+-]")


def account_for(issuer: str, subject: str, shown: str, groups: list[str], create: bool) -> User:
    """The account linked to (issuer, subject), made when `create` allows, its role and
    hosts set from `groups`; or Refused."""
    role = role_for(groups, parse_role_map(settings.OIDC_ROLE_MAP))
    hosts = hosts_for(groups, parse_host_map(settings.OIDC_HOST_MAP))
    if role is None:
        raise Refused(
            f"{shown} is in no group this dashboard gives a role to "
            f"({', '.join(groups) or 'no groups'}): ask your administrator for access."
        )
    with transaction.atomic():
        link = OIDCIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject)
        identity = link.first()
        if identity is None:
            user = _new_user(shown, create)
            OIDCIdentity.objects.create(user=user, issuer=issuer, subject=subject)
        else:
            user = identity.user
        if not user.is_active:
            raise Refused(f"The account {user.get_username()} is disabled.")
        changed = _apply(user, role, hosts)
    if changed and identity is not None:
        # Open websockets were admitted with the old role or hosts: they reconnect.
        end_user_sockets(user.pk)
    return user


def _new_user(shown: str, create: bool) -> User:
    if not create:
        raise Refused(
            f"There is no account here for {shown}, and new accounts are not made at sign-in: "
            "ask your administrator."
        )
    name = _USERNAME.sub("-", shown)[:150] or "sso-user"
    if User.objects.filter(username__iexact=name).exists():
        # A local account of that name is someone else's until an admin says otherwise.
        raise Refused(
            f"An account named {name} already exists here and is not linked to the provider."
        )
    user = User(username=name)
    user.set_unusable_password()
    user.save()
    return user


def _apply(user: User, role: str, hosts: set[str] | None) -> bool:
    """Set the role group and host grants; whether anything changed. Never a superuser, so
    the groups always decide (the exec grant is left as an admin set it)."""
    before = (
        set(user.groups.filter(name__in=ROLES).values_list("name", flat=True)),
        set(HostGrant.objects.filter(user=user).values_list("host", flat=True)),
    )
    after = ({role}, hosts or set())
    if before == after:
        return False
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    HostGrant.objects.filter(user=user).delete()
    HostGrant.objects.bulk_create(HostGrant(user=user, host=h) for h in sorted(hosts or ()))
    for attr in ("_dashboard_role", "_dashboard_hosts"):
        user.__dict__.pop(attr, None)
    return True
