"""Making containers: the form to create, create and start, or run once (also filled from
another container: duplicate), edit-and-recreate, and the run-once page. The engine
procedures (create, connect, start, undo; recreate) are engine_client's: these views
render their reports."""

from __future__ import annotations

import contextlib
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from engine_client import EngineClient, EngineError, NotFound
from engine_client.container_spec import ContainerSpec, other_networks
from engine_client.containers import MakeReport
from engine_client.validators import is_container_id

from .. import presenters
from ..access import ADMIN, has_role, require_role
from ..audit import audited
from ..forms.containers import ContainerForm, form_initial, secret_values
from ..streams.run_once import RUN_ONCE_LABEL
from ..web import host_client


def _local_tags(client: EngineClient) -> list[str]:
    """Tags of the images on the engine, for the form's image field to offer."""
    tags = {t for i in client.images.list() for t in i.get("RepoTags") or [] if "<none>" not in t}
    return sorted(tags)


def _container_form(
    request: HttpRequest, client: EngineClient, data: Any = None, **kwargs: Any
) -> ContainerForm:
    return ContainerForm(
        data,
        client=client,
        allow_privileged=has_role(request.user, ADMIN),
        networks=sorted(n.get("Name", "") for n in client.networks.list() if n.get("Name")),
        **kwargs,
    )


def _audit_params(spec: ContainerSpec, then: str, pull: bool) -> dict[str, Any]:
    """What was asked for, without values of variables (they may be secrets)."""
    return {
        "image": spec.image,
        "name": spec.name,
        "then": then,
        "pull": pull,
        "command": spec.cmd,
        "env_names": [e.partition("=")[0] for e in spec.env],
        "ports": [p.docker_arg() for p in spec.ports],
        "mounts": [m.docker_arg() for m in spec.mounts],
        "network": spec.network,
        "restart": spec.restart,
        "privileged": spec.privileged,
        "cap_add": spec.cap_add,
    }


def _source(client: EngineClient, source: str) -> dict[str, Any] | None:
    """The container a duplicate was filled from (for its hidden values, the settings the
    form does not show and its other networks), if it is still there."""
    if not is_container_id(source):
        return None
    try:
        return client.containers.inspect(source)
    except NotFound:
        return None


def _refused(form: ContainerForm, report: MakeReport) -> None:
    """Put what stopped `make` beside the field it concerns."""
    failed = report.failed
    if failed is None:
        return
    if failed.what.startswith("pull "):
        form.add_error("image", f"The pull failed: {failed.message}")
    elif failed.what == "start the container" and report.undone:
        form.engine_refused(
            f"It was created but did not start, so it was removed again: {failed.message}"
        )
    elif report.undone or failed.what == "create the container":
        form.engine_refused(failed.message)
    else:  # the undo failed too: say that something is left
        form.engine_refused(
            f"{failed.message} (and it could not be removed again: it is still there)"
        )


def _copy_name(client: EngineClient, name: str) -> str:
    taken = {n.lstrip("/") for r in client.containers.list(all=True) for n in r.get("Names") or []}
    for n in range(1, 100):
        candidate = f"{name}-copy" if n == 1 else f"{name}-copy{n}"
        if candidate not in taken:
            return candidate
    return ""


def _form_page(
    request: HttpRequest, h: Any, form: ContainerForm, mode: str, c: dict[str, Any] | None = None
) -> HttpResponse:
    # A POST that comes back to the form did not validate (or a step failed): not a 200.
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "containers/form.html",
        {"host": h, "form": form, "mode": mode, "c": c, "images": _local_tags(form.client)},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def container_new(request: HttpRequest, host: str) -> HttpResponse:
    """The create form: create, create and start, or run once. `?from=<id>` fills it from an
    existing container (duplicate)."""
    h, client = host_client(request, host)
    if request.method == "GET":
        source = request.GET.get("from", "")
        if not source:
            return _form_page(request, h, _container_form(request, client), "new")
        if not is_container_id(source):
            raise Http404("duplicate takes a full container id")
        raw = client.containers.inspect(source)
        spec = ContainerSpec.from_inspect(raw, client.images.config(raw.get("Image", "")))
        spec.name = _copy_name(client, spec.name)
        initial, ports, mounts = form_initial(spec)
        initial["source"] = raw["Id"]
        form = _container_form(
            request, client, initial=initial, ports_initial=ports, mounts_initial=mounts
        )
        return _form_page(request, h, form, "duplicate", presenters.container_detail(raw))
    source = request.POST.get("source", "")
    base = _source(client, source)
    hidden_env = secret_values(((base or {}).get("Config") or {}).get("Env") or [])
    form = _container_form(request, client, request.POST, hidden_env=hidden_env)
    mode = "duplicate" if source else "new"
    then = request.POST.get("then", "create")
    then = then if then in ("create", "start", "run") else "create"
    if not form.is_valid() or form.section_errors:
        return _form_page(request, h, form, mode)
    spec = form.spec()
    pull = form.cleaned_data["pull"]
    if then == "run":
        # The run page starts it, streams its output, and removes it at the end (unless kept).
        spec.labels[RUN_ONCE_LABEL] = "keep" if form.cleaned_data["keep"] else "remove"
        spec.auto_remove = False
    params = _audit_params(spec, then, pull)
    report = None
    with (
        contextlib.suppress(EngineError),
        audited(
            request, h.name, "container.run" if then == "run" else "container.create", params=params
        ) as entry,
    ):
        entry.target_name = spec.name
        report = client.containers.make(
            spec.create_body(base),
            spec.name,
            pull=pull,
            networks=other_networks(base, spec.network) if base is not None else None,
            start=then == "start",
        )
        if report.id:
            entry.params["container_id"] = report.id
        entry.params["steps"] = [f"{s.what}: {s.outcome}" for s in report.steps]
        if not report.ok:
            failed = report.failed
            raise EngineError(f"{failed.what}: {failed.message}" if failed else "failed")
    if report is None or not report.ok:
        if report is not None:
            _refused(form, report)
        return _form_page(request, h, form, mode)
    cid = report.id
    if then == "run":
        return redirect(reverse("container-run", args=[host, cid]))
    verb = "Created and started" if then == "start" else "Created"
    messages.success(request, f"{verb} container {spec.name or cid[:12]}.")
    for warning in report.warnings:
        messages.warning(request, f"The engine warns: {warning}")
    return redirect(reverse("container-detail", args=[host, cid]))


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def container_edit(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    """The form filled from a container; saving recreates it (same name, new settings) and
    says what it did, step by step, if anything fails part-way."""
    h, client = host_client(request, host)
    raw = client.containers.inspect(container_id)
    c = presenters.container_detail(raw)
    if request.method == "GET":
        spec = ContainerSpec.from_inspect(raw, client.images.config(raw.get("Image", "")))
        initial, ports, mounts = form_initial(spec)
        form = _container_form(
            request,
            client,
            initial=initial,
            ports_initial=ports,
            mounts_initial=mounts,
            own_name=c["name"],
        )
        return _form_page(request, h, form, "edit", c)
    form = _container_form(
        request,
        client,
        request.POST,
        own_name=c["name"],
        hidden_env=secret_values(raw["Config"].get("Env") or []),
    )
    if not form.is_valid():
        return _form_page(request, h, form, "edit", c)
    spec = form.spec()
    spec.name = spec.name or c["name"]
    pull = form.cleaned_data["pull"]
    params = _audit_params(spec, "recreate", pull)
    report = None
    with (
        contextlib.suppress(EngineError),
        audited(
            request, h.name, "container.recreate", container_id, c["name"], params=params
        ) as entry,
    ):
        report = client.containers.recreate(
            container_id,
            spec.create_body(raw, keep_identity=True),
            spec.name,
            pull,
            networks=other_networks(raw, spec.network),
        )
        entry.params["steps"] = [f"{s.what}: {s.outcome}" for s in report.steps]
        entry.params["new_id"] = report.new_id
        if not report.ok:
            failed = report.failed
            raise EngineError(f"{failed.what}: {failed.message}" if failed else "failed")
    if report is None:  # the old container could not even be read again
        raise NotFound(f"No such container: {container_id}")
    if report.ok and not any(s.outcome == "failed" for s in report.steps):
        messages.success(request, f"Recreated container {spec.name} with the new settings.")
        return redirect(reverse("container-detail", args=[host, report.new_id]))
    return render(
        request,
        "containers/recreate_result.html",
        {"host": h, "c": c, "report": report, "spec": spec},
    )


@require_GET
@require_role(ADMIN)
def container_run(request: HttpRequest, host: str, container_id: str) -> HttpResponse:
    """The run page: the output of a container run once, streamed while it runs."""
    h, client = host_client(request, host)
    raw = client.containers.inspect(container_id)
    if RUN_ONCE_LABEL not in ((raw.get("Config") or {}).get("Labels") or {}):
        raise Http404("this container was not made to be run once")
    c = presenters.container_detail(raw)
    spec = ContainerSpec.from_inspect(raw)
    return render(
        request,
        "containers/run.html",
        {
            "host": h,
            "c": c,
            "command": " ".join(spec.cmd or []) or "(the image's command)",
            "keep": raw["Config"]["Labels"][RUN_ONCE_LABEL] == "keep",
            "ws_url": f"/ws/hosts/{h.name}/containers/{c['id']}/run/",
        },
    )
