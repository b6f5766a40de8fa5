from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
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
def when(value: datetime | None) -> SafeString | str:
    """A relative time ('3 minutes ago') that shows the absolute one on hover:
    <time datetime="..." title="2026-11-30 10:02:03">3 minutes ago</time>."""
    if not value:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        local.strftime("%Y-%m-%d %H:%M:%S %Z").strip(),
        ago(value),
    )


@register.filter
def shell_join(words: list[str] | None) -> str:
    """['sh', '-c', 'echo hi'] -> "sh -c 'echo hi'": a command as one would type it."""
    import shlex

    return shlex.join(words) if words else ""
