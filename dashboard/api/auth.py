"""Every API request passes through `api_view`: the token is read from the Authorization
header and nothing else (the session cookie is never looked at, so a browser's session
cannot be used cross-site and no CSRF token is needed), the user is loaded afresh with the
token's role and hosts as caps (dashboard/access.py takes the lower), the route's role and
the URL's host are checked, and whatever goes wrong becomes a JSON answer
`{"error": ..., "engine": ...}` with its status: never a 500 for something the engine said.

Refusals are audited (GET ones too: a token tried where it may not go is worth knowing);
state changes are audited by their handlers, as the pages' views do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from engine_client import EngineError, InvalidArgument

from ..access import has_role, may_use_host, role_of
from ..audit import record_request
from ..middleware import status_for
from ..models import AuditEntry
from . import tokens


class BadInput(Exception):
    """Input the form refused: 400 with each field's messages."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("invalid input")
        self.fields = fields


def error(status: int, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def body_of(request: HttpRequest) -> dict[str, Any]:
    """A POST's input: a JSON object, or form fields (curl -d)."""
    if request.method != "POST":
        return dict(request.GET.items())
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError as exc:
            raise BadInput({"body": [f"not JSON: {exc}"]}) from None
        if not isinstance(data, dict):
            raise BadInput({"body": ["a JSON object is expected"]})
        return data
    return dict(request.POST.items())


def valid(form: Any) -> dict[str, Any]:
    """A bound form's cleaned data, or BadInput with its messages."""
    if not form.is_valid():
        raise BadInput({k: [str(m) for m in v] for k, v in form.errors.items()})
    data: dict[str, Any] = form.cleaned_data
    return data


@dataclass(frozen=True)
class Op:
    """One API operation: the row of the route table (routes.py) it was made from."""

    method: str
    name: str
    role: str
    handler: Callable[..., Any]


def _refuse(
    request: HttpRequest, kwargs: dict[str, Any], status: int, message: str
) -> JsonResponse:
    if not getattr(request, "_audit_written", False):
        record_request(request, kwargs, AuditEntry.DENIED, f"API: {message}")
    return error(status, message)


def _authenticate(request: HttpRequest) -> None:
    token = tokens.check(tokens.bearer(request.headers.get("Authorization", "")))
    user = token.user
    user.token_role = token.role
    user.token_hosts = set(token.hosts) if token.hosts else None
    request.user = user
    request.api_token = token
    tokens.touch(token, request.META.get("REMOTE_ADDR", ""))


def api_view(ops: dict[str, Op]) -> Callable[..., HttpResponse]:
    """The one Django view of a path: authenticate, pick the operation by method, check the
    role and host, run the handler, answer JSON."""

    @csrf_exempt
    @login_not_required
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        # The session middleware's user is dropped unread: only a token authenticates here.
        request.user = AnonymousUser()
        try:
            _authenticate(request)
        except tokens.Refused as exc:
            return _refuse(request, kwargs, exc.status, exc.message)
        op = ops.get(request.method or "")
        if op is None:
            allowed = ", ".join(sorted(ops))
            response = _refuse(request, kwargs, 405, f"use {allowed} here")
            response["Allow"] = allowed
            return response
        if not has_role(request.user, op.role):
            acting = role_of(request.user)
            return _refuse(
                request,
                kwargs,
                403,
                f"this needs the {op.role} role; the token acts as {acting} "
                "(the lower of its own role and its user's role now)",
            )
        host = kwargs.get("host")
        if host is not None and not may_use_host(request.user, host):
            return _refuse(request, kwargs, 403, f"this token may not use host {host}")
        try:
            result = op.handler(request, **kwargs)
        except BadInput as exc:
            return _bad(request, kwargs, exc)
        except PermissionDenied as exc:
            return _refuse(request, kwargs, 403, str(exc) or "not allowed")
        except Http404 as exc:
            return _refuse(request, kwargs, 404, str(exc) or "not found")
        except InvalidArgument as exc:
            return _refuse(request, kwargs, 400, str(exc))
        except EngineError as exc:
            return error(status_for(exc), f"the engine said: {exc.message}", engine=exc.message)
        if isinstance(result, HttpResponseBase):
            return result
        return JsonResponse(result, safe=False)

    view.api_ops = ops
    return view


def hook_view(op: Op) -> Callable[..., HttpResponse]:
    """The view of the webhook route: its own secret, not a token (dashboard/api/hooks.py)."""

    @csrf_exempt
    @login_not_required
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        request.user = AnonymousUser()
        if request.method != op.method:
            response = _refuse(request, kwargs, 405, f"use {op.method} here")
            response["Allow"] = op.method
            return response
        try:
            result: HttpResponse = op.handler(request, **kwargs)
        except Http404 as exc:
            return _refuse(request, kwargs, 404, str(exc) or "not found")
        return result

    view.api_ops = {op.method: op}
    view.api_auth = "webhook"
    return view


def _bad(request: HttpRequest, kwargs: dict[str, Any], exc: BadInput) -> JsonResponse:
    if not getattr(request, "_audit_written", False):
        record_request(request, kwargs, AuditEntry.DENIED, f"API: invalid input {exc.fields}")
    return error(400, "invalid input", fields=exc.fields)
