"""Make a break-glass admin and print its one-time password (dashboard/breakglass.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard import breakglass


class Command(BaseCommand):
    help = (
        "Make or renew a break-glass admin: the only password login when sign-in is by "
        "OpenID Connect or a proxy. Prints a password that works for one login."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", nargs="?", default="breakglass")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            password = breakglass.make(opts["username"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Break-glass admin {opts['username']}: one-time password (shown once, spent at "
            f"its first login; audited):\n{password}"
        )
