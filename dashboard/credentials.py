"""Registry logins: stored encrypted (Fernet), turned into X-Registry-Auth headers on use.

The key is DASHBOARD_CREDENTIALS_KEY (a Fernet key as is, or any text, hashed into one), or
else derived from SECRET_KEY. A password is decrypted only in the thread that pulls or pushes
with it, and never rendered.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from engine_client.images import registry_auth
from engine_client.validators import normalize_registry

from .models import RegistryCredential


class CredentialError(Exception):
    """A saved password that can no longer be read (the key changed)."""


def _fernet() -> Fernet:
    key = settings.CREDENTIALS_KEY
    if key:
        try:
            return Fernet(key.encode())
        except ValueError:
            pass  # not a Fernet key: any text will do, hashed into one
        material = b"dashboard-credentials-key:" + key.encode()
    else:
        material = b"dashboard-credentials-from-secret-key:" + settings.SECRET_KEY.encode()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(material).digest()))


def encrypt(password: str) -> str:
    return _fernet().encrypt(password.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise CredentialError(
            "the saved password can no longer be decrypted (the credentials key changed): "
            "save the registry login again"
        ) from None


def save(host: str, registry: str, username: str, password: str, by: str) -> RegistryCredential:
    """Save (or replace) the login for `registry` on `host`."""
    cred, _ = RegistryCredential.objects.update_or_create(
        host=host,
        registry=normalize_registry(registry),
        defaults={"username": username, "secret": encrypt(password), "created_by": by},
    )
    return cred


def find(host: str, registry: str) -> RegistryCredential | None:
    return RegistryCredential.objects.filter(
        host=host, registry=normalize_registry(registry)
    ).first()


def auth_header(host: str, registry: str) -> str | None:
    """The X-Registry-Auth value for `registry` on `host`, or None when no login is saved."""
    cred = find(host, registry)
    if cred is None:
        return None
    return registry_auth(cred.username, decrypt(cred.secret), cred.registry)
