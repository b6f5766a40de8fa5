"""OpenID Connect sign-in: authorization code with PKCE, state and nonce (Authlib).

`begin` keeps the state, nonce and PKCE verifier in the session and returns the provider's
authorization URL; `finish` takes them out again (once: a replayed callback finds nothing),
exchanges the code, checks the ID token (signature against the provider's keys, issuer,
audience, nonce, expiry) and returns its claims. `sign_in_user` finds or makes the account
and sets its role and hosts from the groups claim, at every login, so a group taken away at
the provider takes the role away at the next login (dashboard/sso_accounts.py). Every
refusal raises `Refused` with a message meant for the person signing in.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oidc.core import CodeIDToken
from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .sso_accounts import Refused, account_for

PENDING = "oidc_pending"  # session key: the sign-in under way (state, nonce, verifier)
PENDING_SECONDS = 600


def enabled() -> bool:
    return bool(settings.OIDC_ISSUER and settings.OIDC_CLIENT_ID)


def groups_of(claims: dict[str, Any]) -> list[str]:
    """The groups claim as a list of names; a claim of another type is refused (a provider
    sending one string of comma-separated names would otherwise be read letter by letter,
    or not at all)."""
    name = settings.OIDC_GROUPS_CLAIM
    value = claims.get(name, [])
    if not isinstance(value, list) or not all(isinstance(g, str) for g in value):
        raise Refused(
            f"The provider's {name!r} claim is {type(value).__name__}, not a list of group "
            "names: ask your administrator to send groups as a list."
        )
    return value


# --- talking to the provider ---------------------------------------------------------------

_metadata: dict[str, Any] = {}  # issuer -> (read at, discovery document, key set)


def _session(**kwargs: Any) -> OAuth2Session:
    s = OAuth2Session(
        settings.OIDC_CLIENT_ID,
        settings.OIDC_CLIENT_SECRET,
        scope=settings.OIDC_SCOPES,
        code_challenge_method="S256",
        default_timeout=settings.OIDC_TIMEOUT,
        **kwargs,
    )
    return s


def _verify() -> str | bool:
    # Passed with every request: requests lets REQUESTS_CA_BUNDLE override a session's own.
    return settings.OIDC_CA_BUNDLE or True


def _get_json(session: OAuth2Session, url: str) -> dict[str, Any]:
    import requests

    try:
        resp = session.get(url, withhold_token=True, verify=_verify())
        resp.raise_for_status()
        body = resp.json()
    except (requests.RequestException, ValueError) as exc:
        raise Refused(f"The sign-in provider could not be reached: {exc}") from exc
    if not isinstance(body, dict):
        raise Refused(f"The sign-in provider answered {url} with something other than JSON")
    return body


def provider(refresh: bool = False) -> tuple[dict[str, Any], KeySet]:
    """The provider's discovery document and signing keys, kept 5 minutes. The document
    must name the configured issuer: one that names another is not the provider this
    dashboard trusts (OpenID Connect Discovery 1.0, 4.3)."""
    issuer = settings.OIDC_ISSUER
    cached = _metadata.get(issuer)
    if cached and not refresh and time.monotonic() - cached[0] < 300:
        return cached[1], cached[2]
    s = _session()
    doc = _get_json(s, issuer + "/.well-known/openid-configuration")
    if doc.get("issuer") != issuer:
        raise Refused(
            f"The provider at {issuer} says its issuer is {doc.get('issuer')!r}: refused "
            "(the issuer must be the configured one)."
        )
    try:
        keys = KeySet.import_key_set(_get_json(s, str(doc["jwks_uri"])))  # type: ignore[arg-type]
    except (KeyError, ValueError, JoseError) as exc:
        raise Refused(f"The provider's signing keys could not be read: {exc}") from exc
    _metadata[issuer] = (time.monotonic(), doc, keys)
    return doc, keys


def begin(request: HttpRequest, redirect_uri: str, next_url: str) -> str:
    """Start a sign-in: remember it in the session; the URL to send the browser to."""
    doc, _ = provider()
    verifier = secrets.token_urlsafe(48)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    url, _ = _session(redirect_uri=redirect_uri).create_authorization_url(
        doc["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce
    )
    request.session[PENDING] = {
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "next": next_url,
        "at": time.time(),
    }
    return str(url)


@dataclass
class SignIn:
    claims: dict[str, Any]
    next_url: str


def finish(request: HttpRequest, redirect_uri: str) -> SignIn:
    """The callback: the claims of a checked ID token, or Refused."""
    pending = request.session.pop(PENDING, None)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        raise Refused(
            "This sign-in is not the one under way here (used already, expired, or started "
            "in another browser): start again."
        )
    if not secrets.compare_digest(str(request.GET.get("state", "")), pending["state"]):
        raise Refused("The sign-in's state does not match the one this browser started.")
    if error := request.GET.get("error"):
        detail = request.GET.get("error_description", "")
        raise Refused(f"The provider refused the sign-in: {error} {detail}".strip())
    code = request.GET.get("code", "")
    if not code:
        raise Refused("The provider sent no authorization code.")
    doc, keys = provider()
    try:
        token = _session(redirect_uri=redirect_uri).fetch_token(
            doc["token_endpoint"], code=code, code_verifier=pending["verifier"], verify=_verify()
        )
    except OAuth2Error as exc:
        raise Refused(
            f"The provider refused the code: {exc.error} {exc.description or ''}".strip()
        ) from exc
    except Exception as exc:
        raise Refused(f"The provider's token endpoint failed: {exc}") from exc
    raw = token.get("id_token")
    if not raw:
        raise Refused("The provider sent no ID token.")
    claims = check_id_token(str(raw), keys, pending["nonce"], token.get("access_token"))
    return SignIn(claims, pending.get("next") or "")


def check_id_token(
    raw: str, keys: KeySet, nonce: str, access_token: str | None = None
) -> dict[str, Any]:
    """The claims of an ID token whose signature, issuer, audience, nonce and times hold."""
    try:
        decoded = jwt.decode(raw, keys, algorithms=["RS256", "ES256", "PS256", "EdDSA"])
    except JoseError as exc:
        raise Refused(
            f"The ID token's signature does not verify: {exc.description or exc.error}"
        ) from exc
    options = {
        "iss": {"essential": True, "value": settings.OIDC_ISSUER},
        "aud": {"essential": True, "value": settings.OIDC_CLIENT_ID},
        "sub": {"essential": True},
    }
    params = {"nonce": nonce, "client_id": settings.OIDC_CLIENT_ID}
    if access_token:
        params["access_token"] = access_token
    claims = CodeIDToken(decoded.claims, decoded.header, options, params)
    try:
        claims.validate(leeway=60)
    except JoseError as exc:
        claim = getattr(exc, "claim", "") or ""
        what = {
            "iss": f"was issued by {claims.get('iss')!r}, not {settings.OIDC_ISSUER!r}",
            "aud": f"is for {claims.get('aud')!r}, not this dashboard's client",
            "nonce": "does not carry this sign-in's nonce (a replayed token)",
            "exp": "has expired",
        }.get(claim, f"is not valid: {exc.description or exc.error}")
        raise Refused(f"The ID token {what}.") from exc
    return dict(claims)


# --- the account ---------------------------------------------------------------------------


def sign_in_user(claims: dict[str, Any]) -> User:
    """The account for these claims, its role and hosts set from the groups; or Refused."""
    groups = groups_of(claims)
    shown = str(claims.get("preferred_username") or claims["sub"])
    return account_for(
        settings.OIDC_ISSUER, str(claims["sub"]), shown, groups, settings.OIDC_CREATE_USERS
    )
