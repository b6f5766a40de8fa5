from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, register_converter

from .api.routes import openapi_view
from .api.routes import urlpatterns as api_urlpatterns
from .converters import (
    ContainerIdConverter,
    EngineRefConverter,
    HostNameConverter,
    ProjectNameConverter,
)
from .metrics import metrics_view
from .views import (
    alerts,
    audit,
    auth,
    container_actions,
    container_create,
    container_errors,
    container_exec,
    container_logs,
    containers,
    events,
    hosts,
    image_transfer,
    image_updates,
    images,
    log_search,
    merged_logs,
    networks,
    oidc,
    palette,
    project_editor,
    projects,
    registries,
    stacks,
    system,
    tokens,
    users,
    volumes,
    webhooks,
)
from .views.health import healthz

register_converter(HostNameConverter, "host")
register_converter(EngineRefConverter, "ref")
register_converter(ContainerIdConverter, "cid")
register_converter(ProjectNameConverter, "project")

container_urls = [
    path("", containers.container_list, name="container-list"),
    # Fixed paths before <ref>: a container named "new" is still reachable by its id.
    path("new/", container_create.container_new, name="container-new"),
    path("bulk/", container_actions.container_bulk, name="container-bulk"),
    path("prune/", container_actions.container_prune, name="container-prune"),
    path("<ref:ref>/", containers.container_detail, name="container-detail"),
    path("<cid:container_id>/start/", container_actions.container_start, name="container-start"),
    path("<cid:container_id>/errors/", container_errors.container_errors, name="container-errors"),
    path("<cid:container_id>/stop/", container_actions.container_stop, name="container-stop"),
    path(
        "<cid:container_id>/restart/", container_actions.container_restart, name="container-restart"
    ),
    path("<cid:container_id>/remove/", container_actions.container_remove, name="container-remove"),
    path("<cid:container_id>/pause/", container_actions.container_pause, name="container-pause"),
    path(
        "<cid:container_id>/unpause/", container_actions.container_unpause, name="container-unpause"
    ),
    path("<cid:container_id>/kill/", container_actions.container_kill, name="container-kill"),
    path("<cid:container_id>/rename/", container_actions.container_rename, name="container-rename"),
    path("<cid:container_id>/edit/", container_create.container_edit, name="container-edit"),
    path("<cid:container_id>/run/", container_create.container_run, name="container-run"),
    path("<cid:container_id>/top/", containers.container_top, name="container-top"),
    path("<cid:container_id>/exec/", container_exec.container_exec, name="container-exec"),
    path(
        "<cid:container_id>/env/reveal/",
        containers.container_env_reveal,
        name="container-env-reveal",
    ),
    path("<cid:container_id>/logs/", container_logs.container_logs, name="container-logs"),
    path("<cid:container_id>/logs/at/", log_search.container_log_at, name="container-log-at"),
    path(
        "<cid:container_id>/logs/download/",
        container_logs.container_logs_download,
        name="container-logs-download",
    ),
]

image_urls = [
    path("", images.image_list, name="image-list"),
    path("pull/", images.image_pull, name="image-pull"),
    path("upload/", image_transfer.image_upload, name="image-upload"),
    path("usage/", images.image_usage, name="image-usage"),
    path("<ref:ref>/", images.image_detail, name="image-detail"),
    path("<ref:ref>/tag/", images.image_tag, name="image-tag"),
    path("<ref:ref>/push/", images.image_push, name="image-push"),
    path("<ref:ref>/remove/", images.image_remove, name="image-remove"),
    path("<ref:ref>/export/", image_transfer.image_export, name="image-export"),
]

project_urls = [
    path("", projects.project_list, name="project-list"),
    path("<project:name>/", projects.project_detail, name="project-detail"),
    path("<project:name>/start/", projects.project_start, name="project-start"),
    path("<project:name>/stop/", projects.project_stop, name="project-stop"),
    path("<project:name>/restart/", projects.project_restart, name="project-restart"),
    path("<project:name>/remove/", projects.project_remove, name="project-remove"),
    path("<project:name>/logs/", projects.project_logs, name="project-logs"),
    # "_new" cannot be a project's name (one starts with a letter or digit).
    path("_new/", project_editor.project_new, name="project-new"),
    path("<project:name>/edit/", project_editor.project_edit, name="project-edit"),
    path("<project:name>/preview/", project_editor.project_preview, name="project-preview"),
    path("<project:name>/run/", project_editor.project_run, name="project-run"),
    path("<project:name>/adopt/", project_editor.project_adopt, name="project-adopt"),
    path("<project:name>/forget/", project_editor.project_forget, name="project-forget"),
]

volume_urls = [
    path("", volumes.volume_list, name="volume-list"),
    path("<ref:ref>/", volumes.volume_detail, name="volume-detail"),
    path("<ref:ref>/remove/", volumes.volume_remove, name="volume-remove"),
]

network_urls = [
    path("", networks.network_list, name="network-list"),
    path("<ref:ref>/", networks.network_detail, name="network-detail"),
    path("<ref:ref>/connect/", networks.network_connect, name="network-connect"),
    path("<ref:ref>/disconnect/", networks.network_disconnect, name="network-disconnect"),
    path("<ref:ref>/remove/", networks.network_remove, name="network-remove"),
]

system_urls = [
    path("", system.disk_usage, name="disk-usage"),
    *[
        path(f"prune/{kind}/", system.prune, {"kind": kind}, name=f"prune-{kind}")
        for kind in ("images", "containers", "volumes", "networks", "build-cache")
    ],
]

update_urls = [
    path("", image_updates.update_list, name="update-list"),
    path("check/", image_updates.update_check, name="update-check"),
    path("apply/", image_updates.update_apply, name="update-apply"),
]

registry_urls = [
    path("", registries.registry_list, name="registry-list"),
    path("remove/", registries.registry_remove, name="registry-remove"),
]

stack_urls = [
    path("new/", stacks.stack_new, name="stack-new"),
    path("<project:name>/edit/", stacks.stack_edit, name="stack-edit"),
    path("<project:name>/remove/", stacks.stack_remove, name="stack-remove"),
    path("<project:name>/run/", stacks.stack_run, name="stack-run"),
]

host_urls = [
    path("", hosts.host_detail, name="host-detail"),
    path("containers/", include(container_urls)),
    path("projects/", include(project_urls)),
    path("stacks/", include(stack_urls)),
    path("events/", events.events, name="events"),
    path("logs/", merged_logs.merged_logs, name="merged-logs"),
    path("logs/download/", merged_logs.merged_logs_download, name="merged-logs-download"),
    path("logs/search/", log_search.log_search, name="log-search"),
    path("images/", include(image_urls)),
    path("volumes/", include(volume_urls)),
    path("networks/", include(network_urls)),
    path("system/", include(system_urls)),
    path("registries/", include(registry_urls)),
    path("updates/", include(update_urls)),
    path("swarm/", include("dashboard.swarm_urls")),
]

settings_urls = [
    path("hosts/", hosts.host_settings, name="host-settings"),
    path("hosts/add/", hosts.host_add, name="host-add"),
    path("hosts/test/", hosts.host_test, name="host-test"),
    path("hosts/<host:name>/edit/", hosts.host_edit, name="host-edit"),
    path("hosts/<host:name>/remove/", hosts.host_remove, name="host-remove"),
    path("users/", users.user_list, name="user-list"),
    path("users/new/", users.user_new, name="user-new"),
    path("users/<int:pk>/", users.user_edit, name="user-edit"),
    path("users/<int:pk>/password/", users.user_password, name="user-password"),
    path("webhooks/", webhooks.webhook_list, name="webhook-list"),
    path("webhooks/<int:pk>/revoke/", webhooks.webhook_revoke, name="webhook-revoke"),
]

alert_urls = [
    path("", alerts.alert_history, name="alert-history"),
    path("rules/", alerts.rule_list, name="alert-rules"),
    path("rules/new/", alerts.rule_edit, name="alert-rule-new"),
    path("rules/<int:pk>/", alerts.rule_edit, name="alert-rule-edit"),
    path("rules/<int:pk>/enable/", alerts.rule_enable, name="alert-rule-enable"),
    path("rules/<int:pk>/remove/", alerts.rule_remove, name="alert-rule-remove"),
    path("silences/new/", alerts.silence_new, name="alert-silence-new"),
    path("silences/<int:pk>/end/", alerts.silence_end, name="alert-silence-end"),
    path("channels/", alerts.channel_list, name="alert-channels"),
    path("channels/<int:pk>/test/", alerts.channel_test, name="alert-channel-test"),
    path("channels/<int:pk>/remove/", alerts.channel_remove, name="alert-channel-remove"),
]

urlpatterns = [
    path("alerts/", include(alert_urls)),
    path("", hosts.home, name="home"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("login/oidc/", oidc.oidc_login, name="oidc-login"),
    path("login/oidc/callback/", oidc.oidc_callback, name="oidc-callback"),
    path("account/password/", users.password_change, name="password-change"),
    path("account/tokens/", tokens.token_list, name="token-list"),
    path("account/tokens/<int:pk>/revoke/", tokens.token_revoke, name="token-revoke"),
    # Token-only routes: no session, no CSRF (dashboard/api/auth.py).
    path("api/v1/openapi.json", login_not_required(openapi_view), name="api-openapi"),
    path("api/v1/", include(api_urlpatterns())),
    path("audit/", audit.audit_list, name="audit"),
    path("audit/export.csv", audit.audit_export, name="audit-export"),
    path("settings/", include(settings_urls)),
    path("hosts/", hosts.fleet, name="fleet"),
    path("palette/", palette.palette_search, name="palette-search"),
    path("healthz", healthz, name="healthz"),
    path("metrics", login_not_required(metrics_view), name="metrics"),
    path("hosts/<host:host>/", include(host_urls)),
]

# A locked or missing database gets a page that says so (503), not the generic error page.
handler500 = "dashboard.views.errors.server_error"
