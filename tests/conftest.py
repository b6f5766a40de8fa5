"""Shared fixtures: the lab engine, containers that clean themselves up, personas."""

from __future__ import annotations

import contextlib
import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from engine_client import EngineClient, EngineError

LAB_DOCKER_HOST = os.environ.get("DASHBOARD_TEST_DOCKER_HOST") or "unix:///run/dl/n1.sock"
LAB_IMAGE = os.environ.get("DASHBOARD_TEST_IMAGE") or "lab/busybox:latest"
# Every resource a test makes carries these labels; the run's own value lets the session
# clean-up find what this run made, and only that.
TEST_LABEL = "dashboard.test"
RUN_ID = uuid.uuid4().hex[:12]
REQUIRE_ENGINE = os.environ.get("DASHBOARD_REQUIRE_ENGINE", "") not in ("", "0")


def _engine_or_reason() -> tuple[EngineClient | None, str]:
    client = EngineClient(LAB_DOCKER_HOST, timeout=30)
    try:
        client.system.ping(timeout=5)
        client.images_ok = bool(client.get_json("/images/{}/json", LAB_IMAGE.split(":")[0]))
    except EngineError as exc:
        return None, f"no lab engine at {LAB_DOCKER_HOST} ({exc}); start it with lab/engine-lab up"
    return client, ""


@pytest.fixture(scope="session")
def engine() -> Iterator[EngineClient]:
    """The lab engine's client; skips without one (fails with DASHBOARD_REQUIRE_ENGINE=1)."""
    client, reason = _engine_or_reason()
    if client is None:
        if REQUIRE_ENGINE:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    yield client
    # Whatever this run made and a test did not remove (a test that died half-way).
    for row in client.containers.list(all=True, filters={"label": [f"{TEST_LABEL}={RUN_ID}"]}):
        with contextlib.suppress(EngineError):
            client.containers.remove(row["Id"], force=True, volumes=True)
    client.close()


@pytest.fixture
def make_container(engine: EngineClient) -> Iterator[Callable[..., dict[str, Any]]]:
    """Create (and by default start) a labelled container; force-removed after the test."""
    made: list[str] = []

    def make(
        cmd: list[str] | None = None, *, start: bool = True, name: str | None = None, **config: Any
    ) -> dict[str, Any]:
        name = name or f"dt-{RUN_ID}-{secrets.token_hex(3)}"
        labels = {TEST_LABEL: RUN_ID, **config.pop("Labels", {})}
        body = {
            "Image": LAB_IMAGE,
            "Cmd": cmd or ["sleep", "300"],
            "Labels": labels,
            # A stop needs no grace period in tests: sleep ignores SIGTERM as PID 1.
            "StopTimeout": 1,
            **config,
        }
        created = engine.containers.create(body, name=name)
        made.append(created["Id"])
        if start:
            engine.containers.start(created["Id"])
        return engine.containers.inspect(created["Id"])

    yield make
    for cid in made:
        with contextlib.suppress(EngineError):
            engine.containers.remove(cid, force=True, volumes=True)


@pytest.fixture
def lab_settings(settings: Any, engine: EngineClient) -> Iterator[Any]:
    """Point the dashboard's one host at the lab engine."""
    from dashboard.engines import reset_clients

    settings.DOCKER_HOST = LAB_DOCKER_HOST
    settings.DASHBOARD_HOST_NAME = "local"
    reset_clients()
    yield settings
    reset_clients()


class CsrfClient(Client):
    """A test client that enforces CSRF like a browser's session does, and sends the token."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(enforce_csrf_checks=True, **kwargs)
        self.csrf_secret = secrets.token_hex(16)  # 32 characters: a valid unmasked secret
        self.cookies["csrftoken"] = self.csrf_secret

    def post(self, path: str, data: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        # Login rotates the token, as it does in a browser: send the cookie's current value.
        morsel = self.cookies.get("csrftoken")
        token = morsel.value if morsel is not None else self.csrf_secret
        headers = {"X-CSRFToken": token, **kwargs.pop("headers", {})}
        return super().post(path, data, headers=headers, **kwargs)

    def hx_post(self, path: str, data: Any = None, target: str = "", **kwargs: Any) -> Any:
        headers = {"HX-Request": "true", **({"HX-Target": target} if target else {})}
        return self.post(path, data, headers=headers, **kwargs)


def _persona(username: str, role: str | None) -> CsrfClient:
    user = User.objects.create_user(username, password="pw-" + secrets.token_hex(8))
    if role == "admin":
        user.is_superuser = True
        user.save()
    elif role:
        user.groups.add(Group.objects.get(name=role))
    client = CsrfClient()
    client.force_login(user)
    return client


@pytest.fixture
def admin(db: Any) -> CsrfClient:
    return _persona("alice-admin", "admin")


@pytest.fixture
def operator(db: Any) -> CsrfClient:
    return _persona("oscar-operator", "operator")


@pytest.fixture
def viewer(db: Any) -> CsrfClient:
    return _persona("vera-viewer", "viewer")


@pytest.fixture
def anonymous(db: Any) -> CsrfClient:
    return CsrfClient()
