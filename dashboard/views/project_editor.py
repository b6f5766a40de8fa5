"""The project editor (admins): a compose project's compose.yaml and .env in the stacks
directory — new, edited, adopted from the CLI — checked before anything runs, a preview of
what `up` would change, and compose runs (up, pull, restart, down) followed live.

The files, the checks and the runs are dashboard/compose_runs.py's and dashboard/stacks.py's;
these views parse the form, call one of them and render what it says."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from engine_client import NotFound

from .. import compose_adopt, compose_runs, stacks
from ..access import ADMIN, require_role
from ..audit import audited
from ..forms.projects import ComposeRunForm, NewProjectForm, ProjectFilesForm
from ..web import host_client, hx_redirect

SAMPLE = """\
services:
  web:
    image: lab/busybox:latest
    command: ["httpd", "-f", "-p", "8080"]
    ports: ["8080"]
"""


def _problems_by_file(result: compose_runs.SaveResult, form) -> dict[str, list]:
    """Each problem beside its file, with the text of its line to find it by."""
    data = getattr(form, "cleaned_data", None) or {}
    texts = {
        "compose.yaml": (data.get("compose") or "").split("\n"),
        ".env": (data.get("env") or "").split("\n"),
    }
    by_file: dict[str, list] = {"compose": [], "env": []}
    for p in result.problems:
        lines = texts.get(p.file, [])
        text = lines[p.line - 1] if p.line and 0 < p.line <= len(lines) else ""
        item = {"file": p.file, "line": p.line, "message": p.message, "text": text.strip()}
        by_file["env" if p.file == ".env" else "compose"].append(item)
    return by_file


def _editor(request, h, name, form, result=None, status=200, new=False) -> HttpResponse:
    context = {
        "host": h,
        "name": name,
        "form": form,
        "new": new,
        "problems": _problems_by_file(result, form) if result else {"compose": [], "env": []},
        "compose_problem": compose_runs.compose_problem(),
        "actions": compose_runs.ACTION_LABELS,
        "stored": bool(name) and stacks.is_stored(stacks.project_folder(h.name, name)),
    }
    return render(request, "projects/editor.html", context, status=status)


def _save(request, h, name: str, form, new: bool) -> compose_runs.SaveResult:
    data = form.cleaned_data
    with audited(request, h.name, "project.save", name, name, {"new": new}) as entry:
        try:
            result = compose_runs.save(h, name, data["compose"], data["env"], new=new)
        except stacks.ProjectBusy as exc:
            result = compose_runs.SaveResult(
                [compose_runs.FileProblem("compose.yaml", None, str(exc))]
            )
        entry.failed = "; ".join(str(p) for p in result.problems)[:2000]
    return result


def _runs_elsewhere(client, host_name: str, name: str) -> bool:
    """A project of that name has containers here but no files in the stacks directory:
    a new one would take its containers over."""
    if stacks.is_stored(stacks.project_folder(host_name, name)):
        return False  # save says it exists already
    try:
        client.projects.get(name)
    except NotFound:
        return False
    return True


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def project_new(request: HttpRequest, host: str) -> HttpResponse:
    h, client = host_client(request, host)
    form = NewProjectForm(request.POST or None, initial={"compose": SAMPLE})
    if request.method == "POST":
        if form.is_valid() and _runs_elsewhere(client, h.name, form.cleaned_data["name"]):
            form.add_error(
                "name",
                "a project of this name already runs here, made elsewhere: adopt it from "
                "its page to edit it here",
            )
        if not form.is_valid():
            return _editor(request, h, "", form, status=400, new=True)
        name = form.cleaned_data["name"]
        result = _save(request, h, name, form, new=True)
        if not result.ok:
            return _editor(request, h, "", form, result, status=400, new=True)
        messages.success(request, f"Saved {name}: check the preview, then bring it up")
        return hx_redirect(request, reverse("project-edit", args=[h.name, name]))
    return _editor(request, h, "", form, new=True)


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def project_edit(request: HttpRequest, host: str, name: str) -> HttpResponse:
    h, _ = host_client(request, host)
    folder = stacks.project_folder(h.name, name)
    if not stacks.is_stored(folder):
        raise Http404(f"{name} is not in the stacks directory (adopt it from its page)")
    if request.method == "POST":
        form = ProjectFilesForm(request.POST)
        if not form.is_valid():
            return _editor(request, h, name, form, status=400)
        result = _save(request, h, name, form, new=False)
        if not result.ok:
            return _editor(request, h, name, form, result, status=400)
        messages.success(request, f"Saved {name}")
        return hx_redirect(request, reverse("project-edit", args=[h.name, name]))
    compose_text, env_text = stacks.read_files(folder)
    form = ProjectFilesForm(initial={"compose": compose_text, "env": env_text})
    return _editor(request, h, name, form)


@require_GET
@require_role(ADMIN)
def project_preview(request: HttpRequest, host: str, name: str) -> HttpResponse:
    """What `up` would create, recreate or remove, as compose's dry run says."""
    h, _ = host_client(request, host)
    _stored_folder(h.name, name)
    preview = compose_runs.preview(h, name)
    return render(request, "projects/_preview.html", {"host": h, "name": name, "preview": preview})


@require_POST
@require_role(ADMIN)
def project_run(request: HttpRequest, host: str, name: str) -> HttpResponse:
    """Start a compose run: the page gets a panel whose socket starts and follows it."""
    h, _ = host_client(request, host)
    _stored_folder(h.name, name)
    form = ComposeRunForm(request.POST, actions=compose_runs.ACTION_LABELS)
    if not form.is_valid():
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        return render(
            request, "projects/_run_refused.html", {"name": name, "message": errors}, status=400
        )
    if problem := compose_runs.compose_problem():
        return render(
            request, "projects/_run_refused.html", {"name": name, "message": problem}, status=503
        )
    action = form.cleaned_data["action"]
    job = compose_runs.TICKETS.issue(request, h.name, name, action)
    query = urlencode({"t": compose_runs.TICKETS.ticket(job), "j": job.job})
    ws_url = f"/ws/hosts/{h.name}/projects/{name}/run/?{query}"
    context = {
        "host": h,
        "project": name,
        "job": job.job,
        "label": compose_runs.ACTION_LABELS[action],
        "run_ws_url": ws_url,
    }
    # Audited when compose exits (who, command, exit status); this only hands out the run.
    request._audit_written = True
    template = "projects/_run.html" if request.htmx else "projects/run.html"
    return render(request, template, context)


@require_POST
@require_role(ADMIN)
def project_adopt(request: HttpRequest, host: str, name: str) -> HttpResponse:
    """Copy a CLI-made project's files into the stacks directory (checked first)."""
    h, client = host_client(request, host)
    try:
        project = client.projects.get(name)
    except NotFound:
        raise Http404(f"no project named {name}") from None
    params = {"config_files": project.config_files, "working_dir": project.working_dir}
    with audited(request, h.name, "project.adopt", name, name, params) as entry:
        try:
            result = compose_adopt.adopt(h, name, project.config_files, project.working_dir)
        except stacks.ProjectBusy as exc:
            result = compose_runs.SaveResult(
                [compose_runs.FileProblem("compose.yaml", None, str(exc))]
            )
        entry.failed = "; ".join(str(p) for p in result.problems)[:2000]
    if not result.ok:
        context = {"name": name, "problems": result.problems}
        return render(request, "projects/_adopt_refused.html", context, status=400)
    messages.success(request, f"Adopted {name}: its files are now in the stacks directory")
    for note in result.notes:
        messages.warning(request, note)
    return hx_redirect(request, reverse("project-edit", args=[h.name, name]))


@require_POST
@require_role(ADMIN)
def project_forget(request: HttpRequest, host: str, name: str) -> HttpResponse:
    """Remove the project's files from the stacks directory (its containers are untouched:
    down or remove them first, or they go on as a project made elsewhere)."""
    h, _ = host_client(request, host)
    folder = _stored_folder(h.name, name)
    if request.POST.get("confirm") != name:
        messages.error(request, f"type {name} to remove its files")
        return hx_redirect(request, reverse("project-edit", args=[h.name, name]))
    with audited(request, h.name, "project.forget", name, name), stacks.project_lock(folder):
        stacks.remove_files(folder)
    messages.success(request, f"Removed the files of {name} from the stacks directory")
    return hx_redirect(request, reverse("project-list", args=[h.name]))


def _stored_folder(host_name: str, name: str) -> Path:
    """The project's folder; a 404 when its files are not in the stacks directory."""
    folder = stacks.project_folder(host_name, name)
    if not stacks.is_stored(folder):
        raise Http404(f"{name} is not in the stacks directory")
    return folder
