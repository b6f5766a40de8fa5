"""Seed the lab engine with a few sample containers for `make demo` (idempotent).

Each is labelled dashboard.demo=1; an existing container of the same name is left alone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine_client import EngineClient, NotFound

IMAGE = os.environ.get("LAB_IMAGE", "lab/busybox:latest")

SAMPLES = [
    # name, command, start?, extra config
    (
        "demo-web",
        ["httpd", "-f", "-p", "8080", "-h", "/etc"],
        True,
        {
            "ExposedPorts": {"8080/tcp": {}},
            "HostConfig": {
                "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}]},
                "RestartPolicy": {"Name": "unless-stopped"},
            },
        },
    ),
    (
        "demo-ticker",
        ["sh", "-c", 'i=0; while true; do i=$((i+1)); echo "tick $i: all is well"; sleep 1; done'],
        True,
        {"Env": ["TICK_INTERVAL=1", "API_TOKEN=demo-secret-value"]},
    ),
    ("demo-worker", ["sleep", "86400"], True, {"Labels": {"role": "worker"}}),
    ("demo-stopped", ["sh", "-c", "echo 'job finished'; exit 0"], True, {}),
    (
        "demo-crashed",
        ["sh", "-c", "echo 'connecting to db...'; echo 'fatal: db unreachable' >&2; exit 3"],
        True,
        {},
    ),
    ("demo-created", ["echo", "never started"], False, {}),
]


def main() -> None:
    client = EngineClient(os.environ.get("DOCKER_HOST", "unix:///run/dl/n1.sock"), timeout=30)
    for name, cmd, start, extra in SAMPLES:
        try:
            client.containers.inspect(name)
            print(f"  {name}: already there")
            continue
        except NotFound:
            pass
        labels = {"dashboard.demo": "1", **extra.pop("Labels", {})}
        config = {"Image": IMAGE, "Cmd": cmd, "Labels": labels, "StopTimeout": 2, **extra}
        created = client.containers.create(config, name=name)
        if start:
            client.containers.start(created["Id"])
        print(f"  {name}: created{' and started' if start else ''}")


if __name__ == "__main__":
    main()
