"""The server-error handler: a database that is locked or gone is said plainly (503), with
what the database said, instead of the generic error page; anything else stays a 500."""

from __future__ import annotations

import logging
import sys

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

log = logging.getLogger(__name__)

_HINTS = {
    "database is locked": "Another process holds a lock on the dashboard's SQLite database "
    "for longer than the dashboard waits; it usually clears by itself.",
    "no such table": "The database is empty or was replaced: run `manage.py migrate`.",
    "unable to open database": "The database file cannot be opened: check DASHBOARD_DATA_DIR "
    "and its permissions.",
    "connection": "The database server does not answer: check DATABASE_URL and the server.",
}


def server_error(request: HttpRequest) -> HttpResponse:
    exc = sys.exc_info()[1]
    if isinstance(exc, DatabaseError):
        message = str(exc) or type(exc).__name__
        hint = next((h for key, h in _HINTS.items() if key in message.lower()), "")
        # Rendered without the request: its context processors would ask the database.
        html = render_to_string(
            "errors/database.html", {"message": message, "hint": hint, "retry": 5}
        )
        return HttpResponse(html, status=503)
    return HttpResponse(render_to_string("500.html"), status=500)
