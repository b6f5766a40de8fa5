"""The form for an engine host added from the UI: its name, address and TLS material."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django import forms

from engine_client import InvalidArgument
from engine_client.validators import check_hostname, valid_ip

from ..engines import HOST_NAME_RE, env_hosts
from ..models import EngineHost

# The kernel's limit for a unix socket path is 107 bytes; our client also needs it short.
SOCKET_PATH_RE = re.compile(r"/[A-Za-z0-9._/-]{1,100}")
PEM_MAX_BYTES = 64 * 1024
PEM_KINDS = {
    "tls_ca": ("CERTIFICATE",),
    "tls_cert": ("CERTIFICATE",),
    "tls_key": ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"),
}


def check_engine_url(url: str) -> str:
    """`unix:///absolute/path` or `tcp://host[:port]`, nothing else (no user, path, query)."""
    if len(url) > 255:
        raise forms.ValidationError("At most 255 characters.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise forms.ValidationError("No spaces or control characters.")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed [ of an IPv6 address
        raise forms.ValidationError(f"This is not a URL: {exc}.") from None
    if parts.scheme == "unix":
        if parts.netloc or parts.query or parts.fragment:
            raise forms.ValidationError("Write a socket as unix:///absolute/path.sock.")
        path = parts.path
        if not SOCKET_PATH_RE.fullmatch(path) or any(p in (".", "..") for p in path.split("/")):
            raise forms.ValidationError(
                "The socket path must be absolute, at most 100 characters of letters, digits "
                "and . _ / -, without . or .. segments."
            )
        return url
    if parts.scheme == "tcp":
        if parts.username or parts.password or parts.path not in ("", "/"):
            raise forms.ValidationError("Write a TCP engine as tcp://host:port, nothing more.")
        if parts.query or parts.fragment:
            raise forms.ValidationError("Write a TCP engine as tcp://host:port, nothing more.")
        try:
            port = parts.port
        except ValueError:
            raise forms.ValidationError("The port must be a number from 1 to 65535.") from None
        host = parts.hostname or ""
        if not valid_ip(host):
            try:
                check_hostname(host)
            except InvalidArgument:
                raise forms.ValidationError(f"{host!r} is not a host name or IP address.") from None
        if port is not None and not 1 <= port <= 65535:
            raise forms.ValidationError("The port must be a number from 1 to 65535.")
        return url.rstrip("/")
    raise forms.ValidationError("Use unix:///path/to/docker.sock or tcp://host:port.")


def read_pem(upload: Any, field: str) -> str:
    if upload.size > PEM_MAX_BYTES:
        raise forms.ValidationError(f"At most {PEM_MAX_BYTES // 1024} KiB.")
    try:
        text = upload.read().decode("ascii")
    except UnicodeDecodeError:
        raise forms.ValidationError("This is not a PEM file (it is not plain text).") from None
    kinds = PEM_KINDS[field]
    if not any(f"-----BEGIN {kind}-----" in text for kind in kinds):
        raise forms.ValidationError(f"This is not a PEM file with a {kinds[0].lower()}.")
    return text


class HostForm(forms.Form):
    name = forms.CharField(
        max_length=63,
        help_text="Lower-case letters, digits and -; used in URLs (/hosts/<name>/...)",
    )
    url = forms.CharField(
        max_length=255,
        label="Address",
        help_text="unix:///var/run/docker.sock, or tcp://host:2376 for an engine over TLS",
    )
    tls = forms.BooleanField(required=False, label="Connect with TLS")
    tls_verify = forms.BooleanField(
        required=False, initial=True, label="Verify the engine's certificate"
    )
    plain_tcp = forms.BooleanField(
        required=False,
        label="I know: TCP without TLS lets anyone who reaches the port control this engine",
    )
    tls_ca = forms.FileField(required=False, label="CA certificate (ca.pem)")
    tls_cert = forms.FileField(required=False, label="Client certificate (cert.pem)")
    tls_key = forms.FileField(required=False, label="Client key (key.pem)")

    def __init__(self, *args: Any, instance: EngineHost | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance = instance
        if instance is not None:
            # URLs, grants and the audit trail name the host: renaming would orphan them.
            self.fields["name"].disabled = True
            self.fields["name"].help_text = "A host keeps its name; add a new one to rename."
            self.initial.setdefault("name", instance.name)
            for f in ("tls_ca", "tls_cert", "tls_key"):
                if getattr(instance, f):
                    self.fields[f].help_text = "Saved (encrypted). Upload a file to replace it."

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if not re.fullmatch(HOST_NAME_RE, name):
            raise forms.ValidationError(
                "Use 1-63 lower-case letters, digits and -, starting with a letter or digit."
            )
        if name in env_hosts():
            raise forms.ValidationError(
                f"{name} is already the name of a host set by the environment."
            )
        others = EngineHost.objects.filter(name=name)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(f"There is already a host named {name}.")
        return name

    def clean_url(self) -> str:
        return check_engine_url(self.cleaned_data["url"].strip())

    def _pem(self, field: str) -> str | None:
        upload = self.cleaned_data.get(field)
        return read_pem(upload, field) if upload else None

    def clean_tls_ca(self) -> str | None:
        return self._pem("tls_ca")

    def clean_tls_cert(self) -> str | None:
        return self._pem("tls_cert")

    def clean_tls_key(self) -> str | None:
        return self._pem("tls_key")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        url = data.get("url") or ""
        if data.get("tls") and url.startswith("unix:"):
            self.add_error("tls", "TLS is for tcp:// engines; a unix socket needs none.")
        if data.get("tls"):
            have = {
                f: bool(data.get(f) or (self.instance and getattr(self.instance, f)))
                for f in ("tls_cert", "tls_key")
            }
            if have["tls_cert"] != have["tls_key"]:
                missing = "tls_key" if have["tls_cert"] else "tls_cert"
                self.add_error(
                    missing, "A client certificate needs its key, and the other way round."
                )
        elif url.startswith("tcp:") and not data.get("plain_tcp"):
            # Plain TCP gives root on that machine to anyone on the network path.
            self.add_error(
                "tls",
                "An engine over TCP without TLS is open to anyone who can reach its port: "
                "turn TLS on (the engine listening with --tlsverify), or tick the box below.",
            )
        return data
