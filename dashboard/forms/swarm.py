"""The swarm's forms: init, join, leave, join tokens, settings, unlock; nodes (availability,
role, labels, removal); secrets and configs. Services have forms/swarm_services.py."""

from __future__ import annotations

import ipaddress
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from engine_client import InvalidArgument
from engine_client.service_spec import parse_duration
from engine_client.swarm import AVAILABILITIES, MAX_CONFIG_BYTES, MAX_SECRET_BYTES, ROLES
from engine_client.validators import (
    SECRET_NAME_MAX,
    check_addr,
    check_join_token,
    check_label_key,
    check_secret_name,
    check_unlock_key,
)

from .fields import KeyValueField, ListField, engine_rule


def _addr_field(label: str, help_text: str, required: bool = False) -> forms.CharField:
    return forms.CharField(label=label, required=required, max_length=100, help_text=help_text)


class _AddrForm(forms.Form):
    def _addr(self, name: str, what: str, port: bool = True) -> str:
        value = self.cleaned_data.get(name, "").strip()
        if value:
            engine_rule(check_addr, value, what, port=port)
        return value


class InitForm(_AddrForm):
    advertise_addr = _addr_field(
        "Advertise address", "the address other nodes reach this one at, e.g. 10.0.0.1"
    )
    listen_addr = _addr_field("Listen address", "default 0.0.0.0:2377")
    data_path_addr = _addr_field("Data path address", "empty: the advertise address")
    data_path_port = forms.IntegerField(
        label="Data path port",
        required=False,
        min_value=1024,
        max_value=49151,
        help_text="VXLAN port, default 4789",
    )
    default_addr_pool = forms.CharField(
        label="Default address pool",
        required=False,
        max_length=500,
        help_text="CIDRs for overlay networks, e.g. 10.20.0.0/16 (space-separated)",
    )
    subnet_size = forms.IntegerField(
        label="Subnet size", required=False, min_value=8, max_value=29, help_text="default 24"
    )

    def clean_advertise_addr(self) -> str:
        return self._addr("advertise_addr", "advertise address")

    def clean_listen_addr(self) -> str:
        return self._addr("listen_addr", "listen address") or "0.0.0.0:2377"

    def clean_data_path_addr(self) -> str:
        return self._addr("data_path_addr", "data path address", port=False)

    def clean_default_addr_pool(self) -> list[str]:
        out = []
        for item in self.cleaned_data["default_addr_pool"].replace(",", " ").split():
            try:
                out.append(str(ipaddress.ip_network(item, strict=True)))
            except ValueError as exc:
                raise forms.ValidationError(f"{item}: {exc}") from None
        return out


class JoinForm(_AddrForm):
    manager_host = forms.ChoiceField(
        label="Swarm of",
        required=False,
        help_text="another dashboard host that manages the swarm: its token is used, never shown",
    )
    role = forms.ChoiceField(
        label="Join as", choices=[("worker", "worker"), ("manager", "manager")], initial="worker"
    )
    remote_addr = _addr_field("Manager address", "e.g. 10.0.0.1:2377 (with a token below)")
    token = forms.CharField(
        label="Join token",
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text="SWMTKN-1-…",
    )
    advertise_addr = _addr_field("Advertise address", "this node's address, e.g. 10.0.0.2")
    listen_addr = _addr_field("Listen address", "default 0.0.0.0:2377")

    def __init__(self, *args: Any, managers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["manager_host"].choices = [("", "— paste a token —")] + [
            (m, m) for m in managers
        ]

    def clean_remote_addr(self) -> str:
        return self._addr("remote_addr", "manager address")

    def clean_advertise_addr(self) -> str:
        return self._addr("advertise_addr", "advertise address")

    def clean_listen_addr(self) -> str:
        return self._addr("listen_addr", "listen address") or "0.0.0.0:2377"

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].strip()
        return engine_rule(check_join_token, token) if token else ""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("manager_host"):
            if not data.get("token") and "token" not in self.errors:
                self.add_error("token", "paste a join token, or pick the swarm of another host")
            if not data.get("remote_addr") and "remote_addr" not in self.errors:
                self.add_error("remote_addr", "the address of a manager of the swarm")
        return data


class LeaveForm(forms.Form):
    force = forms.BooleanField(required=False)


class TokenForm(forms.Form):
    role = forms.ChoiceField(choices=[("worker", "worker"), ("manager", "manager")])


class SettingsForm(forms.Form):
    task_history = forms.IntegerField(
        label="Task history limit",
        min_value=-1,
        max_value=10000,
        help_text="finished tasks kept per slot (-1: all)",
    )
    heartbeat = forms.CharField(label="Dispatcher heartbeat", max_length=20, help_text="e.g. 5s")
    cert_expiry = forms.CharField(
        label="Node certificate expiry",
        max_length=20,
        help_text="e.g. 2160h (90 days), at least 1h",
    )
    autolock = forms.BooleanField(
        label="Autolock managers",
        required=False,
        help_text="a restarted manager stays locked until its unlock key is given",
    )

    def _duration(self, name: str, minimum: int) -> int:
        try:
            ns = parse_duration(self.cleaned_data[name])
        except InvalidArgument as exc:
            raise forms.ValidationError(str(exc)) from None
        if ns < minimum:
            raise forms.ValidationError(f"at least {minimum // 10**9} s")
        return ns

    def clean_heartbeat(self) -> int:
        return self._duration("heartbeat", 10**9)

    def clean_cert_expiry(self) -> int:
        return self._duration("cert_expiry", 3600 * 10**9)


class UnlockForm(forms.Form):
    key = forms.CharField(
        label="Unlock key", max_length=200, widget=forms.PasswordInput(render_value=False)
    )

    def clean_key(self) -> str:
        return engine_rule(check_unlock_key, self.cleaned_data["key"])


# -- nodes --


class AvailabilityForm(forms.Form):
    availability = forms.ChoiceField(choices=[(a, a) for a in AVAILABILITIES])


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=[(r, r) for r in ROLES])


class LabelsForm(forms.Form):
    add = KeyValueField(label="Add or change", help_text="key=value, one a line")
    remove = ListField(check_label_key, max_length=2000, help_text="keys, space-separated")


class NodeRemoveForm(forms.Form):
    force = forms.BooleanField(required=False)


# -- secrets and configs --


class DataForm(forms.Form):
    name = forms.CharField(max_length=SECRET_NAME_MAX)
    value = forms.CharField(
        strip=False,
        max_length=MAX_CONFIG_BYTES,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60, "autocomplete": "off"}),
    )
    labels = KeyValueField(label="Labels", help_text="key=value, one a line")

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        if kind == "secret":
            self.fields["value"].help_text = "sent to the swarm once; never shown again"

    def clean_name(self) -> str:
        return engine_rule(check_secret_name, self.cleaned_data["name"], self.kind)

    def clean_value(self) -> bytes:
        data = self.cleaned_data["value"].encode()
        limit = MAX_SECRET_BYTES if self.kind == "secret" else MAX_CONFIG_BYTES
        if not data:
            raise ValidationError("empty")
        if len(data) > limit:
            raise ValidationError(f"at most {limit // 1024} KiB")
        return data
