"""Redeploy webhooks for CI: `POST /api/v1/hooks/<key>/` with the hook's secret in the
`X-Dashboard-Webhook-Secret` header. A project's hook runs `compose pull` then `up`; a swarm
service's force-updates it with its image's tag resolved again at the registry.

The secret never travels in the URL (URLs end up in proxy logs and CI output): a request
with a query string is refused before the secret is even compared. Unknown key and wrong
secret get the same answer. Every call, refused or not, is audited under the hook's name
("webhook <key>"), with the admin who made it in the message.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import asdict
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from engine_client import EngineError

from .. import deploy
from ..engines import client_for, get_host
from ..middleware import status_for
from ..models import AuditEntry, Webhook
from .auth import error
from .tokens import digest

HEADER = "X-Dashboard-Webhook-Secret"


def make(host: str, kind: str, target: str, by: str) -> tuple[Webhook, str]:
    """A new hook and its secret (shown once)."""
    secret = secrets.token_urlsafe(32)
    hook = Webhook.objects.create(
        key=secrets.token_hex(12),
        digest=digest(secret),
        host=host,
        kind=kind,
        target=target,
        created_by=by,
    )
    return hook, secret


def _audit(
    request: HttpRequest, key: str, hook: Webhook | None, outcome: str, message: str
) -> None:
    AuditEntry.objects.create(
        user=None,
        username=f"webhook {key}"[:150],
        remote_addr=request.META.get("REMOTE_ADDR", "")[:64],
        host=hook.host if hook else "",
        action=f"webhook.{hook.kind}" if hook else "webhook",
        target_id=(hook.target if hook else "")[:128],
        target_name=(hook.target if hook else "")[:255],
        params={"made_by": hook.created_by} if hook else {},
        outcome=outcome,
        message=message,
    )
    request._audit_written = True


def _refuse(request: HttpRequest, key: str, hook: Webhook | None, status: int, msg: str) -> Any:
    _audit(request, key, hook, AuditEntry.DENIED, f"API: {msg}")
    return error(status, msg)


def run_hook(request: HttpRequest, key: str) -> Any:
    hook = Webhook.objects.filter(key=key).first()
    if request.META.get("QUERY_STRING"):
        message = f"nothing goes in this URL's query string: send the secret in the {HEADER} header"
        return _refuse(request, key, hook, 400, message)
    given = request.headers.get(HEADER, "")
    if not given:
        return _refuse(request, key, hook, 401, f"no secret: send it in the {HEADER} header")
    if hook is None or not hmac.compare_digest(hook.digest, digest(given)):
        return _refuse(request, key, hook, 401, "unknown webhook or wrong secret")
    if hook.revoked is not None:
        return _refuse(request, key, hook, 401, f"webhook {key} was revoked")
    Webhook.objects.filter(pk=hook.pk).update(last_used=timezone.now())
    host = get_host(hook.host)
    try:
        if hook.kind == Webhook.PROJECT:
            steps = deploy.compose(host, hook.target, ["pull", "up"])
            failed = deploy.failure(steps)
            body: dict[str, Any] = {"ok": not failed, "steps": [asdict(s) for s in steps]}
        else:
            body = {"ok": True, **deploy.redeploy_service(host, client_for(host), hook.target)}
            failed = ""
    except deploy.DeployRefused as exc:
        _audit(request, key, hook, AuditEntry.FAILED, str(exc))
        return error(409, str(exc))
    except EngineError as exc:
        _audit(request, key, hook, AuditEntry.FAILED, exc.message)
        return error(status_for(exc), f"the engine said: {exc.message}", engine=exc.message)
    _audit(request, key, hook, AuditEntry.FAILED if failed else AuditEntry.OK, failed)
    return JsonResponse(body, status=502 if failed else 200)
