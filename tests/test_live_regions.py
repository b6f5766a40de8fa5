"""Live regions announce state changes without flooding a screen reader: what streams (a log,
a run's output, the events feed) is not a live region; what says a state or an outcome is."""

from __future__ import annotations

import re
from pathlib import Path

from django.template.loader import render_to_string

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
STREAMING = {
    # template: (context, the streaming element's id)
    "_log_view.html": ({"ws_url": "/ws/x/", "max_lines": 10}, "log-view"),
    "_run_output.html": ({}, "run-output"),
    "projects/_run.html": ({"job": "up", "label": "Up", "project": "p"}, "run-up-lines"),
    "events/list.html": (None, "event-list"),
}


def element(html: str, element_id: str) -> str:
    found = re.search(rf'<[a-z]+ [^>]*id="{element_id}"[^>]*>', html)
    assert found, f"no #{element_id}"
    return found.group(0)


def test_what_streams_is_not_a_live_region() -> None:
    for template, (context, element_id) in STREAMING.items():
        if context is None:
            # A full page: read the markup itself (rendering needs a host and a request).
            source = (TEMPLATES / template).read_text()
            tag = element(source, element_id)
        else:
            tag = element(render_to_string(template, context), element_id)
        live = re.search(r'aria-live="(\w+)"', tag)
        assert live is None or live.group(1) == "off", (template, tag)
        assert 'role="log"' not in tag and 'role="status"' not in tag, (template, tag)


def test_the_outcome_of_a_run_is_announced_once() -> None:
    html = render_to_string(
        "projects/_run_status.html",
        {"job": "up", "result": {"state": "failed", "message": "no", "exit_status": 1}},
    )
    assert 'role="alert"' in html
    # While it runs, nothing is announced line by line.
    running = render_to_string("projects/_run_status.html", {"job": "up", "command": "up -d"})
    assert "role=" not in running
