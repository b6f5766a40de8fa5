"""Image update checks without pulling: ask the engine what the registry holds under a
reference (`GET /distribution/{name}/json`, API 1.41+) and compare that digest with every
digest the local image is known by (`RepoDigests`).

Every digest counts, not the first one: an image pushed to (or pulled from) two repositories,
or by a manifest list and a platform manifest, lists several, and comparing only the first
is how other dashboards came to call up-to-date images outdated. Nothing is pulled: the
engine only reads the registry's manifest head, with the host's saved login if there is one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import EngineError, EngineUnreachable, NotFound
from .validators import DEFAULT_REGISTRY, ImageRef, parse_reference

if TYPE_CHECKING:
    from .client import EngineClient

# The results a check can have.
UP_TO_DATE = "up_to_date"
UPDATE_AVAILABLE = "update_available"
LOCAL_ONLY = "local_only"
PINNED = "pinned"  # a digest-pinned reference: the registry cannot move it
UNSUPPORTED = "unsupported"  # the engine has no distribution endpoint (Podman)
FAILED = "failed"
STATUSES = (UP_TO_DATE, UPDATE_AVAILABLE, LOCAL_ONLY, PINNED, UNSUPPORTED, FAILED)

# Why a check failed.
AUTH = "auth"
NOT_FOUND = "not_found"
UNREACHABLE = "unreachable"
RATE_LIMITED = "rate_limited"
ENGINE = "engine"
OTHER = "other"

# The registry's (or the engine's) words for each reason, as the engines pass them on.
_REASONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (RATE_LIMITED, re.compile(r"toomanyrequests|too many requests|rate limit", re.I)),
    (
        AUTH,
        re.compile(
            r"unauthorized|authentication required|no basic auth credentials|"
            r"denied|incorrect username or password|403 forbidden",
            re.I,
        ),
    ),
    (NOT_FOUND, re.compile(r"manifest unknown|name unknown|not found|no such image", re.I)),
    (
        UNREACHABLE,
        re.compile(
            r"dial tcp|connection refused|no such host|i/o timeout|network is unreachable|"
            r"timeout|tls:|x509|server gave http response|connection reset|EOF",
            re.I,
        ),
    ),
)


def failure_reason(message: str, status: int | None = None) -> str:
    """Which kind of failure the engine's message describes (auth, not found, ...)."""
    for reason, pattern in _REASONS:
        if pattern.search(message or ""):
            return reason
    if status in (401, 403):
        return AUTH
    if status == 429:
        return RATE_LIMITED
    return OTHER


@dataclass
class UpdateCheck:
    """What one check found for one reference."""

    reference: str
    status: str
    remote_digest: str = ""
    local_digests: tuple[str, ...] = ()
    reason: str = ""  # for FAILED: AUTH, NOT_FOUND, UNREACHABLE, RATE_LIMITED, ENGINE, OTHER
    message: str = ""  # the engine's (or registry's) own words
    asked_registry: bool = False  # whether the registry was asked (it costs a request)

    @property
    def outdated(self) -> bool:
        return self.status == UPDATE_AVAILABLE


def canonical_repo(name: str) -> str:
    """A repository as the registry knows it: `busybox` -> `docker.io/library/busybox`."""
    ref = parse_reference(name)
    path = ref.path
    if ref.registry == DEFAULT_REGISTRY and "/" not in path:
        path = f"library/{path}"
    return f"{ref.registry}/{path}"


def repo_digests(image: dict[str, Any]) -> dict[str, set[str]]:
    """The image's RepoDigests as {canonical repository: {digests}}."""
    out: dict[str, set[str]] = {}
    for entry in image.get("RepoDigests") or []:
        name, at, digest = str(entry).partition("@")
        if not at or not digest.startswith("sha256:"):
            continue
        try:
            repo = canonical_repo(name)
        except ValueError:
            continue
        out.setdefault(repo, set()).add(digest)
    return out


def compare(reference: str, image: dict[str, Any] | None, remote_digest: str | None) -> UpdateCheck:
    """The verdict for `reference` from the local image (its inspect, or None when there is no
    local copy) and the registry's digest (None when it was not asked). Pure: no I/O."""
    digests = repo_digests(image or {})
    every = tuple(sorted({d for ds in digests.values() for d in ds}))
    if remote_digest is None:
        return UpdateCheck(reference, LOCAL_ONLY, local_digests=every)
    # Any of the image's digests counts: the same manifest has one digest in every repository.
    status = UP_TO_DATE if remote_digest in every else UPDATE_AVAILABLE
    return UpdateCheck(reference, status, remote_digest, every, asked_registry=True)


class UpdatesAPI:
    def __init__(self, client: EngineClient) -> None:
        self._c = client

    def distribution(self, reference: str, auth: str | None = None) -> dict[str, Any]:
        """`GET /distribution/{name}/json`: the registry's descriptor of `reference` (its
        digest, media type, size) and platforms. Nothing is pulled."""
        ref = parse_reference(reference)
        return self._c.get_json(
            "/distribution/{}/json",
            str(ref),
            headers={"X-Registry-Auth": auth} if auth else None,
        )

    def check(
        self, reference: str, auth: str | None = None, image: dict[str, Any] | None = None
    ) -> UpdateCheck:
        """Whether the registry holds something newer under `reference` than the local image
        of that name (`image`: its inspect, read here when not given). Never raises for what
        the engine or registry says: a failure is a result with its reason."""
        ref: ImageRef = parse_reference(reference)
        text = str(ref)
        if ref.digest:
            return UpdateCheck(text, PINNED, ref.digest, (ref.digest,))
        if self._c.flavor.is_podman:
            # Podman 4's compatible API has no /distribution route (404 "is not supported").
            return UpdateCheck(text, UNSUPPORTED, message="not supported on this engine (Podman)")
        if image is None:
            try:
                image = self._c.images.inspect(text)
            except NotFound:
                image = None
            except EngineError as exc:
                return UpdateCheck(text, FAILED, reason=ENGINE, message=exc.message)
        if image is not None and not repo_digests(image):
            # No registry ever gave this image a digest: it was built, committed or loaded
            # here, so whatever the registry holds under the name is not a newer copy of it.
            return compare(text, image, None)
        try:
            remote = self.distribution(text, auth)
        except EngineUnreachable as exc:
            return UpdateCheck(text, FAILED, reason=ENGINE, message=exc.message)
        except EngineError as exc:
            known = compare(text, image, None).local_digests
            return UpdateCheck(
                text,
                FAILED,
                reason=failure_reason(exc.message, exc.status),
                message=exc.message,
                local_digests=known,
                asked_registry=True,
            )
        digest = str((remote.get("Descriptor") or {}).get("digest") or "")
        return compare(text, image, digest)
