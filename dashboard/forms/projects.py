"""Forms of the project pages: the containers list's project filter, a whole-project action's
stop timeout, and the remove confirmation (what goes besides the containers)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import ProhibitNullCharactersValidator

from engine_client.validators import check_project_name

from .fields import NameTypedBackForm, RuleField


def project_field(**kwargs: Any) -> RuleField:
    """A compose project name, by compose's own rule (engine_client.validators)."""
    return RuleField(check_project_name, max_length=128, **kwargs)


class ProjectActionForm(forms.Form):
    t = forms.IntegerField(
        label="Seconds to wait before killing", required=False, min_value=0, max_value=3600
    )


class ProjectRemoveForm(NameTypedBackForm):
    """Remove asks for the project's name typed back, as removing a volume does."""

    confirm = forms.CharField(label="Type the project's name", max_length=128)
    networks = forms.BooleanField(label="Also its networks", required=False, initial=True)
    volumes = forms.BooleanField(label="Also its volumes (their data is lost)", required=False)

    def __init__(self, *args: Any, project: str, **kwargs: Any) -> None:
        super().__init__(*args, name=project, **kwargs)
        self.project = project


def _text_field(label: str, required: bool) -> forms.CharField:
    field = forms.CharField(label=label, required=required, strip=False, widget=forms.Textarea)
    # A NUL byte is refused by the file checks, with its line (engine_client/compose_files.py).
    field.validators = [
        v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)
    ]
    return field


class ProjectFilesForm(forms.Form):
    """A project's compose.yaml and .env as typed; the checks that matter are the file
    checks and compose's own (dashboard/compose_runs.py `save`), reported by line."""

    compose = _text_field("compose.yaml", required=True)
    env = _text_field(".env", required=False)

    def clean_compose(self) -> str:
        # Browsers send a textarea's lines with CRLF; the files keep the usual LF.
        return self.cleaned_data["compose"].replace("\r\n", "\n")

    def clean_env(self) -> str:
        return self.cleaned_data["env"].replace("\r\n", "\n")


class NewProjectForm(ProjectFilesForm):
    name = project_field(label="Project name")

    field_order = ["name", "compose", "env"]


class ComposeRunForm(forms.Form):
    action = forms.ChoiceField(choices=[])
    volumes_lost = forms.BooleanField(
        label="I know the project's volumes and their data are removed", required=False
    )

    def __init__(self, *args: Any, actions: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = list(actions.items())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "down-volumes" and not data.get("volumes_lost"):
            self.add_error("volumes_lost", "tick this to remove the volumes too")
        return data
