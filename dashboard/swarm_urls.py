"""The swarm's pages, under /hosts/<host>/swarm/ (included from urls.py)."""

from django.urls import include, path

from .views import swarm, swarm_data, swarm_nodes, swarm_services

node_urls = [
    path("", swarm_nodes.node_list, name="swarm-nodes"),
    path("<ref:ref>/", swarm_nodes.node_detail, name="swarm-node"),
    path("<ref:ref>/availability/", swarm_nodes.node_availability, name="swarm-node-availability"),
    path("<ref:ref>/role/", swarm_nodes.node_role, name="swarm-node-role"),
    path("<ref:ref>/labels/", swarm_nodes.node_labels, name="swarm-node-labels"),
    path("<ref:ref>/remove/", swarm_nodes.node_remove, name="swarm-node-remove"),
]

service_urls = [
    path("", swarm_services.service_list, name="swarm-services"),
    # Before <ref>: a service named "new" is still reachable by its ID.
    path("new/", swarm_services.service_new, name="swarm-service-new"),
    path("<ref:ref>/", swarm_services.service_detail, name="swarm-service"),
    path("<ref:ref>/scale/", swarm_services.service_scale, name="swarm-service-scale"),
    path("<ref:ref>/image/", swarm_services.service_image, name="swarm-service-image"),
    path("<ref:ref>/force/", swarm_services.service_force_update, name="swarm-service-force"),
    path("<ref:ref>/rollback/", swarm_services.service_rollback, name="swarm-service-rollback"),
    path("<ref:ref>/remove/", swarm_services.service_remove, name="swarm-service-remove"),
    path("<ref:ref>/logs/", swarm_services.service_logs, name="swarm-service-logs"),
]

urlpatterns = [
    path("", swarm.swarm_overview, name="swarm-overview"),
    path("init/", swarm.swarm_init, name="swarm-init"),
    path("join/", swarm.swarm_join, name="swarm-join"),
    path("leave/", swarm.swarm_leave, name="swarm-leave"),
    path("tokens/reveal/", swarm.swarm_token_reveal, name="swarm-token-reveal"),
    path("tokens/rotate/", swarm.swarm_token_rotate, name="swarm-token-rotate"),
    path("settings/", swarm.swarm_settings, name="swarm-settings"),
    path("unlock-key/", swarm.swarm_unlock_key, name="swarm-unlock-key"),
    path("unlock/", swarm.swarm_unlock, name="swarm-unlock"),
    path("nodes/", include(node_urls)),
    path("services/", include(service_urls)),
    path("secrets/", swarm_data.secret_list, name="swarm-secrets"),
    path("secrets/<ref:ref>/remove/", swarm_data.secret_remove, name="swarm-secret-remove"),
    path("configs/", swarm_data.config_list, name="swarm-configs"),
    path("configs/<ref:ref>/remove/", swarm_data.config_remove, name="swarm-config-remove"),
]
