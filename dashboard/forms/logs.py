"""The forms of logs across containers: a selection (merged live view), and a search over it
(text or regex, time range). Each refusal is a message beside its field; nothing reaches
the engine before the whole form is valid."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from engine_client.log_search import Matcher, check_time_range, compile_matcher
from engine_client.validators import check_container_id, check_label_filter, check_project_name

from ..engines import HOST_NAME_RE
from ..log_selection import SELECTION_MAX, Selection
from .fields import LIST_SEPARATORS, RuleField, engine_rule

RANGES = {"15m": 15 * 60, "1h": 3600, "24h": 86400}
RANGE_CHOICES = [
    ("15m", "last 15 minutes"),
    ("1h", "last hour"),
    ("24h", "last 24 hours"),
    ("custom", "custom"),
]


def _check_host_name(name: str) -> str:
    if not re.fullmatch(HOST_NAME_RE, name):
        raise ValidationError(f"{name!r} is not a host name")
    return name


class SelectionForm(forms.Form):
    ids = forms.CharField(required=False, label="Containers")
    project = RuleField(check_project_name, required=False, max_length=128)
    label = RuleField(check_label_filter, required=False)
    all = forms.BooleanField(required=False, label="Every container")
    hosts = forms.CharField(required=False, max_length=2000, label="Also on hosts")

    def clean_ids(self) -> list[str]:
        # Counted before each is checked: a page may send 10,000 of them.
        ids = [i for i in LIST_SEPARATORS.split(self.cleaned_data["ids"] or "") if i]
        if len(ids) > SELECTION_MAX:
            raise ValidationError(
                f"{len(ids)} containers ticked: a merged view or a search takes at most"
                f" {SELECTION_MAX}; tick fewer, or choose a project or a label"
            )
        return list(dict.fromkeys(engine_rule(check_container_id, i) for i in ids))

    def clean_hosts(self) -> list[str]:
        names = [n for n in re.split(r"[\s,]+", self.cleaned_data["hosts"] or "") if n]
        if len(names) > 20:
            raise ValidationError("at most 20 hosts")
        return [_check_host_name(n) for n in dict.fromkeys(names)]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors and not (
            data.get("ids") or data.get("project") or data.get("label") or data.get("all")
        ):
            raise ValidationError("choose containers: tick some, or a project, a label or all")
        return data

    def selection(self) -> Selection:
        d = self.cleaned_data
        return Selection(
            ids=tuple(d["ids"]),
            project=d["project"],
            label=d["label"],
            all=d["all"],
            hosts=tuple(d["hosts"]),
        )


class SearchForm(SelectionForm):
    q = forms.CharField(label="Search for", max_length=500, strip=False)
    regex = forms.BooleanField(required=False, label="Regular expression")
    range = forms.ChoiceField(choices=RANGE_CHOICES, initial="1h", required=False)
    since = forms.CharField(required=False, max_length=40, label="From")
    until = forms.CharField(required=False, max_length=40, label="To")

    def clean_q(self) -> str:
        return self.cleaned_data["q"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "q" in data and "q" not in self.errors:
            try:
                self.matcher: Matcher = engine_rule(compile_matcher, data["q"], data.get("regex"))
            except ValidationError as exc:
                self.add_error("q", exc)
        kind = data.get("range") or "1h"
        now = time.time()
        if kind in RANGES:
            data["since_ts"], data["until_ts"] = now - RANGES[kind], now
            return data
        since = _when(data.get("since"))
        until = _when(data.get("until")) if data.get("until") else now
        if since is None:
            self.add_error("since", "a custom range needs a start (2024-05-01T10:00)")
            return data
        if until is None:
            self.add_error("until", "not a date and time (2024-05-01T10:00)")
            return data
        try:
            data["since_ts"], data["until_ts"] = engine_rule(check_time_range, since, until)
        except ValidationError as exc:
            self.add_error("until", exc)
        return data


def _when(text: str | None) -> float | None:
    """A local ISO date-time (what a datetime-local input sends) -> Unix seconds."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    return when.timestamp()
