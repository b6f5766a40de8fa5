"""What the dashboard itself stores: the audit trail (hosts come from settings for now)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One state-changing action, whether it worked or not. Written once, never edited."""

    OK = "ok"
    FAILED = "failed"

    when = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150)
    remote_addr = models.CharField(max_length=64, blank=True)
    host = models.CharField(max_length=64, blank=True, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    target_id = models.CharField(max_length=128, blank=True)
    target_name = models.CharField(max_length=255, blank=True)
    params = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=8, choices=[(OK, "ok"), (FAILED, "failed")])
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-when", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        target = self.target_name or self.target_id
        when = f"{self.when:%Y-%m-%d %H:%M:%S}"
        return f"{when} {self.username} {self.action} {target}: {self.outcome}"


class RegistryCredential(models.Model):
    """A login to an image registry, used for pulls and pushes on one host.

    The password is kept only encrypted (dashboard/credentials.py) and is never shown again
    once saved; replacing it means saving the registry again.
    """

    host = models.CharField(max_length=64)
    registry = models.CharField(max_length=255, help_text="host[:port], or docker.io")
    username = models.CharField(max_length=255)
    secret = models.TextField(help_text="the password, encrypted")
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["host", "registry"]
        constraints = [
            models.UniqueConstraint(fields=["host", "registry"], name="one_login_per_registry")
        ]

    def __str__(self) -> str:
        return f"{self.username}@{self.registry} ({self.host})"
