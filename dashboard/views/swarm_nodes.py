"""Swarm nodes: list, detail with the tasks there, availability (active / pause / drain),
promote / demote, labels, removal (of a node that is down, or forced). Admins only.

Every change is written with the node's current version; the client retries once when
another change came in between, and a conflict it cannot resolve is shown, not swallowed."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from engine_client import EngineClient, InvalidArgument
from engine_client.swarm import AVAILABILITIES

from .. import swarm_presenters as sp
from ..access import ADMIN, require_role
from ..audit import audited
from ..engines import Host
from ..forms.swarm import AvailabilityForm, LabelsForm, NodeRemoveForm, RoleForm
from ..swarm_web import live_url, swarm_url, swarm_view
from ..web import host_client, hx_redirect


def _node_rows(client: EngineClient) -> list[dict[str, Any]]:
    rows = [sp.node_row(n) for n in client.nodes.list()]
    rows.sort(key=lambda r: (r["role"] != "manager", r["hostname"]))
    return rows


@require_GET
@require_role(ADMIN)
@swarm_view
def node_list(request: HttpRequest, host: str) -> HttpResponse:
    h, client = host_client(request, host)
    context = {
        "host": h,
        "rows": _node_rows(client),
        "self_id": client.swarm.local_state()["node_id"],
        "ws_url": live_url(h, "nodes"),
        "initial_status": {"state": "connecting", "text": "connecting…"},
    }
    if request.htmx and request.htmx.target == "nodes-rows":
        return render(request, "swarm/_node_rows.html", context)
    return render(request, "swarm/nodes.html", context)


def _node_context(h: Host, client: EngineClient, ref: str) -> dict[str, Any]:
    node = sp.node_row(client.nodes.inspect(ref))
    tasks = client.tasks.list(filters={"node": [node["id"]]})
    services = {s["ID"]: s["Spec"]["Name"] for s in client.services.list(status=False)}
    rows = list(sp.task_rows(tasks, {node["id"]: node["hostname"]}, services))
    # Tasks on their way here or away (a drain, a scale): the part re-reads itself until
    # they settle, since a worker's task changes reach the manager's events only in part.
    converging = any(
        (r["desired"] == "running" and r["state"] != "running")
        or (r["desired"] != "running" and not r["ended"])
        for r in rows
    )
    return {
        "converging": converging,
        "host": h,
        "n": node,
        "tasks": [r for r in rows if not r["ended"]],
        "history": [r for r in rows if r["ended"]][:20],
        "self_id": client.swarm.local_state()["node_id"],
        "labels_form": LabelsForm(),
        "ws_url": live_url(h, "node", id=node["id"]),
        "initial_status": {"state": "connecting", "text": "connecting…"},
    }


@require_GET
@require_role(ADMIN)
@swarm_view
def node_detail(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    context = _node_context(h, client, ref)
    if request.htmx and request.htmx.target == "node-live":
        return render(request, "swarm/_node_live.html", context)
    return render(request, "swarm/node.html", context)


def _done(request: HttpRequest, h: Host, node_id: str, text: str) -> HttpResponse:
    messages.success(request, text)
    return hx_redirect(request, swarm_url("swarm-node", h, node_id))


# What an availability change means, said as a sentence.
AVAILABILITY_SAID = {
    "active": "Node {node} is active: it takes new tasks.",
    "pause": "Node {node} is paused: it keeps its tasks but takes no new ones.",
    "drain": "Node {node} is drained: its tasks move to other nodes.",
}


@require_POST
@require_role(ADMIN)
@swarm_view
def node_availability(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    form = AvailabilityForm(request.POST)
    if not form.is_valid():
        raise InvalidArgument(f"availability is one of {', '.join(AVAILABILITIES)}")
    value = form.cleaned_data["availability"]
    node = sp.node_row(client.nodes.inspect(ref))
    with audited(
        request, h.name, "node.availability", node["id"], node["hostname"], {"availability": value}
    ):
        client.nodes.set_availability(node["id"], value)
    return _done(request, h, node["id"], AVAILABILITY_SAID[value].format(node=node["hostname"]))


@require_POST
@require_role(ADMIN)
@swarm_view
def node_role(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    """Promote (role=manager) or demote (role=worker)."""
    h, client = host_client(request, host)
    form = RoleForm(request.POST)
    if not form.is_valid():
        raise InvalidArgument("role is worker or manager")
    role = form.cleaned_data["role"]
    node = sp.node_row(client.nodes.inspect(ref))
    action = "node.promote" if role == "manager" else "node.demote"
    with audited(request, h.name, action, node["id"], node["hostname"], {"role": role}):
        client.nodes.set_role(node["id"], role)
    verb = "promoted: it is a manager now" if role == "manager" else "demoted: it is a worker now"
    return _done(request, h, node["id"], f"Node {node['hostname']} is {verb}.")


@require_POST
@require_role(ADMIN)
@swarm_view
def node_labels(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    form = LabelsForm(request.POST)
    if not form.is_valid():
        context = _node_context(h, client, ref)
        context["labels_form"] = form
        template = "swarm/_node_labels_form.html" if request.htmx else "swarm/node.html"
        return render(request, template, context, status=400)
    add, remove = form.cleaned_data["add"], form.cleaned_data["remove"]
    node = sp.node_row(client.nodes.inspect(ref))
    with audited(
        request, h.name, "node.labels", node["id"], node["hostname"], {"add": add, "remove": remove}
    ):
        client.nodes.set_labels(node["id"], add, remove)
    return _done(request, h, node["id"], f"The labels of node {node['hostname']} are saved.")


@require_POST
@require_role(ADMIN)
@swarm_view
def node_remove(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    """The engine refuses a node that is not down unless forced; its words are shown."""
    h, client = host_client(request, host)
    form = NodeRemoveForm(request.POST)
    force = form.is_valid() and form.cleaned_data["force"]
    node = sp.node_row(client.nodes.inspect(ref))
    with audited(request, h.name, "node.remove", node["id"], node["hostname"], {"force": force}):
        client.nodes.remove(node["id"], force=force)
    messages.success(request, f"Node {node['hostname']} is removed from the swarm.")
    return hx_redirect(request, swarm_url("swarm-nodes", h))
