from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter

from .converters import ContainerIdConverter, EngineRefConverter, HostNameConverter
from .views import containers, events, hosts

register_converter(HostNameConverter, "host")
register_converter(EngineRefConverter, "ref")
register_converter(ContainerIdConverter, "cid")

container_urls = [
    path("", containers.container_list, name="container-list"),
    path("<ref:ref>/", containers.container_detail, name="container-detail"),
    path("<cid:container_id>/start/", containers.container_start, name="container-start"),
    path("<cid:container_id>/stop/", containers.container_stop, name="container-stop"),
    path("<cid:container_id>/restart/", containers.container_restart, name="container-restart"),
    path("<cid:container_id>/remove/", containers.container_remove, name="container-remove"),
    path("<cid:container_id>/logs/", containers.container_logs, name="container-logs"),
    path(
        "<cid:container_id>/logs/download/",
        containers.container_logs_download,
        name="container-logs-download",
    ),
]

host_urls = [
    path("", hosts.host_detail, name="host-detail"),
    path("containers/", include(container_urls)),
    path("events/", events.events, name="events"),
]

urlpatterns = [
    path("", hosts.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("hosts/<host:host>/", include(host_urls)),
]
