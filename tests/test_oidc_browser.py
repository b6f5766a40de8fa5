"""Chromium signs in through the real test provider (tests/support/oidc.py) and lands with the
role and hosts its groups map to; with a group removed at the provider, the next sign-in has
the lesser role.

Marked `engine` to run with the lab tests (keeping `make check` short), though it needs none:
the dashboard's hosts are unreachable sockets, which every page handles.
"""

from __future__ import annotations

import pytest

from . import test_browser as tb
from .support.browser import live_dashboard, watch_console
from .support.oidc import CLIENT_ID, CLIENT_SECRET, add_redirect_uri, openid_provider

# `engine` keeps it out of `make check`; `no_lab` runs it beside the engine-free tests.
pytestmark = [pytest.mark.engine, pytest.mark.browser, pytest.mark.no_lab]
browser = tb.browser
PW = "provider-pw-2"


@pytest.fixture(scope="module")
def op():
    with openid_provider([], [("bea", PW, ["ops", "devs"])]) as provider:
        yield provider


@pytest.fixture(scope="module")
def dashboard(op):
    env = {
        "DASHBOARD_AUTH_MODE": "oidc",
        "DASHBOARD_OIDC_ISSUER": op.issuer,
        "DASHBOARD_OIDC_NAME": "Test IdP",
        "DASHBOARD_OIDC_CLIENT_ID": CLIENT_ID,
        "DASHBOARD_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "DASHBOARD_OIDC_CA_BUNDLE": op.ca_bundle,
        "DASHBOARD_OIDC_ROLE_MAP": "ops=operator,devs=viewer",
        "DASHBOARD_OIDC_HOST_MAP": "devs=local",
        "DASHBOARD_OIDC_CREATE_USERS": "1",
        "DASHBOARD_HOSTS": "lab2=unix:///nonexistent/lab2.sock",
    }
    with live_dashboard("unix:///nonexistent/local.sock", **env) as live:
        add_redirect_uri(op, live.url + "/login/oidc/callback/")
        yield live


def sign_in(browser, dashboard):
    # The provider's certificate is the test CA's, which Chromium does not know; the
    # dashboard's own calls to the provider check it (DASHBOARD_OIDC_CA_BUNDLE).
    context = browser.new_context(ignore_https_errors=True)
    pg = context.new_page()
    errors = watch_console(pg)
    pg.goto(dashboard.url + "/")
    pg.click("text=Sign in with Test IdP")
    pg.fill("input[name=username]", "bea")
    pg.fill("input[name=password]", PW)
    pg.click("button[type=submit]")
    pg.wait_for_url(dashboard.url + "/**")
    pg.locator("#site-user").wait_for(timeout=15000)
    return context, pg, errors


def test_chromium_signs_in_through_the_provider_with_the_mapped_role(browser, dashboard, op):
    context, pg, errors = sign_in(browser, dashboard)
    try:
        assert "bea" in pg.locator("#site-user").inner_text()
        assert "· operator" in pg.locator("#site-user").inner_text()
        assert pg.request.get(dashboard.url + "/hosts/lab2/containers/").status == 403
        assert pg.request.get(dashboard.url + "/hosts/local/containers/").status != 403
        pg.click("#site-user button:has-text('Log out')")
        pg.locator("#oidc-login").wait_for()
    finally:
        context.close()
    assert not [e for e in errors if "503" not in e], errors

    op.set_user("bea", PW, ["devs"])
    context, pg, _ = sign_in(browser, dashboard)
    try:
        assert "· viewer" in pg.locator("#site-user").inner_text()
    finally:
        context.close()
