"""Alert rules and channels: every value checked before anything is saved."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from engine_client import InvalidArgument
from engine_client.validators import check_label_filter, check_project_name

from ..alerts.deliver import check_url
from ..engines import configured_hosts
from ..models import AlertChannel, AlertRule, Silence
from .fields import RuleField


def _bounded(low: int, high: int, **kwargs: Any) -> forms.IntegerField:
    """A whole number within bounds; blank takes the model's default (a rule of another kind
    does not use it)."""
    return forms.IntegerField(
        required=False,
        validators=[MinValueValidator(low), MaxValueValidator(high)],
        error_messages={
            "min_value": f"at least {low}",
            "max_value": f"at most {high}",
            "invalid": "a whole number",
        },
        **kwargs,
    )


class RuleForm(forms.ModelForm):
    host = forms.ChoiceField(required=False, help_text="empty: every host")
    name_glob = forms.CharField(
        required=False, max_length=255, help_text="container names, e.g. web-* (empty: all)"
    )
    label = RuleField(
        check_label_filter, required=False, max_length=255, help_text="key or key=value"
    )
    project = RuleField(
        check_project_name, required=False, max_length=255, help_text="compose project"
    )
    count = _bounded(2, 1000, initial=3, help_text="restart loop: this many exits…")
    minutes = _bounded(1, 1440, initial=5, help_text="…within this many minutes")
    seconds = _bounded(
        5, 86400, initial=30, help_text="engine unreachable for this long; CPU/memory averaged over"
    )
    percent = _bounded(
        1, 10000, initial=90, help_text="CPU (100 = one core) or memory (of its limit) above"
    )
    megabytes = _bounded(
        1, 100_000_000, initial=50_000, label="Megabytes", help_text="disk use (system df) above"
    )
    cooldown = _bounded(
        0, 86400, initial=300, help_text="seconds before the same container alerts again"
    )
    channels = forms.ModelMultipleChoiceField(
        queryset=AlertChannel.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = AlertRule
        fields = [
            "name",
            "kind",
            "host",
            "name_glob",
            "label",
            "project",
            "count",
            "minutes",
            "seconds",
            "percent",
            "megabytes",
            "cooldown",
            "enabled",
            "channels",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["host"].choices = [("", "every host")] + [
            (name, name) for name in configured_hosts()
        ]

    NUMBERS = ("count", "minutes", "seconds", "percent", "megabytes", "cooldown")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in self.NUMBERS:
            if data.get(name) is None and name not in self.errors:
                data[name] = AlertRule._meta.get_field(name).default
        if data.get("kind") == AlertRule.MEMORY and (data.get("percent") or 0) > 100:
            self.add_error("percent", "memory is at most 100% of its limit")
        return data

    def clean_name_glob(self) -> str:
        glob = self.cleaned_data.get("name_glob", "").strip()
        if glob and not all(c.isalnum() or c in "_.-*?[]!" for c in glob):
            raise forms.ValidationError(
                "a name pattern holds letters, digits, '_', '.', '-' and the wildcards * ? [ ]"
            )
        return glob


class ChannelForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)
    kind = forms.ChoiceField(choices=AlertChannel.KINDS, initial=AlertChannel.WEBHOOK)
    url = forms.CharField(
        max_length=2000,
        strip=True,
        label="URL",
        help_text="webhook: https://…; Apprise: e.g. ntfys://ntfy.sh/topic, slack://…, mailtos://…",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    key = forms.CharField(
        required=False,
        min_length=16,
        max_length=256,
        strip=False,
        label="Signing key",
        help_text="webhook only: the receiver checks X-Dashboard-Signature with it (16+ chars)",
        widget=forms.PasswordInput(render_value=False),
    )

    def __init__(self, *args: Any, request_host: str = "", **kwargs: Any) -> None:
        self.request_host = request_host
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if AlertChannel.objects.filter(name=name).exists():
            raise forms.ValidationError("a channel has this name already")
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, url = data.get("kind"), data.get("url")
        if kind and url:
            try:
                data["url"] = check_url(kind, url, self.request_host)
            except InvalidArgument as exc:
                self.add_error("url", str(exc))
        if kind == AlertChannel.WEBHOOK and not data.get("key") and "key" not in self.errors:
            self.add_error("key", "a webhook needs a signing key")
        return data


class SilenceForm(forms.ModelForm):
    """Mute one rule (or all) on one host (or all) until a time, at most 30 days ahead."""

    MAX_DAYS = 30
    host = forms.ChoiceField(required=False)
    until = forms.DateTimeField(
        help_text="YYYY-MM-DD HH:MM, in the dashboard's time zone",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    class Meta:
        model = Silence
        fields = ["rule", "host", "until", "reason"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rule"].required = False
        self.fields["rule"].empty_label = "every rule"
        self.fields["host"].choices = [("", "every host")] + [
            (name, name) for name in configured_hosts()
        ]

    def clean_until(self) -> Any:
        from datetime import timedelta

        from django.utils import timezone

        until = self.cleaned_data["until"]
        now = timezone.now()
        if until <= now:
            raise forms.ValidationError("a silence ends in the future")
        if until > now + timedelta(days=self.MAX_DAYS):
            raise forms.ValidationError(f"a silence lasts at most {self.MAX_DAYS} days")
        return until
