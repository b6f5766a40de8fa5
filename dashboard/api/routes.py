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
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, path

from ..access import ADMIN, OPERATOR, VIEWER
from ..converters import ContainerIdConverter, EngineRefConverter, HostNameConverter
from . import containers, images
from .auth import Op, api_view


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
    tags: tuple[str, ...] = field(default=())


HOST = "hosts/<host:host>/"
CONTAINER = HOST + "containers/<ref:ref>/"
TIMEOUT = (Param("t", "seconds to wait before killing (0-3600)", "integer"),)

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
]

CONVERTERS: dict[str, Any] = {
    "host": HostNameConverter,
    "ref": EngineRefConverter,
    "cid": ContainerIdConverter,
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
    for route in ROUTES:
        op = Op(route.method, route.name, route.role, route.handler)
        by_path.setdefault(route.path, {})[route.method] = op
    return [
        path(p, api_view(ops), name="api-" + "-".join(sorted(o.name for o in ops.values())))
        for p, ops in by_path.items()
    ]
