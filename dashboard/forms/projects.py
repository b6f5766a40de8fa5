"""Forms of the project pages: the containers list's project filter, a whole-project action's
stop timeout, and the remove confirmation (what goes besides the containers)."""

from __future__ import annotations

from typing import Any

from django import forms

from engine_client.validators import check_project_name

from .fields import RuleField


def project_field(**kwargs: Any) -> RuleField:
    """A compose project name, by compose's own rule (engine_client.validators)."""
    return RuleField(check_project_name, max_length=128, **kwargs)


class ProjectActionForm(forms.Form):
    t = forms.IntegerField(
        label="Seconds to wait before killing", required=False, min_value=0, max_value=3600
    )


class ProjectRemoveForm(forms.Form):
    """Remove asks for the project's name typed back, as removing a volume does."""

    confirm = forms.CharField(label="Type the project's name", max_length=128)
    networks = forms.BooleanField(label="Also its networks", required=False, initial=True)
    volumes = forms.BooleanField(label="Also its volumes (their data is lost)", required=False)

    def __init__(self, *args: Any, project: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != self.project:
            raise forms.ValidationError(f"type {self.project} to remove it")
        return value
