"""The navigation's alert badge is live: its socket sends the count when a page opens and
again when a condition opens or closes, in this process or (through the channel layer) in
the one that evaluates."""

from __future__ import annotations

import secrets
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from dashboard.alerts import badge
from dashboard.asgi import application
from dashboard.models import Alert, AlertRule, AuditEntry

from . import test_browser as tb
from .support.browser import live_dashboard, login, watch_console
from .support.clients import ORIGIN, cookie_of
from .support.lab import lacks

PATH = "/ws/alerts/badge/"
browser = tb.browser


def _login() -> tuple[bytes, bytes]:
    user = User.objects.create_user("badge-viewer", password="x-long-password-1")
    client = Client()
    client.force_login(user)
    return cookie_of(client)


def _open_alert(rule: AlertRule | None = None) -> Alert:
    return Alert.objects.create(
        rule=rule, rule_name="r", kind="unhealthy", host="local", state="fired", text="t", open=True
    )


@pytest.mark.django_db(transaction=True)
async def test_the_badge_socket_sends_the_count_and_each_change():
    cookie = await sync_to_async(_login)()
    comm = WebsocketCommunicator(application, PATH, headers=[ORIGIN, cookie])
    connected, _ = await comm.connect()
    assert connected
    first = await comm.receive_from(timeout=3)
    assert 'id="alerts-badge" hx-swap-oob="true">Alerts</a>' in first
    rule = await sync_to_async(AlertRule.objects.create)(name="unhealthy ones", kind="unhealthy")
    await sync_to_async(_open_alert)(rule)
    await sync_to_async(badge.announce)()
    second = await comm.receive_from(timeout=3)
    assert 'title="conditions firing now">1</span>' in second
    # Turning the rule off forgets its conditions: the badge goes back to none.
    await sync_to_async(badge.forget_rule)(rule.pk)
    third = await comm.receive_from(timeout=3)
    assert "conditions firing now" not in third and 'id="alerts-badge"' in third
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_badge_socket_needs_a_login():
    anonymous = WebsocketCommunicator(application, PATH, headers=[ORIGIN])
    connected, code = await anonymous.connect()
    assert not connected and code == 4403


def test_removing_or_disabling_a_rule_takes_its_conditions_off_the_badge(admin):
    kept = AlertRule.objects.create(name="kept", kind="unhealthy")
    gone = AlertRule.objects.create(name="gone", kind="unhealthy")
    off = AlertRule.objects.create(name="off", kind="unhealthy")
    for rule in (kept, gone, off):
        _open_alert(rule)
    assert admin.post(f"/alerts/rules/{gone.pk}/remove/").status_code == 302
    assert admin.post(f"/alerts/rules/{off.pk}/enable/", {}).status_code == 302
    assert Alert.objects.filter(open=True).count() == 1
    assert Alert.objects.count() == 3  # the history keeps them
    page = admin.get("/alerts/").content.decode()
    assert 'title="conditions firing now">1</span>' in page
    assert AuditEntry.objects.filter(action="alert.rule.remove").exists()


@pytest.mark.browser
def test_an_open_page_shows_the_badge_turn_on_and_off_without_a_reload(
    browser, engine, make_container
):
    """The evaluator in a live dashboard opens a condition (a container turned unhealthy)
    and closes it (healthy again): the page loaded before either shows both."""
    lacks(engine, "podman", "healthchecks that run (it schedules them with systemd timers)")
    token = secrets.token_hex(4)
    with live_dashboard(engine.lab_url, DASHBOARD_ALERTS_WATCH="1") as live:
        s = login(live)
        form = {
            "name": f"badge-{token}",
            "kind": AlertRule.UNHEALTHY,
            "label": f"badgetest={token}",
            "enabled": "on",
            "csrfmiddlewaretoken": s.cookies["csrftoken"],
        }
        resp = s.post(
            f"{live.url}/alerts/rules/new/",
            data=form,
            headers={"Referer": live.url + "/"},
            allow_redirects=False,
            timeout=10,
        )
        assert resp.status_code == 302, resp.text[:2000]
        context = browser.new_context()
        context.add_cookies(
            [{"name": c.name, "value": c.value, "url": live.url} for c in s.cookies]
        )
        page = context.new_page()
        errors = watch_console(page)
        page.goto(f"{live.url}/hosts/")
        badge = page.locator("#alerts-badge")
        badge.wait_for()
        assert "conditions firing now" not in badge.inner_html()
        c = make_container(
            ["sleep", "300"],
            Labels={"badgetest": token},
            Healthcheck={
                "Test": ["CMD-SHELL", "test ! -e /tmp/bad"],
                "Interval": 500_000_000,
                "Timeout": 1_000_000_000,
                "Retries": 1,
            },
        )
        # The watcher reads its rules every few seconds; the container goes bad after that.
        time.sleep(3)
        engine.exec.run(c["Id"], ["touch", "/tmp/bad"])
        page.locator("#alerts-badge .badge", has_text="1").wait_for(timeout=30_000)
        engine.exec.run(c["Id"], ["rm", "/tmp/bad"])
        page.locator("#alerts-badge .badge").wait_for(state="detached", timeout=30_000)
        assert not errors, errors
        context.close()
