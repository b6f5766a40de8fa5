"""Images in and out as tar archives: export (docker save format, streamed from the engine
as it comes) and upload to load or import, with a size limit enforced while reading."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from .. import resource_presenters as rp
from ..access import ADMIN, require_role
from ..audit import audited
from ..engines import Host
from ..forms.images import UploadForm
from ..presenters import human_bytes
from ..streams.threads import iterate_in_thread
from ..web import host_client


def _loaded_text(lines: list[str]) -> str:
    """The engine's "Loaded image: a:1" lines, said as one sentence."""
    names = [line.split(": ", 1)[-1] for line in lines if line.strip()]
    if not names:
        return "The archive is loaded."
    return f"Loaded {len(names)} image{'' if len(names) == 1 else 's'}: {', '.join(names)}."


@require_GET
@require_role(ADMIN)
def image_export(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    """The image as a tar (docker save format), streamed from the engine as it comes."""
    h, client = host_client(request, host)
    image = client.images.inspect(ref)
    tags = rp.image_row(image)["tags"]
    # By tag the archive keeps the name (docker load restores it); by ID it has none.
    name = tags[0] if tags else image["Id"]
    with audited(request, h.name, "image.export", image["Id"], name):
        stream = client.images.export(name)

    async def body() -> AsyncIterator[bytes]:
        with contextlib.closing(stream):
            async for chunk in iterate_in_thread(stream.chunks()):
                yield chunk

    filename = re.sub(r"[^A-Za-z0-9_.-]+", "_", name.split("@")[0])[:100] + ".tar"
    response = StreamingHttpResponse(body(), content_type="application/x-tar")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# Room for the form's other fields around the archive.
_FORM_SLACK = 64 * 1024


class SizeLimitHandler(FileUploadHandler):
    """Stops reading an upload as soon as it grows past the limit (for a request that did
    not say its length up front)."""

    def __init__(self, limit: int, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


@csrf_exempt  # checked below, once the size limit is in place (Django's documented order)
@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def image_upload(request: HttpRequest, host: str) -> HttpResponse:
    limit = settings.IMAGE_UPLOAD_MAX_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if request.method == "POST" and length > limit + _FORM_SLACK:
        # Refused unread: nothing happens, so there is nothing for CSRF to protect.
        h, _ = host_client(request, host)
        return _too_large(request, h, limit)
    handler = SizeLimitHandler(limit, request)
    request.upload_handlers.insert(0, handler)
    return _image_upload(request, host, handler)


def _too_large(request: HttpRequest, h: Host, limit: int) -> HttpResponse:
    context = {
        "host": h,
        "form": UploadForm(),
        "limit": human_bytes(limit),
        "error": f"The archive is larger than the limit of {human_bytes(limit)}.",
    }
    return render(request, "images/upload.html", context, status=413)


@csrf_protect
def _image_upload(request: HttpRequest, host: str, handler: SizeLimitHandler) -> HttpResponse:
    h, client = host_client(request, host)
    limit = settings.IMAGE_UPLOAD_MAX_BYTES
    if request.method != "POST":
        return render(
            request,
            "images/upload.html",
            {"host": h, "form": UploadForm(), "limit": human_bytes(limit)},
        )
    form = UploadForm(request.POST, request.FILES)  # reads the upload, within the limit
    if handler.exceeded:
        return _too_large(request, h, limit)
    if form.is_valid():
        archive = form.cleaned_data["archive"]
        mode = form.cleaned_data["mode"]
        ref = form.cleaned_data.get("reference")
        params = {"file": archive.name, "bytes": archive.size}
        with audited(request, h.name, f"image.{mode}", params=params) as entry:
            archive.seek(0)
            if mode == "load":
                loaded = client.images.load(archive)
                entry.target_name = "; ".join(loaded)[:255]
                text = _loaded_text(loaded)
            else:
                image_id = client.images.import_tarball(archive, ref)
                entry.target_name = str(ref)
                text = f"Imported image {ref} ({image_id[:19]})."
        messages.success(request, text)
        return redirect(reverse("image-list", args=[host]))
    context = {"host": h, "form": form, "limit": human_bytes(limit)}
    return render(request, "images/upload.html", context, status=400)
