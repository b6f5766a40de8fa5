"""Alert pages: rules and channels are for admins, every change is audited, hostile or
impossible input gets its message beside the field and saves nothing, a channel's secrets
are never shown again, and Send test says what the receiver answered."""

from __future__ import annotations

import pytest

from dashboard.models import Alert, AlertChannel, AlertRule, AuditEntry

from .support.receiver import Receiver, webhook_receiver

KEY = "a-signing-key-of-some-length"


@pytest.fixture
def receiver():
    with webhook_receiver() as r:
        yield r


def add_channel(admin, url: str, key: str = KEY, name: str = "hook", kind: str = "webhook"):
    return admin.post("/alerts/channels/", {"name": name, "kind": kind, "url": url, "key": key})


def test_an_admin_adds_a_webhook_and_its_secrets_are_never_shown_again(admin, receiver):
    secret_path = receiver.url + "?token=s3cr3t-token"
    resp = add_channel(admin, secret_path)
    assert resp.status_code == 302, resp.content[:500]
    channel = AlertChannel.objects.get()
    page = admin.get("/alerts/channels/").content.decode()
    assert "hook" in page and "s3cr3t-token" not in page and KEY not in page
    assert "s3cr3t-token" not in channel.secret_url and KEY not in channel.secret_key
    entry = AuditEntry.objects.get(action="alert.channel.create")
    assert entry.outcome == "ok" and "s3cr3t" not in str(entry.params)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://example.com/hook", "starts with http:// or https://"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fe80::1]:9000/hook", "link-local"),
        ("http://127.0.0.1:8000/hook", "the dashboard itself"),
        ("http://testserver/alerts/", "the dashboard itself"),
        ("http://10.9.9.9:2376/hook", "an engine it manages"),
    ],
)
def test_bad_webhook_urls_are_refused_beside_the_field(admin, settings, url, words):
    settings.DASHBOARD_HOSTS = "tcpengine=tcp://10.9.9.9:2376"
    from dashboard.engines import reset_clients

    reset_clients()
    resp = add_channel(admin, url)
    assert resp.status_code == 400
    page = resp.content.decode()
    assert 'id="url-error"' in page and words in page, page[-3000:]
    assert not AlertChannel.objects.exists()


def test_a_local_apprise_scheme_is_refused(admin):
    resp = add_channel(admin, "file:///tmp/alerts.log", kind="apprise", key="")
    assert resp.status_code == 400 and "not offered" in resp.content.decode()
    assert not AlertChannel.objects.exists()


def _test_send(admin, receiver: Receiver) -> str:
    assert add_channel(admin, receiver.url).status_code == 302
    channel = AlertChannel.objects.get()
    resp = admin.post(f"/alerts/channels/{channel.pk}/test/", follow=True)
    return resp.content.decode()


def test_send_test_delivers_a_signed_message_and_says_so(admin, receiver):
    page = _test_send(admin, receiver)
    assert "hook: delivered (HTTP 200)" in page
    [got] = receiver.got
    assert got.signed_by(KEY) and got.json()["state"] == "test"
    assert AuditEntry.objects.get(action="alert.channel.test").outcome == "ok"


def test_send_test_reports_an_error_answer(admin, receiver):
    receiver.status = 500
    page = _test_send(admin, receiver)
    assert "not delivered: HTTP 500" in page
    assert AuditEntry.objects.get(action="alert.channel.test").outcome == "failed"


def test_send_test_does_not_follow_a_redirect(admin, receiver):
    receiver.status, receiver.location = 302, "http://169.254.169.254/latest/"
    page = _test_send(admin, receiver)
    assert "it redirects (HTTP 302 to http://169.254.169.254/latest/): not followed" in page
    assert len(receiver.got) == 1


def test_send_test_gives_up_on_a_receiver_that_does_not_answer(admin, receiver, settings):
    settings.ALERTS_TIMEOUT = 0.5
    receiver.delay = 3
    page = _test_send(admin, receiver)
    assert "not delivered: no answer within 0.5 s" in page


def test_rules_are_created_edited_disabled_and_audited(admin):
    data = {"name": "crashes", "kind": "exit", "host": "", "label": "tier=web", "count": 3}
    data |= {"minutes": 5, "seconds": 30, "cooldown": 60, "enabled": "on"}
    assert admin.post("/alerts/rules/new/", data).status_code == 302
    rule = AlertRule.objects.get()
    assert (rule.label, rule.enabled) == ("tier=web", True)
    assert (
        admin.post(f"/alerts/rules/{rule.pk}/", {**data, "name_glob": "web-*"}).status_code == 302
    )
    assert admin.post(f"/alerts/rules/{rule.pk}/enable/", {}).status_code == 302
    rule.refresh_from_db()
    assert (rule.name_glob, rule.enabled) == ("web-*", False)
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"alert.rule.create", "alert.rule.edit", "alert.rule.disable"} <= actions
    assert "crashes" in admin.get("/alerts/rules/").content.decode()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("count", "0", "at least 2"),
        ("minutes", "-5", "at least 1"),
        ("seconds", "1", "at least 5"),
        ("cooldown", "999999999", "at most 86400"),
        ("label", "bad key=x", "a label filter is key or key=value"),
        ("name_glob", "web;rm -rf", "a name pattern holds"),
        ("kind", "everything", "not one of the available choices"),
        ("host", "nosuchhost", "not one of the available choices"),
    ],
)
def test_impossible_rules_are_refused_beside_the_field(admin, field, value, words):
    data = {"name": "r", "kind": "exit", "count": 3, "minutes": 5, "seconds": 30, "cooldown": 60}
    resp = admin.post("/alerts/rules/new/", {**data, field: value})
    assert resp.status_code == 400
    page = resp.content.decode()
    assert f'id="{field}-error"' in page and words in page
    assert not AlertRule.objects.exists()


def test_operators_and_viewers_see_the_history_but_not_rules_or_channels(operator, viewer):
    for client in (operator, viewer):
        assert client.get("/alerts/").status_code == 200
        assert client.get("/alerts/rules/").status_code == 403
        assert client.get("/alerts/channels/").status_code == 403
        resp = client.post("/alerts/rules/new/", {"name": "x", "kind": "exit"})
        assert resp.status_code == 403
    assert not AlertRule.objects.exists()


def test_the_navigation_badge_counts_firing_conditions(viewer):
    assert 'id="alerts-badge">Alerts</a>' in viewer.get("/alerts/").content.decode()
    Alert.objects.create(
        rule_name="r", kind="unhealthy", host="local", state="fired", text="t", open=True
    )
    Alert.objects.create(rule_name="r", kind="exit", host="local", state="fired", text="t")
    page = viewer.get("/alerts/").content.decode()
    assert 'title="conditions firing now">1</span>' in page


def test_a_silence_keeps_alerts_in_the_history_and_sends_them_nowhere(
    transactional_db, admin, receiver
):
    import asyncio
    import time

    from dashboard.alerts import evaluate
    from dashboard.alerts.watch import Watcher
    from dashboard.models import Delivery, Silence

    assert add_channel(admin, receiver.url).status_code == 302
    rule = AlertRule.objects.create(name="crash", kind="exit")
    rule.channels.add(AlertChannel.objects.get())
    spec = evaluate.RuleSpec(
        id=rule.pk, name="crash", kind="exit", channels=(AlertChannel.objects.get().pk,)
    )
    watcher = Watcher(asyncio.new_event_loop())

    def fire() -> Alert:
        target = evaluate.Target("abc", "web-1", "exit code 1")
        return watcher.record(evaluate.Message(spec, "local", "fired", [target], time.time()))

    resp = admin.post(
        "/alerts/silences/new/",
        {"rule": rule.pk, "host": "local", "until": "2099-01-01 00:00", "reason": "x"},
    )
    assert resp.status_code == 400 and "at most 30 days" in resp.content.decode()
    from datetime import timedelta

    from django.utils import timezone

    until = (timezone.localtime() + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    resp = admin.post("/alerts/silences/new/", {"rule": rule.pk, "host": "local", "until": until})
    assert resp.status_code == 302, resp.content.decode()[-2000:]
    silenced = fire()
    assert silenced.silenced and not Delivery.objects.exists()
    assert "(silenced)" in admin.get("/alerts/").content.decode()

    silence = Silence.objects.get()
    assert admin.post(f"/alerts/silences/{silence.pk}/end/").status_code == 302
    fire()
    for thread in watcher.deliveries:
        thread.join(10)
    assert len(receiver.got) == 1 and Delivery.objects.get().outcome == "delivered"
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"alert.silence.create", "alert.silence.end"} <= actions


def test_a_silence_that_ended_already_is_refused(admin):
    resp = admin.post("/alerts/silences/new/", {"until": "2001-01-01 00:00"})
    assert resp.status_code == 400 and "ends in the future" in resp.content.decode()


def test_a_memory_rule_above_100_percent_is_refused(admin):
    data = {"name": "m", "kind": "memory", "percent": 150, "seconds": 60}
    resp = admin.post("/alerts/rules/new/", data)
    assert resp.status_code == 400 and "at most 100% of its limit" in resp.content.decode()
    assert admin.post("/alerts/rules/new/", {**data, "percent": 90}).status_code == 302
    assert AlertRule.objects.get().percent == 90


def test_an_email_channel_through_apprise_reaches_a_local_smtp_server(admin):
    from .support.receiver import smtp_receiver

    with smtp_receiver() as (port, got):
        url = f"mailto://127.0.0.1:{port}?mode=insecure&from=alerts@example.com&to=ops@example.com"
        resp = add_channel(admin, url, key="", name="mail", kind="apprise")
        assert resp.status_code == 302, resp.content.decode()[-2000:]
        channel = AlertChannel.objects.get()
        assert channel.shown == "mailto://127.0.0.1:" + str(port) + "/"
        page = admin.post(f"/alerts/channels/{channel.pk}/test/", follow=True).content.decode()
        assert "mail: delivered" in page, page[-2000:]
    [mail] = got
    assert mail.rcpt_tos == ["ops@example.com"]
    assert b"A test message from the dashboard" in mail.content


def test_an_email_channel_that_cannot_connect_says_so(admin):
    from tests.support.browser import free_port

    url = f"mailto://127.0.0.1:{free_port()}?mode=insecure&from=a@example.com&to=b@example.com"
    assert add_channel(admin, url, key="", name="mail", kind="apprise").status_code == 302
    channel = AlertChannel.objects.get()
    page = admin.post(f"/alerts/channels/{channel.pk}/test/", follow=True).content.decode()
    assert "mail: not delivered: Connection error while submitting email to" in page
