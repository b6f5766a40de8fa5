"""The one table of API routes. The URLs (`urlpatterns`) and the OpenAPI description
(`openapi()`) are both made from `ROUTES`, so neither can name an operation the other lacks
(tests/test_api_tokens.py checks the resolver against the description too).

A hand table rather than a framework (django-ninja and the like): the API is a dozen thin
handlers over the pages' own forms, access checks and audit, and what the description needs
(path, method, role, summary, inputs) fits in a row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, path, register_converter

from ..access import ADMIN, OPERATOR, VIEWER
from ..converters import (
    ContainerIdConverter,
    EngineRefConverter,
    HostNameConverter,
    ProjectNameConverter,
)
from . import containers, hooks, images, projects
from .auth import Op, api_view, hook_view


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    type: str = "string"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # Django path syntax, under /api/v1/
    name: str  # the operationId
    role: str
    handler: Callable[..., Any]
    summary: str
    query: tuple[Param, ...] = ()
    body: tuple[Param, ...] = ()
    returns: str = "application/json"
    # "token" (a personal token, the role checked), or "webhook" (the hook's own secret).
    auth: str = "token"


HOST = "hosts/<host:host>/"
CONTAINER = HOST + "containers/<ref:ref>/"
TIMEOUT = (Param("t", "seconds to wait before killing (0-3600)", "integer"),)
PROJECT = HOST + "projects/<project:name>/"
SERVICE = HOST + "swarm/services/<ref:ref>/"
COMPOSE_OUT = "each command's exit status and the last lines of its output"

ROUTES: list[Route] = [
    Route("GET", "hosts/", "host_list", VIEWER, images.host_list, "The hosts this token may use"),
    Route(
        "GET",
        HOST + "containers/",
        "container_list",
        VIEWER,
        containers.container_list,
        "Containers, as the engine's GET /containers/json lists them",
        query=(
            Param("all", "1 (default): every state; 0: running only"),
            Param("project", "only this compose project's containers"),
        ),
    ),
    Route(
        "GET",
        CONTAINER,
        "container_inspect",
        VIEWER,
        containers.container_inspect,
        "A container, as the engine's inspect gives it",
    ),
    Route(
        "POST",
        CONTAINER + "start/",
        "container_start",
        OPERATOR,
        containers.container_start,
        "Start a container",
    ),
    Route(
        "POST",
        CONTAINER + "stop/",
        "container_stop",
        OPERATOR,
        containers.container_stop,
        "Stop a container",
        body=TIMEOUT,
    ),
    Route(
        "POST",
        CONTAINER + "restart/",
        "container_restart",
        OPERATOR,
        containers.container_restart,
        "Restart a container",
        body=TIMEOUT,
    ),
    Route(
        "POST",
        CONTAINER + "kill/",
        "container_kill",
        OPERATOR,
        containers.container_kill,
        "Send a signal (SIGKILL unless named)",
        body=(Param("signal", "e.g. SIGTERM"),),
    ),
    Route(
        "POST",
        CONTAINER + "remove/",
        "container_remove",
        ADMIN,
        containers.container_remove,
        "Remove a container",
        body=(
            Param("force", "true: stop it first", "boolean"),
            Param("volumes", "true: remove its anonymous volumes", "boolean"),
        ),
    ),
    Route(
        "GET",
        CONTAINER + "logs/",
        "container_logs",
        VIEWER,
        containers.container_logs,
        "The last lines of a container's log, as text",
        query=(
            Param("tail", "how many lines (default 100, at most 10000)", "integer"),
            Param("timestamps", "1: each line starts with the engine's timestamp"),
        ),
        returns="text/plain",
    ),
    Route("GET", HOST + "images/", "image_list", VIEWER, images.image_list, "Images"),
    Route(
        "POST",
        HOST + "images/pull/",
        "image_pull",
        ADMIN,
        images.image_pull,
        "Pull an image; the answer streams the engine's progress, one JSON object a line",
        body=(Param("reference", "e.g. 127.0.0.1:5000/lab/busybox:latest"),),
        returns="application/x-ndjson",
    ),
    Route(
        "GET",
        HOST + "projects/",
        "project_list",
        VIEWER,
        projects.project_list,
        "Compose projects (and swarm stacks), with their status roll-up",
    ),
    *[
        Route(
            "POST",
            PROJECT + f"{action}/",
            f"project_{action}",
            ADMIN,
            getattr(projects, f"project_{action}"),
            f"compose {action} of a project kept in the stacks directory, run to the end: "
            + COMPOSE_OUT,
        )
        for action in ("up", "pull", "restart", "down")
    ],
    Route(
        "GET",
        HOST + "swarm/services/",
        "service_list",
        VIEWER,
        projects.service_list,
        "Swarm services, with running/desired task counts",
    ),
    Route(
        "POST",
        SERVICE + "scale/",
        "service_scale",
        OPERATOR,
        projects.service_scale,
        "Scale a replicated service",
        body=(Param("replicas", "0-10000", "integer"),),
    ),
    Route(
        "POST",
        SERVICE + "image/",
        "service_image",
        OPERATOR,
        projects.service_image,
        "A rolling update to another image",
        body=(Param("image", "an image reference"),),
    ),
    Route(
        "POST",
        SERVICE + "force-update/",
        "service_force_update",
        OPERATOR,
        projects.service_force_update,
        "Redeploy every task, nothing else changed",
    ),
    Route(
        "POST",
        SERVICE + "rollback/",
        "service_rollback",
        OPERATOR,
        projects.service_rollback,
        "Back to the service's previous settings",
    ),
    Route(
        "POST",
        "hooks/<hook:key>/",
        "webhook_run",
        "",
        hooks.run_hook,
        "Run a redeploy webhook: a project's compose pull and up, or a service's force update "
        "with its image re-resolved. No token: the hook's secret goes in the "
        "X-Dashboard-Webhook-Secret header (never the URL)",
        auth="webhook",
    ),
]


class HookKeyConverter:
    regex = "[0-9a-f]{24}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(HookKeyConverter, "hook")

CONVERTERS: dict[str, Any] = {
    "host": HostNameConverter,
    "ref": EngineRefConverter,
    "cid": ContainerIdConverter,
    "project": ProjectNameConverter,
    "hook": HookKeyConverter,
}
_PART = re.compile(r"<(?:(\w+):)?(\w+)>")


def openapi_path(django_path: str) -> str:
    return "/api/v1/" + _PART.sub(r"{\2}", django_path)


def _path_params(django_path: str) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": f"^{CONVERTERS[conv].regex}$"},
        }
        for conv, name in _PART.findall(django_path)
    ]


def _operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.name,
        "summary": route.summary,
        "description": f"Needs a token acting as {route.role} or higher.",
        "x-required-role": route.role,
        "parameters": _path_params(route.path)
        + [
            {
                "name": p.name,
                "in": "query",
                "description": p.description,
                "schema": {"type": p.type},
            }
            for p in route.query
        ],
        "responses": {
            "200": {"description": "done", "content": {route.returns: {}}},
            **{
                code: {"$ref": f"#/components/responses/{name}"}
                for code, name in (
                    ("400", "BadInput"),
                    ("401", "NoToken"),
                    ("403", "Forbidden"),
                    ("404", "NotFound"),
                    ("409", "EngineRefused"),
                    ("502", "EngineError"),
                    ("503", "EngineUnreachable"),
                )
            },
        },
    }
    if route.auth == "webhook":
        op["security"] = [{"webhook": []}]
        op["description"] = "Needs the hook's secret in the X-Dashboard-Webhook-Secret header."
        del op["x-required-role"]
    if route.body:
        schema = {
            "type": "object",
            "properties": {
                p.name: {"type": p.type, "description": p.description} for p in route.body
            },
        }
        op["requestBody"] = {
            "required": False,
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": schema},
            },
        }
    return op


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(openapi_path(route.path), {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Docker dashboard API", "version": "1"},
        "servers": [{"url": "/"}],
        "security": [{"token": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token (Account → API tokens): dsh_...",
                },
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string"},
                        "engine": {
                            "type": "string",
                            "description": "the engine's own message, as it said it",
                        },
                        "fields": {
                            "type": "object",
                            "description": "input refused: messages by field",
                        },
                    },
                }
            },
            "responses": {
                "BadInput": _error("input refused"),
                "NoToken": _error(
                    "no token, or a malformed, unknown, revoked or expired one, "
                    "or its user is disabled"
                ),
                "Forbidden": _error("the token's role is too low, or it may not use the host"),
                "NotFound": _error("no such host or engine object"),
                "EngineRefused": _error("the engine refused (conflict)"),
                "EngineError": _error("another engine error"),
                "EngineUnreachable": _error("the engine cannot be reached"),
            },
        },
    }


def openapi_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi())


def urlpatterns() -> list[URLPattern]:
    by_path: dict[str, dict[str, Op]] = {}
    hooks_: list[URLPattern] = []
    for route in ROUTES:
        if route.auth == "webhook":
            op = Op(route.method, route.name, route.role, route.handler)
            hooks_.append(path(route.path, hook_view(op), name="api-" + route.name))
            continue
        op = Op(route.method, route.name, route.role, route.handler)
        by_path.setdefault(route.path, {})[route.method] = op
    return [
        path(p, api_view(ops), name="api-" + "-".join(sorted(o.name for o in ops.values())))
        for p, ops in by_path.items()
    ] + hooks_
