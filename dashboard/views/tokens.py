"""Your API tokens: make one (shown once), see when each was last used, revoke one.
Each person manages only their own; the role offered is at most theirs, the hosts at most
theirs."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ..access import ROLES, VIEWER, granted_hosts, may_use_host, require_role, role_of
from ..api import tokens
from ..audit import audited
from ..engines import configured_hosts
from ..forms.api import TokenForm
from ..models import ApiToken


def _form(request: HttpRequest, data: object = None) -> TokenForm:
    own = role_of(request.user) or VIEWER
    roles = list(reversed(ROLES[: ROLES.index(own) + 1]))
    hosts = [h for h in configured_hosts() if may_use_host(request.user, h)]
    return TokenForm(data, roles=roles, hosts=hosts, max_days=tokens.max_days())


@require_http_methods(["GET", "POST"])
@require_role(VIEWER)
def token_list(request: HttpRequest) -> HttpResponse:
    form = _form(request, request.POST or None)
    made = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            params = {"role": data["role"], "hosts": data["hosts"], "days": data["days"]}
            with audited(request, "", "api-token.create", params=params) as entry:
                made = tokens.make(
                    request.user, data["name"], data["role"], data["hosts"], data["days"]
                )
                entry.target_name = f"{made.token.name} ({made.token.prefix})"
            form = _form(request)
        else:
            status = 400
    rows = ApiToken.objects.filter(user=request.user)
    context = {
        "form": form,
        "made": made,
        "tokens": rows,
        "limited": granted_hosts(request.user) is not None,
    }
    return render(request, "settings/tokens.html", context, status=status)


@require_POST
@require_role(VIEWER)
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    with audited(request, "", "api-token.revoke", token.prefix, token.name):
        tokens.revoke(token)
    messages.success(request, f"Revoked token {token.name}.")
    return redirect("token-list")
