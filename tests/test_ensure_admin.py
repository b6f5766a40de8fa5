import re

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_it_creates_the_admin_with_the_password_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("DASHBOARD_ADMIN_USER", "root-of-all")
    monkeypatch.setenv("DASHBOARD_ADMIN_PASSWORD", "from-the-env-123")
    call_command("ensure_admin")
    user = authenticate(username="root-of-all", password="from-the-env-123")
    assert user is not None and user.is_superuser
    assert "from-the-env-123" not in capsys.readouterr().out


def test_it_generates_and_prints_a_password_once(monkeypatch, capsys):
    monkeypatch.delenv("DASHBOARD_ADMIN_USER", raising=False)
    monkeypatch.delenv("DASHBOARD_ADMIN_PASSWORD", raising=False)
    call_command("ensure_admin")
    out = capsys.readouterr().out
    password = re.search(r"password:\s+(\S+)", out).group(1)
    assert authenticate(username="admin", password=password) is not None
    call_command("ensure_admin")
    assert capsys.readouterr().out == "", "a second run creates and prints nothing"
    assert User.objects.filter(is_superuser=True).count() == 1


def test_dashboard_user_creates_an_account_with_a_role(monkeypatch):
    import io

    from dashboard.access import role_of

    monkeypatch.setattr("sys.stdin", io.StringIO("a-decent-passphrase-9\n"))
    call_command("dashboard_user", "oona", "--role", "operator", "--password-stdin")
    user = authenticate(username="oona", password="a-decent-passphrase-9")
    assert user is not None and role_of(user) == "operator" and not user.is_superuser


def test_dashboard_user_refuses_a_weak_password_and_creates_nothing(monkeypatch):
    import io

    from django.core.management.base import CommandError

    monkeypatch.setattr("sys.stdin", io.StringIO("123\n"))
    with pytest.raises(CommandError):
        call_command("dashboard_user", "weak", "--role", "viewer", "--password-stdin")
    assert not User.objects.filter(username="weak").exists()
