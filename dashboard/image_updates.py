"""Image update checks for a host: what each image reference's registry holds, cached per
reference in the database (`ImageCheck`), and each container's or image's verdict against it.

The registry is asked at most once per reference and IMAGE_UPDATE_INTERVAL unless someone
asks for a check (`force`), and never while a rate limit's back-off runs: a check of 200
containers over 20 images is 20 requests, then none until the interval has passed. The
verdict for one container is its own image's digests against the cached registry digest, so
a container left on an old image after a pull elsewhere is outdated too.
"""

from __future__ import annotations

import contextlib
import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from engine_client import EngineClient, registry
from engine_client import updates as u
from engine_client.errors import InvalidArgument
from engine_client.image_update import UpdateReport, update_container
from engine_client.images import ProgressState
from engine_client.validators import parse_reference

from . import credentials, image_digests
from .models import AuditEntry, ImageCheck

# A rate-limited registry is left alone at least this long (or the interval, if longer).
RATE_LIMIT_BACKOFF = timedelta(hours=1)
# Container label: off (never checked), notify (default: checked, announced), auto (updated
# by the watcher, within `dashboard.update.window` if set, e.g. "02:00-04:00" UTC).
POLICY_LABEL = "dashboard.update"
WINDOW_LABEL = "dashboard.update.window"
POLICIES = ("off", "notify", "auto")

BADGE_TEXT = {
    u.UP_TO_DATE: "up to date",
    u.UPDATE_AVAILABLE: "update available",
    u.LOCAL_ONLY: "local-only image",
    u.PINNED: "pinned by digest",
    u.UNSUPPORTED: "not supported on this engine",
    u.FAILED: "check failed",
}
REASON_TEXT = {
    u.AUTH: "registry login needed or refused",
    u.NOT_FOUND: "not found in the registry",
    u.UNREACHABLE: "registry unreachable",
    u.RATE_LIMITED: "registry rate limit",
    u.ENGINE: "engine unreachable",
    u.OTHER: "registry error",
}


@dataclass
class Verdict:
    """A container's or an image's update state, for its badge."""

    status: str
    reference: str
    remote_digest: str = ""
    reason: str = ""
    message: str = ""
    checked_at: datetime | None = None
    remote_created: datetime | None = None  # when the registry's image was made
    local_created: datetime | None = None  # when the image it runs was made

    @property
    def dated(self) -> bool:
        """Whether to show the ages: an update found, with at least one of them known."""
        return self.outdated and bool(self.remote_created or self.local_created)

    @property
    def text(self) -> str:
        if self.status == u.FAILED:
            return f"check failed: {REASON_TEXT.get(self.reason, self.reason)}"
        return BADGE_TEXT.get(self.status, self.status)

    @property
    def outdated(self) -> bool:
        return self.status == u.UPDATE_AVAILABLE


@dataclass
class HostCheck:
    """A run of checks over a host's references: what was asked, what came from the cache."""

    checks: dict[str, ImageCheck] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)  # references the registry was asked about


def policy_of(labels: dict[str, str] | None) -> str:
    value = ((labels or {}).get(POLICY_LABEL) or "notify").strip().lower()
    return value if value in POLICIES else "notify"


def in_window(labels: dict[str, str] | None, now: datetime) -> bool:
    """Whether `now` (UTC) is inside the container's maintenance window ("HH:MM-HH:MM", may
    cross midnight); no window means any time."""
    window = ((labels or {}).get(WINDOW_LABEL) or "").strip()
    if not window:
        return True
    try:
        start_text, end_text = window.split("-", 1)
        start = _minutes(start_text)
        end = _minutes(end_text)
    except ValueError:
        return False  # a window we cannot read never opens: auto must not run at random
    at = now.astimezone(UTC).hour * 60 + now.astimezone(UTC).minute
    return start <= at < end if start <= end else at >= start or at < end


def _minutes(text: str) -> int:
    hours, minutes = text.strip().split(":", 1)
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 24 and 0 <= m < 60):
        raise ValueError(text)
    return h * 60 + m


def cached(host: str, reference: str) -> ImageCheck | None:
    return ImageCheck.objects.filter(host=host, reference=reference).first()


def _fresh(row: ImageCheck, now: datetime) -> bool:
    interval = timedelta(seconds=float(settings.IMAGE_UPDATE_INTERVAL))
    return row.checked_at + interval > now


def check(
    host: str,
    client: EngineClient,
    reference: str,
    force: bool = False,
    now: datetime | None = None,
    image: dict[str, Any] | None = None,
) -> tuple[ImageCheck, bool]:
    """The cached answer for `reference`, asking the registry (through the engine) when it is
    stale or `force`d, but never inside a rate limit's back-off. Returns (row, asked)."""
    now = now or timezone.now()
    ref = str(parse_reference(reference))
    row = cached(host, ref)
    if row is not None:
        if row.retry_after and row.retry_after > now:
            return row, False
        if not force and _fresh(row, now):
            return row, False
    try:
        auth = credentials.auth_header(host, parse_reference(ref).registry)
    except credentials.CredentialError as exc:
        result = u.UpdateCheck(ref, u.FAILED, reason=u.AUTH, message=str(exc))
    else:
        result = client.updates.check(ref, auth=auth, image=image)
    retry_after = None
    message = result.message
    if result.reason == u.RATE_LIMITED:
        backoff = max(RATE_LIMIT_BACKOFF, timedelta(seconds=settings.IMAGE_UPDATE_INTERVAL))
        retry_after = now + backoff
        message = (
            f"{message} (backing off: not asked again before {retry_after:%Y-%m-%d %H:%M} UTC)"
        )
    # The new image's age: read from the registry once per digest, for an update found.
    created = (
        row.remote_created
        if row is not None and row.remote_digest == result.remote_digest
        else None
    )
    if created is None and result.status == u.UPDATE_AVAILABLE and result.remote_digest:
        created = remote_created(host, ref, result.remote_digest)
    row, _ = ImageCheck.objects.update_or_create(
        host=host,
        reference=ref,
        defaults={
            "remote_created": created,
            "status": result.status,
            "remote_digest": result.remote_digest,
            "reason": result.reason,
            "message": message,
            "checked_at": now,
            "retry_after": retry_after,
        },
    )
    return row, result.asked_registry


def remote_created(host: str, reference: str, digest: str) -> datetime | None:
    """When the registry's image `digest` of `reference` was made (None: not known), asked
    of the registry with the host's saved login for it."""
    username = password = ""
    try:
        cred = credentials.find(host, parse_reference(reference).registry)
        if cred is not None:
            username, password = cred.username, credentials.decrypt(cred.secret)
    except (credentials.CredentialError, InvalidArgument):
        return None
    return registry.image_created(reference, digest, username, password)


def container_references(client: EngineClient) -> dict[str, list[dict[str, Any]]]:
    """Every container's image reference, with the containers (list rows) that use it. A row
    whose `Image` is an ID (its tag moved since) is inspected for the name it was made from."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in client.containers.list(all=True):
        ref = reference_of(client, row)
        if ref:
            out.setdefault(ref, []).append(row)
    return out


def reference_of(client: EngineClient | None, row: dict[str, Any]) -> str:
    """The reference a container (list row) was made from; '' when its row names only an
    image ID and `client` is None (not looked up: the list pages make no call per row)."""
    image = str(row.get("Image") or "")
    if image.startswith("sha256:") or (len(image) in (12, 64) and _hex(image)):
        if client is None:
            return ""
        try:
            image = str((client.containers.inspect(row["Id"]).get("Config") or {}).get("Image"))
        except Exception:  # noqa: BLE001 - gone since the list: nothing to check
            return ""
    try:
        return str(parse_reference(image))
    except InvalidArgument:
        return ""


def _hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def check_host(
    host: str,
    client: EngineClient,
    references: Iterable[str] | None = None,
    force: bool = False,
    now: datetime | None = None,
) -> HostCheck:
    """Check each reference once (the host's containers' when none are given)."""
    refs = (
        sorted(set(references))
        if references is not None
        else sorted(
            {
                ref
                for ref, rows in container_references(client).items()
                if any(policy_of(r.get("Labels")) != "off" for r in rows)
            }
            | set(service_references(client))
        )
    )
    out = HostCheck()
    # One image list rather than an inspect per reference (a reference with no local image
    # is inspected by the check itself, and found missing).
    local: dict[str, dict[str, Any]] = {}
    if refs:
        for image in client.images.list():
            for tag in image.get("RepoTags") or []:
                with contextlib.suppress(InvalidArgument):
                    local[str(parse_reference(tag))] = image
    for ref in refs:
        row, asked = check(host, client, ref, force=force, now=now, image=local.get(ref))
        out.checks[ref] = row
        if asked:
            out.asked.append(ref)
    return out


def verdict(row: ImageCheck | None, image: dict[str, Any] | None, reference: str) -> Verdict | None:
    """The update state of something running `image` under `reference`, from the cached
    registry answer `row` (None: never checked, no badge)."""
    if row is None:
        return None
    base = Verdict(
        row.status,
        reference,
        row.remote_digest,
        row.reason,
        row.message,
        row.checked_at,
        remote_created=row.remote_created,
    )
    if image is not None and isinstance(image.get("Created"), int | float):
        base.local_created = datetime.fromtimestamp(image["Created"], UTC)
    if row.status in (u.UP_TO_DATE, u.UPDATE_AVAILABLE) and image is not None:
        # The container's own image, which may not be the one the tag names now.
        mine = u.compare(reference, image, row.remote_digest)
        base.status = u.LOCAL_ONLY if not mine.local_digests else mine.status
    return base


def list_verdicts(
    host: str, client: EngineClient, rows: list[dict[str, Any]]
) -> dict[str, Verdict]:
    """`container_verdicts` for a list page or a live row: nothing at all while the host was
    never checked, else a database query or two and no engine call while the host's images
    are as last read (image_digests), and no call per row."""
    if not ImageCheck.objects.filter(host=host).exists():
        return {}
    return container_verdicts(host, client, rows, look_up_ids=False)


def container_verdicts(
    host: str, client: EngineClient, rows: list[dict[str, Any]], look_up_ids: bool = True
) -> dict[str, Verdict]:
    """Container ID -> verdict, for the rows given (only from the cache: no registry call)."""
    refs = {row["Id"]: reference_of(client if look_up_ids else None, row) for row in rows}
    checks = {
        c.reference: c
        for c in ImageCheck.objects.filter(host=host, reference__in=set(refs.values()))
    }
    if not checks:
        return {}
    # Kept while the host's events say no image changed: a page or a live row with badges
    # makes no image list of its own.
    images = image_digests.images_by_id(host, client, {r.get("ImageID", "") for r in rows})
    out = {}
    for row in rows:
        ref = refs[row["Id"]]
        if policy_of(row.get("Labels")) == "off":
            continue
        v = verdict(checks.get(ref), images.get(row.get("ImageID", "")), ref)
        if v is not None:
            out[row["Id"]] = v
    return out


def matching(
    rows: list[dict[str, Any]], verdicts: dict[str, Verdict], pattern: str = "*"
) -> list[dict[str, Any]]:
    """The rows with an update available (whose names match `pattern`)."""
    return [
        r
        for r in rows
        if verdicts.get(r["Id"], Verdict("", "")).outdated
        and any(fnmatch.fnmatch(n.lstrip("/"), pattern) for n in r.get("Names") or [""])
    ]


# -- updates ----------------------------------------------------------------------------------

COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
COMPOSE_SERVICE_LABEL = "com.docker.compose.service"
SWARM_SERVICE_LABEL = "com.docker.swarm.service.name"


def refusal(labels: dict[str, str] | None) -> str:
    """Why a container is not updated here ('' when it may be): a swarm task is its
    service's to update."""
    if service := (labels or {}).get(SWARM_SERVICE_LABEL):
        return f"it is a task of swarm service {service}: update the service's image"
    return ""


def update(
    host: str,
    client: EngineClient,
    container_id: str,
    on_progress: Callable[[ProgressState], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> UpdateReport:
    """Update one container (engine_client.image_update) with the host's saved login for its
    registry; a container that is not ours to recreate is refused in the report. The
    callbacks see the pull's progress and each phase as it starts (update_jobs.py)."""
    raw = client.containers.inspect(container_id)
    name = (raw.get("Name") or "").lstrip("/")
    reference = str((raw.get("Config") or {}).get("Image") or "")
    labels = (raw.get("Config") or {}).get("Labels") or {}
    if project := labels.get(COMPOSE_PROJECT_LABEL):
        # Compose recreates its own containers (its config hash): pull + up of the service.
        from .compose_updates import update_service

        report = UpdateReport(raw["Id"], name, reference, old_image=raw.get("Image", ""))
        service = labels.get(COMPOSE_SERVICE_LABEL, "")
        report = update_service(host, project, service, report, on_phase=on_phase)
        if report.ok or report.outcome == "rolled_back":
            with contextlib.suppress(Exception):
                now = client.containers.inspect(name)
                report.new_id, report.new_image = now["Id"], now.get("Image", "")
                if report.ok and report.new_image == report.old_image:
                    report.outcome = "current"
        return report
    if why := refusal(labels):
        return UpdateReport(
            raw["Id"], name, reference, outcome="failed", reason=f"Not updated: {why}"
        )
    try:
        auth = credentials.auth_header(host, parse_reference(reference).registry)
    except (credentials.CredentialError, InvalidArgument) as exc:
        return UpdateReport(raw["Id"], name, reference, outcome="failed", reason=str(exc))
    return update_container(
        client,
        raw["Id"],
        auth=auth,
        timeout=float(settings.IMAGE_UPDATE_TIMEOUT),
        on_progress=on_progress,
        on_phase=on_phase,
    )


def audit_update(
    host: str,
    report: UpdateReport,
    username: str,
    user: Any = None,
    remote_addr: str = "",
    remote_digest: str = "",
) -> None:
    """The update's entry, and a second one for its rollback."""
    steps = [
        f"{s.what}: {s.outcome}" + (f" ({s.message})" if s.message else "") for s in report.steps
    ]
    common = {
        "user": user,
        "username": username,
        "remote_addr": remote_addr,
        "host": host,
        "target_id": report.container_id[:128],
        "target_name": report.name[:255],
    }
    params = {
        "reference": report.reference,
        "old_image": report.old_image,
        "new_image": report.new_image,
        "new_id": report.new_id,
        "result": report.outcome,
        "steps": steps,
        **({"remote_digest": remote_digest} if remote_digest else {}),
    }
    AuditEntry.objects.create(
        **common,
        action="container.update",
        params=params,
        outcome=AuditEntry.OK if report.ok else AuditEntry.FAILED,
        message=report.reason,
    )
    if report.outcome == "rolled_back" or any(s.what.startswith("roll back") for s in report.steps):
        AuditEntry.objects.create(
            **common,
            action="container.rollback",
            params={"reference": report.reference, "to_image": report.old_image},
            outcome=AuditEntry.OK if report.outcome == "rolled_back" else AuditEntry.FAILED,
            message=report.reason,
        )


def image_verdicts(host: str, images: list[dict[str, Any]]) -> dict[str, list[Verdict]]:
    """Image ID -> the verdict of each of its tags that was checked (images list rows; one
    database query, none while the host was never checked)."""
    tags = {t: i for i in images for t in i.get("RepoTags") or [] if t != "<none>:<none>"}
    if not tags:
        return {}
    refs: dict[str, str] = {}
    for tag in tags:
        with contextlib.suppress(InvalidArgument):
            refs[str(parse_reference(tag))] = tag
    out: dict[str, list[Verdict]] = {}
    for row in ImageCheck.objects.filter(host=host, reference__in=list(refs)):
        image = tags[refs[row.reference]]
        v = verdict(row, image, row.reference)
        if v is not None:
            out.setdefault(image["Id"], []).append(v)
    return out


def project_update_counts(
    host: str, client: EngineClient, containers: list[dict[str, Any]] | None = None
) -> dict[str, int]:
    """Compose project -> how many of its containers have an update (nothing, and no call,
    while the host was never checked). `containers`: the host's list already read (the
    container cache's), else the engine is asked."""
    if not ImageCheck.objects.filter(host=host).exists():
        return {}
    if containers is None:
        rows = client.containers.list(all=True, filters={"label": [COMPOSE_PROJECT_LABEL]})
    else:
        rows = [c for c in containers if COMPOSE_PROJECT_LABEL in (c.get("Labels") or {})]
    verdicts = container_verdicts(host, client, rows, look_up_ids=False)
    out: dict[str, int] = {}
    for row in rows:
        if row["Id"] in verdicts and verdicts[row["Id"]].outdated:
            project = (row.get("Labels") or {}).get(COMPOSE_PROJECT_LABEL, "")
            out[project] = out.get(project, 0) + 1
    return out


def service_reference(image: str) -> tuple[str, str]:
    """A service's image as (reference, pinned digest): swarm pins the digest the registry
    gave for the tag when the service was made (`ref:tag@sha256:...`)."""
    name, _, digest = image.partition("@")
    try:
        return str(parse_reference(name)), digest
    except InvalidArgument:
        return "", ""


def service_verdicts(host: str, images: dict[str, str]) -> dict[str, Verdict]:
    """Service ID -> verdict, from its spec's image ({id: image}) and the cached checks:
    outdated when the registry's digest for its tag is not the one it runs."""
    refs = {sid: service_reference(image) for sid, image in images.items()}
    checks = {
        c.reference: c
        for c in ImageCheck.objects.filter(
            host=host, reference__in={r for r, _ in refs.values() if r}
        )
    }
    out = {}
    for sid, (ref, pinned) in refs.items():
        row = checks.get(ref)
        if row is None:
            continue
        v = verdict(row, None, ref)
        if v is not None and pinned and row.status in (u.UP_TO_DATE, u.UPDATE_AVAILABLE):
            v.status = u.UP_TO_DATE if row.remote_digest == pinned else u.UPDATE_AVAILABLE
        if v is not None:
            out[sid] = v
    return out


def service_references(client: EngineClient) -> list[str]:
    """The references of the host's swarm services (none off a manager)."""
    from engine_client.errors import EngineError

    try:
        services = client.services.list()
    except EngineError:
        return []
    images = (
        ((s.get("Spec") or {}).get("TaskTemplate") or {}).get("ContainerSpec", {}).get("Image", "")
        for s in services
    )
    return sorted({ref for ref, _ in map(service_reference, images) if ref})
