"""More lifecycle, bulk actions, prune, the detail tabs and env reveal, and who may do what,
through the dashboard against the lab engine."""

from __future__ import annotations

import contextlib
import json
import re
import shlex

import pytest

from dashboard.models import AuditEntry
from engine_client import EngineError

from .support.lab import RUN_ID, TEST_LABEL

pytestmark = [pytest.mark.engine, pytest.mark.django_db]

LIST = "/hosts/local/containers/"
CID = "a" * 64


def url(cid: str, action: str = "") -> str:
    return f"{LIST}{cid}/{action}/" if action else f"{LIST}{cid}/"


def state(engine, cid: str) -> str:
    return engine.containers.inspect(cid)["State"]["Status"]


# -- lifecycle ------------------------------------------------------------------------------------


def test_pause_and_resume_return_the_new_row(lab_settings, operator, engine, make_container):
    c = make_container()
    resp = operator.hx_post(url(c["Id"], "pause"))
    assert resp.status_code == 200 and 'class="badge paused"' in resp.content.decode()
    assert state(engine, c["Id"]) == "paused"
    assert "Resume" in resp.content.decode()
    assert operator.hx_post(url(c["Id"], "unpause")).status_code == 200
    assert state(engine, c["Id"]) == "running"
    assert AuditEntry.objects.filter(action="container.pause", outcome="ok").count() == 1


def test_kill_sends_the_chosen_signal(lab_settings, operator, engine, make_container):
    c = make_container(["sh", "-c", "trap 'exit 9' HUP; while :; do sleep 0.1; done"])
    resp = operator.post(url(c["Id"], "kill"), {"signal": "SIGHUP", "next": url(c["Id"])})
    assert resp.status_code == 302
    assert engine.containers.wait(c["Id"], timeout=10)["StatusCode"] == 9
    assert AuditEntry.objects.get(action="container.kill").params == {"signal": "SIGHUP"}


def test_kill_refuses_a_signal_not_on_the_list(lab_settings, operator, make_container):
    c = make_container()
    resp = operator.hx_post(url(c["Id"], "kill"), {"signal": "SIGKILL; rm -rf /"})
    assert resp.status_code == 400


def test_restart_waits_the_seconds_asked_for(lab_settings, operator, engine, make_container):
    c = make_container(["sh", "-c", "trap '' TERM; sleep 300"], StopTimeout=30)
    before = engine.containers.inspect(c["Id"])["State"]["StartedAt"]
    resp = operator.hx_post(url(c["Id"], "restart"), {"t": "1"})
    assert resp.status_code == 200
    after = engine.containers.inspect(c["Id"])["State"]
    assert after["Running"] and after["StartedAt"] != before
    assert AuditEntry.objects.get(action="container.restart").params == {"timeout": 1}
    assert operator.hx_post(url(c["Id"], "stop"), {"t": "-4"}).status_code == 400


def test_rename_and_a_taken_name_beside_the_field(lab_settings, operator, engine, make_container):
    a, b = make_container(start=False), make_container(start=False)
    new = f"dt-{RUN_ID}-newname"
    resp = operator.post(url(a["Id"], "rename"), {"name": new})
    assert resp.status_code == 302
    assert engine.containers.inspect(a["Id"])["Name"] == f"/{new}"
    resp = operator.post(url(b["Id"], "rename"), {"name": new})
    assert resp.status_code == 200
    assert re.search(r'id="name-error">[^<]*already in use', resp.content.decode())
    resp = operator.post(url(b["Id"], "rename"), {"name": "bad name!"})
    assert 'id="name-error"' in resp.content.decode()


def test_remove_with_and_without_anonymous_volumes(lab_settings, admin, engine, make_container):
    def anon_volume(c):
        return next(m["Name"] for m in c["Mounts"] if m["Type"] == "volume")

    keep = make_container(start=False, Volumes={"/data": {}})
    drop = make_container(start=False, Volumes={"/data": {}})
    kept_volume, dropped_volume = anon_volume(keep), anon_volume(drop)
    try:
        admin.post(url(keep["Id"], "remove"), {"confirm": "yes"})
        admin.post(url(drop["Id"], "remove"), {"confirm": "yes", "volumes": "on"})
        volumes = {v["Name"] for v in engine.get_json("/volumes")["Volumes"] or []}
        assert kept_volume in volumes and dropped_volume not in volumes
    finally:
        for volume in (kept_volume, dropped_volume):
            with contextlib.suppress(EngineError):
                engine.request("DELETE", "/volumes/{}", volume)


# -- bulk -----------------------------------------------------------------------------------------


def test_bulk_stop_reports_each_outcome_even_when_one_is_gone(
    lab_settings, operator, engine, make_container
):
    a, b, gone = make_container(), make_container(), make_container()
    engine.containers.remove(gone["Id"], force=True)
    ids = [a["Id"], gone["Id"], b["Id"]]
    resp = operator.hx_post(f"{LIST}bulk/", {"action": "stop", "ids": ids}, target="bulk-result")
    assert resp.status_code == 200
    html = resp.content.decode()
    outcomes = dict(re.findall(r'data-id="([0-9a-f]{64})">.*?class="text">([^<]*)<', html, re.S))
    assert outcomes == {
        a["Id"]: "stopped",
        b["Id"]: "stopped",
        gone["Id"]: "not found (it is gone)",
    }
    assert "2 of 3 done" in html
    assert state(engine, a["Id"]) == state(engine, b["Id"]) == "exited"
    audit = {e.target_id: e.outcome for e in AuditEntry.objects.filter(action="container.stop")}
    assert audit == {a["Id"]: "ok", b["Id"]: "ok", gone["Id"]: "failed"}


def test_bulk_acts_on_full_ids_only(lab_settings, operator, make_container):
    c = make_container()
    for ids in ([c["Id"][:12]], [c["Name"].lstrip("/")], []):
        resp = operator.hx_post(f"{LIST}bulk/", {"action": "stop", "ids": ids})
        assert 'class="field-error"' in resp.content.decode()
    assert not AuditEntry.objects.exclude(outcome="denied").exists()


def test_bulk_start_pause_unpause_kill_and_remove(lab_settings, admin, engine, make_container):
    a, b = make_container(start=False), make_container(start=False)
    ids = [a["Id"], b["Id"]]
    for action, expected in (
        ("start", "running"),
        ("pause", "paused"),
        ("unpause", "running"),
        ("kill", "exited"),
    ):
        html = admin.hx_post(f"{LIST}bulk/", {"action": action, "ids": ids}).content.decode()
        assert "2 of 2 done" in html, (action, html)
        assert {state(engine, i) for i in ids} == {expected}
    html = admin.hx_post(f"{LIST}bulk/", {"action": "remove", "ids": ids}).content.decode()
    assert "2 of 2 done" in html
    assert engine.containers.list(all=True, filters={"id": ids}) == []


def test_an_operator_cannot_bulk_remove(lab_settings, operator, engine, make_container):
    c = make_container(start=False)
    resp = operator.hx_post(f"{LIST}bulk/", {"action": "remove", "ids": [c["Id"]]})
    assert resp.status_code == 403
    assert state(engine, c["Id"]) == "created"


# -- prune ----------------------------------------------------------------------------------------


def test_prune_shows_what_would_go_then_removes_exactly_that(
    lab_settings, admin, engine, make_container
):
    label = f"{TEST_LABEL}.prune={RUN_ID}"
    stopped = make_container(start=False, Labels={f"{TEST_LABEL}.prune": RUN_ID})
    later = make_container(start=False, Labels={f"{TEST_LABEL}.prune": RUN_ID})
    running = make_container(Labels={f"{TEST_LABEL}.prune": RUN_ID})
    preview = admin.get(f"{LIST}prune/", {"label": label}).content.decode()
    shown = set(re.findall(r'name="ids" value="([0-9a-f]{64})"', preview))
    assert shown == {stopped["Id"], later["Id"]}
    assert running["Id"] not in preview
    assert state(engine, stopped["Id"]) == "created", "the preview removes nothing"
    # Started after the list was shown: the engine refuses, it is kept.
    engine.containers.start(later["Id"])
    made_since = make_container(start=False, Labels={f"{TEST_LABEL}.prune": RUN_ID})
    resp = admin.post(f"{LIST}prune/", {"label": label, "ids": sorted(shown)})
    html = resp.content.decode()
    assert "Removed 1 of 2" in html
    remaining = {r["Id"] for r in engine.containers.list(all=True, filters={"label": [label]})}
    assert remaining == {later["Id"], running["Id"], made_since["Id"]}
    assert AuditEntry.objects.filter(action="container.prune").count() == 2


# -- detail tabs, env reveal ----------------------------------------------------------------------


def test_the_tabs_show_inspect_processes_env_and_the_docker_run_command(
    lab_settings, viewer, make_container, engine
):
    c = make_container(
        ["sh", "-c", "echo 'it''s'; sleep 321"],
        Env=["API_TOKEN=hunter2", "GREETING=hello world"],
        Labels={"note": "a 'quoted' value"},
    )
    base = url(c["Id"])
    inspect = viewer.get(base, {"tab": "inspect"}).content.decode()
    assert "<details" in inspect and "hunter2" not in inspect and "API_TOKEN=" in inspect
    raw = re.search(r'<pre class="mono" id="inspect-json">(.*?)</pre>', inspect, re.S).group(1)
    import html as htmllib

    assert json.loads(htmllib.unescape(raw))["Id"] == c["Id"]
    processes = viewer.get(base, {"tab": "processes"}).content.decode()
    assert "sleep 321" in processes
    refreshed = viewer.get(url(c["Id"], "top"), headers={"HX-Request": "true"}).content.decode()
    assert refreshed.lstrip().startswith('<div id="top-table">') and "sleep 321" in refreshed
    env = viewer.get(base, {"tab": "env"}).content.decode()
    assert "hello world" in env and "hunter2" not in env and "Reveal" not in env
    run = viewer.get(base, {"tab": "run"}).content.decode()
    text = htmllib.unescape(re.search(r'id="docker-run">(.*?)</pre>', run, re.S).group(1))
    words = shlex.split(text.replace("\\\n", " "))
    assert words[-4:] == [engine.lab_image_name, "sh", "-c", "echo 'it''s'; sleep 321"]
    assert "GREETING=hello world" in words and "API_TOKEN" in words and "hunter2" not in text
    assert "note=a 'quoted' value" in words
    panel = viewer.get(
        base, {"tab": "mounts"}, headers={"HX-Request": "true", "HX-Target": "tab-panel"}
    )
    assert panel.content.decode().startswith('<div id="tab-panel">')


def test_an_admin_reveals_a_secret_and_it_is_audited(
    lab_settings, admin, operator, viewer, make_container
):
    c = make_container(Env=["DB_PASSWORD=s3cr3t"])
    env_page = admin.get(url(c["Id"]), {"tab": "env"}).content.decode()
    assert "s3cr3t" not in env_page and "Reveal" in env_page
    for person in (operator, viewer):
        assert person.hx_post(url(c["Id"], "env/reveal"), {"key": "DB_PASSWORD"}).status_code == 403
    resp = admin.hx_post(url(c["Id"], "env/reveal"), {"key": "DB_PASSWORD"})
    assert resp.status_code == 200 and "s3cr3t" in resp.content.decode()
    entry = AuditEntry.objects.get(action="container.env.reveal")
    assert entry.username == "alice-admin" and entry.params == {"variable": "DB_PASSWORD"}
    assert "s3cr3t" not in json.dumps(entry.params) + entry.message


# -- who may do what ------------------------------------------------------------------------------

OPERATOR_POSTS = ["pause", "unpause", "kill", "rename"]
ADMIN_ONLY = [
    ("POST", f"{LIST}new/"),
    ("GET", f"{LIST}new/"),
    ("GET", f"{LIST}prune/"),
    ("POST", f"{LIST}prune/"),
    ("GET", url(CID, "edit")),
    ("POST", url(CID, "edit")),
    ("GET", url(CID, "run")),
    ("POST", url(CID, "env/reveal")),
]


@pytest.mark.parametrize("action", OPERATOR_POSTS)
def test_a_viewer_cannot_act(viewer, action):
    assert viewer.post(url(CID, action), {"name": "x1", "signal": "SIGKILL"}).status_code == 403
    assert viewer.post(f"{LIST}bulk/", {"action": "stop", "ids": [CID]}).status_code == 403
    assert not AuditEntry.objects.exclude(outcome="denied").exists()


@pytest.mark.parametrize("method, path", ADMIN_ONLY)
def test_only_admins_create_prune_edit_run_and_reveal(operator, viewer, method, path):
    for person in (operator, viewer):
        resp = person.get(path) if method == "GET" else person.post(path, {})
        assert resp.status_code == 403, (method, path)


def test_only_people_granted_exec_open_the_terminal(
    lab_settings, admin, operator, exec_operator, viewer, make_container
):
    c = make_container()
    assert viewer.get(url(c["Id"], "exec")).status_code == 403
    assert operator.get(url(c["Id"], "exec")).status_code == 403
    for person in (exec_operator, admin):
        resp = person.get(url(c["Id"], "exec"))
        assert resp.status_code == 200
        assert "'unsafe-inline'" in resp["Content-Security-Policy"].split("style-src")[1]
        assert "script-src 'self';" in resp["Content-Security-Policy"]
    detail = operator.get(url(c["Id"])).content.decode()
    assert "Terminal" not in detail
    assert "Terminal" in exec_operator.get(url(c["Id"])).content.decode()


def test_dashboard_user_grants_and_takes_back_exec(monkeypatch, db):
    import io

    from django.contrib.auth.models import User
    from django.core.management import call_command

    from dashboard.access import can_exec

    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-enough-pass-1\n"))
    call_command("dashboard_user", "ezra", "--role", "operator", "--exec", "--password-stdin")
    assert can_exec(User.objects.get(username="ezra"))
    call_command("dashboard_user", "ezra", "--role", "operator")  # not said: kept
    assert can_exec(User.objects.get(username="ezra"))
    call_command("dashboard_user", "ezra", "--role", "viewer")
    assert not can_exec(User.objects.get(username="ezra")), "viewers never exec"
    call_command("dashboard_user", "ezra", "--role", "operator", "--no-exec")
    assert not can_exec(User.objects.get(username="ezra"))
