"""Each host's health for the fleet page: reachable or not, engine and API version, how many
containers run, its swarm role. One thread per host, so a host that hangs delays only itself."""

from __future__ import annotations

import time
from typing import Any

from django.template.loader import render_to_string

from engine_client import EngineClient, EngineError

from ..engines import Host
from .hub import Source


def engine_name(version: dict[str, Any]) -> str:
    """ "Docker Engine - Community 20.10.24", "Podman Engine 4.3.1", ... from /version."""
    components = version.get("Components") or []
    for component in components:
        name = component.get("Name") or ""
        if name.lower().startswith("podman"):
            return f"Podman {component.get('Version', '')}".strip()
    platform = (version.get("Platform") or {}).get("Name") or "Docker"
    return f"{platform} {version.get('Version', '')}".strip()


def swarm_role(info: dict[str, Any]) -> str:
    swarm = info.get("Swarm") or {}
    state = swarm.get("LocalNodeState") or "inactive"
    if state != "active":
        return state
    return "manager" if swarm.get("ControlAvailable") else "worker"


def check(client: EngineClient, timeout: float | None = None) -> dict[str, Any]:
    """One look at the engine; raises EngineError when it does not answer."""
    version = client.system.version(timeout=timeout)
    info = client.system.info(timeout=timeout)
    return {
        "state": "up",
        "engine": engine_name(version),
        "api": client.api_version,
        "running": info.get("ContainersRunning", 0),
        "paused": info.get("ContainersPaused", 0),
        "stopped": info.get("ContainersStopped", 0),
        "images": info.get("Images", 0),
        "swarm": swarm_role(info),
        "name": info.get("Name", ""),
        "cpus": info.get("NCPU", 0),
        "memory": info.get("MemTotal", 0),
    }


class HealthSource(Source):
    """Looks at one host every `interval` seconds; sends its card when something changed."""

    def __init__(self, host: Host, client_factory: Any, interval: float) -> None:
        super().__init__()
        self.host = host
        self.client_factory = client_factory
        self.interval = interval
        self._last: dict[str, Any] | None = None
        self._health: dict[str, Any] | None = None

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                health = check(self.client_factory(self.host))
            except EngineError as exc:
                health = {"state": "down", "error": exc.message}
            health["checked"] = time.time()
            changed = {k: v for k, v in health.items() if k != "checked"} != {
                k: v for k, v in (self._health or {}).items() if k != "checked"
            }
            self._health = health
            if changed:
                self.emit(health)
            if self.sleep(self.interval):
                return

    def combine(self, items: list[Any]) -> dict[str, Any] | None:
        html = render_to_string(
            "hosts/_card.html", {"h": self.host, "health": items[-1], "oob": True}
        )
        self._last = {"html": html}
        return self._last

    def replay(self) -> list[dict[str, Any]]:
        return [self._last] if self._last else []
