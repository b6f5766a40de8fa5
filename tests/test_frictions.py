"""Small frictions a newcomer met (issue 21, part 5): the settings pages keep the host's
sections in the navigation, flash messages read as sentences, published ports are links to
where they are reached, relative times show the absolute time on hover, and `make bench`
brings what the benches import."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.urls import reverse

from dashboard.presenters import port_host, port_href
from dashboard.templatetags.dashboard import when
from dashboard.views.image_transfer import _loaded_text
from dashboard.views.swarm_nodes import AVAILABILITY_SAID

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("containers", "projects", "images", "volumes", "networks", "events")


def section_links(html: str, host: str) -> set[str]:
    nav = re.search(r'<nav class="hostnav"[^>]*>(.*?)</nav>', html, re.S).group(1)
    return {s for s in SECTIONS if f'href="/hosts/{host}/{s}/"' in nav}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "page", ["user-list", "audit", "fleet", "host-settings", "password-change"]
)
def test_the_settings_pages_keep_the_hosts_sections(admin, settings, page):
    settings.DASHBOARD_HOST_NAME = "local"
    html = admin.get(reverse(page)).content.decode()
    assert section_links(html, "local") == set(SECTIONS), "no way back to the host's sections"


@pytest.mark.django_db
def test_the_sections_are_those_of_the_host_last_looked_at(admin, settings, monkeypatch):
    from dashboard import context_processors

    settings.DASHBOARD_HOST_NAME = "local"
    # A host page read by this session (its URL names the host) makes it the one shown.
    session = admin.session
    session[context_processors.NAV_HOST_KEY] = "other"
    session.save()
    hosts = {
        name: type("H", (), {"name": name, "url": "unix:///x.sock"})()
        for name in ("local", "other")
    }
    monkeypatch.setattr(context_processors, "configured_hosts", lambda: hosts)
    monkeypatch.setattr(context_processors, "may_use_host", lambda user, name: True)
    html = admin.get(reverse("user-list")).content.decode()
    assert section_links(html, "other") == set(SECTIONS)
    assert 'id="nav-host">other:' in html


def test_a_drained_node_is_said_in_a_sentence():
    assert (
        AVAILABILITY_SAID["drain"].format(node="node-2")
        == "Node node-2 is drained: its tasks move to other nodes."
    )
    assert set(AVAILABILITY_SAID) == {"active", "pause", "drain"}


def test_loaded_images_are_said_in_a_sentence():
    lines = ["Loaded image: app:1", "Loaded image ID: sha256:abc"]
    assert _loaded_text(lines) == "Loaded 2 images: app:1, sha256:abc."
    assert _loaded_text([]) == "The archive is loaded."


def test_no_flash_message_reads_like_code():
    """The shapes that read like code: 'X is now drain.', 'Stopped: <id>', 'N step(s)'."""
    code_like = re.compile(r"is now \{|\{past\}: |step\(s\)|, except: ")
    views = ROOT / "dashboard" / "views"
    offenders = [
        f"{path.name}: {line.strip()}"
        for path in views.glob("*.py")
        for line in path.read_text().splitlines()
        if code_like.search(line)
    ]
    assert offenders == []


def test_a_published_port_links_to_where_it_is_reached():
    # A unix-socket engine runs where the dashboard does: the browser's host name.
    assert port_host("unix:///var/run/docker.sock", "dash.example.com:8000") == "dash.example.com"
    assert port_host("unix:///x.sock", "[::1]:8000") == "::1"
    # A tcp:// engine: that engine's host.
    assert port_host("tcp://10.0.0.5:2376", "dash.example.com") == "10.0.0.5"
    assert port_href("0.0.0.0:8080->80/tcp", "dash.example.com") == "http://dash.example.com:8080/"
    assert port_href("[::]:8443->443/tcp", "10.0.0.5") == "https://10.0.0.5:8443/"
    assert port_href("127.0.0.1:9000", "dash.example.com") == "http://dash.example.com:9000/"
    # Bound to one address of its own: that address.
    assert port_href("192.0.2.7:8080->80/tcp", "dash.example.com") == "http://192.0.2.7:8080/"
    assert port_href("[2001:db8::1]:8080->80/tcp", "x") == "http://[2001:db8::1]:8080/"
    # Not published, not TCP, nowhere to link to: no link.
    assert port_href("80/tcp", "dash.example.com") == ""
    assert port_href("0.0.0.0:5353->53/udp", "dash.example.com") == ""
    assert port_href("0.0.0.0:8080->80/tcp", "") == ""
    assert port_href('0.0.0.0:80"><script>->80/tcp', "x") == ""


def test_a_relative_time_shows_the_absolute_time_on_hover(settings):
    settings.TIME_ZONE = "UTC"
    moment = datetime.now(UTC) - timedelta(minutes=3)
    html = str(when(moment))
    m = re.fullmatch(r'<time datetime="([^"]+)" title="([^"]+)">3\xa0minutes ago</time>', html)
    assert m, html
    assert m.group(2) == moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert datetime.fromisoformat(m.group(1)) == moment
    assert when(None) == ""


def test_every_relative_time_in_the_templates_has_a_title():
    """`|ago` gives text only: it must sit in a <time> that has a title (else use `|when`)."""
    missing = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        for m in re.finditer(r"\|ago\b", text):
            before = text[: m.start()]
            tag = before[before.rfind("<") :]
            if not (tag.startswith("<time") and "title=" in tag):
                missing.append(f"{path.relative_to(ROOT)}: …{text[m.start() - 60 : m.end()]}")
    assert missing == []


def test_make_bench_says_which_benches_there_are():
    done = subprocess.run(
        ["make", "-n", "bench", "BENCH=log_throughput", "ARGS=--lines 10"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "bench/log_throughput.py --lines 10" in done.stdout
    # It brings the test extras (websockets...) before it runs the bench.
    assert re.search(r"^bench: dev-venv$", (ROOT / "Makefile").read_text(), re.M)
    listed = subprocess.run(["make", "-s", "bench"], cwd=ROOT, capture_output=True, text=True)
    assert listed.returncode != 0 and "log_throughput" in listed.stdout


def test_the_containers_pages_link_published_ports(lab_settings, viewer, make_container):
    c = make_container(
        ExposedPorts={"80/tcp": {}, "53/udp": {}},
        HostConfig={"PortBindings": {"80/tcp": [{"HostPort": ""}], "53/udp": [{"HostPort": ""}]}},
    )
    bindings = c["NetworkSettings"]["Ports"]
    tcp = bindings["80/tcp"][0]["HostPort"]
    udp_linked = re.compile(r"<a\s[^>]*>[^<]*-&gt;53/udp")
    listing = viewer.get("/hosts/local/containers/").content.decode()
    # The test client is the browser here: its host name is "testserver".
    assert f'<a\n      href="http://testserver:{tcp}/"' in listing
    assert "-&gt;53/udp" in listing and not udp_linked.search(listing)
    detail = viewer.get(f"/hosts/local/containers/{c['Id']}/").content.decode()
    assert f'href="http://testserver:{tcp}/"' in detail
    # The UDP port's address is shown as text, not as a link.
    assert re.search(r'53/udp</td>\s*<td class="mono">[^<]+</td>', detail)


def test_an_action_done_without_htmx_says_so_in_a_sentence(lab_settings, operator, make_container):
    c = make_container()
    name = c["Name"].lstrip("/")
    resp = operator.post(f"/hosts/local/containers/{c['Id']}/stop/", {"t": "0"}, follow=True)
    assert f"Stopped container {name}." in resp.content.decode()
