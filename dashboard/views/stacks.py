"""Swarm stacks deployed with the docker CLI: new (name, compose.yaml, .env), edit and
update (a new deploy of the same stack), remove (asks, naming what goes), and the run page
that streams the CLI's output. Reading a stack is the projects pages' (a stack is a project
grouped by its `com.docker.stack.namespace` label); these views only change stacks.

Before anything runs or is written: the host must be a swarm manager, the CLI must be
there, the name must be one docker takes, and the files must pass `check_files` and the
CLI's own `docker stack config` (its complaints shown beside their lines)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from engine_client import EngineClient, NotFound
from engine_client.compose_files import FileProblem
from engine_client.stack_cli import CLIUnavailable, check_stack_name

from .. import stack_runs
from ..access import ADMIN, require_role
from ..audit import audited
from ..engines import Host
from ..forms.stacks import StackForm, StackRemoveForm
from ..project_presenters import project_row
from ..stacks import ProjectBusy, project_lock, read_files, write_files
from ..web import host_client, hx_redirect

EXAMPLE = """\
services:
  web:
    image: nginx:alpine
    deploy:
      replicas: 2
"""


def _cli() -> tuple[Any, str]:
    try:
        return stack_runs.docker_cli(), ""
    except CLIUnavailable as exc:
        return None, str(exc)


def _editor(request: HttpRequest, h: Host, client: EngineClient, stack: str | None) -> HttpResponse:
    """The new-stack page (stack None) and a stack's edit page: GET shows the form, POST
    checks it, writes the files and starts the deploy."""
    refusal = stack_runs.refusal(client)
    cli, no_cli = _cli()
    adopt = False
    if request.method == "POST":
        data = request.POST.copy()
        if stack is not None:
            data["name"] = stack  # a stack's name is not edited: a new name is a new stack
        form = StackForm(data)
    elif stack is not None:
        compose, env = read_files(stack_runs.stack_folder(h.name, stack))
        form = StackForm(initial={"name": stack, "compose": compose, "env": env})
        if not compose and not refusal and not stack_runs.exists(client, h, stack):
            raise NotFound(f"no stack {stack} on this host", 404)
        # A stack deployed elsewhere (the CLI, another tool): its file is not here to edit.
        adopt = not compose
    else:
        form = StackForm(initial={"compose": EXAMPLE})
    problems: list[FileProblem] = []
    busy = ""
    if request.method == "POST" and not refusal and not no_cli and form.is_valid():
        name = form.cleaned_data["name"]
        compose, env = form.cleaned_data["compose"], form.cleaned_data["env"]
        if stack is None and stack_runs.exists(client, h, name):
            form.add_error("name", f"a stack {name} already exists on this host: edit it instead")
        else:
            problems = stack_runs.check_stack_files(h, cli, name, compose, env)
        if form.is_valid() and not problems:
            folder = stack_runs.stack_folder(h.name, name)
            try:
                with project_lock(folder):
                    params = {"compose_bytes": len(compose.encode()), "env_bytes": len(env)}
                    with audited(request, h.name, "stack.save", name, name, params):
                        write_files(folder, compose, env)
            except ProjectBusy as exc:
                busy = str(exc)
            else:
                job = stack_runs.TICKETS.issue(request, h.name, name, "deploy")
                return hx_redirect(request, _run_url(h, job))
    context = {
        "host": h,
        "form": form,
        "stack": stack,
        "refusal": refusal,
        "no_cli": no_cli,
        "cli": cli,
        "problems": problems,
        "busy": busy,
        "adopt": adopt,
    }
    failed = request.method == "POST"
    status = 409 if failed and (refusal or busy or no_cli) else 400 if failed else 200
    return render(request, "stacks/editor.html", context, status=status)


def _run_url(h: Host, job: stack_runs.Job) -> str:
    url = reverse("stack-run", args=[h.name, job.stack])
    return f"{url}?{urlencode({'t': stack_runs.TICKETS.ticket(job)})}"


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def stack_new(request: HttpRequest, host: str) -> HttpResponse:
    h, client = host_client(request, host)
    return _editor(request, h, client, None)


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def stack_edit(request: HttpRequest, host: str, name: str) -> HttpResponse:
    h, client = host_client(request, host)
    return _editor(request, h, client, check_stack_name(name))


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def stack_remove(request: HttpRequest, host: str, name: str) -> HttpResponse:
    """Asks first, naming the services, networks, secrets and configs `docker stack rm`
    removes; runs it once the stack's name is typed back."""
    h, client = host_client(request, host)
    stack = check_stack_name(name)
    refusal = stack_runs.refusal(client)
    cli, no_cli = _cli()
    form = StackRemoveForm(request.POST or None, stack=stack)
    if request.method == "POST" and not refusal and not no_cli and form.is_valid():
        job = stack_runs.TICKETS.issue(request, h.name, stack, "rm")
        return hx_redirect(request, _run_url(h, job))
    try:
        p = project_row(client.projects.get(stack))
    except NotFound:
        p = None
    context = {"host": h, "stack": stack, "p": p, "form": form, "refusal": refusal}
    context["no_cli"] = no_cli
    status = 200 if request.method == "GET" else 409 if refusal or no_cli else 400
    return render(request, "stacks/confirm_remove.html", context, status=status)


@require_GET
@require_role(ADMIN)
def stack_run(request: HttpRequest, host: str, name: str) -> HttpResponse:
    """The run page: the CLI's output as it comes, then its exit status. The run itself
    starts when the page's websocket presents the ticket (dashboard/stack_runs.py)."""
    h, _ = host_client(request, host)
    stack = check_stack_name(name)
    try:
        job = stack_runs.TICKETS.read(request.GET.get("t"), h.name, stack, request.user.pk)
    except ValueError as exc:
        context = {"host": h, "stack": stack, "error": str(exc)}
        return render(request, "stacks/run.html", context, status=400)
    context = {
        "host": h,
        "stack": stack,
        "job": job,
        "command": stack_runs.command_of(job),
        "ws_url": f"/ws/hosts/{h.name}/stacks/{stack}/run/?{urlencode({'t': request.GET['t']})}",
    }
    return render(request, "stacks/run.html", context)
