"""The followed-log source's pieces that differ per log: resuming a service's merged log,
and the task@node prefix of its lines."""

from __future__ import annotations

from dashboard.streams.render import render_line, task_prefix
from dashboard.streams.swarm_sources import AfterLastLine
from engine_client.streams import LogLine


def test_a_service_log_reads_on_strictly_after_the_last_line_seen():
    resume = AfterLastLine()
    assert resume.since() is None, "nothing seen: from where it first started"
    batch = [
        LogLine("stdout", "a", "2026-11-30T07:00:00.000000001Z"),
        LogLine("stdout", "b", "2026-11-30T07:00:00.000000005Z"),
    ]
    assert resume.feed(batch) == batch, "a merged log drops nothing on the way"
    assert resume.since() == "1796022000.000000006"


def test_the_task_prefix_comes_after_the_timestamp_and_is_escaped():
    line = LogLine("stderr", "hello", "2026-11-30T07:00:00Z")
    html = render_line(line, task_prefix("t1", "web.1<", "node&2"))
    assert html.startswith('<div class="l e"><time>2026-11-30T07:00:00Z</time><span class="task"')
    assert "web.1&lt;" in html and "@node&amp;2" in html and html.endswith("hello</div>")
