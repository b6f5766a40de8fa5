"""Forms of the JSON API's own inputs (the rest reuse the pages' forms)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator

from engine_client.validators import check_project_name, check_service_name

from .fields import engine_rule
from .projects import project_field


class ContainerListForm(forms.Form):
    # "0" lists only running containers, as the engine's own `all` does.
    all = forms.TypedChoiceField(
        choices=[("1", "1"), ("0", "0")], coerce=lambda v: v == "1", required=False
    )
    project = project_field(required=False)


class LogTailForm(forms.Form):
    tail = forms.IntegerField(min_value=0, max_value=10_000, required=False)
    timestamps = forms.TypedChoiceField(
        choices=[("1", "1"), ("0", "0")], coerce=lambda v: v == "1", required=False
    )


class TokenForm(forms.Form):
    """A new personal token: its role at most the maker's, its hosts among theirs."""

    name = forms.CharField(max_length=100)
    role = forms.ChoiceField(choices=[])
    hosts = forms.MultipleChoiceField(
        choices=[],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every host you may use.",
    )
    days = forms.IntegerField(label="Expires in (days)", min_value=1)

    def __init__(
        self, *args: Any, roles: list[str], hosts: list[str], max_days: int, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(r, r) for r in roles]
        self.fields["role"].initial = roles[0]
        self.fields["hosts"].choices = [(h, h) for h in hosts]
        days = self.fields["days"]
        days.initial = min(90, max_days)
        days.validators.append(MaxValueValidator(max_days))
        days.widget.attrs["max"] = max_days


class WebhookForm(forms.Form):
    """A new redeploy webhook: a compose project (by compose's name rule) or a swarm service
    (by the engine's service name rule) on one host."""

    host = forms.ChoiceField(choices=[])
    kind = forms.ChoiceField(choices=[("project", "Compose project"), ("service", "Swarm service")])
    target = forms.CharField(max_length=128, help_text="the project's or the service's name")

    def __init__(self, *args: Any, hosts: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["host"].choices = [(h, h) for h in hosts]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        target, kind = data.get("target"), data.get("kind")
        if target and kind:
            rule = check_project_name if kind == "project" else check_service_name
            try:
                data["target"] = engine_rule(rule, target.strip())
            except forms.ValidationError as exc:
                self.add_error("target", exc)
        return data
