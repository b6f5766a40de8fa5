"""ContainersAPI.make: create (and connect, and start) as one thing, against a real engine;
a failure after the create leaves nothing behind, and the report says each step."""

from __future__ import annotations

from engine_client import EngineClient


def _labels(ui_label: str) -> dict[str, str]:
    # The test's own labels (see the ui_label fixture): whatever carries them is removed
    # after the test, even when it fails half-way.
    return dict(line.split("=", 1) for line in ui_label.splitlines())


def _body(engine: EngineClient, ui_label: str, cmd: list[str]) -> dict:
    return {"Image": engine.lab_image_name, "Cmd": cmd, "Labels": _labels(ui_label)}


def _made(engine: EngineClient, ui_label: str) -> list[dict]:
    case = ui_label.splitlines()[-1]
    return engine.containers.list(all=True, filters={"label": [case]})


def test_make_creates_and_starts_and_says_so(engine, ui_label):
    report = engine.containers.make(_body(engine, ui_label, ["sleep", "300"]), start=True)
    assert report.ok and report.failed is None and report.id
    assert [(s.what, s.outcome) for s in report.steps] == [
        ("create the container", "done"),
        ("start the container", "done"),
    ]
    assert engine.containers.inspect(report.id)["State"]["Running"]


def test_make_without_start_leaves_it_created(engine, ui_label):
    report = engine.containers.make(_body(engine, ui_label, ["true"]))
    assert report.ok
    assert engine.containers.inspect(report.id)["State"]["Status"] == "created"


def test_a_start_that_fails_removes_what_was_created(engine, ui_label):
    # The engine creates it, then refuses the start: the command does not exist.
    report = engine.containers.make(_body(engine, ui_label, ["no-such-program"]), start=True)
    assert not report.ok
    assert report.failed is not None and report.failed.what == "start the container"
    assert report.failed.message, "the engine's words, for the form to show"
    assert report.steps[-1].what == "undo: remove the container"
    assert report.steps[-1].outcome == "done"
    assert report.undone and report.id == ""
    assert _made(engine, ui_label) == []


def test_a_refused_create_changes_nothing(engine, ui_label, make_container):
    taken = make_container(start=False)["Name"].lstrip("/")
    report = engine.containers.make(_body(engine, ui_label, ["true"]), taken, start=True)
    assert not report.ok
    assert [(s.what, s.outcome) for s in report.steps] == [("create the container", "failed")]
    assert _made(engine, ui_label) == []


def test_a_failed_connect_removes_it(engine, ui_label):
    report = engine.containers.make(
        _body(engine, ui_label, ["sleep", "300"]),
        networks={"dt-no-such-network": {"aliases": ["web"]}},
        start=True,
    )
    assert not report.ok and report.failed is not None
    # Podman refuses the connect; Docker takes it for a created container and refuses the
    # start (the network is looked up then). Either way nothing is left.
    assert report.failed.what in ("connect it to dt-no-such-network", "start the container")
    assert report.undone and _made(engine, ui_label) == []


def test_a_failed_pull_creates_nothing(engine, ui_label):
    body = _body(engine, ui_label, ["true"])
    body["Image"] = "127.0.0.1:5000/lab/not-there:latest"
    report = engine.containers.make(body, pull=True)
    assert not report.ok and report.failed is not None
    assert report.failed.what.startswith("pull ")
    assert len(report.steps) == 1 and _made(engine, ui_label) == []
