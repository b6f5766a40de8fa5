"""Create or update a dashboard account with a role (until the users page exists)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.access import ADMIN, EXEC_GROUP, ROLES


class Command(BaseCommand):
    help = (
        "Create or update a user with a role: viewer, operator or admin. --exec lets an "
        "operator open a shell in containers (admins always may); --no-exec takes it back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=ROLES, required=True)
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )
        parser.add_argument(
            "--exec",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="grant (or with --no-exec take back) exec into containers; kept as it was "
            "when not given",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        User = get_user_model()
        user, created = User.objects.get_or_create(username=opts["username"])
        if created or opts["password_stdin"]:
            if opts["password_stdin"]:
                password = sys.stdin.readline().rstrip("\n")
            else:
                password = getpass.getpass(f"Password for {user.username}: ")
            try:
                password_validation.validate_password(password, user)
            except ValidationError as exc:
                if created:
                    user.delete()
                raise CommandError(" ".join(exc.messages)) from exc
            user.set_password(password)
        user.is_superuser = user.is_staff = opts["role"] == ADMIN
        user.save()
        exec_group, _ = Group.objects.get_or_create(name=EXEC_GROUP)
        grant = opts["exec"]
        if grant is None:
            grant = user.groups.filter(name=EXEC_GROUP).exists()
        groups = [Group.objects.get_or_create(name=opts["role"])[0]] + (
            [exec_group] if grant else []
        )
        user.groups.set(groups)
        exec_note = ", may exec" if grant and opts["role"] != ADMIN else ""
        self.stdout.write(
            f"{'Created' if created else 'Updated'} {user.username} as {opts['role']}{exec_note}"
        )
