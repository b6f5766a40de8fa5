from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def ago(value: datetime | None) -> str:
    """'just now', '42 seconds ago', '3 minutes ago', '2 days, 4 hours ago'."""
    if not value:
        return ""
    seconds = (timezone.now() - value).total_seconds()
    if seconds < 5:
        return "just now"
    if seconds < 60:
        return f"{int(seconds)} seconds ago"
    return f"{timesince(value)} ago"


@register.filter
def shell_join(words: list[str] | None) -> str:
    """['sh', '-c', 'echo hi'] -> "sh -c 'echo hi'": a command as one would type it."""
    import shlex

    return shlex.join(words) if words else ""
