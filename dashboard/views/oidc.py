"""Sign-in with the OpenID provider: start (a redirect to it) and its callback.

Both are public (the person is not logged in yet); the callback logs in only after
`oidc.finish` checked the ID token. Every login and every refusal is audited.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from .. import oidc
from ..audit import record_request
from ..models import AuditEntry


def _callback_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("oidc-callback"))


def _refused(request: HttpRequest, message: str, who: str = "") -> HttpResponse:
    record_request(request, {}, AuditEntry.DENIED, f"sign-in refused: {message}", target_name=who)
    context = {"oidc_name": settings.OIDC_NAME, "oidc_error": message}
    return render(request, "registration/oidc_refused.html", context, status=403)


@login_not_required
@require_GET
def oidc_login(request: HttpRequest) -> HttpResponse:
    if not oidc.enabled():
        raise Http404("single sign-on is not configured")
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = ""
    try:
        return redirect(oidc.begin(request, _callback_url(request), next_url))
    except oidc.Refused as exc:
        return _refused(request, str(exc))


@login_not_required
@require_GET
def oidc_callback(request: HttpRequest) -> HttpResponse:
    if not oidc.enabled():
        raise Http404("single sign-on is not configured")
    who = ""
    try:
        signed = oidc.finish(request, _callback_url(request))
        who = str(signed.claims.get("preferred_username") or signed.claims.get("sub", ""))
        user = oidc.sign_in_user(signed.claims)
    except oidc.Refused as exc:
        return _refused(request, str(exc), who)
    except ValueError as exc:  # the role or host map itself is malformed
        return _refused(request, f"the dashboard's sign-in settings are wrong: {exc}", who)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    record_request(
        request, {}, AuditEntry.OK, f"logged in with {settings.OIDC_NAME}", target_name=who
    )
    return redirect(signed.next_url or settings.LOGIN_REDIRECT_URL)
