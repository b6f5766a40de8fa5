"""Engine payloads turned into what templates show. Pure functions, no engine calls."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from html import escape
from typing import Any

from engine_client.projects import container_project

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
        "project": container_project(s),
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


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


_W, _H = 300.0, 60.0


def _points(values: list[float], top: float) -> str:
    if not values:
        return ""
    top = top or 1.0
    step = _W / max(len(values) - 1, 1)
    return " ".join(
        f"{i * step:.1f},{_H - min(v, top) / top * (_H - 2) - 1:.1f}" for i, v in enumerate(values)
    )


def _rates(history: list[dict[str, Any]], key: str) -> list[float]:
    out = [0.0]
    for prev, cur in zip(history, history[1:], strict=False):
        t0, t1 = parse_time(prev.get("read")), parse_time(cur.get("read"))
        dt = (t1 - t0).total_seconds() if t0 and t1 else 1.0
        out.append(max(cur[key] - prev[key], 0) / (dt if dt > 0 else 1.0))
    return out


def stats_charts(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A few minutes of stats samples -> four small charts (SVG polylines) and their values."""
    if not history:
        return None
    last = history[-1]
    cpu = [h["cpu_percent"] for h in history]
    mem = [float(h["mem_used"]) for h in history]
    rx, tx = _rates(history, "net_rx"), _rates(history, "net_tx")
    rd, wr = _rates(history, "blk_read"), _rates(history, "blk_write")
    # Scales follow what was seen, so small changes show; the labels say the scale.
    cpu_top = max(5.0, max(cpu) * 1.25)
    mem_top = max(max(mem) * 1.25, 1024.0 * 1024)
    net_top = max(max(rx), max(tx), 1024.0)
    blk_top = max(max(rd), max(wr), 1024.0)
    return {
        "seconds": len(history),
        "cpu": {
            "now": f"{last['cpu_percent']:.1f} %",
            "line": _points(cpu, cpu_top),
            "top": f"{cpu_top:.1f} %",
        },
        "mem": {
            "now": human_bytes(last["mem_used"]),
            "limit": human_bytes(last["mem_limit"]) if last["mem_limit"] else "no limit",
            "percent": f"{last['mem_percent']:.1f} %",
            "line": _points(mem, mem_top),
            "top": human_bytes(mem_top),
        },
        "net": {
            "rx": human_bytes(rx[-1]) + "/s",
            "tx": human_bytes(tx[-1]) + "/s",
            "rx_line": _points(rx, net_top),
            "tx_line": _points(tx, net_top),
            "rx_total": human_bytes(last["net_rx"]),
            "tx_total": human_bytes(last["net_tx"]),
        },
        "blk": {
            "read": human_bytes(rd[-1]) + "/s",
            "write": human_bytes(wr[-1]) + "/s",
            "read_line": _points(rd, blk_top),
            "write_line": _points(wr, blk_top),
            "read_total": human_bytes(last["blk_read"]),
            "write_total": human_bytes(last["blk_write"]),
        },
        "pids": last["pids"],
    }


def list_stats_cells(sample: dict[str, Any] | None) -> dict[str, str]:
    """One container's list-page CPU and memory cells."""
    if not sample:
        return {"cpu": "", "mem": ""}
    cpu = sample.get("cpu")
    mem = human_bytes(sample.get("mem") or 0)
    return {"cpu": "…" if cpu is None else f"{cpu:.1f} %", "mem": mem}


def event_row(ev: dict[str, Any]) -> dict[str, Any]:
    """One `/events` message -> a feed entry (both the 1.41 and the 1.52+ shapes)."""
    actor = ev.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    nanos = ev.get("timeNano") or int(ev.get("time") or 0) * 10**9
    action = ev.get("Action") or ev.get("status") or ""
    actor_id = actor.get("ID") or ev.get("id") or ""
    return {
        "type": ev.get("Type", ""),
        "action": action,
        "id": actor_id,
        "short_id": actor_id[:12] if len(actor_id) == 64 else actor_id,
        "name": attrs.get("name", ""),
        "image": attrs.get("image", ""),
        "exit_code": attrs.get("exitCode", ""),
        "time": datetime.fromtimestamp(nanos / 1e9, tz=UTC) if nanos else None,
        "attributes": sorted(
            (k, v) for k, v in attrs.items() if k not in ("name", "image", "exitCode")
        )[:12],
        "scope": ev.get("scope", ""),
    }


# -- container detail tabs -------------------------------------------------------------------

MASK = "••••••••"


def masked_env(env: list[str]) -> list[str]:
    """`KEY=value` items with the values of secret-looking variables hidden."""
    return [
        f"{key}={MASK}" if sep and SECRET_NAME.search(key) else item
        for item in env
        for key, sep, _ in [item.partition("=")]
    ]


def masked_inspect(c: dict[str, Any]) -> dict[str, Any]:
    """An inspect with the values of secret-looking variables hidden (as on the env tab)."""
    out = copy.deepcopy(c)
    config = out.get("Config") or {}
    if config.get("Env"):
        config["Env"] = masked_env(config["Env"])
    return out


def masked_service(s: dict[str, Any]) -> dict[str, Any]:
    """A service as the engine lists it, with its secret-looking variables hidden (as on the
    service's page)."""
    out = copy.deepcopy(s)
    for spec in (out.get("Spec"), out.get("PreviousSpec")):
        container = ((spec or {}).get("TaskTemplate") or {}).get("ContainerSpec") or {}
        if container.get("Env"):
            container["Env"] = masked_env(container["Env"])
    return out


def _json_scalar(value: Any) -> str:
    text = escape(json.dumps(value, ensure_ascii=False))
    if isinstance(value, str):
        return f'<span class="jt-s">{text}</span>'
    if value is None or isinstance(value, bool):
        return f'<span class="jt-b">{text}</span>'
    return f'<span class="jt-num">{text}</span>'


def json_tree(value: Any, key: str | None = None, depth: int = 0) -> str:
    """JSON as nested <details> (collapsible), every key and value escaped. The first level
    is open; deeper objects start closed."""
    label = f'<span class="jt-k">{escape(key)}</span>' if key is not None else ""
    colon = ": " if label else ""
    if not isinstance(value, dict | list):
        return f'<div class="jt-row">{label}{colon}{_json_scalar(value)}</div>'
    if not value:
        empty = "{}" if isinstance(value, dict) else "[]"
        return f'<div class="jt-row">{label}{colon}<span class="jt-e">{empty}</span></div>'
    items = value.items() if isinstance(value, dict) else enumerate(value)
    children = "".join(json_tree(v, str(k), depth + 1) for k, v in items)
    kind = f"{{{len(value)}}}" if isinstance(value, dict) else f"[{len(value)}]"
    opened = " open" if depth == 0 else ""
    return (
        f'<details class="jt"{opened}><summary>{label} <span class="jt-n">{kind}</span>'
        f'</summary><div class="jt-c">{children}</div></details>'
    )


def top_table(top: dict[str, Any]) -> dict[str, Any]:
    """`GET /containers/{id}/top` -> titles and rows (rows padded to the titles)."""
    titles = [str(t) for t in top.get("Titles") or []]
    rows = []
    for row in top.get("Processes") or []:
        cells = [str(v) for v in row]
        rows.append(cells + [""] * (len(titles) - len(cells)))
    return {"titles": titles, "rows": rows}


# -- published ports as links -----------------------------------------------------------------

_PUBLISHED = re.compile(r"(?:\[(?P<ip6>[0-9a-fA-F:.]+)\]|(?P<ip>[0-9.]+)):(?P<port>\d{1,5})")
_WILDCARD = ("", "0.0.0.0", "::")


def port_host(engine_url: str, browser_host: str) -> str:
    """The address a published port is reached at: a tcp:// engine's own host; for an engine
    on a unix socket (this machine), the host name the browser reached the dashboard by."""
    if engine_url.startswith(("tcp://", "http://", "https://")):
        from urllib.parse import urlsplit

        return urlsplit(engine_url).hostname or ""
    host = browser_host.strip()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else ""
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def port_href(published: str, address: str) -> str:
    """'0.0.0.0:8080->80/tcp' or '0.0.0.0:8080' -> 'http://<address>:8080/' (a port bound to one
    other address than the wildcard or loopback: that address); '' for a port not published,
    a UDP/SCTP one, or no address to link to."""
    bound, _, target = published.partition("->")
    if target and not target.endswith("/tcp"):
        return ""
    m = _PUBLISHED.fullmatch(bound)
    if not m:
        return ""
    ip = m["ip6"] or m["ip"] or ""
    loopback = ip.startswith("127.") or ip == "::1"
    if ip not in _WILDCARD and not loopback:
        address = ip
    if not address:
        return ""
    host = f"[{address}]" if ":" in address else address
    port = int(m["port"])
    scheme = "https" if port in (443, 8443) else "http"
    return f"{scheme}://{host}:{port}/"
