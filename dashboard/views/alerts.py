"""Alerts: the history (everyone), rules and channels (admins). Rules are evaluated by the
watcher (dashboard/alerts/), not here: these views only read and change the database."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from .. import credentials
from ..access import ADMIN, VIEWER, require_role
from ..alerts import badge
from ..alerts.deliver import send, shown_url
from ..audit import audited
from ..forms.alerts import ChannelForm, RuleForm, SilenceForm
from ..models import Alert, AlertChannel, AlertRule, Silence


class EnableForm(forms.Form):
    enabled = forms.BooleanField(required=False)


@require_role(VIEWER)
def alert_history(request: HttpRequest) -> HttpResponse:
    alerts = Alert.objects.prefetch_related("deliveries")[:200]
    return render(request, "alerts/history.html", {"alerts": alerts})


def _rules_page(request: HttpRequest, silence_form: SilenceForm, status: int = 200) -> HttpResponse:
    from django.utils import timezone

    ctx = {
        "rules": AlertRule.objects.prefetch_related("channels"),
        "silences": Silence.objects.filter(until__gt=timezone.now()).select_related("rule"),
        "silence_form": silence_form,
    }
    return render(request, "alerts/rules.html", ctx, status=status)


@require_role(ADMIN)
def rule_list(request: HttpRequest) -> HttpResponse:
    return _rules_page(request, SilenceForm())


@require_POST
@require_role(ADMIN)
def silence_new(request: HttpRequest) -> HttpResponse:
    form = SilenceForm(request.POST)
    if not form.is_valid():
        return _rules_page(request, form, status=400)
    silence = form.save(commit=False)
    silence.created_by = request.user.get_username()
    what = f"{silence.rule or 'every rule'} on {silence.host or 'every host'}"
    params = {"until": silence.until.isoformat(), "reason": silence.reason}
    with audited(request, silence.host, "alert.silence.create", "", what, params):
        silence.save()
    messages.success(request, f"Silenced {what} until {silence.until:%Y-%m-%d %H:%M %Z}.")
    return redirect(reverse("alert-rules"))


@require_POST
@require_role(ADMIN)
def silence_end(request: HttpRequest, pk: int) -> HttpResponse:
    from django.utils import timezone

    silence = get_object_or_404(Silence, pk=pk)
    what = f"{silence.rule or 'every rule'} on {silence.host or 'every host'}"
    with audited(request, silence.host, "alert.silence.end", str(pk), what):
        Silence.objects.filter(pk=pk).update(until=timezone.now())
    messages.success(request, f"Ended the silence of {what}.")
    return redirect(reverse("alert-rules"))


def _rule_params(rule: AlertRule) -> dict[str, object]:
    return {
        f: getattr(rule, f)
        for f in ("kind", "host", "name_glob", "label", "project", "count", "minutes")
        + ("seconds", "cooldown", "enabled")
    }


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=pk) if pk else None
    if request.method == "GET":
        return render(
            request, "alerts/rule_form.html", {"form": RuleForm(instance=rule), "rule": rule}
        )
    form = RuleForm(request.POST, instance=rule)
    if not form.is_valid():
        return render(request, "alerts/rule_form.html", {"form": form, "rule": rule}, status=400)
    action = "alert.rule.edit" if rule else "alert.rule.create"
    with audited(request, "", action, str(pk or ""), form.cleaned_data["name"]) as entry:
        saved = form.save(commit=False)
        saved.created_by = saved.created_by or request.user.get_username()
        saved.save()
        form.save_m2m()
        entry.params = {**_rule_params(saved), "channels": [c.name for c in saved.channels.all()]}
    messages.success(request, f"Saved the rule {saved.name}.")
    return redirect(reverse("alert-rules"))


@require_POST
@require_role(ADMIN)
def rule_enable(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=pk)
    form = EnableForm(request.POST)
    form.is_valid()
    enabled = bool(form.cleaned_data.get("enabled"))
    action = "alert.rule.enable" if enabled else "alert.rule.disable"
    with audited(request, "", action, str(pk), rule.name):
        AlertRule.objects.filter(pk=pk).update(enabled=enabled)
        if not enabled:
            badge.forget_rule(pk)
    messages.success(request, f"{'Enabled' if enabled else 'Disabled'} the rule {rule.name}.")
    return redirect(reverse("alert-rules"))


@require_POST
@require_role(ADMIN)
def rule_remove(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=pk)
    with audited(request, "", "alert.rule.remove", str(pk), rule.name):
        badge.forget_rule(pk)
        rule.delete()
    messages.success(request, f"Removed the rule {rule.name}.")
    return redirect(reverse("alert-rules"))


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def channel_list(request: HttpRequest) -> HttpResponse:
    """The channels (their URLs without secrets) and a form to add one."""
    channels = AlertChannel.objects.all()
    if request.method == "GET":
        return render(
            request, "alerts/channels.html", {"channels": channels, "form": ChannelForm()}
        )
    form = ChannelForm(request.POST, request_host=request.get_host())
    if not form.is_valid():
        ctx = {"channels": channels, "form": form}
        return render(request, "alerts/channels.html", ctx, status=400)
    d = form.cleaned_data
    shown = shown_url(d["url"])
    with audited(
        request, "", "alert.channel.create", "", d["name"], {"kind": d["kind"], "url": shown}
    ):
        AlertChannel.objects.create(
            name=d["name"],
            kind=d["kind"],
            shown=shown,
            secret_url=credentials.encrypt(d["url"]),
            secret_key=credentials.encrypt(d["key"]) if d.get("key") else "",
            created_by=request.user.get_username(),
        )
    messages.success(request, f"Saved the channel {d['name']}.")
    return redirect(reverse("alert-channels"))


@require_POST
@require_role(ADMIN)
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a test message now (no retries) and say what the channel answered."""
    channel = get_object_or_404(AlertChannel, pk=pk)
    payload = {
        "title": "Dashboard alert: test",
        "text": f"A test message from the dashboard, sent by {request.user.get_username()}.",
        "state": "test",
        "kind": "test",
        "rule": "",
        "host": "",
        "targets": [],
    }
    with audited(request, "", "alert.channel.test", str(pk), channel.name) as entry:
        outcome = send(channel, payload)
        if not outcome.ok:
            entry.failed = outcome.message
    if outcome.ok:
        messages.success(request, f"{channel.name}: delivered ({outcome.message}).")
    else:
        messages.error(request, f"{channel.name}: not delivered: {outcome.message}")
    return redirect(reverse("alert-channels"))


@require_POST
@require_role(ADMIN)
def channel_remove(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(AlertChannel, pk=pk)
    with audited(request, "", "alert.channel.remove", str(pk), channel.name):
        channel.delete()
    messages.success(request, f"Removed the channel {channel.name}.")
    return redirect(reverse("alert-channels"))
