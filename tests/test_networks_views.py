"""Network pages and actions through the dashboard, against the lab engine."""

from __future__ import annotations

import ipaddress
import random
import re
import secrets

import pytest

from dashboard.models import AuditEntry
from engine_client import NotFound

from .support.lab import RUN_ID, TEST_LABEL, lacks

pytestmark = [pytest.mark.engine, pytest.mark.django_db]

LIST = "/hosts/local/networks/"


def new_name() -> str:
    return f"dt-{RUN_ID}-{secrets.token_hex(3)}"


def free_subnet(engine) -> ipaddress.IPv4Network:
    """A /24 in 10.200-249.x that no network on the engine uses."""
    used = [
        ipaddress.ip_network(c["Subnet"])
        for n in engine.networks.list()
        for c in ((n.get("IPAM") or {}).get("Config") or [])
        if c.get("Subnet") and ":" not in c["Subnet"]
    ]
    while True:
        net = ipaddress.ip_network(f"10.{random.randint(200, 249)}.{random.randint(0, 255)}.0/24")
        if not any(net.overlaps(u) for u in used):
            return net


def test_create_connect_disconnect_remove(
    lab_settings, admin, engine, make_container, resource_sweeper
):
    subnet = free_subnet(engine)
    gateway = subnet.network_address + 1
    name = new_name()
    data = {
        "name": name,
        "driver": "bridge",
        "subnet": str(subnet),
        "gateway": str(gateway),
        "labels": f"{TEST_LABEL}={RUN_ID}",
    }
    resp = admin.hx_post(LIST, data, target="network-create")
    assert resp.status_code == 200, resp.content[:500]
    net = engine.networks.inspect(name)
    assert resp["HX-Redirect"] == f"{LIST}{net['Id']}/"
    assert net["IPAM"]["Config"] == [{"Subnet": str(subnet), "Gateway": str(gateway)}]
    assert net["Labels"] == {TEST_LABEL: RUN_ID}
    assert AuditEntry.objects.get(action="network.create").params["subnet"] == str(subnet)

    c = make_container()
    detail = f"{LIST}{net['Id']}/"
    assert c["Id"] in admin.get(detail).content.decode(), "it is offered for connecting"
    resp = admin.hx_post(
        f"{detail}connect/", {"container": c["Id"], "aliases": "web api"}, "network-connect"
    )
    assert resp.status_code == 200, resp.content[:500]
    endpoint = engine.containers.inspect(c["Id"])["NetworkSettings"]["Networks"][name]
    assert ipaddress.ip_address(endpoint["IPAddress"]) in subnet
    assert {"web", "api"} <= set(endpoint["Aliases"])
    html = admin.get(detail).content.decode()
    assert endpoint["IPAddress"] in html and c["Name"].lstrip("/") in html
    assert "<td>web, api</td>" in html, "the aliases, as connected"
    listing = admin.get(LIST).content.decode()
    assert name in listing and str(subnet) in listing

    resp = admin.hx_post(
        f"{detail}disconnect/", {"container": c["Id"]}, f"disconnect-{c['Id'][:12]}"
    )
    assert resp.status_code == 200
    assert name not in engine.containers.inspect(c["Id"])["NetworkSettings"]["Networks"]

    resp = admin.hx_post(f"{detail}remove/", target="network-remove")
    assert resp.status_code == 200 and resp["HX-Redirect"] == LIST
    with pytest.raises(NotFound):
        engine.networks.inspect(name)
    actions = [e.action for e in AuditEntry.objects.order_by("id")]
    assert actions == ["network.create", "network.connect", "network.disconnect", "network.remove"]


def test_a_network_in_use_is_refused_with_the_engines_message(
    lab_settings, admin, engine, make_network, make_container
):
    net = make_network()
    c = make_container()
    engine.networks.connect(net["Id"], c["Id"])
    resp = admin.hx_post(f"{LIST}{net['Id']}/remove/", target="network-remove")
    assert resp.status_code >= 400
    assert resp["HX-Retarget"] == "#network-remove-msg"
    # Docker: "has active endpoints"; Podman: "network is being used".
    assert re.search("active endpoints|network is being used", resp.content.decode())
    assert engine.networks.inspect(net["Id"])


@pytest.mark.parametrize("builtin", ["bridge", "host", "none"])
def test_built_in_networks_cannot_be_removed_from_the_ui(lab_settings, admin, engine, builtin):
    if builtin != "bridge":
        lacks(engine, "podman", f"a {builtin} network (its only built-in one is its bridge)")
    net = engine.networks.inspect(builtin)
    html = admin.get(f"{LIST}{net['Id']}/").content.decode()
    assert "built-in" in html and 'id="network-remove"' not in html
    for ref in (builtin, net["Id"]):
        resp = admin.hx_post(f"{LIST}{ref}/remove/", target="network-remove")
        assert resp.status_code == 400
        assert "built-in network and cannot be removed" in resp.content.decode()
    assert engine.networks.inspect(builtin)
    assert not AuditEntry.objects.exclude(outcome="denied").exists(), (
        "refused before the engine was asked"
    )


@pytest.mark.parametrize(
    "data, says",
    [
        ({"name": "bridge"}, "built-in"),
        ({"name": "bad name"}, "1 to 128"),
        ({"subnet": "10.1.0.0/33"}, "subnet"),
        ({"subnet": "10.1.0.1/24"}, "host bits"),
        ({"subnet": "10.1.0.0/24", "gateway": "10.2.0.1"}, "not in subnet"),
        ({"gateway": "10.2.0.1"}, "a gateway needs a subnet"),
        ({"labels": "k"}, "not key=value"),
        ({"driver": "weave"}, "Select a valid choice"),
    ],
)
def test_bad_input_is_refused_beside_the_field(lab_settings, admin, data, says):
    resp = admin.hx_post(LIST, {"name": new_name(), "driver": "bridge", **data}, "network-create")
    assert resp.status_code == 400
    html = resp.content.decode()
    assert html.lstrip().startswith('<form id="network-create"')
    assert says in html
    assert not AuditEntry.objects.exclude(outcome="denied").exists()


def test_an_overlay_without_a_swarm_shows_the_engines_reason(lab_settings, admin, engine):
    if "overlay" not in (engine.system.info().get("Plugins") or {}).get("Network", []):
        pytest.skip("this engine has no overlay driver")
    if (engine.system.info().get("Swarm") or {}).get("ControlAvailable"):
        pytest.skip("this engine is a swarm manager: an overlay would be made")
    data = {"name": new_name(), "driver": "overlay", "attachable": "on"}
    resp = admin.hx_post(LIST, data, target="network-create")
    assert resp["HX-Retarget"] == "#network-create-msg"
    assert "swarm" in resp.content.decode()
    assert AuditEntry.objects.get(action="network.create").outcome == "failed"


def test_a_bad_alias_is_refused_beside_the_connect_form(
    lab_settings, admin, make_network, make_container
):
    net = make_network()
    c = make_container(start=False)
    resp = admin.hx_post(
        f"{LIST}{net['Id']}/connect/",
        {"container": c["Id"], "aliases": "no_good!"},
        "network-connect",
    )
    assert resp.status_code == 400
    assert "not a valid alias" in resp.content.decode()
    assert not AuditEntry.objects.exclude(outcome="denied").exists()


def test_viewers_and_operators_cannot_change_networks(lab_settings, viewer, operator, make_network):
    net = make_network()
    for client in (viewer, operator):
        assert client.post(LIST, {"name": new_name(), "driver": "bridge"}).status_code == 403
        for action in ("connect", "disconnect", "remove"):
            assert client.post(f"{LIST}{net['Id']}/{action}/").status_code == 403
    html = viewer.get(f"{LIST}{net['Id']}/").content.decode()
    assert net["Name"] in html and "Connect a container" not in html
