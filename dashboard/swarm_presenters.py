"""Swarm, nodes, services, tasks, secrets and configs as the templates show them. Pure
functions over engine payloads, no engine calls."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from engine_client.container_spec import format_cpus
from engine_client.service_spec import format_duration

from .presenters import human_bytes, mask_env, parse_time

# Task states that will not change any more (a task that reached one is history).
TASK_ENDED = {"complete", "shutdown", "failed", "rejected", "remove", "orphaned"}
TASK_FAILED = {"failed", "rejected"}


def mask_token(token: str) -> str:
    """'SWMTKN-1-3pu6…-1awx…' -> 'SWMTKN-1-••••••••': what the page shows until revealed."""
    if not token:
        return ""
    head = token.split("-", 2)
    return f"{head[0]}-{head[1]}-••••••••" if len(head) == 3 else "••••••••"


def node_row(n: dict[str, Any], leader_id: str = "") -> dict[str, Any]:
    spec = n.get("Spec") or {}
    desc = n.get("Description") or {}
    status = n.get("Status") or {}
    manager = n.get("ManagerStatus") or {}
    resources = desc.get("Resources") or {}
    nid = n.get("ID", "")
    return {
        "id": nid,
        "short_id": nid[:12],
        "hostname": desc.get("Hostname", ""),
        "name": spec.get("Name") or desc.get("Hostname", "") or nid[:12],
        "role": spec.get("Role", ""),
        "availability": spec.get("Availability", ""),
        "state": status.get("State", "unknown"),
        "message": status.get("Message", ""),
        "addr": status.get("Addr", ""),
        "leader": bool(manager.get("Leader")),
        "reachability": manager.get("Reachability", ""),
        "manager_addr": manager.get("Addr", ""),
        "engine": (desc.get("Engine") or {}).get("EngineVersion", ""),
        "platform": "/".join(
            x
            for x in ((desc.get("Platform") or {}).get(k, "") for k in ("OS", "Architecture"))
            if x
        ),
        "cpus": (resources.get("NanoCPUs") or 0) / 1e9,
        "memory": int(resources.get("MemoryBytes") or 0),
        "labels": sorted((spec.get("Labels") or {}).items()),
        "engine_labels": sorted(((desc.get("Engine") or {}).get("Labels") or {}).items()),
        "version": int((n.get("Version") or {}).get("Index") or 0),
        "created": parse_time(n.get("CreatedAt")),
        "updated": parse_time(n.get("UpdatedAt")),
    }


def _mode(spec: dict[str, Any]) -> tuple[str, int | None]:
    mode = spec.get("Mode") or {}
    if "Replicated" in mode:
        return "replicated", int((mode["Replicated"] or {}).get("Replicas") or 0)
    if "Global" in mode:
        return "global", None
    if "ReplicatedJob" in mode:
        return "replicated job", None
    if "GlobalJob" in mode:
        return "global job", None
    return "?", None


def _ports(s: dict[str, Any]) -> list[str]:
    ports = (s.get("Endpoint") or {}).get("Ports") or []
    if not ports:
        ports = ((s.get("Spec") or {}).get("EndpointSpec") or {}).get("Ports") or []
    out = []
    for p in ports:
        published = p.get("PublishedPort")
        target = f"{p.get('TargetPort')}/{p.get('Protocol', 'tcp')}"
        mode = p.get("PublishMode", "ingress")
        out.append(f"{published}→{target} ({mode})" if published else f"{target} ({mode})")
    return out


def service_row(s: dict[str, Any]) -> dict[str, Any]:
    spec = s.get("Spec") or {}
    task = spec.get("TaskTemplate") or {}
    container = task.get("ContainerSpec") or {}
    status = s.get("ServiceStatus") or {}
    mode, replicas = _mode(spec)
    running = status.get("RunningTasks")
    desired = status.get("DesiredTasks")
    if desired is None:
        desired = replicas
    update = s.get("UpdateStatus") or {}
    update_state = update.get("State", "")
    if running is None:
        health = "unknown"
    elif update_state in ("updating", "rollback_started"):
        health = "updating"
    elif update_state in ("paused", "rollback_paused"):
        health = "paused"
    elif desired and running >= desired:
        health = "healthy"
    elif running:
        health = "degraded"
    elif desired:
        health = "down"
    else:
        health = "idle"
    image = container.get("Image", "")
    sid = s.get("ID", "")
    return {
        "id": sid,
        "short_id": sid[:12],
        "name": spec.get("Name", ""),
        "mode": mode,
        "replicas": replicas,
        "running": running,
        "desired": desired,
        "health": health,
        "image": image.split("@sha256:")[0],
        "image_full": image,
        "ports": _ports(s),
        "created": parse_time(s.get("CreatedAt")),
        "updated": parse_time(s.get("UpdatedAt")),
        "update_state": update_state,
        "update_message": update.get("Message", ""),
        "update_started": parse_time(update.get("StartedAt")),
        "update_completed": parse_time(update.get("CompletedAt")),
        "has_previous": bool(s.get("PreviousSpec")),
        "version": int((s.get("Version") or {}).get("Index") or 0),
        "labels": sorted((spec.get("Labels") or {}).items()),
        "tty": bool(container.get("TTY")),
        # Still moving: the page re-reads it until it settles (see swarm/_service_status).
        "converging": update_state in ("updating", "rollback_started")
        or (running is not None and desired is not None and running != desired),
    }


def service_detail(s: dict[str, Any]) -> dict[str, Any]:
    row = service_row(s)
    spec = s.get("Spec") or {}
    task = spec.get("TaskTemplate") or {}
    container = task.get("ContainerSpec") or {}
    resources = task.get("Resources") or {}
    placement = task.get("Placement") or {}
    restart = task.get("RestartPolicy") or {}
    update = spec.get("UpdateConfig") or {}
    rollback = spec.get("RollbackConfig") or {}
    row.update(
        {
            "command": (container.get("Command") or []) + (container.get("Args") or []),
            "env": mask_env(container.get("Env")),
            "mounts": [
                f"{m.get('Type')}: {m.get('Source') or '—'} → {m.get('Target')}"
                + (" (read-only)" if m.get("ReadOnly") else "")
                for m in container.get("Mounts") or []
            ],
            "secrets": [
                (x.get("SecretName", ""), (x.get("File") or {}).get("Name", ""))
                for x in container.get("Secrets") or []
            ],
            "configs": [
                (x.get("ConfigName", ""), (x.get("File") or {}).get("Name", ""))
                for x in container.get("Configs") or []
            ],
            "networks": [
                n.get("Target", "") for n in (task.get("Networks") or spec.get("Networks") or [])
            ],
            "constraints": placement.get("Constraints") or [],
            "preferences": [
                (p.get("Spread") or {}).get("SpreadDescriptor", "")
                for p in placement.get("Preferences") or []
            ],
            "limits": _resources_text(resources.get("Limits")),
            "reservations": _resources_text(resources.get("Reservations")),
            "restart": restart,
            "restart_delay": format_duration(restart.get("Delay")),
            "update_config": update,
            "update_delay": format_duration(update.get("Delay")),
            "rollback_config": rollback,
            "force_update": int(task.get("ForceUpdate") or 0),
            "container_labels": sorted((container.get("Labels") or {}).items()),
            "previous_image": ((s.get("PreviousSpec") or {}).get("TaskTemplate") or {})
            .get("ContainerSpec", {})
            .get("Image", "")
            .split("@sha256:")[0],
        }
    )
    return row


def _resources_text(r: dict[str, Any] | None) -> str:
    r = r or {}
    parts = []
    if r.get("NanoCPUs"):
        parts.append(f"{format_cpus(int(r['NanoCPUs']))} CPUs")
    if r.get("MemoryBytes"):
        parts.append(human_bytes(int(r["MemoryBytes"])))
    return ", ".join(parts)


def task_row(
    t: dict[str, Any], nodes: dict[str, str], services: dict[str, str] | None = None
) -> dict[str, Any]:
    status = t.get("Status") or {}
    cstatus = status.get("ContainerStatus") or {}
    state = status.get("State", "")
    service_name = (services or {}).get(t.get("ServiceID", ""), "")
    slot = t.get("Slot")
    node_id = t.get("NodeID", "")
    name = (
        f"{service_name}.{slot}"
        if service_name and slot
        else (service_name or t.get("ID", "")[:12])
    )
    if service_name and not slot and node_id:
        name = f"{service_name}.{node_id[:12]}"  # a global service's task: one per node
    exit_code = cstatus.get("ExitCode")
    return {
        "id": t.get("ID", ""),
        "short_id": t.get("ID", "")[:12],
        "name": name,
        "service_id": t.get("ServiceID", ""),
        "service": service_name,
        "slot": slot,
        "node_id": node_id,
        "node": nodes.get(node_id, node_id[:12]),
        "state": state,
        "desired": t.get("DesiredState", ""),
        "message": status.get("Message", ""),
        "error": status.get("Err", ""),
        "exit_code": exit_code if exit_code not in (None, 0) or state in TASK_ENDED else None,
        "container_id": cstatus.get("ContainerID", ""),
        "image": ((t.get("Spec") or {}).get("ContainerSpec") or {})
        .get("Image", "")
        .split("@sha256:")[0],
        "when": parse_time(status.get("Timestamp")),
        "ended": state in TASK_ENDED,
        "failed": state in TASK_FAILED,
    }


def task_rows(
    tasks: list[dict[str, Any]], nodes: dict[str, str], services: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Current tasks first (by slot), then history, newest first."""
    rows = [task_row(t, nodes, services) for t in tasks]
    rows.sort(key=lambda r: r["when"].timestamp() if r["when"] else 0, reverse=True)
    rows.sort(
        key=lambda r: (
            r["desired"] != "running",
            r["ended"],
            r["name"] if r["desired"] == "running" else "",
        )
    )
    return rows


def node_names(nodes: list[dict[str, Any]]) -> dict[str, str]:
    return {n.get("ID", ""): (n.get("Description") or {}).get("Hostname", "") for n in nodes}


def users_of(services: list[dict[str, Any]], kind: str) -> dict[str, list[dict[str, str]]]:
    """Secret (or config) ID -> the services that use it."""
    key, id_key = ("Secrets", "SecretID") if kind == "secret" else ("Configs", "ConfigID")
    out: dict[str, list[dict[str, str]]] = defaultdict(list)
    for s in services:
        spec = s.get("Spec") or {}
        container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
        for ref in container.get(key) or []:
            out[ref.get(id_key, "")].append({"id": s.get("ID", ""), "name": spec.get("Name", "")})
    return out


def data_row(obj: dict[str, Any], users: list[dict[str, str]]) -> dict[str, Any]:
    spec = obj.get("Spec") or {}
    return {
        "id": obj.get("ID", ""),
        "name": spec.get("Name", ""),
        "labels": sorted((spec.get("Labels") or {}).items()),
        "created": parse_time(obj.get("CreatedAt")),
        "updated": parse_time(obj.get("UpdatedAt")),
        "users": users,
        "driver": (spec.get("Driver") or {}).get("Name", ""),
        # Configs come back with their content; secrets never do.
        "content": _decoded(spec.get("Data")),
    }


def _decoded(data: str | None, limit: int = 4000) -> str | None:
    if not data:
        return None
    import base64
    import binascii

    try:
        raw = base64.b64decode(data)
    except (binascii.Error, ValueError):
        return None
    text = raw[:limit].decode("utf-8", "replace")
    return text + ("…" if len(raw) > limit else "")


def overview(
    nodes: list[dict[str, Any]], services: list[dict[str, Any]], tasks: list[dict[str, Any]]
) -> dict[str, Any]:
    """Nodes by state, services by health, the tasks failing now."""
    node_rows = [node_row(n) for n in nodes]
    service_rows = [service_row(s) for s in services]
    names = node_names(nodes)
    service_names = {s["id"]: s["name"] for s in service_rows}
    # Failing now: a slot (replica, or node of a global service) with no task running whose
    # newest finished task failed or was rejected (a crash loop shows as that), or whose
    # newest task cannot even be scheduled (pending with an error, e.g. no suitable node).
    slots: dict[tuple[str, Any], list[dict[str, Any]]] = defaultdict(list)
    for t in tasks:
        if t.get("ServiceID") in service_names:
            slots[(t["ServiceID"], t.get("Slot") or t.get("NodeID"))].append(t)
    failing = []
    for slot_tasks in slots.values():
        slot_tasks.sort(key=lambda t: (t.get("Status") or {}).get("Timestamp", ""), reverse=True)
        states = [((t.get("Status") or {}).get("State"), t.get("DesiredState")) for t in slot_tasks]
        if ("running", "running") in states:
            continue
        newest = slot_tasks[0]
        status = newest.get("Status") or {}
        if status.get("State") == "pending" and status.get("Err"):
            failing.append(task_row(newest, names, service_names))
            continue
        ended = next(
            (t for t in slot_tasks if (t.get("Status") or {}).get("State") in TASK_ENDED), None
        )
        if ended is not None and (ended.get("Status") or {}).get("State") in TASK_FAILED:
            failing.append(task_row(ended, names, service_names))
    return {
        "nodes": node_rows,
        "nodes_by_state": sorted(Counter(n["state"] for n in node_rows).items()),
        "nodes_by_availability": sorted(Counter(n["availability"] for n in node_rows).items()),
        "managers": sum(1 for n in node_rows if n["role"] == "manager"),
        "services": service_rows,
        "services_by_health": sorted(Counter(s["health"] for s in service_rows).items()),
        "failing": failing,
        "converging": any(s["converging"] for s in service_rows),
    }


def swarm_settings(swarm: dict[str, Any]) -> dict[str, Any]:
    spec = swarm.get("Spec") or {}
    return {
        "task_history": (spec.get("Orchestration") or {}).get("TaskHistoryRetentionLimit"),
        "heartbeat": format_duration((spec.get("Dispatcher") or {}).get("HeartbeatPeriod")),
        "cert_expiry": format_duration((spec.get("CAConfig") or {}).get("NodeCertExpiry")),
        "autolock": bool((spec.get("EncryptionConfig") or {}).get("AutoLockManagers")),
    }
