"""Network calls: list, inspect, create, connect, disconnect, remove."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .client import encode_filters
from .errors import InvalidArgument
from .validators import (
    check_aliases,
    check_container_ref,
    check_driver,
    check_labels,
    check_network_name,
    check_subnet,
)

if TYPE_CHECKING:
    from .client import EngineClient

# The networks every engine has; the engine itself refuses to remove them.
BUILTIN_NETWORKS = frozenset({"bridge", "host", "none"})
# Podman's default network: "bridge" in its network list, "podman" elsewhere.
PODMAN_DEFAULT_NETWORK = "podman"


def is_builtin(network: Mapping[str, Any]) -> bool:
    return network.get("Name") in BUILTIN_NETWORKS


class NetworksAPI:
    def __init__(self, client: EngineClient) -> None:
        self._c = client

    def list(
        self, filters: Mapping[str, Iterable[str] | str] | None = None
    ) -> list[dict[str, Any]]:
        """`GET /networks`. The list does not say which containers are attached (API 1.28+)."""
        kinds: list[str] = []
        if filters and "type" in filters and self._c.flavor.is_podman:
            # Podman refuses the "type" filter: apply it here (its one built-in is "bridge").
            kinds = [filters["type"]] if isinstance(filters["type"], str) else list(filters["type"])
            filters = {k: v for k, v in filters.items() if k != "type"}
        rows = self._c.get_json("/networks", params={"filters": encode_filters(filters)})
        if kinds:
            rows = [
                n
                for n in rows
                if ("builtin" if n.get("Name") in BUILTIN_NETWORKS else "custom") in kinds
            ]
        return rows

    def inspect(self, network: str) -> dict[str, Any]:
        """`GET /networks/{id}`, with `Containers` (running containers attached)."""
        body = self._c.get_json("/networks/{}", check_network_name(network))
        if self._c.flavor.is_podman and body.get("Name") == PODMAN_DEFAULT_NETWORK:
            body["Name"] = "bridge"  # as Podman's own list calls it (inspected by id: "podman")
        return body

    def create(
        self,
        name: str,
        driver: str = "bridge",
        *,
        subnet: str = "",
        gateway: str = "",
        ip_range: str = "",
        internal: bool = False,
        attachable: bool = False,
        labels: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """`POST /networks/create`: returns {Id, Warning}."""
        body: dict[str, Any] = {
            "Name": check_network_name(name),
            "Driver": check_driver(driver or "bridge"),
            "Internal": bool(internal),
            "Attachable": bool(attachable),
            "Labels": check_labels(labels),
            "Options": check_labels(options, "option"),
        }
        if subnet:
            body["IPAM"] = {
                "Driver": "default",
                "Config": [check_subnet(subnet, gateway, ip_range)],
            }
        elif gateway or ip_range:
            raise InvalidArgument("a gateway or IP range needs a subnet")
        # From 1.44 duplicate names always fail and the field is deprecated.
        if self._c.negotiate() < (1, 44):
            body["CheckDuplicate"] = True
        return self._c.post_json("/networks/create", json=body)

    def connect(
        self,
        network: str,
        container: str,
        aliases: Iterable[str] | None = None,
        ipv4_address: str = "",
    ) -> None:
        """`POST /networks/{id}/connect`, optionally with DNS aliases and a fixed address."""
        check_container_ref(container or "")
        endpoint: dict[str, Any] = {}
        if aliases := check_aliases(aliases):
            endpoint["Aliases"] = aliases
        if ipv4_address:
            try:
                addr = ipaddress.IPv4Address(ipv4_address)
            except ValueError:
                raise InvalidArgument(f"{ipv4_address!r} is not an IPv4 address") from None
            endpoint["IPAMConfig"] = {"IPv4Address": str(addr)}
        self._c.request(
            "POST",
            "/networks/{}/connect",
            check_network_name(network),
            json={"Container": container, "EndpointConfig": endpoint},
        )

    def disconnect(self, network: str, container: str, force: bool = False) -> None:
        check_container_ref(container or "")
        self._c.request(
            "POST",
            "/networks/{}/disconnect",
            check_network_name(network),
            json={"Container": container, "Force": bool(force)},
        )

    def remove(self, network: str) -> None:
        network = check_network_name(network)
        if self._c.flavor.is_podman:
            # Podman removes a network named by its id even while containers use it (204);
            # named by its name, it refuses as Docker does.
            network = self.inspect(network).get("Name") or network
            if network == "bridge":
                network = PODMAN_DEFAULT_NETWORK
        self._c.request("DELETE", "/networks/{}", network)
