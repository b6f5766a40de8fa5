"""Websocket routes. Every consumer checks the user's role itself (consumers/base.py)."""

from django.urls import re_path

from engine_client.validators import PROJECT_NAME

from .consumers.alerts import AlertsBadgeConsumer
from .consumers.compose import ComposeRunConsumer
from .consumers.exec import ExecConsumer
from .consumers.fleet import FleetConsumer
from .consumers.live import (
    ContainersConsumer,
    EventsConsumer,
    LogsConsumer,
    ProgressConsumer,
    ProjectsConsumer,
    ResourceListConsumer,
    StatsConsumer,
)
from .consumers.log_search import LogSearchConsumer
from .consumers.merged_logs import MergedLogsConsumer, ProjectLogsConsumer
from .consumers.run import RunOnceConsumer, StackRunConsumer
from .consumers.swarm import ServiceLogsConsumer, SwarmLiveConsumer
from .consumers.updates import UpdateRunConsumer
from .engines import HOST_NAME_RE

H = rf"ws/hosts/(?P<host>{HOST_NAME_RE})"
CID = r"(?P<container_id>[0-9a-f]{64})"

websocket_urlpatterns = [
    re_path(r"^ws/fleet/$", FleetConsumer.as_asgi(), name="ws-fleet"),
    re_path(r"^ws/alerts/badge/$", AlertsBadgeConsumer.as_asgi(), name="ws-alerts-badge"),
    re_path(rf"^{H}/containers/live/$", ContainersConsumer.as_asgi(), name="ws-containers"),
    re_path(rf"^{H}/containers/{CID}/logs/$", LogsConsumer.as_asgi(), name="ws-logs"),
    re_path(rf"^{H}/logs/merged/$", MergedLogsConsumer.as_asgi(), name="ws-merged-logs"),
    re_path(rf"^{H}/logs/search/$", LogSearchConsumer.as_asgi(), name="ws-log-search"),
    re_path(rf"^{H}/containers/{CID}/stats/$", StatsConsumer.as_asgi(), name="ws-stats"),
    re_path(rf"^{H}/containers/{CID}/exec/$", ExecConsumer.as_asgi(), name="ws-exec"),
    re_path(rf"^{H}/containers/{CID}/run/$", RunOnceConsumer.as_asgi(), name="ws-run"),
    re_path(rf"^{H}/projects/live/$", ProjectsConsumer.as_asgi(), name="ws-projects"),
    re_path(
        rf"^{H}/projects/(?P<project>{PROJECT_NAME.pattern})/logs/$",
        ProjectLogsConsumer.as_asgi(),
        name="ws-project-logs",
    ),
    re_path(
        rf"^{H}/projects/(?P<project>{PROJECT_NAME.pattern})/run/$",
        ComposeRunConsumer.as_asgi(),
        name="ws-project-run",
    ),
    re_path(
        rf"^{H}/stacks/(?P<stack>{PROJECT_NAME.pattern})/run/$",
        StackRunConsumer.as_asgi(),
        name="ws-stack-run",
    ),
    re_path(rf"^{H}/events/$", EventsConsumer.as_asgi(), name="ws-events"),
    re_path(rf"^{H}/progress/$", ProgressConsumer.as_asgi(), name="ws-progress"),
    re_path(rf"^{H}/updates/run/$", UpdateRunConsumer.as_asgi(), name="ws-update-run"),
    re_path(
        rf"^{H}/(?P<kind>images|volumes|networks)/live/$",
        ResourceListConsumer.as_asgi(),
        name="ws-resource-list",
    ),
    re_path(rf"^{H}/swarm/live/$", SwarmLiveConsumer.as_asgi(), name="ws-swarm"),
    re_path(
        rf"^{H}/swarm/services/(?P<service_id>[a-z0-9]{{25}})/logs/$",
        ServiceLogsConsumer.as_asgi(),
        name="ws-service-logs",
    ),
]
