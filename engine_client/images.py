"""Image calls: list, inspect, history, pull, push, tag, remove, export, load, import.

Image references are checked here against the docker reference grammar before anything is
sent: a bad one never reaches the engine. Pull and push answer 200 and then stream progress
lines; a failure half-way is a line with `errorDetail` inside that 200 stream, so progress is
folded by `ProgressState`, which looks at every line.
"""

from __future__ import annotations

import base64
import builtins
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from .client import encode_filters
from .errors import Conflict, EngineError, InvalidArgument, NotFound
from .flavor import familiar
from .framing import JSONStreamDecoder
from .streams import EngineStream, JSONStream
from .validators import (
    DEFAULT_REGISTRY,
    ImageRef,
    check_image,
    normalize_registry,
    parse_reference,
)

if TYPE_CHECKING:
    from .client import EngineClient

# What the engine expects as `serveraddress` for Docker Hub credentials.
DOCKER_HUB_AUTH_ADDRESS = "https://index.docker.io/v1/"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}


def registry_auth_body(username: str, password: str, registry: str) -> dict[str, str]:
    """The auth object the engine takes (`serveraddress` is a host[:port], no scheme, except
    Docker Hub's historical address)."""
    registry = normalize_registry(registry)
    server = DOCKER_HUB_AUTH_ADDRESS if registry == DEFAULT_REGISTRY else registry
    return {"username": username, "password": password, "serveraddress": server}


def registry_auth(username: str, password: str, registry: str) -> str:
    """The X-Registry-Auth header value: base64url of the auth JSON."""
    payload = json.dumps(registry_auth_body(username, password, registry), separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode()


# An empty auth object: what the docker CLI sends when it has no credentials.
NO_AUTH = base64.urlsafe_b64encode(b"{}").decode()

# -- progress -----------------------------------------------------------------------------

_LAYER_ID = re.compile(r"[0-9a-f]{12}|[0-9a-f]{64}")
# Statuses after which a layer needs nothing more.
_LAYER_DONE = (
    "Pull complete",
    "Already exists",
    "Pushed",
    "Layer already exists",
    "Mounted from",
)
_KEEP_MESSAGES = 30


@dataclass
class LayerProgress:
    id: str
    status: str = ""
    current: int = 0
    total: int = 0
    complete: bool = False

    @property
    def percent(self) -> int:
        if self.complete:
            return 100
        if self.total > 0:
            return max(0, min(100, int(self.current * 100 / self.total)))
        return 0


@dataclass
class ProgressState:
    """Pull, push or load progress lines folded into what a person reads: one entry per layer,
    the general messages, and the outcome. An `errorDetail` line makes it failed, whatever the
    HTTP status said."""

    layers: dict[str, LayerProgress] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    error: str = ""
    digest: str = ""
    finished: bool = False

    def feed(self, obj: Any) -> None:
        if not isinstance(obj, dict):
            return
        error = obj.get("errorDetail") or {}
        if error or obj.get("error"):
            message = (error.get("message") if isinstance(error, dict) else "") or obj.get("error")
            self.error = str(message or "the engine reported an error")
            return
        aux = obj.get("aux")
        if isinstance(aux, dict) and isinstance(aux.get("Digest"), str):
            self.digest = aux["Digest"]
        status = obj.get("status")
        ident = obj.get("id")
        if isinstance(status, str) and isinstance(ident, str) and _LAYER_ID.fullmatch(ident):
            layer = self.layers.get(ident)
            if layer is None:
                layer = self.layers[ident] = LayerProgress(ident)
            layer.status = status
            detail = obj.get("progressDetail") or {}
            if isinstance(detail, dict) and detail.get("total"):
                layer.current = int(detail.get("current") or 0)
                layer.total = int(detail.get("total") or 0)
            if status.startswith(_LAYER_DONE):
                layer.complete = True
            elif status == "Download complete" and layer.total:
                # Extraction follows, with its own current/total.
                layer.current = layer.total
            return
        text = ""
        if isinstance(status, str):
            text = f"{ident}: {status}" if isinstance(ident, str) and ident else status
            if status.startswith("Digest: "):
                self.digest = status[len("Digest: ") :].strip()
            elif not self.digest and (m := _PUSHED_DIGEST.fullmatch(status)):
                self.digest = m.group(1)  # a push's summary line (Podman sends no aux)
        elif isinstance(obj.get("stream"), str):
            text = obj["stream"].strip()
        if text:
            self.messages.append(text)
            del self.messages[:-_KEEP_MESSAGES]

    def fail(self, message: str) -> None:
        self.error = message or "failed"

    def finish(self) -> None:
        self.finished = True

    @property
    def ok(self) -> bool:
        return self.finished and not self.error

    @property
    def percent(self) -> int:
        """All layers together, each counted alike (their sizes are not all known early)."""
        if self.ok:
            return 100
        if not self.layers:
            return 0
        return sum(lp.percent for lp in self.layers.values()) // len(self.layers)

    def snapshot(self) -> dict[str, Any]:
        """A plain copy, safe to render while the reader goes on."""
        return {
            "layers": [
                {
                    "id": lp.id,
                    "status": lp.status,
                    "current": lp.current,
                    "total": lp.total,
                    "percent": lp.percent,
                    "complete": lp.complete,
                }
                for lp in self.layers.values()
            ],
            "messages": list(self.messages),
            "percent": self.percent,
            "error": self.error,
            "digest": self.digest,
            "finished": self.finished,
            "ok": self.ok,
        }


def read_progress(stream: JSONStream) -> ProgressState:
    """Read a progress stream to its end; raise EngineError if a line reported an error."""
    state = ProgressState()
    with stream:
        for obj in stream.objects():
            state.feed(obj)
    state.finish()
    if state.error:
        raise EngineError(state.error)
    return state


# -- the API ------------------------------------------------------------------------------

# Seconds to wait for the next progress line of a pull or push before giving up on it.
PROGRESS_READ_TIMEOUT = 600.0
# Uploads and downloads of whole images: per read, not in total.
TRANSFER_TIMEOUT = 600.0


class ImagesAPI:
    def __init__(self, client: EngineClient) -> None:
        self._c = client

    def list(
        self,
        all: bool = False,
        filters: Mapping[str, Iterable[str] | str] | None = None,
        digests: bool = True,
    ) -> list[dict[str, Any]]:
        """`GET /images/json`: top-level images unless `all`."""
        podman = self._c.flavor.is_podman
        rows = self._c.get_json(
            "/images/json",
            params={
                "all": all or None,
                "filters": encode_filters(filters),
                # Podman 4.3 answers `digests=1` with an empty body; it lists digests anyway.
                "digests": None if podman else digests,
            },
        )
        if podman:
            for row in rows or []:
                row["RepoTags"] = [familiar(t) for t in row.get("RepoTags") or []]
                row["RepoDigests"] = [familiar(d) for d in row.get("RepoDigests") or []]
        return rows or []

    def inspect(self, ref: str) -> dict[str, Any]:
        try:
            body = self._c.get_json("/images/{}/json", check_image(ref))
        except NotFound as exc:
            if "64-byte hexadecimal" in exc.message:
                # Podman tries an unknown id again as a name and reports why that failed.
                raise NotFound(f"No such image: {ref}", 404) from exc
            raise
        if self._c.flavor.is_podman and isinstance(body, dict):
            body["RepoTags"] = [familiar(t) for t in body.get("RepoTags") or []]
            body["RepoDigests"] = [familiar(d) for d in body.get("RepoDigests") or []]
        return body

    def config(self, ref: str) -> dict[str, Any] | None:
        """The image's own settings (`Config`), or None when it is gone or `ref` is not an
        image reference (a container's image may have been removed since)."""
        try:
            return self.inspect(ref).get("Config") or {}
        except (EngineError, InvalidArgument):
            return None

    def history(self, ref: str) -> builtins.list[dict[str, Any]]:
        return self._c.get_json("/images/{}/history", check_image(ref))

    def pull(self, reference: str | ImageRef, auth: str | None = None) -> JSONStream:
        """Start a pull; the returned stream carries its progress. The pull is done only at
        the stream's end (closing it early can abort it). Never pulls "every tag": without a
        tag it pulls `latest`."""
        ref = reference if isinstance(reference, ImageRef) else parse_reference(reference)
        resp = self._c.request(
            "POST",
            "/images/create",
            params={"fromImage": ref.name, "tag": ref.digest or ref.tag_or_latest},
            headers={"X-Registry-Auth": auth} if auth else None,
            stream=True,
            timeout=PROGRESS_READ_TIMEOUT,
        )
        if self._c.flavor.is_podman:
            return PodmanPullStream(resp, url=self._c.url, images=self, ref=ref)
        return JSONStream(resp, url=self._c.url)

    def push(self, reference: str | ImageRef, auth: str | None = None) -> JSONStream:
        """Start pushing one tag; the stream carries the progress (errors arrive in it)."""
        ref = reference if isinstance(reference, ImageRef) else parse_reference(reference)
        if ref.digest:
            raise InvalidArgument("push a tag, not a digest")
        resp = self._c.request(
            "POST",
            "/images/{}/push",
            ref.name,
            params={"tag": ref.tag_or_latest},
            headers={"X-Registry-Auth": auth or NO_AUTH},
            stream=True,
            timeout=PROGRESS_READ_TIMEOUT,
        )
        return JSONStream(resp, url=self._c.url)

    def tag(self, source: str, target: str | ImageRef) -> ImageRef:
        """Give image `source` (a reference or an ID) the new name `target` (repo[:tag])."""
        ref = (
            target if isinstance(target, ImageRef) else parse_reference(target, allow_digest=False)
        )
        if ref.digest:
            raise InvalidArgument("a tag cannot contain a digest")
        self._c.request(
            "POST",
            "/images/{}/tag",
            check_image(source),
            params={"repo": ref.name, "tag": ref.tag_or_latest},
        )
        return ImageRef(ref.domain, ref.path, ref.tag_or_latest)

    def remove(
        self, ref: str, force: bool = False, noprune: bool = False
    ) -> builtins.list[dict[str, str]]:
        """`DELETE /images/{name}`: untags a reference, deletes the image when no tag is left.
        Returns the engine's list of `Untagged` / `Deleted` entries."""
        check_image(ref)
        if self._c.flavor.is_podman:
            self._podman_remove_check(ref, force)
        return (
            self._c.request(
                "DELETE",
                "/images/{}",
                check_image(ref),
                params={"force": force or None, "noprune": noprune or None},
                timeout=self._c.timeout + 60,
            ).json()
            or []
        )

    def _podman_remove_check(self, ref: str, force: bool) -> None:
        """Refuse what Docker refuses, before Podman does worse: Podman untags the last tag
        of an image a container uses (Docker: must force), and a forced remove deletes the
        containers that use the image, running or not (Docker refuses a running one and
        never removes a container)."""
        image = self.inspect(ref)
        # Podman's `ancestor` filter does not match an id: compare every container's.
        users = self._c.containers.list(all=True)
        users = [c for c in users if c.get("ImageID") in (image["Id"], image["Id"][7:])]
        if not users:
            return
        short = image["Id"].removeprefix("sha256:")[:12]
        running = [c for c in users if c.get("State") == "running"]
        if force and running:
            raise Conflict(
                f"conflict: unable to delete {short} (cannot be forced) - image is being "
                f"used by running container {running[0]['Id'][:12]}",
                409,
            )
        if force:
            raise Conflict(
                f"conflict: unable to delete {short} - Podman would also remove the stopped "
                f"container(s) using it ({', '.join(c['Id'][:12] for c in users)}): "
                "remove them first",
                409,
            )
        is_tag = familiar(ref) in image.get("RepoTags", []) or ref in image.get("RepoTags", [])
        if not is_tag or len(image.get("RepoTags") or []) <= 1:
            raise Conflict(
                f'conflict: unable to remove repository reference "{ref}" (must force) - '
                f"container {users[0]['Id'][:12]} is using its referenced image {short}",
                409,
            )

    def export(self, ref: str) -> EngineStream:
        """`GET /images/{name}/get`: the image as a tar archive (docker save format), streamed."""
        resp = self._c.request(
            "GET", "/images/{}/get", check_image(ref), stream=True, timeout=TRANSFER_TIMEOUT
        )
        return EngineStream(resp, url=self._c.url)

    def load(self, data: IO[bytes] | bytes) -> builtins.list[str]:
        """`POST /images/load` with a docker-save archive. Returns the engine's messages
        ("Loaded image: ..."); raises EngineError when the stream reports a failure."""
        resp = self._c.request(
            "POST",
            "/images/load",
            params={"quiet": True},
            data=data,
            headers={"Content-Type": "application/x-tar"},
            stream=True,
            timeout=TRANSFER_TIMEOUT,
        )
        return read_progress(JSONStream(resp, url=self._c.url)).messages

    def import_tarball(
        self, data: IO[bytes] | bytes, reference: str | ImageRef, message: str = ""
    ) -> str:
        """`POST /images/create?fromSrc=-`: a root filesystem tar becomes a one-layer image
        named `reference`. Returns the new image's ID."""
        ref = (
            reference
            if isinstance(reference, ImageRef)
            else parse_reference(reference, allow_digest=False)
        )
        resp = self._c.request(
            "POST",
            "/images/create",
            params={
                "fromSrc": "-",
                # Podman ignores `tag` on import (the image gets `latest`) but reads a tag
                # written into `repo`.
                "repo": f"{ref.name}:{ref.tag_or_latest}" if self._c.flavor.is_podman else ref.name,
                "tag": None if self._c.flavor.is_podman else ref.tag_or_latest,
                "message": message or None,
            },
            data=data,
            headers={"Content-Type": "application/x-tar"},
            stream=True,
            timeout=TRANSFER_TIMEOUT,
        )
        state = read_progress(JSONStream(resp, url=self._c.url))
        return next((m for m in reversed(state.messages) if m.startswith("sha256:")), "")


# "v1: digest: sha256:... size: 527": the summary line of a push.
_PUSHED_DIGEST = re.compile(r"\S+: digest: (sha256:[0-9a-f]{64}) size: \d+")


class PodmanPullStream(JSONStream):
    """A Podman pull's progress in Docker's words. Podman's last word on a layer is
    "Download complete" (Docker goes on to "Pull complete"), and it ends without the
    "Digest:" and "Status:" lines: those are added from the pulled image at the end."""

    def __init__(self, resp: Any, url: str, images: ImagesAPI, ref: ImageRef) -> None:
        super().__init__(resp, url=url)
        self._images = images
        self._ref = ref
        self._cancelled = False

    def close(self) -> None:
        self._cancelled = True
        super().close()

    def chunks(self) -> Iterator[bytes]:
        decoder = JSONStreamDecoder()
        failed = fetched = False
        for chunk in super().chunks():
            out = []
            for obj in decoder.feed(chunk):
                if isinstance(obj, dict):
                    failed = failed or bool(obj.get("error") or obj.get("errorDetail"))
                    if obj.get("status") == "Pulling fs layer":
                        fetched = True
                    if obj.get("status") == "Download complete" and obj.get("id"):
                        obj = {**obj, "status": "Pull complete"}
                out.append(json.dumps(obj))
            if out:
                yield ("\n".join(out) + "\n").encode()
        if failed or self._cancelled:
            return
        ref = self._ref
        pulled = str(ref) if ref.digest else f"{ref.name}:{ref.tag_or_latest}"
        try:
            image = self._images.inspect(pulled)
        except EngineError:
            return
        repo = familiar(ref.name)
        digest = next(
            (
                d.split("@", 1)[1]
                for d in image.get("RepoDigests") or []
                if d.split("@", 1)[0] == repo
            ),
            "",
        )
        tail = [{"status": f"Digest: {digest}"}] if digest else []
        done = "Downloaded newer image for" if fetched else "Image is up to date for"
        tail.append({"status": f"Status: {done} {pulled}"})
        yield ("\n".join(json.dumps(t) for t in tail) + "\n").encode()
