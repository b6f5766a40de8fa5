"""Cheap pieces for templates rendered once per row of a long list (a page of containers):
URL prefixes reversed once per host instead of a `{% url %}` per link, and times formatted
without the general `date` filter."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from django import template
from django.urls import reverse
from django.utils import timezone

register = template.Library()


@lru_cache(maxsize=64)
def _container_prefix(host_name: str) -> str:
    return reverse("container-list", args=[host_name])


@register.filter
def container_prefix(host_name: str) -> str:
    """'/hosts/<host>/containers/': a row's links are this + '<id>/<action>/'."""
    return _container_prefix(host_name)


@register.filter
def iso_time(value: datetime | None) -> str:
    return timezone.localtime(value).isoformat() if value else ""


@register.filter
def plain_time(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


@register.filter
def port_href(published: str, address: str) -> str:
    """A published port's link (see presenters.port_href); '' when it has none."""
    from ..presenters import port_href as href

    return href(published, address or "")
