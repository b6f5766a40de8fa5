"""Projects as the templates show them: pure functions over engine_client's Project (its
list entries), no engine calls."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from engine_client.projects import Project

from .presenters import container_row


def _task_row(task: dict[str, Any]) -> dict[str, Any]:
    status = task.get("Status") or {}
    return {
        "id": task.get("ID", ""),
        "short_id": (task.get("ID") or "")[:12],
        "name": f"task {task.get('Slot') or (task.get('NodeID') or '')[:12]}",
        "state": status.get("State", "unknown"),
        "status": status.get("Message", ""),
        "task": True,
    }


def project_list_row(p: Project) -> dict[str, Any]:
    """One project as the list shows it: the roll-up and per-service counts only. The list
    shows every project on the host at once, so it skips what only a project's own page
    shows (each container's row: ports, times, commands)."""
    services = []
    for s in p.services.values():
        total = len(s.containers) + len(s.tasks)
        running = sum(1 for c in s.containers if c.get("State") == "running") + sum(
            1 for t in s.tasks if (t.get("Status") or {}).get("State") == "running"
        )
        services.append(
            {"name": s.name or "(no service label)", "running": running, "total": total}
        )
    row: dict[str, Any] = {
        "name": p.name,
        "kind": p.kind,
        "summary": p.summary,
        "state": p.state,
        "running": p.running,
        "total": p.total,
        "unhealthy": p.unhealthy,
        "services": services,
        "networks": len(p.networks),
        "volumes": len(p.volumes),
        "working_dir": p.working_dir,
    }
    # What the row shows, digested: the list caches each row's HTML under it, so a reload
    # or a live resync renders only the rows that changed (see projects/_rows.html).
    row["key"] = hashlib.blake2b(
        json.dumps(row, sort_keys=True).encode(), digest_size=12
    ).hexdigest()
    return row


def _swarm_service(svc: dict[str, Any] | None, tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """A stack's service as its page shows it: replicas running/desired, its image, and
    the state of its last update (UpdateStatus: updating, completed, paused, rollback_...)."""
    if svc is None:
        return {}
    spec = svc.get("Spec") or {}
    mode = spec.get("Mode") or {}
    running = sum(1 for t in tasks if (t.get("Status") or {}).get("State") == "running")
    desired: int | None = (mode.get("Replicated") or {}).get("Replicas")
    if desired is None:  # global: one task per eligible node
        desired = len(tasks)
    update = svc.get("UpdateStatus") or {}
    image = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", "")
    return {
        "id": svc.get("ID", ""),
        "full_name": spec.get("Name", ""),
        "mode": "global" if "Global" in mode else "replicated",
        "replicas": f"{running}/{desired}",
        "desired": desired,
        "image": image.split("@")[0],
        "update_state": update.get("State", ""),
        "update_message": update.get("Message", ""),
    }


def project_row(p: Project) -> dict[str, Any]:
    """One project: its roll-up and what it holds, for the list's row and its page."""
    services: list[dict[str, Any]] = []
    for s in p.services.values():
        rows = [container_row(c) for c in s.containers] + [_task_row(t) for t in s.tasks]
        running = sum(1 for r in rows if r["state"] == "running")
        services.append(
            {
                "name": s.name or "(no service label)",
                "rows": rows,
                "running": running,
                "swarm": _swarm_service(s.service, s.tasks),
            }
        )
    return {
        "name": p.name,
        "kind": p.kind,
        "summary": p.summary,
        "state": p.state,
        "running": p.running,
        "total": p.total,
        "unhealthy": p.unhealthy,
        "services": services,
        "networks": [{"id": n.get("Id", ""), "name": n.get("Name", "")} for n in p.networks],
        "volumes": [{"name": v.get("Name", ""), "driver": v.get("Driver", "")} for v in p.volumes],
        "config_files": p.config_files,
        "working_dir": p.working_dir,
        # Containers that would go with a remove, by name (the confirm page lists them).
        "container_names": [r["name"] for s in services for r in s["rows"] if not r.get("task")],
        "containers": [(s["name"], r) for s in services for r in s["rows"] if not r.get("task")],
    }
