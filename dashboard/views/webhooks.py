"""Redeploy webhooks (admins): make one for a compose project or a swarm service (its secret
shown once), see when each was last used, revoke one."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from ..access import ADMIN, require_role
from ..api import hooks
from ..audit import audited
from ..engines import configured_hosts
from ..forms.api import WebhookForm
from ..models import Webhook


def _form(data: object = None) -> WebhookForm:
    return WebhookForm(data, hosts=list(configured_hosts()))


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = _form(request.POST or None)
    made = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            with audited(
                request, d["host"], "webhook.create", d["target"], d["target"], {"kind": d["kind"]}
            ) as entry:
                hook, secret = hooks.make(
                    d["host"], d["kind"], d["target"], request.user.get_username()
                )
                entry.params["key"] = hook.key
            made = {"hook": hook, "secret": secret, "header": hooks.HEADER}
            form = _form()
        else:
            status = 400
    context = {"form": form, "made": made, "hooks": Webhook.objects.all()}
    return render(request, "settings/webhooks.html", context, status=status)


@require_POST
@require_role(ADMIN)
def webhook_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    hook = get_object_or_404(Webhook, pk=pk)
    with audited(request, hook.host, "webhook.revoke", hook.key, hook.target):
        if hook.revoked is None:
            hook.revoked = timezone.now()
            hook.save(update_fields=["revoked"])
    messages.success(request, f"Revoked the webhook of {hook.kind} {hook.target}.")
    return redirect("webhook-list")
