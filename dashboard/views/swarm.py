"""The swarm of a host: an overview (nodes by state, services by health, tasks failing now,
the last swarm events, live), and its lifecycle: init, join (as worker or manager, with a
token pasted or fetched from another dashboard host that manages the swarm), leave (forced
for a manager, after a warning that says what is lost), join tokens (masked until revealed,
each reveal audited) and their rotation, settings, autolock and unlocking.

Admins only: the swarm is the cluster itself."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from engine_client import EngineClient, EngineError, InvalidArgument, NotAvailable

from .. import presenters
from .. import swarm_presenters as sp
from ..access import ADMIN, may_use_host, require_role
from ..audit import audited
from ..engines import Host, client_for, configured_hosts
from ..forms.swarm import InitForm, JoinForm, LeaveForm, SettingsForm, TokenForm, UnlockForm
from ..swarm_web import live_url, not_manager_text, swarm_url, swarm_view
from ..web import host_client, hx_redirect

SWARM_EVENT_TYPES = ["service", "node", "secret", "config"]
RECENT_EVENTS = 30


def _other_managers(request: HttpRequest, h: Host) -> list[str]:
    """Other dashboard hosts this person may use whose engine manages a swarm (down ones
    skipped)."""
    out = []
    for name, other in configured_hosts().items():
        if name == h.name or not may_use_host(request.user, name):
            continue
        with contextlib.suppress(EngineError):
            state = client_for(other).swarm.local_state()
            if state["state"] == "active" and state["manager"]:
                out.append(name)
    return out


def _recent_events(
    client: EngineClient, node_names: dict[str, str], created: float
) -> list[dict[str, Any]]:
    """This swarm's last events (the engine keeps the last 256 of all kinds, those of a swarm
    it was in before too: hence from the swarm's creation on); nodes named by their
    hostnames where the event does not say."""
    now = time.time()
    since = max(now - 24 * 3600, created)
    stream = client.system.events(
        since=f"{since:.3f}", until=f"{now:.3f}", filters={"type": SWARM_EVENT_TYPES}
    )
    with contextlib.closing(stream):
        events = list(stream.objects())
    rows = [presenters.event_row(e) for e in events[-RECENT_EVENTS:]][::-1]
    for row in rows:
        if row["type"] == "node" and not row["name"]:
            row["name"] = node_names.get(row["id"], "")
    return rows


def _summary(client: EngineClient) -> dict[str, Any]:
    nodes = client.nodes.list()
    services = client.services.list()
    tasks = client.tasks.list()  # with the history: a crash loop shows only there
    return sp.overview(nodes, services, tasks)


def _manager_context(h: Host, client: EngineClient) -> dict[str, Any]:
    swarm = client.swarm.inspect()
    tokens = swarm.get("JoinTokens") or {}
    settings = sp.swarm_settings(swarm)
    summary = _summary(client)
    names = {n["id"]: n["hostname"] for n in summary["nodes"]}
    created = presenters.parse_time(swarm.get("CreatedAt"))
    return {
        "swarm": swarm,
        "swarm_created": created,
        "summary": summary,
        "events": _recent_events(client, names, created.timestamp() if created else 0),
        "tokens": {
            role: sp.mask_token(tokens.get(role.title(), "")) for role in ("worker", "manager")
        },
        "settings": settings,
        "settings_form": SettingsForm(initial=settings),
        "ws_url": live_url(h, "overview"),
        "initial_status": {"state": "connecting", "text": "connecting…"},
    }


def _overview(request: HttpRequest, h: Host, client: EngineClient, **forms_: Any) -> dict[str, Any]:
    state = client.swarm.local_state()
    context: dict[str, Any] = {"host": h, "state": state}
    if state["state"] == "inactive":
        context["init_form"] = forms_.get("init_form") or InitForm()
        context["join_form"] = forms_.get("join_form") or JoinForm(
            managers=_other_managers(request, h)
        )
    elif state["state"] == "locked":
        context["unlock_form"] = forms_.get("unlock_form") or UnlockForm()
    elif state["state"] == "active" and state["manager"]:
        try:
            context.update(_manager_context(h, client))
        except NotAvailable:
            # Demoted or left between the two calls: show what it is now.
            state = client.swarm.local_state()
            context["state"] = state
    context["not_manager_text"] = not_manager_text(state)
    return context


@require_GET
@require_role(ADMIN)
def swarm_overview(request: HttpRequest, host: str) -> HttpResponse:
    h, client = host_client(request, host)
    context = _overview(request, h, client)
    if request.htmx and request.htmx.target == "swarm-summary" and "summary" in context:
        return render(request, "swarm/_summary.html", context)
    return render(request, "swarm/overview.html", context)


def _form_error(
    request: HttpRequest, h: Host, client: EngineClient, name: str, form: forms.Form
) -> HttpResponse:
    context = _overview(request, h, client, **{name: form})
    context[name] = form
    return render(request, "swarm/overview.html", context, status=400)


@require_POST
@require_role(ADMIN)
def swarm_init(request: HttpRequest, host: str) -> HttpResponse:
    h, client = host_client(request, host)
    form = InitForm(request.POST)
    if not form.is_valid():
        return _form_error(request, h, client, "init_form", form)
    d = form.cleaned_data
    params = {k: v for k, v in d.items() if v not in ("", None, [])}
    try:
        with audited(request, h.name, "swarm.init", params=params) as entry:
            node_id = client.swarm.init(
                d["listen_addr"],
                d["advertise_addr"],
                data_path_addr=d["data_path_addr"],
                data_path_port=d["data_path_port"],
                default_addr_pool=d["default_addr_pool"],
                subnet_size=d["subnet_size"],
            )
            entry.params["node_id"] = node_id
    except (EngineError, InvalidArgument) as exc:
        # e.g. "could not choose an IP address to advertise": beside the form.
        form.add_error(None, str(exc))
        return _form_error(request, h, client, "init_form", form)
    messages.success(request, f"Swarm created; this engine is its first manager ({node_id}).")
    return hx_redirect(request, swarm_url("swarm-overview", h))


@require_POST
@require_role(ADMIN)
def swarm_join(request: HttpRequest, host: str) -> HttpResponse:
    h, client = host_client(request, host)
    form = JoinForm(request.POST, managers=_other_managers(request, h))
    if not form.is_valid():
        return _form_error(request, h, client, "join_form", form)
    d = form.cleaned_data
    token, remote = d["token"], d["remote_addr"]
    params = {
        "role": d["role"],
        "remote_addr": remote,
        "manager_host": d["manager_host"],
        "advertise_addr": d["advertise_addr"],
        "listen_addr": d["listen_addr"],
    }
    try:
        with audited(request, h.name, "swarm.join", params=params):
            if d["manager_host"]:
                manager = client_for(configured_hosts()[d["manager_host"]])
                swarm = manager.swarm.inspect()
                token = token or (swarm.get("JoinTokens") or {}).get(d["role"].title(), "")
                if not remote:
                    own = manager.nodes.inspect(manager.swarm.local_state()["node_id"])
                    remote = (own.get("ManagerStatus") or {}).get("Addr", "")
            try:
                client.swarm.join([remote], token, d["listen_addr"], d["advertise_addr"])
            except NotAvailable:
                # The engine's own timeout while the join goes on: see where it got to.
                if client.swarm.local_state()["state"] not in ("active", "pending"):
                    raise
    except (EngineError, InvalidArgument) as exc:
        form.add_error(None, str(exc))
        return _form_error(request, h, client, "join_form", form)
    messages.success(request, f"{h.name} joined the swarm at {remote} as a {d['role']}.")
    return hx_redirect(request, swarm_url("swarm-overview", h))


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def swarm_leave(request: HttpRequest, host: str) -> HttpResponse:
    """Asks first, saying what is lost; a manager must tick force."""
    h, client = host_client(request, host)
    state = client.swarm.local_state()
    form = LeaveForm(request.POST if request.method == "POST" else None)
    last_manager = state["manager"] and (state["managers"] or 0) <= 1
    if request.method == "POST" and form.is_valid():
        force = form.cleaned_data["force"]
        if state["manager"] and not force:
            form.add_error("force", "a manager leaves only when forced: tick the box")
        else:
            try:
                with audited(request, h.name, "swarm.leave", params={"force": force}):
                    client.swarm.leave(force=force)
            except EngineError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"{h.name} left the swarm.")
                return hx_redirect(request, swarm_url("swarm-overview", h))
    context = {"host": h, "state": state, "form": form, "last_manager": last_manager}
    return render(request, "swarm/leave.html", context, status=400 if form.errors else 200)


@require_POST
@require_role(ADMIN)
@swarm_view
def swarm_token_reveal(request: HttpRequest, host: str) -> HttpResponse:
    """One join token, shown to an admin who asks; every reveal is audited."""
    h, client = host_client(request, host)
    form = TokenForm(request.POST)
    if not form.is_valid():
        raise InvalidArgument("which token: worker or manager?")
    role = form.cleaned_data["role"]
    with audited(request, h.name, "swarm.token.reveal", params={"role": role}):
        token = (client.swarm.inspect().get("JoinTokens") or {}).get(role.title(), "")
    addr = client.swarm.local_state()["node_addr"]
    return render(request, "swarm/_token.html", {"role": role, "token": token, "addr": addr})


@require_POST
@require_role(ADMIN)
@swarm_view
def swarm_token_rotate(request: HttpRequest, host: str) -> HttpResponse:
    h, client = host_client(request, host)
    form = TokenForm(request.POST)
    if not form.is_valid():
        raise InvalidArgument("which token: worker or manager?")
    role = form.cleaned_data["role"]
    with audited(request, h.name, "swarm.token.rotate", params={"role": role}):
        client.swarm.update(
            rotate_worker_token=role == "worker", rotate_manager_token=role == "manager"
        )
    messages.success(request, f"The {role} join token was rotated; the old one no longer works.")
    return hx_redirect(request, swarm_url("swarm-overview", h))


@require_POST
@require_role(ADMIN)
@swarm_view
def swarm_settings(request: HttpRequest, host: str) -> HttpResponse:
    h, client = host_client(request, host)
    form = SettingsForm(request.POST)
    if not form.is_valid():
        return render(
            request, "swarm/_settings_form.html", {"host": h, "settings_form": form}, status=400
        )
    d = form.cleaned_data

    def change(spec: dict[str, Any]) -> None:
        spec.setdefault("Orchestration", {})["TaskHistoryRetentionLimit"] = d["task_history"]
        spec.setdefault("Dispatcher", {})["HeartbeatPeriod"] = d["heartbeat"]
        spec.setdefault("CAConfig", {})["NodeCertExpiry"] = d["cert_expiry"]
        spec.setdefault("EncryptionConfig", {})["AutoLockManagers"] = d["autolock"]

    with audited(request, h.name, "swarm.update", params=dict(d)):
        client.swarm.update(change)
    text = "Swarm settings saved."
    if d["autolock"]:
        text += " Autolock is on: reveal the unlock key below and keep it safe."
    messages.success(request, text)
    return hx_redirect(request, swarm_url("swarm-overview", h))


@require_POST
@require_role(ADMIN)
@swarm_view
def swarm_unlock_key(request: HttpRequest, host: str) -> HttpResponse:
    """The unlock key, revealed (audited) or rotated (audited) by an admin."""
    h, client = host_client(request, host)
    if request.POST.get("rotate") == "1":
        with audited(request, h.name, "swarm.unlockkey.rotate"):
            client.swarm.update(rotate_unlock_key=True)
        messages.success(request, "The unlock key was rotated: reveal the new one and keep it.")
        return hx_redirect(request, swarm_url("swarm-overview", h))
    with audited(request, h.name, "swarm.unlockkey.reveal"):
        key = client.swarm.unlock_key()
    return render(request, "swarm/_unlock_key.html", {"key": key})


@require_POST
@require_role(ADMIN)
def swarm_unlock(request: HttpRequest, host: str) -> HttpResponse:
    h, client = host_client(request, host)
    form = UnlockForm(request.POST)
    if form.is_valid():
        try:
            with audited(request, h.name, "swarm.unlock"):
                client.swarm.unlock(form.cleaned_data["key"])
        except EngineError as exc:
            form.add_error("key", exc.message)
        else:
            messages.success(request, f"{h.name} is unlocked.")
            return hx_redirect(request, swarm_url("swarm-overview", h))
    return _form_error(request, h, client, "unlock_form", form)
