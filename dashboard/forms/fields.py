"""Form fields and parsers that several resource families share.

Every field here that takes a value the Engine API also takes (an alias, a label, a label
filter, an image reference, a host name) is checked by the engine_client rule for it, named
in the field's `rule` attribute: the form and the client cannot disagree, and a test
(tests/test_same_verdict.py) finds every such field by that attribute.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import ValidationError

from engine_client import InvalidArgument
from engine_client.validators import check_env_key, check_labels

T = TypeVar("T")
# What separates the items of a ListField.
LIST_SEPARATORS = re.compile(r"[\s,]+")


def engine_rule(check: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`check(...)`, with its refusal as a ValidationError (a message beside the field)."""
    try:
        return check(*args, **kwargs)
    except InvalidArgument as exc:
        raise ValidationError(str(exc)) from None


class RuleField(forms.CharField):
    """One value checked by an engine_client rule (`check_image`, `check_hostname`...).
    Blank is allowed when the field is not required."""

    def __init__(self, rule: Callable[[str], Any], **kwargs: Any) -> None:
        self.rule = rule
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        text = (super().clean(value) or "").strip()
        return str(engine_rule(self.rule, text)) if text else ""


class ListField(forms.CharField):
    """Several values, separated by spaces, commas or lines, each checked by `rule`; repeats
    are dropped, the order kept."""

    def __init__(self, rule: Callable[[str], Any], **kwargs: Any) -> None:
        self.rule = rule
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> list[str]:
        items = LIST_SEPARATORS.split(super().clean(value) or "")
        out: list[str] = []
        for item in items:
            if item and engine_rule(self.rule, item) not in out:
                out.append(item)
        return out


class KeyValueField(forms.CharField):
    """`key=value` pairs, one a line, into a dict, checked by `check_labels` (labels, and
    driver options with what="option"). Keys and values are stripped; a value may hold
    commas and spaces (`o=addr=10.0.0.1,rw`, `traefik...middlewares=a,b`). A refusal names
    its line."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 40})
    rule = staticmethod(check_labels)

    def __init__(self, what: str = "label", **kwargs: Any) -> None:
        self.what = what
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 64 * 1024)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> dict[str, str]:
        return parse_label_lines(super().clean(value) or "", self.what)


def parse_label_lines(text: str, what: str = "label") -> dict[str, str]:
    labels: dict[str, str] = {}
    errors = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep:
            errors.append(f"line {n}: {line.strip()[:60]!r} is not key=value")
            continue
        try:
            labels.update(check_labels({key.strip(): value.strip()}, what))
        except InvalidArgument as exc:
            errors.append(f"line {n}: {exc}")
    if errors:
        raise ValidationError(errors)
    return labels


def parse_words(text: str, what: str) -> list[str] | None:
    """Shell-like words ('sh -c "echo hi"'), None when empty."""
    if not text.strip():
        return None
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise ValidationError(f"The {what} cannot be read as words: {exc}.") from None


def parse_env_lines(text: str, *, env_file: bool = False) -> list[str]:
    """KEY=value lines. In an env file, blank lines and # comments are skipped, as
    `docker run --env-file` does; a line without '=' is refused (there is no environment
    here to take its value from)."""
    out: list[str] = []
    errors: list[str] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r")
        if env_file:
            line = line.lstrip()
            if not line or line.startswith("#"):
                continue
        elif not line.strip():
            continue
        key, sep, _ = line.partition("=")
        if not sep:
            errors.append(f"line {n}: “{line[:40]}” has no “=” (write KEY=value)")
            continue
        try:
            check_env_key(key)
        except InvalidArgument:
            errors.append(f"line {n}: “{key[:40]}” is not a variable name")
        else:
            out.append(line)
    if errors:
        raise ValidationError(errors)
    return out


class NameTypedBackForm(forms.Form):
    """A removal confirmed by typing the thing's name back (`confirm`, declared by the
    subclass with its own label): anything else is refused beside the field."""

    def __init__(self, *args: Any, name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.typed_back = name

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != self.typed_back:
            raise forms.ValidationError(f"type {self.typed_back} to remove it")
        return value
