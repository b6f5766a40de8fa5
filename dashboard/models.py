"""What the dashboard itself stores: the audit trail, engine hosts added from the UI, which
hosts a user may see, login failures, registry logins."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .alerts import evaluate as kinds


class AuditEntry(models.Model):
    """One state-changing action, whether it worked or not. Written once, never edited."""

    OK = "ok"
    FAILED = "failed"
    # Refused before anything was tried: no role for it, or input that did not validate.
    DENIED = "denied"

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
    outcome = models.CharField(
        max_length=8, choices=[(OK, "ok"), (FAILED, "failed"), (DENIED, "denied")]
    )
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-when", "-id"]
        verbose_name_plural = "audit entries"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise PermissionError("audit entries are written once and never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit entries are never deleted from the dashboard")

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


class EngineHost(models.Model):
    """An engine added from the hosts page (the first host comes from DOCKER_HOST).

    TLS material is stored encrypted (dashboard/credentials.py); the engine client needs it
    as files, so it is written decrypted to a private directory only when the host is used.
    """

    name = models.CharField(max_length=63, unique=True)
    url = models.CharField(max_length=255)
    tls = models.BooleanField(default=False)
    tls_verify = models.BooleanField(default=True)
    tls_ca = models.TextField(blank=True, help_text="CA certificate (PEM), encrypted")
    tls_cert = models.TextField(blank=True, help_text="client certificate (PEM), encrypted")
    tls_key = models.TextField(blank=True, help_text="client key (PEM), encrypted")
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"


class HostGrant(models.Model):
    """Limits a user to some hosts: a user with no grants sees every host."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="host_grants"
    )
    host = models.CharField(max_length=63)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "host"], name="one_grant_per_host")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.host}"


class LoginFailure(models.Model):
    """A failed login, kept for throttling (by username and by address)."""

    when = models.DateTimeField(auto_now_add=True, db_index=True)
    username = models.CharField(max_length=150, db_index=True)
    remote_addr = models.CharField(max_length=64, db_index=True)


class WatchLease(models.Model):
    """Who does a deployment-wide job (alert evaluation): one row per job, held by one
    process until `expires`; the holder renews it every few seconds, another process takes
    it over once it has expired (dashboard/alerts/lease.py)."""

    name = models.CharField(max_length=64, unique=True)
    holder = models.CharField(max_length=128)
    expires = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder} until {self.expires:%H:%M:%S}"


class AlertChannel(models.Model):
    """Where alerts go: an Apprise URL (Slack, ntfy, email, ...) or our signed webhook.

    The URL (Apprise URLs carry tokens and passwords) and the webhook's signing key are kept
    only encrypted (dashboard/credentials.py); `shown` is what pages may show of the URL.
    """

    WEBHOOK = "webhook"
    APPRISE = "apprise"
    KINDS = [(WEBHOOK, "Signed webhook (HMAC-SHA256)"), (APPRISE, "Apprise URL")]

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=KINDS, default=WEBHOOK)
    shown = models.CharField(max_length=255, help_text="the URL without its secrets")
    secret_url = models.TextField(help_text="the whole URL, encrypted")
    secret_key = models.TextField(blank=True, help_text="the webhook's signing key, encrypted")
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.shown})"


class AlertRule(models.Model):
    """What to watch for, on one host or all, for which containers, and where to tell it."""

    # The kinds are the evaluator's (plain Python, no Django): one spelling of each.
    EXIT = kinds.EXIT
    OOM = kinds.OOM
    UNHEALTHY = kinds.UNHEALTHY
    RESTART_LOOP = kinds.RESTART_LOOP
    UNREACHABLE = kinds.UNREACHABLE
    CPU = kinds.CPU
    MEMORY = kinds.MEMORY
    DISK = kinds.DISK
    SWARM_NODE = kinds.SWARM_NODE
    SERVICE_REPLICAS = kinds.SERVICE_REPLICAS
    SERVICE_UPDATE = kinds.SERVICE_UPDATE
    KINDS = [
        (EXIT, "Container died with a non-zero exit"),
        (OOM, "Container OOM-killed"),
        (UNHEALTHY, "Container turned unhealthy"),
        (RESTART_LOOP, "Restart loop (N restarts in M minutes)"),
        (UNREACHABLE, "Engine unreachable for N seconds"),
        (CPU, "CPU above X% averaged over N seconds"),
        (MEMORY, "Memory above X% of its limit averaged over N seconds"),
        (DISK, "Engine disk use (system df) above a size"),
        (SWARM_NODE, "Swarm node down or drained"),
        (SERVICE_REPLICAS, "Swarm service short of its replicas for N seconds"),
        (SERVICE_UPDATE, "Swarm service update paused or rolled back"),
    ]

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=KINDS)
    host = models.CharField(max_length=63, blank=True, help_text="empty: every host")
    name_glob = models.CharField(max_length=255, blank=True)
    label = models.CharField(max_length=255, blank=True, help_text="key or key=value")
    project = models.CharField(max_length=255, blank=True)
    count = models.PositiveIntegerField(default=3)
    minutes = models.PositiveIntegerField(default=5)
    seconds = models.PositiveIntegerField(default=30)
    percent = models.PositiveIntegerField(default=90)
    megabytes = models.PositiveIntegerField(default=50_000)
    cooldown = models.PositiveIntegerField(default=300, help_text="seconds")
    enabled = models.BooleanField(default=True)
    channels = models.ManyToManyField(AlertChannel, blank=True, related_name="rules")
    created_by = models.CharField(max_length=150, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Silence(models.Model):
    """Alerts of one rule (or every rule) on one host (or every host) are kept in the
    history but sent nowhere until `until`."""

    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.CASCADE)
    host = models.CharField(max_length=63, blank=True)
    until = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-until"]

    def __str__(self) -> str:
        return (
            f"silence {self.rule or 'every rule'} on {self.host or 'every host'} until {self.until}"
        )


class Alert(models.Model):
    """One message the evaluator sent: fired or recovered, for one or several targets."""

    FIRED = "fired"
    RECOVERED = "recovered"

    when = models.DateTimeField(auto_now_add=True, db_index=True)
    rule = models.ForeignKey(AlertRule, null=True, on_delete=models.SET_NULL, related_name="+")
    rule_name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16)
    host = models.CharField(max_length=63)
    state = models.CharField(max_length=10, choices=[(FIRED, "fired"), (RECOVERED, "recovered")])
    targets = models.JSONField(default=list)
    text = models.TextField()
    # A condition that is still on (unhealthy, unreachable, restart loop): the badge counts
    # these; its recovery turns it off.
    open = models.BooleanField(default=False, db_index=True)
    # Within a silence: kept in the history, sent nowhere.
    silenced = models.BooleanField(default=False)

    class Meta:
        ordering = ["-when", "-id"]

    def __str__(self) -> str:
        return f"{self.when:%Y-%m-%d %H:%M:%S} {self.state}: {self.text[:60]}"


class Delivery(models.Model):
    """One alert sent to one channel: delivered, or failed with the reason (after retries)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(AlertChannel, null=True, on_delete=models.SET_NULL)
    channel_name = models.CharField(max_length=100)
    outcome = models.CharField(max_length=10, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]


class ImageCheck(models.Model):
    """What a registry said about one image reference on one host, last time it was asked
    (dashboard/image_updates.py): the cache that keeps checks to one request per reference
    and interval, shared by every process."""

    host = models.CharField(max_length=64)
    reference = models.CharField(max_length=512)
    # engine_client.updates: up_to_date, update_available, local_only, pinned, unsupported,
    # failed (this reference's local image against the registry, when checked)
    status = models.CharField(max_length=20)
    remote_digest = models.CharField(max_length=80, blank=True)
    reason = models.CharField(max_length=20, blank=True)  # auth, not_found, unreachable...
    message = models.TextField(blank=True)
    checked_at = models.DateTimeField()
    # After a rate-limit answer: the registry is not asked again before this.
    retry_after = models.DateTimeField(null=True, blank=True)
    # The registry digest last announced to the alert channels (announced once per digest).
    notified_digest = models.CharField(max_length=80, blank=True)
    # When the registry's image under `remote_digest` was made (its config's `created`), read
    # from the registry once per digest for an update found; None: not known.
    remote_created = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["host", "reference"]
        constraints = [
            models.UniqueConstraint(fields=["host", "reference"], name="one_check_per_reference")
        ]

    def __str__(self) -> str:
        return f"{self.host} {self.reference}: {self.status}"


class ApiToken(models.Model):
    """A personal API token (dashboard/api/tokens.py): made by a user for themself, used as
    `Authorization: Bearer dsh_<prefix>_<secret>` on /api/ only.

    Only the secret's SHA-256 is kept (it is 32 random bytes, so a slow hasher would add
    nothing but time to every request); the whole token is shown once, when made. It acts
    with the lower of `role` and its user's role at the time of each request, within
    `hosts` (empty: every host the user may use).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    role = models.CharField(max_length=8)
    hosts = models.JSONField(default=list, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()
    last_used = models.DateTimeField(null=True, blank=True)
    last_used_from = models.CharField(max_length=64, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}, {self.role})"


class Webhook(models.Model):
    """A redeploy webhook for CI (dashboard/api/hooks.py): `POST /api/v1/hooks/<key>/` with
    its secret in the `X-Dashboard-Webhook-Secret` header (never the URL) redeploys a compose
    project (pull, then up) or force-updates a swarm service with its image re-resolved.
    Only the secret's SHA-256 is kept; it is shown once, when made."""

    PROJECT = "project"
    SERVICE = "service"
    KINDS = [(PROJECT, "Compose project"), (SERVICE, "Swarm service")]

    key = models.CharField(max_length=32, unique=True)
    digest = models.CharField(max_length=64)
    host = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=KINDS)
    target = models.CharField(max_length=255)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["host", "kind", "target"]

    def __str__(self) -> str:
        return f"{self.kind} {self.target} on {self.host} ({self.key})"


class OIDCIdentity(models.Model):
    """The account an OpenID provider's user signs in to: linked by the provider's issuer and
    its subject (never by a user name, which a local account may already hold)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="oidc_identity_unique")
        ]
