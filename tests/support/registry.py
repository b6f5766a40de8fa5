"""The lab registries: HTTP requests to them from inside the engine's network namespace
(the tests run outside it), and the registry with a login that a fixture starts."""

from __future__ import annotations

from typing import Any

from .lab import in_netns

_REGISTRY_HTTP = """
import json, sys, urllib.error, urllib.request
method, url, accept = sys.argv[1], sys.argv[2], sys.argv[3]
req = urllib.request.Request(url, method=method, headers={"Accept": accept} if accept else {})
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read().decode()
        print(json.dumps({"status": r.status, "headers": dict(r.headers), "body": body}))
except urllib.error.HTTPError as e:
    print(json.dumps({"status": e.code, "headers": dict(e.headers), "body": ""}))
"""
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


def registry_http(ns: str, method: str, url: str, accept: str = "") -> dict[str, Any]:
    """One HTTP request to a registry inside the engine's namespace (the test is outside)."""
    import json
    import sys

    out = in_netns(ns, sys.executable, "-c", _REGISTRY_HTTP, method, url, accept)
    if out.returncode != 0:
        raise RuntimeError(f"registry request failed: {out.stderr[-500:]}")
    return json.loads(out.stdout)


def registry_delete_manifest(ns: str, registry: str, repo: str, tag: str) -> None:
    """Delete a pushed tag's manifest from a lab registry (best effort, for clean-up)."""
    head = registry_http(ns, "HEAD", f"http://{registry}/v2/{repo}/manifests/{tag}", MANIFEST_V2)
    digest = head["headers"].get("Docker-Content-Digest")
    if head["status"] == 200 and digest:
        registry_http(ns, "DELETE", f"http://{registry}/v2/{repo}/manifests/{digest}")


class AuthRegistry:
    def __init__(self, addr: str, username: str, password: str) -> None:
        self.addr, self.username, self.password = addr, username, password
