"""Engine payloads turned into what templates show. Pure functions, no engine calls."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE|AUTH", re.IGNORECASE)


def short_id(container_id: str) -> str:
    return container_id[:12]


def parse_time(value: str | int | float | None) -> datetime | None:
    """Unix seconds (list) or RFC 3339 with nanoseconds (inspect) -> aware datetime."""
    if value in (None, "", 0):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    text = str(value)
    if text.startswith("0001-01-01"):
        return None  # the engine's zero time: never happened
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$", text)
    if not m:
        return None
    frac = (m.group(2) or ".0")[1:7].ljust(6, "0")
    tz = m.group(3) or "Z"
    tz = "+00:00" if tz == "Z" else tz
    return datetime.fromisoformat(f"{m.group(1)}.{frac}{tz}")


def format_port(p: dict[str, Any]) -> str:
    private = f"{p.get('PrivatePort')}/{p.get('Type', 'tcp')}"
    if not p.get("PublicPort"):
        return private
    ip = p.get("IP") or "0.0.0.0"
    host = f"[{ip}]" if ":" in ip else ip
    return f"{host}:{p['PublicPort']}->{private}"


def format_ports(ports: list[dict[str, Any]] | None) -> list[str]:
    seen: list[str] = []
    for p in sorted(
        ports or [], key=lambda p: (p.get("PrivatePort") or 0, p.get("PublicPort") or 0)
    ):
        text = format_port(p)
        if text not in seen:
            seen.append(text)
    return seen


def container_name(names: list[str] | None, fallback: str = "") -> str:
    for n in names or []:
        # Links add names like /other/alias; the container's own name has one slash.
        if n.count("/") == 1:
            return n.lstrip("/")
    return (names[0].lstrip("/") if names else "") or fallback


def container_row(s: dict[str, Any]) -> dict[str, Any]:
    """One `GET /containers/json` entry -> a table row."""
    cid = s.get("Id", "")
    state = (s.get("State") or "").lower()
    return {
        "id": cid,
        "short_id": short_id(cid),
        "name": container_name(s.get("Names"), short_id(cid)),
        "image": s.get("Image", ""),
        "command": s.get("Command", ""),
        "created": parse_time(s.get("Created")),
        "state": state or "unknown",
        "status": s.get("Status", ""),
        "ports": format_ports(s.get("Ports")),
        "running": state in ("running", "restarting", "paused"),
        "paused": state == "paused",
        "health": _health_from_status(s.get("Status", "")),
    }


def _health_from_status(status: str) -> str:
    m = re.search(r"\((healthy|unhealthy|health: starting)\)", status)
    if not m:
        return ""
    return "starting" if m.group(1) == "health: starting" else m.group(1)


def mask_env(env: list[str] | None) -> list[dict[str, Any]]:
    out = []
    for item in env or []:
        key, sep, value = item.partition("=")
        secret = bool(SECRET_NAME.search(key))
        out.append({"key": key, "value": value if sep else "", "secret": secret})
    return out


def container_detail(c: dict[str, Any]) -> dict[str, Any]:
    """`GET /containers/{id}/json` -> the detail page's summary."""
    config = c.get("Config") or {}
    host_config = c.get("HostConfig") or {}
    state = c.get("State") or {}
    net = c.get("NetworkSettings") or {}
    health = state.get("Health") or {}
    restart = host_config.get("RestartPolicy") or {}
    ports = []
    for container_port, bindings in sorted((net.get("Ports") or {}).items()):
        if not bindings:
            ports.append({"container": container_port, "host": ""})
        for b in bindings or []:
            ip = b.get("HostIp") or "0.0.0.0"
            ports.append({"container": container_port, "host": f"{ip}:{b.get('HostPort', '')}"})
    networks = [
        {
            "name": name,
            "ip": n.get("IPAddress", ""),
            "gateway": n.get("Gateway", ""),
            "mac": n.get("MacAddress", ""),
            "aliases": n.get("Aliases") or [],
        }
        for name, n in sorted((net.get("Networks") or {}).items())
    ]
    status = (state.get("Status") or "").lower()
    return {
        "id": c.get("Id", ""),
        "short_id": short_id(c.get("Id", "")),
        "name": (c.get("Name") or "").lstrip("/"),
        "image": config.get("Image", ""),
        "image_id": c.get("Image", ""),
        "created": parse_time(c.get("Created")),
        "state": status or "unknown",
        "running": bool(state.get("Running")),
        "paused": bool(state.get("Paused")),
        "exit_code": state.get("ExitCode"),
        "error": state.get("Error", ""),
        "oom_killed": bool(state.get("OOMKilled")),
        "started_at": parse_time(state.get("StartedAt")),
        "finished_at": parse_time(state.get("FinishedAt")),
        "restart_count": c.get("RestartCount", 0),
        "health": health.get("Status", ""),
        "health_log": list(health.get("Log") or [])[-5:],
        "cmd": config.get("Cmd") or [],
        "entrypoint": config.get("Entrypoint") or [],
        "workdir": config.get("WorkingDir", ""),
        "user": config.get("User", ""),
        "hostname": config.get("Hostname", ""),
        "tty": bool(config.get("Tty")),
        "env": mask_env(config.get("Env")),
        "labels": sorted((config.get("Labels") or {}).items()),
        "restart_policy": restart.get("Name") or "no",
        "restart_max": restart.get("MaximumRetryCount") or 0,
        "mounts": [
            {
                "type": m.get("Type", ""),
                "source": m.get("Name") or m.get("Source", ""),
                "destination": m.get("Destination", ""),
                "rw": bool(m.get("RW")),
            }
            for m in c.get("Mounts") or []
        ],
        "ports": ports,
        "networks": networks,
        "network_mode": host_config.get("NetworkMode", ""),
    }
