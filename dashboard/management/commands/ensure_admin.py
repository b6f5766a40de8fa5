"""Create the first admin account when there is none (called by `make run` and `make demo`)."""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create an admin account if no admin exists (DASHBOARD_ADMIN_USER / _PASSWORD)."

    def handle(self, *args: object, **options: object) -> None:
        User = get_user_model()
        if User.objects.filter(is_superuser=True, is_active=True).exists():
            return
        username = os.environ.get("DASHBOARD_ADMIN_USER") or "admin"
        password = os.environ.get("DASHBOARD_ADMIN_PASSWORD")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username)
        user.is_superuser = user.is_staff = user.is_active = True
        user.set_password(password)
        user.save()
        if generated:
            bar = "=" * 64
            self.stdout.write(
                f"\n{bar}\n  Created admin account '{username}' with password:\n\n"
                f"      {password}\n\n  It is shown only this once. "
                f"Set DASHBOARD_ADMIN_PASSWORD to choose your own.\n{bar}\n"
            )
        else:
            self.stdout.write(f"Created admin account '{username}' (password from environment).")
