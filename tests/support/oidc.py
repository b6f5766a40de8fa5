"""A real OpenID provider for the login tests, in processes of its own.

django-oidc-provider (tests/support/oidc_provider/) served by daphne over TLS, with a test
CA made here: users in groups, a `groups` claim, a second client (wrong audience), a second
instance on another port (another issuer: same database and signing key, so its tokens are
otherwise valid), and users whose name starts with a fake prefix (see testop/claims.py).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from .browser import ROOT, free_port
from .processes import stop

CLIENT_ID = "dashboard"
CLIENT_SECRET = "dashboard-test-secret"
SETTINGS = "tests.support.oidc_provider.settings"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_ca(workdir: str) -> tuple[str, str, str]:
    """A test CA and a server certificate for 127.0.0.1 and localhost signed by it: the
    paths of the CA certificate, the server's certificate and its key."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, server_key = _key(), _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dashboard test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = tuple(os.path.join(workdir, n) for n in ("ca.pem", "server.pem", "server-key.pem"))
    Path(paths[0]).write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    Path(paths[1]).write_bytes(server.public_bytes(serialization.Encoding.PEM))
    Path(paths[2]).write_bytes(_pem(server_key))
    return paths  # type: ignore[return-value]


@dataclass
class Provider:
    """One running instance: its issuer URL and the test CA that signed its certificate."""

    issuer: str
    ca_bundle: str
    workdir: str
    env: dict[str, str]
    redirect_uris: list[str] = field(default_factory=list)
    procs: list[subprocess.Popen] = field(default_factory=list)

    def set_user(self, name: str, password: str, groups: list[str]) -> None:
        """Make the user or change their password and groups (the database is shared by
        every instance)."""
        resp = requests.post(
            self.issuer.removesuffix("/openid") + "/test-admin/user/",
            data=f"{name}:{password}:{','.join(groups)}",
            headers={"X-Test-Admin": self.env["OP_TEST_ADMIN_TOKEN"]},
            verify=self.ca_bundle,
            timeout=10,
        )
        assert resp.status_code == 204, resp.text[:300]


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=240,  # a loaded machine: one Django start-up can take a minute
    )


def _serve(env: dict[str, str], workdir: str, site_url: str = "") -> tuple[str, subprocess.Popen]:
    port = free_port()
    cert, key = os.path.join(workdir, "server.pem"), os.path.join(workdir, "server-key.pem")
    env = {**env, "OP_SITE_URL": site_url.format(port=port)}
    log_path = os.path.join(workdir, f"op-{port}.log")
    endpoint = f"ssl:{port}:interface=127.0.0.1:privateKey={key}:certKey={cert}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-e",
                endpoint,
                "tests.support.oidc_provider.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a loaded machine starts Django slowly
    while True:
        try:
            requests.get(
                url + "/openid/.well-known/openid-configuration",
                timeout=2,
                verify=os.path.join(workdir, "ca.pem"),
            ).raise_for_status()
            return url, proc
        except (requests.ConnectionError, requests.Timeout):
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc)
                raise RuntimeError(
                    "test provider did not start:\n" + Path(log_path).read_text()
                ) from None
            time.sleep(0.2)


@contextmanager
def openid_provider(
    redirect_uris: list[str], users: list[tuple[str, str, list[str]]]
) -> Iterator[Provider]:
    """The provider, set up (signing key, the dashboard's client and a second one, `users`
    as (name, password, groups)) and serving over TLS until the block ends."""
    workdir = tempfile.mkdtemp(prefix="dash-op-")
    ca, _, _ = make_ca(workdir)
    key_path = os.path.join(workdir, "signing-key.pem")
    Path(key_path).write_bytes(_pem(_key()))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "OP_DB": os.path.join(workdir, "op.sqlite3"),
        "PYTHONPATH": str(ROOT),
        "OP_TEST_ADMIN_TOKEN": secrets.token_urlsafe(16),
    }
    args = ["--key-pem", key_path, "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET]
    for uri in redirect_uris:
        args += ["--redirect-uri", uri]
    for name, password, groups in users:
        args += ["--user", f"{name}:{password}:{','.join(groups)}"]
    _manage(env, "op_setup", *args)
    provider = Provider("", ca, workdir, env, list(redirect_uris))
    try:
        url, proc = _serve(env, workdir)
        provider.procs.append(proc)
        provider.issuer = url + "/openid"
        yield provider
    finally:
        for proc in provider.procs:
            stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


def second_instance(provider: Provider, name: str = "localhost") -> str:
    """Another instance of `provider` on another port, with the same users, clients and
    signing key, that names itself `https://<name>:<port>` (its issuer differs from the
    address it is reached at, as a provider answering for another would): its discovery
    URL's issuer (the address to configure). Ends with the provider."""
    url, proc = _serve(provider.env, provider.workdir, site_url=f"https://{name}:{{port}}")
    provider.procs.append(proc)
    return url + "/openid"


def add_redirect_uri(provider: Provider, uri: str) -> None:
    """Let the dashboard's client come back to `uri` too (a live dashboard's own port)."""
    _manage(
        provider.env,
        "op_setup",
        "--key-pem",
        os.path.join(provider.workdir, "signing-key.pem"),
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--redirect-uri",
        uri,
        *[a for u in provider.redirect_uris for a in ("--redirect-uri", u)],
    )
    provider.redirect_uris.append(uri)


def sign_in_at_provider(authorize_url: str, username: str, password: str, ca_bundle: str) -> str:
    """What a browser does at the provider: follow the authorization URL, fill in its login
    form, follow it back: the URL the provider sends the browser back to (the dashboard's
    callback with its code and state), not fetched."""
    s = requests.Session()
    url = authorize_url
    origin = "/".join(authorize_url.split("/")[:3]) + "/"
    for _ in range(10):
        # verify per request: REQUESTS_CA_BUNDLE would override a session's own.
        resp = s.get(url, allow_redirects=False, timeout=10, verify=ca_bundle)
        if resp.status_code == 200 and 'name="password"' in resp.text:
            resp = s.post(
                resp.url,
                data={
                    "username": username,
                    "password": password,
                    "csrfmiddlewaretoken": s.cookies["op_csrftoken"],
                    "next": _next_of(resp.url),
                },
                headers={"Referer": resp.url},
                allow_redirects=False,
                timeout=10,
                verify=ca_bundle,
            )
        if resp.status_code not in (301, 302):
            raise AssertionError(f"provider answered {resp.status_code}: {resp.text[:500]}")
        location = requests.compat.urljoin(url, resp.headers["Location"])
        if not location.startswith(origin):
            return location
        url = location
    raise AssertionError("the provider never sent the browser back")


def _next_of(url: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(url).query).get("next", [""])[0]
