"""The service forms: create (every setting the dashboard offers), scale, update image."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from engine_client import InvalidArgument
from engine_client.container_spec import parse_cpus, parse_memory
from engine_client.service_spec import (
    FAILURE_ACTIONS,
    MOUNT_TYPES,
    ORDERS,
    RESTART_CONDITIONS,
    ROLLBACK_FAILURE_ACTIONS,
    FileRef,
    Policy,
    ServiceMount,
    ServicePort,
    ServiceSpec,
    parse_duration,
)
from engine_client.validators import (
    IMAGE_REF_MAX,
    check_constraint,
    check_image,
    check_preference,
    check_service_name,
)

from .fields import KeyValueField, RuleField, engine_rule, parse_env_lines, parse_words

PORT_RE = re.compile(r"(?:(\d{1,5}):)?(\d{1,5})(?:/(tcp|udp|sctp))?(?:\s+(ingress|host))?")


def _choices(values: tuple[str, ...] | list[str]) -> list[tuple[str, str]]:
    return [(v, v) for v in values]


def _text(label: str, help_text: str = "", rows: int = 2, **kw: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=8000,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows, "cols": 40}),
        **kw,
    )


def _duration_field(label: str, initial: str) -> forms.CharField:
    return forms.CharField(label=label, initial=initial, max_length=20, help_text="e.g. 5s, 1m")


class ServiceForm(forms.Form):
    name = RuleField(check_service_name, max_length=63)
    image = RuleField(
        check_image, max_length=IMAGE_REF_MAX, help_text="e.g. 127.0.0.1:5000/app:1.2"
    )
    mode = forms.ChoiceField(choices=_choices(["replicated", "global"]), initial="replicated")
    replicas = forms.IntegerField(min_value=0, max_value=10000, initial=1, required=False)
    command = forms.CharField(
        required=False, max_length=4000, help_text="empty: the image's own; shell-like words"
    )
    env = _text("Environment", "KEY=value, one a line")
    stop_grace = forms.CharField(
        label="Stop grace period",
        initial="10s",
        max_length=20,
        help_text="how long a stopping task gets before it is killed",
    )
    ports = _text("Ports", "published:target[/proto] [ingress|host], one a line, e.g. 8080:80")
    mounts = _text("Mounts", "type=volume|bind|tmpfs,source=…,target=/path[,readonly], one a line")
    networks = forms.MultipleChoiceField(required=False, help_text="swarm networks (overlay)")
    constraints = _text("Constraints", "e.g. node.labels.zone==a, node.role!=manager")
    preferences = _text("Spread over", "e.g. node.labels.zone (placement preferences)", rows=1)
    max_per_node = forms.IntegerField(
        label="Max replicas per node", min_value=0, max_value=10000, required=False
    )
    limit_cpus = forms.CharField(label="CPU limit", required=False, max_length=20)
    limit_memory = forms.CharField(label="Memory limit", required=False, max_length=20)
    reserve_cpus = forms.CharField(label="CPU reservation", required=False, max_length=20)
    reserve_memory = forms.CharField(label="Memory reservation", required=False, max_length=20)
    restart_condition = forms.ChoiceField(choices=_choices(RESTART_CONDITIONS), initial="any")
    restart_delay = _duration_field("Restart delay", "5s")
    restart_max = forms.IntegerField(
        label="Restart attempts",
        min_value=0,
        max_value=1000,
        initial=0,
        required=False,
        help_text="0: no limit",
    )
    update_parallelism = forms.IntegerField(min_value=0, max_value=1000, initial=1)
    update_delay = _duration_field("Update delay", "0s")
    update_failure = forms.ChoiceField(choices=_choices(FAILURE_ACTIONS), initial="pause")
    update_order = forms.ChoiceField(choices=_choices(ORDERS), initial="stop-first")
    rollback_parallelism = forms.IntegerField(min_value=0, max_value=1000, initial=1)
    rollback_delay = _duration_field("Rollback delay", "0s")
    rollback_failure = forms.ChoiceField(
        choices=_choices(ROLLBACK_FAILURE_ACTIONS), initial="pause"
    )
    rollback_order = forms.ChoiceField(choices=_choices(ORDERS), initial="stop-first")
    secrets = forms.MultipleChoiceField(required=False, help_text="as files in /run/secrets/")
    configs = forms.MultipleChoiceField(required=False, help_text="as files /<name>")
    labels = KeyValueField(label="Labels", help_text="key=value, one a line")

    def __init__(
        self,
        *args: Any,
        networks: list[str],
        secrets: dict[str, str],
        configs: dict[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["networks"].choices = _choices(networks)
        self.secret_ids, self.config_ids = secrets, configs
        self.fields["secrets"].choices = _choices(sorted(secrets))
        self.fields["configs"].choices = _choices(sorted(configs))

    def clean_command(self) -> list[str] | None:
        return parse_words(self.cleaned_data["command"], "command")

    def clean_env(self) -> list[str]:
        return parse_env_lines(self.cleaned_data["env"])

    def clean_ports(self) -> list[ServicePort]:
        out = []
        for line in self.cleaned_data["ports"].splitlines():
            if not line.strip():
                continue
            m = PORT_RE.fullmatch(line.strip())
            if not m:
                raise ValidationError(f"“{line.strip()[:40]}”: write e.g. 8080:80/tcp host")
            published = int(m.group(1)) if m.group(1) else None
            port = ServicePort(
                int(m.group(2)), published, m.group(3) or "tcp", m.group(4) or "ingress"
            )
            try:
                port.body()
            except InvalidArgument as exc:
                raise ValidationError(f"“{line.strip()}”: {exc}") from None
            out.append(port)
        return out

    def clean_mounts(self) -> list[ServiceMount]:
        out = []
        for line in self.cleaned_data["mounts"].splitlines():
            if not line.strip():
                continue
            fields: dict[str, str] = {}
            for item in line.strip().split(","):
                key, _, value = item.strip().partition("=")
                fields[key] = value
            unknown = set(fields) - {"type", "source", "src", "target", "dst", "readonly", "ro"}
            if unknown or fields.get("type", "volume") not in MOUNT_TYPES:
                raise ValidationError(
                    f"“{line.strip()[:40]}”: write type=volume,source=x,target=/y"
                )
            mount = ServiceMount(
                fields.get("type", "volume"),
                fields.get("target") or fields.get("dst", ""),
                fields.get("source") or fields.get("src", ""),
                "readonly" in fields or "ro" in fields,
            )
            try:
                mount.body()
            except InvalidArgument as exc:
                raise ValidationError(f"“{line.strip()[:40]}”: {exc}") from None
            out.append(mount)
        return out

    def _lines(self, name: str, check: Callable[[str], str]) -> list[str]:
        # One a line or comma-separated; a constraint holds spaces around its operator.
        items = (item.strip() for item in re.split(r"[\n,]", self.cleaned_data[name]))
        return [engine_rule(check, item) for item in items if item]

    def clean_constraints(self) -> list[str]:
        return self._lines("constraints", check_constraint)

    def clean_preferences(self) -> list[str]:
        return self._lines("preferences", check_preference)

    def _size(self, name: str, parse: Any) -> int:
        text = self.cleaned_data[name].strip()
        if not text:
            return 0
        try:
            return parse(text)
        except InvalidArgument as exc:
            raise ValidationError(str(exc)) from None

    def clean_limit_cpus(self) -> int:
        return self._size("limit_cpus", parse_cpus)

    def clean_reserve_cpus(self) -> int:
        return self._size("reserve_cpus", parse_cpus)

    def clean_limit_memory(self) -> int:
        return self._size("limit_memory", parse_memory)

    def clean_reserve_memory(self) -> int:
        return self._size("reserve_memory", parse_memory)

    def _duration(self, name: str) -> int:
        try:
            return parse_duration(self.cleaned_data[name])
        except InvalidArgument as exc:
            raise ValidationError(str(exc)) from None

    def clean_stop_grace(self) -> int:
        return self._duration("stop_grace")

    def clean_restart_delay(self) -> int:
        return self._duration("restart_delay")

    def clean_update_delay(self) -> int:
        return self._duration("update_delay")

    def clean_rollback_delay(self) -> int:
        return self._duration("rollback_delay")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("mode") == "replicated" and data.get("replicas") is None:
            self.add_error("replicas", "how many replicas?")
        if data.get("mode") == "global" and data.get("max_per_node"):
            self.add_error("max_per_node", "a global service runs one task per node")
        return data

    def spec(self) -> ServiceSpec:
        d = self.cleaned_data
        return ServiceSpec(
            name=d["name"],
            image=d["image"],
            mode=d["mode"],
            replicas=d["replicas"] or 0,
            args=d["command"],
            env=d["env"],
            ports=d["ports"],
            mounts=d["mounts"],
            networks=d["networks"],
            constraints=d["constraints"],
            spread=d["preferences"],
            max_replicas_per_node=d["max_per_node"] or 0,
            limit_cpus=d["limit_cpus"],
            limit_memory=d["limit_memory"],
            reserve_cpus=d["reserve_cpus"],
            reserve_memory=d["reserve_memory"],
            restart_condition=d["restart_condition"],
            restart_delay=d["restart_delay"],
            restart_max_attempts=d["restart_max"] or 0,
            update=Policy(
                d["update_parallelism"],
                d["update_delay"],
                d["update_failure"],
                order=d["update_order"],
            ),
            rollback=Policy(
                d["rollback_parallelism"],
                d["rollback_delay"],
                d["rollback_failure"],
                order=d["rollback_order"],
            ),
            secrets=[FileRef(self.secret_ids[n], n) for n in d["secrets"]],
            configs=[FileRef(self.config_ids[n], n, f"/{n}") for n in d["configs"]],
            labels=d["labels"],
            stop_grace=d["stop_grace"],
        )


class ScaleForm(forms.Form):
    replicas = forms.IntegerField(min_value=0, max_value=10000)


class ImageForm(forms.Form):
    image = RuleField(check_image, max_length=IMAGE_REF_MAX)
