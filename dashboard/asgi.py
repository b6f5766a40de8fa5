"""ASGI entry point, served by daphne: HTTP through Django, websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
# Django first: it sets up the apps the websocket stack imports.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from . import container_cache  # noqa: E402
from .alerts.watch import start_with_server  # noqa: E402
from .forward_auth import ForwardAuthWebsocketMiddleware  # noqa: E402
from .routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(ForwardAuthWebsocketMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)

# Alert rules are evaluated with no page open: the watcher starts with the server process.
start_with_server()
# The container caches follow a host's events from the first page that lists it.
container_cache.start_with_server()
