"""Create or update a dashboard account with a role (until the users page exists)."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.access import ADMIN, ROLES


class Command(BaseCommand):
    help = "Create or update a user with a role: viewer, operator or admin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=ROLES, required=True)
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
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
        user.groups.set([Group.objects.get(name=opts["role"])])
        self.stdout.write(
            f"{'Created' if created else 'Updated'} {user.username} as {opts['role']}"
        )
