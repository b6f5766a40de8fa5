"""Registry logins: admins only, checked with the engine, stored encrypted, never shown."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from dashboard import credentials
from dashboard.models import AuditEntry, RegistryCredential

pytestmark = [pytest.mark.django_db]

URL = "/hosts/local/registries/"


@pytest.mark.parametrize("who", ["viewer", "operator", "anonymous"])
def test_only_admins_see_or_change_logins(request, who):
    client = request.getfixturevalue(who)
    expected = 302 if who == "anonymous" else 403
    assert client.get(URL).status_code == expected
    data = {"registry": "r.example.com", "username": "u", "password": "p"}
    assert client.post(URL, data).status_code == expected
    assert client.post(f"{URL}remove/", {"id": 1}).status_code == expected
    assert not RegistryCredential.objects.exists()


def test_a_saved_password_is_encrypted_and_never_shown_again(admin):
    secret = "s3cret-pass-word-123"
    resp = admin.post(
        URL,
        {
            "registry": "https://Registry.Example.com:5000/v2/",
            "username": "deploy",
            "password": secret,
        },
    )
    assert resp.status_code == 302
    login = RegistryCredential.objects.get()
    assert login.registry == "registry.example.com:5000"
    assert secret not in login.secret
    assert credentials.decrypt(login.secret) == secret
    page = admin.get(URL).content.decode()
    assert "registry.example.com:5000" in page and "deploy" in page
    assert secret not in page and login.secret not in page
    assert 'type="password"' in page and f'value="{secret}"' not in page
    entry = AuditEntry.objects.get(action="registry.save")
    assert entry.outcome == "ok" and secret not in str(entry.params)


def test_saving_again_replaces_the_login(admin):
    for password in ("first-password", "second-password"):
        data = {"registry": "r.example.com", "username": "u", "password": password}
        assert admin.post(URL, data).status_code == 302
    login = RegistryCredential.objects.get()
    assert credentials.decrypt(login.secret) == "second-password"


def test_a_bad_registry_address_is_reported_beside_the_field(admin):
    resp = admin.post(URL, {"registry": "not a host!", "username": "u", "password": "p"})
    assert resp.status_code == 400
    assert "is not a registry host" in resp.content.decode()
    assert not RegistryCredential.objects.exists()


def test_remove_forgets_the_login(admin):
    login = credentials.save("local", "r.example.com", "u", "p", "test")
    resp = admin.post(f"{URL}remove/", {"id": login.pk})
    assert resp.status_code == 302
    assert not RegistryCredential.objects.exists()
    assert AuditEntry.objects.get(action="registry.remove").target_id == "r.example.com"


def test_the_key_can_come_from_the_environment_and_a_changed_key_is_said_plainly(settings):
    settings.CREDENTIALS_KEY = Fernet.generate_key().decode()
    token = credentials.encrypt("pw")
    assert credentials.decrypt(token) == "pw"
    settings.CREDENTIALS_KEY = "any passphrase at all"
    with pytest.raises(credentials.CredentialError, match="save the registry login again"):
        credentials.decrypt(token)
    assert credentials.decrypt(credentials.encrypt("pw")) == "pw"


@pytest.mark.engine
def test_a_login_the_registry_refuses_is_not_saved(lab_settings, admin, auth_registry):
    data = {
        "registry": auth_registry.addr,
        "username": auth_registry.username,
        "password": "not-the-password",
        "check": "on",
    }
    resp = admin.post(URL, data)
    assert resp.status_code == 400
    assert "The registry refused the login" in resp.content.decode()
    assert "401" in resp.content.decode()
    assert not RegistryCredential.objects.exists()
    assert AuditEntry.objects.get(action="registry.save").outcome == "failed"

    data["password"] = auth_registry.password
    assert admin.post(URL, data).status_code == 302
    assert RegistryCredential.objects.get().username == auth_registry.username
