"""Websocket routes. Every consumer checks the user's role itself (consumers/base.py)."""

from django.urls import re_path

from .consumers.live import ContainersConsumer, EventsConsumer, LogsConsumer, StatsConsumer
from .engines import HOST_NAME_RE

H = rf"ws/hosts/(?P<host>{HOST_NAME_RE})"
CID = r"(?P<container_id>[0-9a-f]{64})"

websocket_urlpatterns = [
    re_path(rf"^{H}/containers/live/$", ContainersConsumer.as_asgi(), name="ws-containers"),
    re_path(rf"^{H}/containers/{CID}/logs/$", LogsConsumer.as_asgi(), name="ws-logs"),
    re_path(rf"^{H}/containers/{CID}/stats/$", StatsConsumer.as_asgi(), name="ws-stats"),
    re_path(rf"^{H}/events/$", EventsConsumer.as_asgi(), name="ws-events"),
]
