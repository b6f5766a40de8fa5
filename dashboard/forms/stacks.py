"""Forms of the swarm stack pages: a stack's name and its two files (compose.yaml, .env),
and the remove confirmation. The files' own rules (size, YAML, paths, .env) are
`engine_client.compose_files.check_files`, run by the view with the stack's folder."""

from __future__ import annotations

from typing import Any

from django import forms

from engine_client.stack_cli import check_stack_name

from .fields import NameTypedBackForm, RuleField


class StackForm(forms.Form):
    name = RuleField(check_stack_name, label="Stack name", max_length=64)
    compose = forms.CharField(
        label="compose.yaml",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "mono"}),
    )
    env = forms.CharField(
        label=".env",
        strip=False,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "mono"}),
    )


class StackRemoveForm(NameTypedBackForm):
    confirm = forms.CharField(label="Type the stack's name", max_length=128)

    def __init__(self, *args: Any, stack: str, **kwargs: Any) -> None:
        super().__init__(*args, name=stack, **kwargs)
        self.stack = stack
