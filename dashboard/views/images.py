"""Images: list, detail (inspect + history), pull and push with live progress, tag, remove.
Export and upload (tar archives) are in image_transfer."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from engine_client import EngineClient, InvalidArgument
from engine_client.validators import ImageRef, is_image_id, parse_reference

from .. import credentials, image_updates, progress
from .. import resource_presenters as rp
from ..access import ADMIN, VIEWER, require_role
from ..audit import audited
from ..engines import Host
from ..forms.images import ImageFilterForm, ImageRemoveForm, PullForm, PushForm, TagForm
from ..paging import PER_PAGE_CHOICES, paginate
from ..web import host_client, hx_redirect


def _list_url(host: str) -> str:
    return reverse("image-list", args=[host])


def _detail_url(host: str, image_id: str) -> str:
    return reverse("image-detail", args=[host, rp.image_hex(image_id)])


def _tags_of(image: dict[str, Any]) -> list[str]:
    return [t for t in image.get("RepoTags") or [] if t and t != "<none>:<none>"]


def _image_name(image: dict[str, Any]) -> tuple[bool, str]:
    tags = _tags_of(image)
    return (not tags, tags[0] if tags else "")


IMAGE_SORT_KEYS: dict[str, Any] = {"name": _image_name}


def _users(client: EngineClient) -> dict[str, list[dict[str, Any]]]:
    return rp.containers_by_image(client.containers.list(all=True))


@require_GET
@require_role(VIEWER)
def image_usage(request: HttpRequest, host: str) -> HttpResponse:
    """The list's "used by" column: one element the page spreads over its rows."""
    _, client = host_client(request, host)
    usage = {
        rp.image_hex(image_id)[:12]: [
            len(users),
            ", ".join(f"{u['name']} ({u['state']})" for u in users[:50]),
        ]
        for image_id, users in _users(client).items()
        if image_id
    }
    return render(request, "images/_usage.html", {"usage_json": json.dumps(usage)})


@require_GET
@require_role(VIEWER)
def image_list(request: HttpRequest, host: str) -> HttpResponse:
    h, client = host_client(request, host)
    started = time.time()
    form = ImageFilterForm(request.GET)
    valid = form.is_valid()
    q = form.cleaned_data.get("q", "")
    dangling = bool(form.cleaned_data.get("dangling"))
    # Which containers use each image costs a second list (of every container): the page
    # answers without it and fetches it at once (image_usage), filling the column.
    images = client.images.list(filters={"dangling": ["true"]} if dangling else None)
    total = len(images)
    if q:
        needle = q.lower()
        images = [
            i
            for i in images
            if needle in " ".join(_tags_of(i)).lower()
            or rp.image_hex(i.get("Id", "")).startswith(q)
        ]
    # Sorted and cut on the engine's entries; only the page shown becomes rows.
    page = paginate(images, request.GET, IMAGE_SORT_KEYS, "name")
    rows = [rp.image_row(i) for i in page.items]
    updates = image_updates.image_verdicts(h.name, page.items)
    for row in rows:
        row["updates"] = updates.get(row["id"], [])
    query = {"q": q, "dangling": "on" if dangling else ""}
    context = {
        "host": h,
        "rows": rows,
        "form": form,
        "q": q,
        "dangling": dangling,
        "total": total,
        "page": page,
        "base": query,
        "list_url": reverse("image-list", args=[h.name]),
        "per_choices": PER_PAGE_CHOICES,
        "pull_form": PullForm(),
        "ws_url": f"/ws/hosts/{h.name}/images/live/?"
        + urlencode({**query, "since": f"{started:.3f}"}),
        "initial_status": {"state": "connecting", "text": "connecting…"},
    }
    status = 200 if valid else 400
    if request.htmx and request.htmx.target == "images-rows":
        return render(request, "images/_rows.html", context, status=status)
    return render(request, "images/list.html", context, status=status)


def _progress_context(
    request: HttpRequest, h: Host, kind: str, ref: ImageRef, target_id: str = ""
) -> dict[str, Any]:
    job = progress.issue(request, h.name, kind, ref, target_id=target_id)
    login = credentials.find(h.name, ref.registry)
    return {
        "job": job.job,
        "kind": kind,
        "ref": str(ref),
        "login": f"{login.username} at {login.registry}" if login else "",
        "ws_url": f"/ws/hosts/{h.name}/progress/?" + urlencode({"t": progress.ticket(job)}),
        "p": None,
    }


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def image_pull(request: HttpRequest, host: str) -> HttpResponse:
    """Pull: the form checks the reference; the pull itself runs in the stream hub and shows
    its progress over the page's websocket (dashboard/progress.py)."""
    h, _ = host_client(request, host)
    form = PullForm(request.POST or None)
    status = 200
    started = None
    if request.method == "POST":
        if form.is_valid():
            started = _progress_context(request, h, "pull", form.cleaned_data["reference"])
            form = PullForm()
        else:
            status = 400
    context = {"host": h, "pull_form": form, "started": started}
    template = "images/_pull.html" if request.htmx else "images/pull.html"
    return render(request, template, context, status=status)


def _image(client: EngineClient, ref: str) -> dict[str, Any]:
    return client.images.inspect(ref)


@require_GET
@require_role(VIEWER)
def image_detail(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    image = _image(client, ref)
    users = _users(client).get(image.get("Id", ""), [])
    detail = rp.image_detail(image, client.images.history(image["Id"]), users)
    return render(request, "images/detail.html", _detail_context(h, detail))


def _detail_context(h: Host, detail: dict[str, Any], **forms_: Any) -> dict[str, Any]:
    push = forms_.get("push_form") or PushForm()
    push.fields["tag"].choices = [(t, t) for t in detail["tags"]]
    return {
        "host": h,
        "i": detail,
        "tag_form": forms_.get("tag_form") or TagForm(),
        "push_form": push,
        "remove_form": forms_.get("remove_form") or ImageRemoveForm(initial={"ref": detail["id"]}),
        "started": forms_.get("started"),
    }


def _form_or_page(
    request: HttpRequest, h: Host, client: EngineClient, ref: str, fragment: str, **forms_: Any
) -> HttpResponse:
    """A form with errors: just the form for htmx, else the whole detail page."""
    image = _image(client, ref)
    users = _users(client).get(image.get("Id", ""), [])
    detail = rp.image_detail(image, client.images.history(image["Id"]), users)
    context = _detail_context(h, detail, **forms_)
    status = 400 if any(f.errors for f in forms_.values() if hasattr(f, "errors")) else 200
    if request.htmx:
        return render(request, fragment, context, status=status)
    return render(request, "images/detail.html", context, status=status)


def _done(request: HttpRequest, url: str, text: str) -> HttpResponse:
    messages.success(request, text)
    return hx_redirect(request, url)


@require_POST
@require_role(ADMIN)
def image_tag(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    form = TagForm(request.POST)
    if not form.is_valid():
        return _form_or_page(request, h, client, ref, "images/_tag_form.html", tag_form=form)
    target = form.cleaned_data["target"]
    with audited(request, h.name, "image.tag", ref, params={"tag": str(target)}) as entry:
        image = _image(client, ref)
        entry.target_name = ", ".join(rp.image_row(image)["tags"])
        made = client.images.tag(image["Id"], target)
    return _done(request, _detail_url(host, image["Id"]), f"Tagged the image {made}.")


@require_POST
@require_role(ADMIN)
def image_push(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    h, client = host_client(request, host)
    image = _image(client, ref)
    form = PushForm(request.POST)
    form.fields["tag"].choices = [(t, t) for t in rp.image_row(image)["tags"]]
    if not form.is_valid():
        return _form_or_page(request, h, client, ref, "images/_push_form.html", push_form=form)
    target = parse_reference(form.cleaned_data["tag"])
    started = _progress_context(request, h, "push", target, target_id=image["Id"])
    if request.htmx:
        return render(
            request,
            "images/_push_form.html",
            _detail_context(h, rp.image_detail(image, [], []), started=started),
        )
    return _form_or_page(request, h, client, ref, "images/_push_form.html", started=started)


@require_POST
@require_role(ADMIN)
def image_remove(request: HttpRequest, host: str, ref: str) -> HttpResponse:
    """Remove a tag, or the image by its ID. The engine refuses (409) while a container uses
    it, even with force for a running one; its message is shown beside the form."""
    h, client = host_client(request, host)
    form = ImageRemoveForm(request.POST)
    if not form.is_valid():
        return _form_or_page(request, h, client, ref, "images/_remove_form.html", remove_form=form)
    target = form.cleaned_data["ref"]
    force = form.cleaned_data["force"]
    with audited(request, h.name, "image.remove", target, params={"force": force}) as entry:
        image = _image(client, ref)
        entry.target_name = ", ".join(rp.image_row(image)["tags"]) or rp.image_hex(image["Id"])
        own_id = is_image_id(target) and rp.image_hex(image["Id"]).startswith(rp.image_hex(target))
        if not (own_id or target in rp.image_row(image)["tags"]):
            raise InvalidArgument(f"{target} is neither this image's ID nor one of its tags")
        result = client.images.remove(target, force=force)
        entry.params["result"] = result[:20]
    deleted = any(r.get("Deleted") for r in result)
    if deleted:
        return _done(request, _list_url(host), f"Removed image {entry.target_name}.")
    return _done(request, _detail_url(host, image["Id"]), f"Removed the tag {target}.")
