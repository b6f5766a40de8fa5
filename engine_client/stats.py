"""Stats maths, as the docker CLI does it: CPU %, memory in use, and one stats document
summed up into the numbers people read."""

from __future__ import annotations

from typing import Any


def _num(d: dict[str, Any] | None, *keys: str) -> int:
    cur: Any = d or {}
    for k in keys:
        cur = cur.get(k) if isinstance(cur, dict) else None
    return int(cur or 0)


def cpu_percent(cpu: dict[str, Any] | None, precpu: dict[str, Any] | None) -> float:
    """Δtotal_usage / Δsystem_cpu_usage × online CPUs × 100 (0 unless both deltas > 0)."""
    cpu_delta = _num(cpu, "cpu_usage", "total_usage") - _num(precpu, "cpu_usage", "total_usage")
    sys_delta = _num(cpu, "system_cpu_usage") - _num(precpu, "system_cpu_usage")
    percpu = ((cpu or {}).get("cpu_usage") or {}).get("percpu_usage") or []
    ncpu = _num(cpu, "online_cpus") or len(percpu)
    # A zero precpu (the first streamed sample) would give usage since boot: not a rate.
    if _num(precpu, "system_cpu_usage") and cpu_delta > 0 and sys_delta > 0 and ncpu:
        return cpu_delta / sys_delta * ncpu * 100.0
    return 0.0


def memory_used(mem: dict[str, Any] | None) -> int:
    """usage − total_inactive_file (cgroup v1) or − inactive_file (v2), when smaller."""
    mem = mem or {}
    usage = int(mem.get("usage") or 0)
    stats = mem.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):
        if key in stats:
            inactive = int(stats[key] or 0)
            if inactive < usage:
                return usage - inactive
            return usage
    return usage


def stats_summary(doc: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """One stats document -> the numbers people read. CPU % is taken against `previous`'s
    cpu_stats when given (two one-shot samples), else against the document's precpu_stats."""
    pre = (previous or {}).get("cpu_stats") if previous is not None else doc.get("precpu_stats")
    mem = doc.get("memory_stats") or {}
    used = memory_used(mem)
    limit = int(mem.get("limit") or 0)
    rx = tx = 0
    for iface in (doc.get("networks") or {}).values():
        rx += int(iface.get("rx_bytes") or 0)
        tx += int(iface.get("tx_bytes") or 0)
    blk_read = blk_write = 0
    for entry in (doc.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []:
        op = str(entry.get("op") or "")[:1].lower()
        if op == "r":
            blk_read += int(entry.get("value") or 0)
        elif op == "w":
            blk_write += int(entry.get("value") or 0)
    return {
        "read": doc.get("read", ""),
        "cpu_percent": cpu_percent(doc.get("cpu_stats"), pre),
        "mem_used": used,
        "mem_limit": limit,
        "mem_percent": (used / limit * 100.0) if limit else 0.0,
        "net_rx": rx,
        "net_tx": tx,
        "blk_read": blk_read,
        "blk_write": blk_write,
        "pids": _num(doc, "pids_stats", "current"),
    }
