"""The container form (create, create and start, run once, duplicate, edit/recreate) and the
small forms of the other container actions. Every field is checked before anything is sent
to the engine, with its message beside it; what only the engine can tell (a name taken, an
image that is not here) is asked of it before the create, and a refusal of the create
itself is put beside the field it concerns."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms import formset_factory

from engine_client import EngineClient, InvalidArgument, NotFound
from engine_client.container_spec import (
    BUILTIN_NETWORKS,
    CAPABILITIES,
    PROTOCOLS,
    RESTART_POLICIES,
    ContainerSpec,
    HealthSpec,
    MountSpec,
    PortSpec,
    format_cpus,
    format_memory,
    parse_cpus,
    parse_memory,
)
from engine_client.validators import (
    IMAGE_REF_MAX,
    LABEL_FILTER_MAX,
    check_alias,
    check_container_name,
    check_hostname,
    check_image,
    check_label_filter,
    check_tmpfs,
    check_user,
    check_volume_name,
    format_duration,
    is_container_id,
    parse_duration,
    valid_ip,
)

from ..presenters import SECRET_NAME
from .fields import (
    KeyValueField,
    ListField,
    RuleField,
    engine_rule,
    parse_env_lines,
    parse_words,
)
from .projects import project_field

MIN_MEMORY = 6 * 1024 * 1024  # the engine's own minimum
# What a secret-looking variable's value shows as in a form filled from a container: the
# value itself never reaches the page; on submit the source container's value is put back.
HIDDEN_VALUE = "••••••••"


class PortForm(forms.Form):
    host_ip = forms.CharField(label="Host IP", required=False, max_length=45)
    host_port = forms.IntegerField(label="Host port", required=False)
    container_port = forms.IntegerField(label="Container port", required=False)
    protocol = forms.ChoiceField(
        label="Protocol", choices=[(p, p) for p in PROTOCOLS], initial="tcp", required=False
    )

    def clean_host_ip(self) -> str:
        ip = self.cleaned_data["host_ip"].strip()
        if ip and not valid_ip(ip):
            raise ValidationError("Not an IP address.")
        return ip

    def _port(self, name: str) -> int | None:
        value = self.cleaned_data.get(name)
        if value is not None and not 1 <= value <= 65535:
            raise ValidationError("A port is a number from 1 to 65535.")
        return value

    def clean_host_port(self) -> int | None:
        return self._port("host_port")

    def clean_container_port(self) -> int | None:
        return self._port("container_port")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        missing = not data.get("container_port") and "container_port" not in self.errors
        if missing and (data.get("host_ip") or data.get("host_port")):
            self.add_error("container_port", "Which port in the container?")
        return data

    def spec(self) -> PortSpec | None:
        d = self.cleaned_data
        if not d.get("container_port"):
            return None
        return PortSpec(
            d["container_port"], d.get("protocol") or "tcp", d["host_ip"], d.get("host_port")
        )


class MountForm(forms.Form):
    type = forms.ChoiceField(
        label="Type",
        choices=[("bind", "host path"), ("volume", "volume")],
        initial="bind",
        required=False,
    )
    source = forms.CharField(label="Host path or volume", required=False, max_length=4096)
    target = forms.CharField(label="Path in the container", required=False, max_length=4096)
    read_only = forms.BooleanField(label="Read-only", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        source = (data.get("source") or "").strip()
        target = (data.get("target") or "").strip()
        kind = data.get("type") or "bind"
        if not source and not target:
            return data
        if not source:
            self.add_error("source", "A host path or a volume name is needed.")
        elif kind == "bind" and not source.startswith("/"):
            self.add_error(
                "source",
                "A host path must be absolute (start with /); relative paths are not allowed.",
            )
        elif kind == "volume":
            try:
                engine_rule(check_volume_name, source)
            except ValidationError as exc:
                self.add_error("source", exc)
        if not target:
            self.add_error("target", "Where should it appear in the container?")
        elif not target.startswith("/"):
            self.add_error("target", "The path in the container must be absolute.")
        elif target == "/":
            self.add_error("target", "Cannot mount over the container's root.")
        data["source"], data["target"] = source, target
        return data

    def spec(self) -> MountSpec | None:
        d = self.cleaned_data
        if not d.get("source") and not d.get("target"):
            return None
        return MountSpec(d.get("type") or "bind", d["source"], d["target"], d["read_only"])


PortFormSet = formset_factory(PortForm, extra=0, max_num=100, validate_max=True)
MountFormSet = formset_factory(MountForm, extra=0, max_num=100, validate_max=True)

RESTART_CHOICES = [
    ("no", "never"),
    ("always", "always"),
    ("unless-stopped", "unless stopped by hand"),
    ("on-failure", "on failure"),
]
assert {c for c, _ in RESTART_CHOICES} == set(RESTART_POLICIES)


class ContainerForm(forms.Form):
    """One form for every way of making a container. `client` answers what only the engine
    knows; `allow_privileged` shows the privileged/capability fields (admins)."""

    image = RuleField(
        check_image,
        label="Image",
        max_length=IMAGE_REF_MAX,
        widget=forms.TextInput(attrs={"list": "local-images", "autocomplete": "off"}),
    )
    pull = forms.BooleanField(label="Pull the image first", required=False)
    name = forms.CharField(label="Name", max_length=128, required=False)
    command = forms.CharField(label="Command", required=False, max_length=8192)
    entrypoint = forms.CharField(label="Entrypoint", required=False, max_length=4096)
    env = forms.CharField(
        label="Environment", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    env_file = forms.CharField(
        label="Env file", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    network = forms.ChoiceField(label="Network", required=False)
    aliases = ListField(check_alias, label="Network aliases", max_length=1024)
    restart = forms.ChoiceField(label="Restart", choices=RESTART_CHOICES, initial="no")
    restart_max = forms.IntegerField(label="Max retries", required=False, min_value=0)
    labels = KeyValueField(label="Labels")
    workdir = forms.CharField(label="Working dir", required=False, max_length=4096)
    user = forms.CharField(label="User", required=False, max_length=65)
    hostname = RuleField(check_hostname, label="Hostname", required=False, max_length=253)
    memory = forms.CharField(label="Memory limit", required=False, max_length=32)
    cpus = forms.CharField(label="CPUs", required=False, max_length=32)
    tty = forms.BooleanField(label="TTY", required=False)
    interactive = forms.BooleanField(label="Keep stdin open (interactive)", required=False)
    auto_remove = forms.BooleanField(label="Remove when it exits", required=False)
    privileged = forms.BooleanField(label="Privileged", required=False)
    cap_add = forms.CharField(label="Add capabilities", required=False, max_length=1024)
    cap_drop = forms.CharField(label="Drop capabilities", required=False, max_length=1024)
    health_cmd = forms.CharField(label="Health check command", required=False, max_length=4096)
    health_interval = forms.CharField(label="Check every", required=False, max_length=40)
    health_timeout = forms.CharField(label="Timeout", required=False, max_length=40)
    health_start_period = forms.CharField(label="Start period", required=False, max_length=40)
    # API 1.44 and later (Docker 25+); older engines ignore it.
    health_start_interval = forms.CharField(
        label="Check every (start period)", required=False, max_length=40
    )
    health_retries = forms.IntegerField(
        label="Retries", required=False, min_value=0, max_value=1000
    )
    no_healthcheck = forms.BooleanField(
        label="No health check (turn the image's off)", required=False
    )
    tmpfs = forms.CharField(
        label="tmpfs mounts",
        required=False,
        max_length=16 * 1024,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    keep = forms.BooleanField(label="Keep the container after a run once", required=False)
    # The container a duplicate was filled from: its hidden values are put back on submit.
    source = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)

    PRIVILEGED_FIELDS = ("privileged", "cap_add", "cap_drop")
    HEALTH_FIELDS = (
        "health_cmd",
        "health_interval",
        "health_timeout",
        "health_start_period",
        "health_start_interval",
        "health_retries",
    )

    def __init__(
        self,
        data: Any = None,
        *,
        client: EngineClient,
        allow_privileged: bool,
        networks: list[str],
        own_name: str = "",
        hidden_env: dict[str, str] | None = None,
        initial: dict[str, Any] | None = None,
        ports_initial: list[dict[str, Any]] | None = None,
        mounts_initial: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(data, initial=initial)
        self.client = client
        self.own_name = own_name  # a recreate keeps its own name
        # Values of the secret-looking variables of the container the form was filled from.
        self.hidden_env = hidden_env or {}
        self.allow_privileged = allow_privileged
        self.fields["network"].choices = [("", "default (bridge)")] + [
            (n, n) for n in networks if n != "default"
        ]
        if not allow_privileged:
            for name in self.PRIVILEGED_FIELDS:
                del self.fields[name]
        blank = 2
        self.ports = PortFormSet(data, prefix="ports", initial=ports_initial)
        self.mounts = MountFormSet(data, prefix="mounts", initial=mounts_initial)
        if data is None:
            self.ports.extra = blank if not ports_initial else 1
            self.mounts.extra = blank if not mounts_initial else 1
        self._ncpu: int | None = None
        # Refusals by the engine about a whole section (ports, mounts), shown beside it.
        self.section_errors: dict[str, str] = {}

    # -- fields ---------------------------------------------------------------------------

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip().lstrip("/")
        if not name:
            return ""
        engine_rule(check_container_name, name)
        if name != self.own_name and self._name_taken(name):
            raise ValidationError(f"A container named “{name}” already exists.")
        return name

    def _name_taken(self, name: str) -> bool:
        rows = self.client.containers.list(all=True, filters={"name": [name]})
        return any(f"/{name}" in (r.get("Names") or []) for r in rows)

    def clean_command(self) -> list[str] | None:
        return parse_words(self.cleaned_data["command"], "command")

    def clean_entrypoint(self) -> list[str] | None:
        return parse_words(self.cleaned_data["entrypoint"], "entrypoint")

    def clean_env(self) -> list[str]:
        lines = parse_env_lines(self.cleaned_data["env"])
        out, missing = [], []
        for line in lines:
            key, _, value = line.partition("=")
            if value == HIDDEN_VALUE:
                if key not in self.hidden_env:
                    missing.append(key)
                    continue
                line = f"{key}={self.hidden_env[key]}"
            out.append(line)
        if missing:
            raise ValidationError(
                f"The hidden value of {', '.join(missing)} cannot be kept (the container it "
                "came from no longer has it): type the value."
            )
        return out

    def clean_env_file(self) -> list[str]:
        return parse_env_lines(self.cleaned_data["env_file"], env_file=True)

    def clean_workdir(self) -> str:
        workdir = self.cleaned_data["workdir"].strip()
        if workdir and not workdir.startswith("/"):
            raise ValidationError("The working directory must be an absolute path.")
        return workdir

    def clean_user(self) -> str:
        user = self.cleaned_data["user"].strip()
        return engine_rule(check_user, user) if user else ""

    def clean_memory(self) -> int:
        text = self.cleaned_data["memory"].strip()
        if not text:
            return 0
        try:
            value = parse_memory(text)
        except InvalidArgument:
            raise ValidationError("Write a size such as 512m or 1g.") from None
        if value < MIN_MEMORY:
            raise ValidationError("The engine needs at least 6m.")
        return value

    def clean_cpus(self) -> int:
        text = self.cleaned_data["cpus"].strip()
        if not text:
            return 0
        try:
            nano = parse_cpus(text)
        except InvalidArgument as exc:
            raise ValidationError(f"Write {exc}.") from None
        ncpu = self.ncpu()
        if not 10_000_000 <= nano <= ncpu * 10**9:
            raise ValidationError(f"From 0.01 to {ncpu} (this engine has {ncpu} CPUs).")
        return nano

    def ncpu(self) -> int:
        if self._ncpu is None:
            self._ncpu = int(self.client.system.info().get("NCPU") or 1)
        return self._ncpu

    def _caps(self, name: str) -> list[str]:
        caps = [c.upper() for c in re.split(r"[\s,]+", self.cleaned_data.get(name) or "") if c]
        caps = [c[4:] if c.startswith("CAP_") else c for c in caps]
        bad = [c for c in caps if c not in CAPABILITIES]
        if bad:
            raise ValidationError(f"Unknown capability: {', '.join(bad[:5])}.")
        return caps

    def clean_cap_add(self) -> list[str]:
        return self._caps("cap_add")

    def clean_cap_drop(self) -> list[str]:
        return self._caps("cap_drop")

    def clean_health_cmd(self) -> list[str]:
        """The check's `Test`: a shell command line (CMD-SHELL), or a JSON array of words
        (CMD, run without a shell), as a Dockerfile's HEALTHCHECK takes them."""
        text = self.cleaned_data["health_cmd"].strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                words = json.loads(text)
            except ValueError:
                words = None
            if (
                not isinstance(words, list)
                or not words
                or not all(isinstance(w, str) for w in words)
            ):
                raise ValidationError(
                    'A JSON array of words such as ["pg_isready", "-U", "app"], or a shell '
                    "command line."
                )
            return ["CMD", *words]
        if "\x00" in text:
            raise ValidationError("The command cannot hold NUL.")
        return ["CMD-SHELL", text]

    def _duration(self, name: str) -> int:
        text = self.cleaned_data[name].strip()
        if not text:
            return 0
        try:
            return parse_duration(text)
        except InvalidArgument as exc:
            raise ValidationError(f"Write {exc}.") from None

    def clean_health_interval(self) -> int:
        return self._duration("health_interval")

    def clean_health_timeout(self) -> int:
        return self._duration("health_timeout")

    def clean_health_start_period(self) -> int:
        return self._duration("health_start_period")

    def clean_health_start_interval(self) -> int:
        return self._duration("health_start_interval")

    def clean_tmpfs(self) -> dict[str, str]:
        """One tmpfs a line: `/path` or `/path:size=64m,mode=1777` (as `docker run --tmpfs`)."""
        out: dict[str, str] = {}
        for n, line in enumerate(self.cleaned_data["tmpfs"].splitlines(), 1):
            line = line.strip()
            if not line:
                continue
            path, _, options = line.partition(":")
            try:
                check_tmpfs(path, options)
            except InvalidArgument as exc:
                raise ValidationError(f"Line {n}: {exc}.") from None
            if path in out:
                raise ValidationError(f"Line {n}: {path} is already a tmpfs above.")
            out[path] = options
        return out

    # -- across fields --------------------------------------------------------------------

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        restart = data.get("restart") or "no"
        if data.get("restart_max") and restart != "on-failure":
            self.add_error("restart_max", "Retries count only with “on failure”.")
        if data.get("auto_remove") and restart != "no":
            self.add_error("auto_remove", "A container that restarts cannot remove itself.")
        if data.get("aliases") and (data.get("network") or "") in BUILTIN_NETWORKS:
            self.add_error("aliases", "Aliases need a user-defined network (not the default).")
        health_set = [f for f in self.HEALTH_FIELDS if data.get(f)]
        if data.get("no_healthcheck") and health_set:
            self.add_error(
                "no_healthcheck", "Either no health check, or a check's settings: not both."
            )
        image = data.get("image")
        if image and not data.get("pull") and "image" not in self.errors:
            try:
                self.client.images.inspect(image)
            except InvalidArgument as exc:
                self.add_error("image", f"Not an image reference: {exc}.")
            except NotFound:
                self.add_error(
                    "image", f"No image “{image}” on this engine: tick “pull” or pick another."
                )
        return data

    def is_valid(self) -> bool:
        # Every part is checked, so that every message shows at once.
        valid = super().is_valid()
        ports_valid = self.ports.is_valid()
        mounts_valid = self.mounts.is_valid()
        if ports_valid:
            seen = set()
            for form in self.ports.forms:
                spec = form.spec() if form.is_valid() else None
                if spec and spec.host_port:
                    key = (spec.host_ip, spec.host_port, spec.protocol)
                    if key in seen:
                        form.add_error("host_port", "This host port is already used above.")
                        ports_valid = False
                    seen.add(key)
        if mounts_valid:
            targets = set()
            for form in self.mounts.forms:
                spec = form.spec() if form.is_valid() else None
                if spec:
                    if spec.target in targets:
                        form.add_error("target", "Two mounts at the same path.")
                        mounts_valid = False
                    targets.add(spec.target)
        return valid and ports_valid and mounts_valid

    def spec(self) -> ContainerSpec:
        d = self.cleaned_data
        return ContainerSpec(
            image=d["image"],
            name=d["name"],
            cmd=d["command"],
            entrypoint=d["entrypoint"],
            env=[*d["env_file"], *d["env"]],
            ports=[p for f in self.ports.forms if (p := f.spec())],
            mounts=[m for f in self.mounts.forms if (m := f.spec())],
            network=d.get("network") or "",
            aliases=d["aliases"],
            restart=d["restart"],
            restart_max=d.get("restart_max") or 0,
            labels=d["labels"],
            workdir=d["workdir"],
            user=d["user"],
            hostname=d["hostname"],
            memory=d["memory"],
            nano_cpus=d["cpus"],
            tty=d["tty"],
            interactive=d["interactive"],
            auto_remove=d["auto_remove"],
            privileged=d.get("privileged", False),
            cap_add=d.get("cap_add", []),
            cap_drop=d.get("cap_drop", []),
            health=self._health(),
            tmpfs=d["tmpfs"],
        )

    def _health(self) -> HealthSpec | None:
        d = self.cleaned_data
        if d.get("no_healthcheck"):
            return HealthSpec(["NONE"])
        if not any(d.get(f) for f in self.HEALTH_FIELDS):
            return None  # the image's own
        return HealthSpec(
            test=d["health_cmd"],
            interval=d["health_interval"],
            timeout=d["health_timeout"],
            start_period=d["health_start_period"],
            start_interval=d["health_start_interval"],
            retries=d.get("health_retries") or 0,
        )

    # -- engine refusals -----------------------------------------------------------------

    def engine_refused(self, message: str) -> None:
        """Put the engine's refusal of the create beside the field it is about."""
        low = message.lower()
        if "name" in low and ("conflict" in low or "already in use" in low):
            field = "name"
        elif "no such image" in low or "pull access denied" in low or "manifest" in low:
            field = "image"
        elif "bind source path" in low or "mount" in low or "volume" in low:
            self.section_errors["mounts"] = message
            return
        elif "port" in low:
            self.section_errors["ports"] = message
            return
        elif "memory" in low or "cpu" in low:
            field = "memory" if "memory" in low else "cpus"
        elif "capabilit" in low and "cap_add" in self.fields:
            field = "cap_add"
        elif "alias" in low:
            field = "aliases"
        elif "network" in low:
            field = "network"
        else:
            field = None
        self.add_error(field, message)

    @property
    def has_privileged_settings(self) -> bool:
        d = getattr(self, "cleaned_data", {})
        return bool(d.get("privileged") or d.get("cap_add") or d.get("cap_drop"))


def secret_values(env: list[str]) -> dict[str, str]:
    """The secret-looking variables (the env tab's rule) and their values."""
    return {
        key: value
        for key, sep, value in (e.partition("=") for e in env)
        if sep and SECRET_NAME.search(key)
    }


def form_initial(spec: ContainerSpec) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict]]:
    """A container's settings as the form's initial values (fields, ports rows, mounts rows).
    Secret-looking values are hidden (see HIDDEN_VALUE)."""
    secrets = secret_values(spec.env)
    initial = {
        "image": spec.image,
        "name": spec.name,
        "command": shlex.join(spec.cmd) if spec.cmd else "",
        "entrypoint": shlex.join(spec.entrypoint) if spec.entrypoint is not None else "",
        "env": "\n".join(
            f"{e.partition('=')[0]}={HIDDEN_VALUE}" if e.partition("=")[0] in secrets else e
            for e in spec.env
        ),
        "network": spec.network,
        "aliases": " ".join(spec.aliases),
        "restart": spec.restart,
        "restart_max": spec.restart_max or None,
        "labels": "\n".join(f"{k}={v}" for k, v in sorted(spec.labels.items())),
        "workdir": spec.workdir,
        "user": spec.user,
        "hostname": spec.hostname,
        "memory": format_memory(spec.memory) if spec.memory else "",
        "cpus": format_cpus(spec.nano_cpus) if spec.nano_cpus else "",
        "tty": spec.tty,
        "interactive": spec.interactive,
        "auto_remove": spec.auto_remove,
        "privileged": spec.privileged,
        "cap_add": " ".join(spec.cap_add),
        "cap_drop": " ".join(spec.cap_drop),
        "tmpfs": "\n".join(f"{p}:{o}" if o else p for p, o in sorted(spec.tmpfs.items())),
        **_health_initial(spec.health),
    }
    ports = [
        {
            "host_ip": p.host_ip,
            "host_port": p.host_port,
            "container_port": p.container_port,
            "protocol": p.protocol,
        }
        for p in spec.ports
    ]
    mounts = [
        {"type": m.type, "source": m.source, "target": m.target, "read_only": m.read_only}
        for m in spec.mounts
    ]
    return initial, ports, mounts


def _health_initial(health: HealthSpec | None) -> dict[str, Any]:
    if health is None:
        return {}
    if health.disabled:
        return {"no_healthcheck": True}
    test = health.test
    return {
        "health_cmd": json.dumps(test[1:]) if test[:1] == ["CMD"] else health.shell_command,
        "health_interval": format_duration(health.interval) if health.interval else "",
        "health_timeout": format_duration(health.timeout) if health.timeout else "",
        "health_start_period": format_duration(health.start_period) if health.start_period else "",
        "health_start_interval": format_duration(health.start_interval)
        if health.start_interval
        else "",
        "health_retries": health.retries or None,
    }


# -- the smaller actions ----------------------------------------------------------------------

SIGNALS = [
    "SIGKILL",
    "SIGTERM",
    "SIGINT",
    "SIGHUP",
    "SIGQUIT",
    "SIGUSR1",
    "SIGUSR2",
    "SIGSTOP",
    "SIGCONT",
]


class KillForm(forms.Form):
    signal = forms.ChoiceField(label="Signal", choices=[(s, s) for s in SIGNALS], initial="SIGKILL")


class RenameForm(forms.Form):
    name = forms.CharField(label="New name", max_length=128)

    def clean_name(self) -> str:
        return engine_rule(check_container_name, self.cleaned_data["name"].strip().lstrip("/"))


class TimeoutForm(forms.Form):
    t = forms.IntegerField(
        label="Seconds to wait before killing", required=False, min_value=0, max_value=3600
    )


BULK_ACTIONS = ["start", "stop", "restart", "pause", "unpause", "kill", "remove"]


class ContainerSelectionForm(forms.Form):
    """Containers named by their full ids (the request's list, given apart: a form field holds
    one value), each once, in the order given, at most `max_ids`."""

    ids = forms.CharField(required=False)  # filled from the request's list in clean()
    max_ids = 500

    def __init__(self, data: Any = None, ids: list[str] | None = None) -> None:
        super().__init__(data)
        self.id_list = ids or []

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        ids = list(dict.fromkeys(self.id_list))
        if not ids:
            raise ValidationError("Select at least one container.")
        if len(ids) > self.max_ids:
            raise ValidationError(f"At most {self.max_ids} containers at once.")
        if not all(is_container_id(i) for i in ids):
            raise ValidationError("Containers are named by their full ids.")
        data["ids"] = ids
        return data


class BulkForm(ContainerSelectionForm):
    action = forms.ChoiceField(choices=[(a, a) for a in BULK_ACTIONS])


class PruneForm(forms.Form):
    label = RuleField(
        check_label_filter, label="Only with label", required=False, max_length=LABEL_FILTER_MAX
    )


class ContainerFilterForm(forms.Form):
    q = forms.CharField(label="Filter", max_length=128, required=False, strip=True)
    show = forms.ChoiceField(
        label="Show",
        choices=[("all", "All"), ("running", "Running")],
        required=False,
        initial="all",
    )
    # Only the containers of one compose project (its label).
    project = project_field(label="Project", required=False)
    group = forms.ChoiceField(
        label="Group", choices=[("", "No grouping"), ("project", "By project")], required=False
    )
    # Only containers whose image has an update (from the cached checks: no registry call).
    updates = forms.BooleanField(label="Updates available", required=False)
    # The "errors in the last hour" column (reads the shown rows' logs: off unless asked).
    errors = forms.BooleanField(label="Errors in the last hour", required=False)


class ContainerRemoveForm(forms.Form):
    force = forms.BooleanField(required=False)
    volumes = forms.BooleanField(required=False)
    confirm = forms.CharField(required=False)
