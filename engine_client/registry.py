"""When a registry's image was made: its config blob's `created`, read from the registry
itself (the Engine API's `/distribution` answer carries no date, and nothing can be learnt
of an image without pulling it through the engine).

Two or three small reads (the manifest, the platform's manifest of a list, the config blob)
with the registry's own auth: anonymous, basic, or a bearer token from the realm its 401
names (Docker Hub). Asked only for an update found, and cached by the caller: it is an age
shown beside a badge, so every failure is None, never an error.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import requests

from .validators import parse_reference

# Short: an age is not worth holding a check of many references up for.
TIMEOUT = 3.0
MANIFESTS = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
    )
)
HUB = "registry-1.docker.io"
_LOOPBACK = re.compile(r"^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$")
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class _Registry:
    def __init__(self, registry: str, username: str, password: str, timeout: float) -> None:
        host = HUB if registry == "docker.io" else registry
        # As the engine does: a registry on the loopback is spoken to in plain HTTP.
        scheme = "http" if _LOOPBACK.match(host) else "https"
        self.base = f"{scheme}://{host}"
        self.basic = (username, password) if username else None
        self.timeout = timeout
        self.session = requests.Session()
        self.token = ""

    def get(self, path: str, accept: str = "") -> requests.Response:
        headers = {"Accept": accept} if accept else {}
        resp = self._send(path, headers)
        if resp.status_code == 401 and not self.token:
            self._login(resp.headers.get("WWW-Authenticate", ""))
            resp = self._send(path, headers)
        resp.raise_for_status()
        return resp

    def _send(self, path: str, headers: dict[str, str]) -> requests.Response:
        if self.token:
            headers = {**headers, "Authorization": f"Bearer {self.token}"}
            auth = None
        else:
            auth = self.basic
        # Blobs are often redirected to storage elsewhere: requests drops the Authorization
        # header when the host changes.
        return self.session.get(self.base + path, headers=headers, auth=auth, timeout=self.timeout)

    def _login(self, challenge: str) -> None:
        scheme, _, rest = challenge.partition(" ")
        if scheme.lower() != "bearer":
            return  # basic: the credentials (if any) were already sent
        params = dict(_CHALLENGE.findall(rest))
        realm = params.pop("realm", "")
        if not realm.startswith(("https://", "http://")):
            return
        resp = self.session.get(realm, params=params, auth=self.basic, timeout=self.timeout)
        resp.raise_for_status()
        body = resp.json()
        self.token = str(body.get("token") or body.get("access_token") or "")


def _platform_manifest(index: dict[str, Any]) -> str:
    """The linux/amd64 entry of a manifest list (or its first), as the engine here pulls."""
    entries = index.get("manifests") or []
    for m in entries:
        p = m.get("platform") or {}
        if p.get("os") == "linux" and p.get("architecture") == "amd64":
            return str(m["digest"])
    return str(entries[0]["digest"]) if entries else ""


def parse_created(text: str) -> datetime | None:
    """An image config's RFC 3339 `created` (nanoseconds cut to microseconds)."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", text or "")
    if not m:
        return None
    fraction = (m.group(2) or ".0")[:7]
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    try:
        return datetime.fromisoformat(f"{m.group(1)}{fraction}{zone}").astimezone(UTC)
    except ValueError:
        return None


def image_created(
    reference: str,
    digest: str,
    username: str = "",
    password: str = "",
    timeout: float = TIMEOUT,
) -> datetime | None:
    """When the image `digest` of `reference`'s repository was made, by the registry's
    config blob; None when it cannot be told (any failure: the caller shows no age)."""
    try:
        ref = parse_reference(reference)
        path = ref.path if ref.domain or "/" in ref.path else f"library/{ref.path}"
        reg = _Registry(ref.registry, username, password, timeout)
        manifest = reg.get(f"/v2/{path}/manifests/{digest}", MANIFESTS).json()
        if "manifests" in manifest:
            inner = _platform_manifest(manifest)
            if not inner:
                return None
            manifest = reg.get(f"/v2/{path}/manifests/{inner}", MANIFESTS).json()
        config = (manifest.get("config") or {}).get("digest")
        if not config:
            return None
        return parse_created(str(reg.get(f"/v2/{path}/blobs/{config}").json().get("created")))
    except (requests.RequestException, ValueError, KeyError, TypeError, AttributeError):
        return None
