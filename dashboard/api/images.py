"""Hosts and images through the API. A pull answers with the engine's own progress, one JSON
object a line (application/x-ndjson), as it comes; the pull is audited when it ends, failed
with the registry's message if the stream carried one."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Generator
from typing import Any

from django.db import connections
from django.http import HttpRequest, StreamingHttpResponse

from engine_client import EngineError

from .. import credentials
from ..access import may_use_host
from ..audit import audited
from ..engines import configured_hosts
from ..forms.images import PullForm
from ..streams.threads import iterate_in_thread
from ..web import host_client
from .auth import body_of, valid


def host_list(request: HttpRequest) -> Any:
    return [
        {"name": h.name, "origin": h.origin}
        for h in configured_hosts().values()
        if may_use_host(request.user, h.name)
    ]


def image_list(request: HttpRequest, host: str) -> Any:
    _, client = host_client(request, host)
    return client.images.list()


def image_pull(request: HttpRequest, host: str) -> StreamingHttpResponse:
    h, client = host_client(request, host)
    ref = valid(PullForm(body_of(request)))["reference"]  # an ImageRef, checked
    reference = str(ref)
    auth = credentials.auth_header(h.name, ref.registry)

    try:
        # Started here, not in the stream: a refusal is an answer with its own status.
        stream = client.images.pull(ref, auth=auth)
    except EngineError:
        with audited(request, h.name, "image.pull", reference, reference):
            raise

    def lines() -> Generator[bytes]:  # in a thread of its own (iterate_in_thread)
        try:
            with audited(request, h.name, "image.pull", reference, reference) as entry, stream:
                for obj in stream.objects():
                    if isinstance(obj, dict) and obj.get("error"):
                        entry.failed = str(obj["error"])
                    yield json.dumps(obj).encode() + b"\n"
        finally:
            connections.close_all()

    async def body() -> AsyncIterator[bytes]:
        source = lines()
        with contextlib.closing(source):
            async for chunk in iterate_in_thread(source):
                yield chunk

    return StreamingHttpResponse(body(), content_type="application/x-ndjson")
