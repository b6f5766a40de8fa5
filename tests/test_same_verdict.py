"""One rule per input: every form field that takes an alias, a label, a label key, a label
filter, an image reference or a host name gives the same verdict on a value as the
engine_client rule for that input (engine_client/validators.py).

The fields are found, not listed: every Form subclass in the dashboard's modules is walked,
and a field's input kind is read from the engine_client rule it names (`field.rule`, see
dashboard/forms/fields.py). A field whose name says it takes one of these inputs but that
names no known rule fails the test, so a new form cannot leave the rule out unseen.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import pytest
from django import forms
from django.core.exceptions import ValidationError

import dashboard
from dashboard.forms.fields import LIST_SEPARATORS
from dashboard.forms.hosts import check_engine_url
from engine_client import InvalidArgument
from engine_client import validators as v

# Modules not walked: settings and the ASGI entry point configure things when imported;
# migrations hold no forms.
SKIP_MODULES = ("dashboard.settings", "dashboard.asgi", "dashboard.migrations")

# The engine_client rules, by the input they check.
KIND_OF_RULE: dict[Callable[..., Any], str] = {
    v.check_alias: "alias",
    v.check_labels: "labels",
    v.check_label_key: "label key",
    v.check_label_filter: "label filter",
    v.check_image: "image",
    v.parse_reference: "image",
    v.check_hostname: "host name",
}
# Field names that promise one of these inputs: such a field must name a known rule.
NAMES_OF_KIND = {"aliases", "alias", "labels", "label", "image", "reference", "hostname"}

H64 = "0123456789abcdef" * 4
LONG_HOST = ".".join(["a" * 63] * 3 + ["b" * 61])  # 253: the longest host name
VALUES: dict[str, list[str]] = {
    "alias": [
        "web",
        "db.local",
        "a",
        "a_b-c.d",
        "x" * 64,
        "x" * 65,
        "web.",
        "web-",
        "web_",
        "-web",
        ".web",
        "bad alias",
        "two,aliases",
        "nul\x00l",
        "wéb",
        "ünïcödé",
        "web\u200b",
        "<b>web</b>",
    ],
    "labels": [
        "com.example.key=v",
        "a=",
        "k=with spaces, and commas",
        " k = v ",
        "k.=v",
        "k-=v",
        "k=vé",
        "k=" + "v" * 4096,
        "k=" + "v" * 4097,
        "k" * 255 + "=v",
        "k" * 256 + "=v",
        "-k=v",
        ".k=v",
        "=v",
        "novalue",
        "k k=v",
        "ké=v",
        "k=v\x00",
        "k\x00=v",
        "k<b>=v",
    ],
    "label key": [
        "com.example.key",
        "k",
        "k" * 255,
        "k" * 256,
        "-k",
        "k.",
        "ké",
        "k\x00",
        "k=v",
        "two keys",
    ],
    "label filter": [
        "env",
        "env=prod",
        "env=",
        "env=a b",
        "k=" + "v" * 1000,
        "k=" + "v" * 4096,
        "k=" + "v" * 4097,
        "k" * 255,
        "k" * 256,
        "=v",
        "-k",
        "k k",
        "k=\x00",
        "ké=v",
        "k=vé",
        " env ",
        "k.=v",
    ],
    "image": [
        "busybox",
        "lab/busybox:latest",
        "127.0.0.1:5000/lab/busybox:1",
        "localhost/app",
        f"busybox@sha256:{H64}",
        f"sha256:{H64}",
        H64[:12],
        "a" * 255,
        "a" * 256,
        "a/" + "b" * 250 + ":" + "t" * 128,
        "Busybox",
        "busybox:",
        "busybox.",
        "busybox-",
        "-busybox",
        "bad image",
        "busy\x00box",
        "büsybox",
        "../etc",
        " busybox ",
    ],
    "host name": [
        "box",
        "my-host.example.com",
        "1.2.3.4",
        "a" * 63,
        "a" * 64,
        LONG_HOST,
        LONG_HOST + "b",
        "host.",
        "host-",
        "-host",
        "ho_st",
        "ho st",
        "h\x00st",
        "hôst",
        "a..b",
    ],
}


def _walk_dashboard() -> None:
    importlib.import_module("dashboard.urls")  # first, as Django does: it registers converters
    for info in pkgutil.walk_packages(dashboard.__path__, "dashboard."):
        if not info.name.startswith(SKIP_MODULES):
            importlib.import_module(info.name)


def _form_classes() -> list[type[forms.Form]]:
    _walk_dashboard()
    found, todo = [], list(forms.Form.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("dashboard.") and cls.base_fields:
            found.append(cls)
    return sorted(set(found), key=lambda c: f"{c.__module__}.{c.__qualname__}")


def _rule_of(field: forms.Field) -> Callable[..., Any] | None:
    rule = getattr(field, "rule", None)
    return getattr(rule, "func", rule)  # a functools.partial names its function


def _fields() -> tuple[list[tuple[type[forms.Form], str, str]], list[str]]:
    """(form, field name, kind) for every field with a known rule; and the fields whose
    name promises such an input but that name no known rule."""
    cases, unruled = [], []
    for cls in _form_classes():
        for name, field in cls.base_fields.items():
            kind = KIND_OF_RULE.get(_rule_of(field))  # type: ignore[arg-type]
            if kind:
                cases.append((cls, name, kind))
            elif name in NAMES_OF_KIND and isinstance(field, forms.CharField):
                unruled.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
    return cases, unruled


FIELDS, UNRULED = _fields()


def _verdict(call: Callable[[], Any]) -> bool:
    try:
        call()
    except (InvalidArgument, ValidationError):
        return False
    return True


def _expected(field: forms.Field, kind: str, value: str) -> bool:
    """What the engine_client rule says, for the value as the field reads it: blank means
    "not given"; surrounding spaces are trimmed (every text field does); a list field takes
    several items (split at spaces and commas); a labels field takes key=value lines."""
    text = value.strip()
    if not text:
        return not field.required
    rule = field.rule  # type: ignore[attr-defined]
    if kind in ("alias", "label key"):
        return all(_verdict(lambda i=i: rule(i)) for i in LIST_SEPARATORS.split(text) if i)
    if kind == "labels":
        key, eq, val = text.partition("=")
        return bool(eq) and _verdict(lambda: v.check_labels({key.strip(): val.strip()}))
    return _verdict(lambda: rule(text))


def _form_verdict(cls: type[forms.Form], name: str, value: str) -> bool:
    """The form's verdict on this one field: the field's own cleaning, then the form's
    `clean_<name>` if it has one (where a second rule could hide)."""
    field = cls.base_fields[name]
    form = cls.__new__(cls)  # no __init__: the field's verdict needs no engine or request
    form.fields = {name: field}
    form.cleaned_data = {}

    def clean() -> None:
        form.cleaned_data[name] = field.clean(value)
        if hasattr(form, f"clean_{name}"):
            getattr(form, f"clean_{name}")()

    return _verdict(clean)


def test_every_field_that_takes_such_an_input_names_its_engine_client_rule():
    assert not UNRULED, f"fields without an engine_client rule: {UNRULED}"


def test_every_kind_is_taken_by_some_form():
    # The walk found the forms (a broken walk would pass every test below by finding none).
    assert {kind for _, _, kind in FIELDS} == set(VALUES)


@pytest.mark.parametrize(
    ("cls", "name", "kind"),
    FIELDS,
    ids=[f"{c.__module__.rsplit('.', 1)[-1]}.{c.__name__}.{n}" for c, n, _ in FIELDS],
)
def test_the_form_and_the_engine_client_agree(cls, name, kind):
    field = cls.base_fields[name]
    differ = []
    for value in VALUES[kind]:
        expected = _expected(field, kind, value)
        if _form_verdict(cls, name, value) != expected:
            differ.append((value[:60] + ("…" if len(value) > 60 else ""), expected))
    assert not differ, f"the form and engine_client differ on (value, engine_client's): {differ}"


# An address longer than the host form's 255 characters in all is refused for its length
# alone, whatever its host name: those values say nothing about the host-name rule.
ADDRESS_HOST_NAMES = [h for h in VALUES["host name"] if len(f"tcp://{h}:2376") <= 255]


@pytest.mark.parametrize("value", ADDRESS_HOST_NAMES)
def test_an_engine_address_takes_the_same_host_names(value):
    """A TCP engine's address (the host form) names its host by the same rule."""
    url = f"tcp://{value}:2376"
    expected = v.valid_ip(value) or _verdict(lambda: v.check_hostname(value))
    assert _verdict(lambda: check_engine_url(url)) == expected
