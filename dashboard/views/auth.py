"""Logging in and out: throttled after repeated failures, audited either way."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from .. import breakglass, oidc
from ..audit import record_request
from ..models import AuditEntry, LoginFailure


def _client_addr(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")[:64]


def throttled_for(username: str, addr: str) -> int:
    """Seconds until `username` may try again from `addr` (0: now). Limits apply per account
    (someone guessing one password) and per address (someone trying many accounts)."""
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)
    since = timezone.now() - window
    recent = LoginFailure.objects.filter(when__gte=since)
    for rows, limit in (
        (recent.filter(username__iexact=username), settings.LOGIN_FAILURE_LIMIT),
        (recent.filter(remote_addr=addr), settings.LOGIN_ADDRESS_FAILURE_LIMIT),
    ):
        whens = list(rows.order_by("-when").values_list("when", flat=True)[:limit])
        if len(whens) >= limit:
            # Free again once the oldest of the last `limit` failures leaves the window.
            wait = (whens[-1] + window - timezone.now()).total_seconds()
            return max(1, int(wait))
    return 0


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        context = super().get_context_data(**kwargs)
        if oidc.enabled():
            context["oidc_name"] = settings.OIDC_NAME
        # Off in the oidc and forward modes: only break-glass admins use the password form.
        context["password_login"] = settings.AUTH_MODE == "local"
        return context

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        username = request.POST.get("username", "")[:150]
        wait = throttled_for(username, _client_addr(request))
        if wait:
            message = "login refused: too many failed logins"
            record_request(request, {}, AuditEntry.DENIED, message, target_name=username)
            form = self.get_form()
            minutes = max(1, round(wait / 60))
            form.errors.clear()
            form.add_error(
                None,
                f"Too many failed logins. Try again in {minutes} minute{'s' * (minutes != 1)}.",
            )
            return render(request, self.template_name, self.get_context_data(form=form), status=429)
        if not breakglass.password_login_allowed(username):
            # Refused before the password is checked: no answer says whether it was right.
            LoginFailure.objects.create(username=username, remote_addr=_client_addr(request))
            message = f"password login refused: sign-in here is by {settings.AUTH_MODE}"
            record_request(request, {}, AuditEntry.DENIED, message, target_name=username)
            form = self.get_form()
            form.errors.clear()
            form.add_error(
                None,
                "Password login is off here: use the sign-in button (break-glass admins only).",
            )
            return render(request, self.template_name, self.get_context_data(form=form), status=403)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        LoginFailure.objects.filter(username__iexact=form.get_user().get_username()).delete()
        name = form.get_user().get_username()
        if settings.AUTH_MODE != "local" and breakglass.is_breakglass(form.get_user()):
            breakglass.spend(form.get_user(), _client_addr(self.request))
            message = "BREAK-GLASS admin login (its one-time password is now spent)"
        else:
            message = "logged in"
        record_request(self.request, {}, AuditEntry.OK, message, target_name=name)
        return response

    def form_invalid(self, form):
        username = self.request.POST.get("username", "")[:150]
        LoginFailure.objects.create(username=username, remote_addr=_client_addr(self.request))
        record_request(self.request, {}, AuditEntry.DENIED, "login failed", target_name=username)
        return super().form_invalid(form)


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.user.is_authenticated:
            record_request(request, {}, AuditEntry.OK, "logged out")
        return super().post(request, *args, **kwargs)
