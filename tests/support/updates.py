"""Images in the lab registry for the update-check tests: a tag pushed, then moved in the
registry to a new image that the engine under test does not keep (as if pushed from another
machine), so that only the registry knows the new digest."""

from __future__ import annotations

import contextlib
from typing import Any

from engine_client import EngineClient, EngineError
from engine_client.images import read_progress

from .lab import build_image, in_netns
from .registry import MANIFEST_V2, registry_http


def push(engine: EngineClient, ref: str, auth: str | None = None) -> str:
    """Push `ref` (already tagged here) and return the digest the registry gave it."""
    return read_progress(engine.images.push(ref, auth=auth)).digest


def publish(engine: EngineClient, ref: str, size: int = 2000, **labels: str) -> str:
    """A new image built here, pushed as `ref`, kept here under `ref`. Returns its ID."""
    image_id = build_image(engine, ref, size=size, **labels)
    push(engine, ref)
    return image_id


def move_tag_behind_the_back(
    engine: EngineClient, ref: str, size: int = 2000, changes: str = ""
) -> str:
    """Push a new image under `ref` and leave this engine exactly as it was: `ref` still names
    the old image here, the new one is gone. Returns the new digest in the registry.
    `changes`: a Dockerfile instruction for the new image (e.g. a failing HEALTHCHECK)."""
    old_id = engine.images.inspect(ref)["Id"]
    new_id = build_image(engine, ref, size=size)
    if changes:
        new_id = _with_change(engine, new_id, ref, changes)
    try:
        return push(engine, ref)
    finally:
        engine.images.tag(old_id, ref)
        with contextlib.suppress(EngineError):
            engine.images.remove(new_id, force=True)


_PUT_MANIFEST = """
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], data=sys.argv[3].encode(), method="PUT",
                             headers={"Content-Type": sys.argv[2]})
with urllib.request.urlopen(req, timeout=10) as r:
    print(r.headers.get("Docker-Content-Digest"))
"""
MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def put_manifest_list(ns: str, registry: str, repo: str, of_tag: str, as_tag: str) -> str:
    """Put a manifest list naming `repo:of_tag`'s manifest under `as_tag` (what multi-platform
    images are): an engine that pulls it knows the image by two digests. Returns the list's."""
    import json
    import sys

    head = registry_http(ns, "GET", f"http://{registry}/v2/{repo}/manifests/{of_tag}", MANIFEST_V2)
    manifest = head["body"].encode()
    body = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_LIST,
        "manifests": [
            {
                "mediaType": MANIFEST_V2,
                "size": len(manifest),
                "digest": head["headers"]["Docker-Content-Digest"],
                "platform": {"architecture": "amd64", "os": "linux"},
            }
        ],
    }
    url = f"http://{registry}/v2/{repo}/manifests/{as_tag}"
    out = in_netns(ns, sys.executable, "-c", _PUT_MANIFEST, url, MANIFEST_LIST, json.dumps(body))
    if out.returncode != 0:
        raise RuntimeError(f"manifest list put failed: {out.stderr[-500:]}")
    return out.stdout.strip()


def _with_change(engine: EngineClient, image_id: str, ref: str, change: str) -> str:
    """The image again with one Dockerfile instruction applied (a commit with `changes`)."""
    created = engine.containers.create({"Image": image_id, "Cmd": ["true"]})
    try:
        name, _, tag = ref.rpartition(":")
        params = {"container": created["Id"], "repo": name, "tag": tag, "changes": change}
        new_id = engine.post_json("/commit", params=params, json={})["Id"]
    finally:
        engine.containers.remove(created["Id"], force=True)
    with contextlib.suppress(EngineError):
        engine.images.remove(image_id, force=True)
    return new_id if new_id.startswith("sha256:") else f"sha256:{new_id}"


async def run_update_job(client: Any, ids: list[str], timeout: float = 120) -> list[str]:
    """POST the update of `ids` as `client` (a logged-in test client), then watch its job over
    the page's websocket until it has finished: every message, in order (the last is the
    whole outcome). Needs the `hub` fixture and a transactional database (the job's thread
    writes the audit entries)."""
    import html as htmllib
    import re
    import time

    from asgiref.sync import sync_to_async
    from channels.testing import WebsocketCommunicator

    from dashboard.asgi import application

    from .clients import ORIGIN, cookie_of

    resp = await sync_to_async(client.post)("/hosts/local/updates/apply/", {"ids": ids})
    page = resp.content.decode()
    assert resp.status_code == 200, page[-2000:]
    m = re.search(r'ws-connect="(/ws/hosts/local/updates/run/\?t=[^"]+)"', page)
    assert m, page[-2000:]
    comm = WebsocketCommunicator(
        application, htmllib.unescape(m.group(1)), headers=[ORIGIN, cookie_of(client)]
    )
    connected, code = await comm.connect()
    assert connected, code
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while not seen or 'data-state="finished"' not in seen[-1]:
            seen.append(await comm.receive_from(timeout=max(deadline - time.monotonic(), 0.1)))
    finally:
        await comm.disconnect()
    return seen
