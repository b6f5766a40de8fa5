"""Engine errors become responses here, and only here.

not found -> 404, conflict / bad request -> 409 / 400 with the engine's message beside the
thing acted on, engine unreachable or too old -> 503 with a banner, any other engine error
-> 502 with the engine's message. Never a 500 for something the engine said.
"""

from __future__ import annotations

import logging
import re

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from engine_client import (
    BadRequest,
    Conflict,
    EngineError,
    EngineUnreachable,
    Forbidden,
    InvalidArgument,
    NotAvailable,
    NotFound,
    ProxyRefused,
    UnsupportedVersion,
)

log = logging.getLogger(__name__)

_TARGET_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,100}")


_HINTS = {
    "No such file or directory": "No engine listens on that socket: is Docker running there? "
    "Set DOCKER_HOST to your engine's address.",
    "Permission denied": "The dashboard's user may not use this socket: run it as a user "
    "in the docker group (or as root).",
    "Connection refused": "Nothing listens at that address: is the engine running, and "
    "listening on that port?",
    "did not answer": "The engine accepted the connection but did not answer in time; it may "
    "be overloaded.",
}


def hint_for(message: str) -> str:
    return next((hint for key, hint in _HINTS.items() if key in message), "")


def status_for(exc: Exception) -> int:
    if isinstance(exc, NotFound):
        return 404
    # The engine's own refusal (403) is not the dashboard's "your role may not": say 409.
    if isinstance(exc, Conflict | Forbidden):
        return 409
    if isinstance(exc, BadRequest | InvalidArgument):
        return 400
    if isinstance(exc, EngineUnreachable | UnsupportedVersion | NotAvailable):
        return 503
    return 502


class EngineErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not isinstance(exc, EngineError | InvalidArgument):
            return None
        status = status_for(exc)
        message = exc.message if isinstance(exc, EngineError) else str(exc)
        host = getattr(request, "dashboard_host", None)
        if status >= 500:
            log.warning("engine error on %s %s: %s", request.method, request.path, message)
        context = {
            "status": status,
            "message": message,
            "host": host,
            "unreachable": isinstance(exc, EngineUnreachable),
            # A docker-socket-proxy in front of the engine refused the path: the section says
            # so (docs/socket-proxy.md lists what each page needs) rather than an engine error.
            "proxy_refused": isinstance(exc, ProxyRefused),
            "hint": hint_for(message) if isinstance(exc, EngineUnreachable) else "",
        }
        if getattr(request, "htmx", False):
            response = HttpResponse(
                render_to_string("_engine_message.html", context, request=request), status=status
            )
            # Put the message beside what was acted on: the target's "-msg" slot when it
            # has one (every row does), else the page's flash area.
            target = request.headers.get("HX-Target", "")
            slot = f"#{target}-msg" if _TARGET_ID.fullmatch(target) else "#flash"
            response["HX-Retarget"] = slot
            response["HX-Reswap"] = "innerHTML"
            return response
        return HttpResponse(
            render_to_string("errors/engine_error.html", context, request=request), status=status
        )


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ]
)


class SecurityHeadersMiddleware:
    """A CSP with no inline script: everything the engine returns stays inert text."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


# What a refused request's audit entry says, by status.
_REFUSALS = {
    400: "refused: the input did not validate",
    403: "refused: not allowed (role, host or CSRF check)",
    404: "refused: no such page or object",
    405: "refused: wrong method",
    413: "refused: request too large",
    429: "refused: too many attempts",
}


class AuditFallbackMiddleware:
    """Every POST leaves an audit entry. Views audit what they do (`audited`); a POST that
    ends without one (refused before the view, bad input, a view that forgot) gets one here,
    so the trail has no holes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method == "POST" and not getattr(request, "_audit_written", False):
            from .audit import record_request
            from .models import AuditEntry

            status = response.status_code
            user = getattr(request, "user", None)
            if not getattr(user, "is_authenticated", False):
                outcome, message = AuditEntry.DENIED, "refused: not logged in"
            elif status >= 500:
                outcome, message = AuditEntry.FAILED, f"failed: HTTP {status}"
            elif status >= 400:
                outcome = AuditEntry.DENIED
                message = _REFUSALS.get(status, f"refused: HTTP {status}")
            else:
                outcome, message = AuditEntry.OK, f"HTTP {status}"
            match = getattr(request, "resolver_match", None)
            try:
                record_request(request, match.kwargs if match else {}, outcome, message)
            except Exception:
                log.exception("could not write the audit entry for %s", request.path)
        return response
