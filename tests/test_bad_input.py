"""Hostile input: every case gets a 4xx with a message, a malformed id never reaches an
engine, and nothing is created.

Malformed ids go to a recording fake engine (tests/support/fakes.py) so "no engine call" is checked
directly; forms go to the real lab engine, whose resources are compared before and after.
"""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.engines import reset_clients
from dashboard.models import AuditEntry

from .support.fakes import FakeEngine
from .support.lab import RUN_ID

pytestmark = pytest.mark.django_db

H = "/hosts/local"
CID = "a" * 64
LONG = "a" * 10_000
# Look-alikes: Cyrillic а/о/е and full-width letters, fine to a human eye, not to the grammar.
CYRILLIC_ID = "а" + "a" * 63
MALFORMED_IDS = {
    "slash": "a/b",
    "dotdot": "..",
    "dotdot-encoded": "%2E%2E",
    "slash-encoded": "..%2F..%2Finfo",
    "slash-encoded-lower": "abc%2fdef",
    "backslash": "a%5Cb",
    "nul": "abc%00def",
    "nul-id": "a" * 63 + "%00",
    "10k": LONG,
    "cyrillic-id": CYRILLIC_ID,
    "fullwidth": "ｃｏｎｔａｉｎｅｒ",
    "script": "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "quote": "a'%20OR%20'1'='1",
    "shell": "%24(reboot)",
    "semicolon": "x;rm%20-rf%20%2F",
    "space": "a%20b",
    "newline": "a%0Ab",
    "question": "a%3Fall=1",
    "hash": "a%23b",
    "leading-dash": "-rf",
    "dot-start": ".hidden",
    "unicode-dots": "․․",
}
# Pages and actions that take an id; `{}` is the id.
ID_URLS = [
    f"{H}/containers/{{}}/",
    f"{H}/containers/{{}}/stop/",
    f"{H}/containers/{{}}/logs/",
    f"{H}/images/{{}}/",
    f"{H}/volumes/{{}}/remove/",
    f"{H}/networks/{{}}/",
    f"{H}/projects/{{}}/",
    f"{H}/projects/{{}}/stop/",
    f"{H}/projects/{{}}/remove/",
]


@pytest.fixture
def recording_host(settings):
    with FakeEngine("1.41") as fake:
        settings.DOCKER_HOST = fake.url
        settings.DASHBOARD_HOST_NAME = "local"
        reset_clients()
        yield fake
        reset_clients()


def _message(resp: Any) -> str:
    html = resp.content.decode(errors="replace")
    return html[html.find("<main") :]


@pytest.mark.parametrize("case", list(MALFORMED_IDS))
def test_a_malformed_id_is_refused_without_asking_the_engine(recording_host, admin, case):
    value = MALFORMED_IDS[case]
    for template in ID_URLS:
        url = template.format(value)
        # Dot segments may be removed by the client's URL handling: the resolver must
        # refuse whatever arrives, and the engine must hear nothing.
        for method in (admin.get, admin.post):
            resp = method(url)
            if resp.status_code == 405:  # an action by GET; the POST below is the test
                continue
            assert 400 <= resp.status_code < 500, (case, url, resp.status_code)
            assert (
                "Not found" in _message(resp)
                or "Not allowed" in _message(resp)
                or ("Bad request" in _message(resp))
            ), (case, url)
    assert recording_host.requests == []


@pytest.mark.parametrize("name", ["Shop", "_shop", "shop.v2", "shop%20x", "a" * 129])
def test_a_name_compose_would_refuse_is_no_project(recording_host, admin, name):
    """Names that are fine container or volume names, but not compose project names."""
    for url in (f"{H}/projects/{name}/", f"{H}/projects/{name}/logs/"):
        assert admin.get(url).status_code == 404
    assert admin.post(f"{H}/projects/{name}/stop/").status_code == 404
    assert recording_host.requests == []


@pytest.mark.parametrize(
    "host", ["LOCAL", "lоcal", "..", "%2E%2E", "a" * 64, "local%00", "-local", "local%2Fx"]
)
def test_a_malformed_host_name_is_refused(recording_host, admin, host):
    resp = admin.get(f"/hosts/{host}/containers/")
    assert resp.status_code == 404 and "Not found" in _message(resp)
    assert recording_host.requests == []


def _engine_state(engine: Any) -> dict[str, Any]:
    return {
        "containers": sorted(c["Id"] for c in engine.containers.list(all=True)),
        "volumes": sorted(v["Name"] for v in engine.volumes.list()),
        "networks": sorted(n["Id"] for n in engine.networks.list()),
        "images": sorted(i["Id"] for i in engine.images.list()),
    }


NEW = f"{H}/containers/new/"
BAD_FORMS = [
    # (url, form data, field the message is beside, words of the message)
    (NEW, {"image": "UPPER/Case"}, "image", "lower"),
    (NEW, {"image": "a@b@c"}, "image", ""),
    (NEW, {"image": "lab/busybox", "name": "<script>alert(1)</script>"}, "name", ""),
    (NEW, {"image": "lab/busybox", "name": "../../etc"}, "name", ""),
    (NEW, {"image": "lab/busybox", "memory": "lots"}, "memory", ""),
    (NEW, {"image": "lab/busybox", "cpus": "-1"}, "cpus", ""),
    (NEW, {"image": "lab/busybox", "restart": "sometimes"}, "restart", "valid choice"),
    (
        NEW,
        {"image": "lab/busybox", "restart": "on-failure", "restart_max": "x"},
        "restart_max",
        "whole number",
    ),
    (NEW, {"image": "lab/busybox", "labels": "no-equals-sign<b>"}, "labels", ""),
    (NEW, {"image": "lab/busybox", "env": "=novalue"}, "env", ""),
    (NEW, {"image": "lab/busybox", "cap_add": "ALL; rm -rf /"}, "cap_add", ""),
    (NEW, {"image": "lab/busybox", "user": "x" * 100}, "user", "at most"),
    (NEW, {"image": "lab/busybox", "hostname": "bad host!"}, "hostname", ""),
    (f"{H}/images/pull/", {"reference": "UPPER/Case"}, "reference", ""),
    (f"{H}/images/pull/", {"reference": "x" * 5000}, "reference", ""),
    (f"{H}/images/pull/", {"reference": "a@b@c"}, "reference", ""),
    (f"{H}/volumes/", {"name": "../x", "driver": "local"}, "name", ""),
    (f"{H}/volumes/", {"name": "<script>", "driver": "local"}, "name", ""),
    (f"{H}/volumes/", {"name": f"dt-{RUN_ID}-ok", "driver": "no-such-driver"}, "driver", ""),
    (f"{H}/networks/", {"name": "n<script>", "driver": "bridge"}, "name", ""),
    (
        f"{H}/networks/",
        {"name": f"dt-{RUN_ID}-n", "driver": "bridge", "subnet": "300.1.1.1/24"},
        "subnet",
        "",
    ),
    (
        f"{H}/networks/",
        {
            "name": f"dt-{RUN_ID}-n",
            "driver": "bridge",
            "subnet": "10.9.0.0/24",
            "gateway": "not-an-ip",
        },
        "gateway",
        "",
    ),
    (
        "/settings/users/new/",
        {"username": "<script>", "password1": "x", "password2": "x", "role": "viewer"},
        "username",
        "",
    ),
    ("/settings/hosts/add/", {"name": "x", "url": "tcp://[::1"}, "url", ""),
]


@pytest.mark.parametrize("url, data, field, words", BAD_FORMS)
def test_bad_form_input_is_refused_and_nothing_is_created(
    lab_settings, engine, admin, url, data, field, words
):
    before = _engine_state(engine)
    resp = admin.post(url, data)
    assert 400 <= resp.status_code < 500, (url, data, resp.status_code)
    html = resp.content.decode()
    assert 'class="field-error"' in html or "field-error" in html, (url, data)
    assert words in html
    assert _engine_state(engine) == before
    assert not AuditEntry.objects.exclude(outcome="denied").exists()
    # The refusal itself is in the trail.
    assert AuditEntry.objects.filter(outcome="denied").exists()
    assert "<script>alert" not in html and "<script>" not in html.replace(
        "<script src=", ""
    ).replace("<script>", "", 0)


@pytest.mark.parametrize(
    "url",
    [
        f"{H}/containers/?show=sideways",
        f"{H}/containers/?q={LONG}",
        f"{H}/images/?q={LONG}",
        "/audit/?start=yesterday",
        "/audit/?outcome=<script>",
    ],
)
def test_bad_query_parameters_get_a_message(lab_settings, engine, admin, url):
    resp = admin.get(url)
    assert 400 <= resp.status_code < 500 or 'class="field-error"' in resp.content.decode()
    assert "field-error" in resp.content.decode()


def test_oversized_requests_are_refused(lab_settings, admin, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    resp = admin.post(f"{H}/volumes/", {"name": "x" * 4096, "driver": "local"})
    assert resp.status_code == 400
    entry = AuditEntry.objects.get()
    assert entry.outcome == "denied"
