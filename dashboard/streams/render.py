"""Log lines to HTML, fast: this runs for every line, in the stream's own thread.

Log lines use a hand-written renderer rather than a template because a busy container
prints hundreds of thousands of lines; everything else goes through `_fragment` templates.
"""

from __future__ import annotations

import json
import re
from html import escape

from engine_client.streams import LogLine

_CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")
# OSC (window titles, hyperlinks) first, then the two-character escapes.
_OTHER_ESC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
_FG = {**{30 + i: f"f{i}" for i in range(8)}, **{90 + i: f"f{i + 8}" for i in range(8)}}
_BG = {**{40 + i: f"b{i}" for i in range(8)}, **{100 + i: f"b{i + 8}" for i in range(8)}}


def ansi_to_html(text: str) -> str:
    """Escape `text` and turn SGR colour codes into spans; drop other escape sequences."""
    if "\x1b" not in text:
        return escape(text, quote=False)
    out: list[str] = []
    classes: dict[str, str] = {}
    open_span = False
    pos = 0
    text = _OTHER_ESC.sub("", text)
    for m in _CSI.finditer(text):
        out.append(escape(text[pos : m.start()], quote=False))
        pos = m.end()
        if m.group(2) != "m":
            continue  # cursor movement and the like: meaningless in a log
        codes = [int(c) if c.isdigit() else 0 for c in m.group(1).split(";")] if m.group(1) else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                classes.clear()
            elif c == 1:
                classes["w"] = "bold"
            elif c == 2:
                classes["w"] = "dim"
            elif c == 3:
                classes["i"] = "italic"
            elif c == 4:
                classes["u"] = "underline"
            elif c in (22, 23, 24):
                classes.pop({22: "w", 23: "i", 24: "u"}[c], None)
            elif c in _FG:
                classes["f"] = _FG[c]
            elif c in _BG:
                classes["b"] = _BG[c]
            elif c == 39:
                classes.pop("f", None)
            elif c == 49:
                classes.pop("b", None)
            elif c in (38, 48):
                # 256-colour (5;n) and true-colour (2;r;g;b): skip their arguments.
                kind = codes[i + 1] if i + 1 < len(codes) else 0
                i += 2 if kind == 5 else 4 if kind == 2 else 0
            i += 1
        if open_span:
            out.append("</span>")
            open_span = False
        if classes:
            out.append(f'<span class="{" ".join(sorted(classes.values()))}">')
            open_span = True
    out.append(escape(text[pos:], quote=False))
    if open_span:
        out.append("</span>")
    return "".join(out)


def json_to_html(text: str) -> str | None:
    """A JSON object line shown as key=value pairs; None when the line is not one."""
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    parts = []
    for key, value in obj.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(
            f'<span class="jk">{escape(str(key), quote=False)}</span>='
            f'<span class="jv">{escape(shown, quote=False)}</span>'
        )
    return " ".join(parts)


def render_line(line: LogLine, prefix: str = "") -> str:
    """One log line; `prefix` is HTML shown after its timestamp (a service's task@node)."""
    text = line.text
    body = json_to_html(text) if text[:1] == "{" else None
    kind = "o"
    if body is None:
        body = ansi_to_html(text)
    else:
        kind = "o j"
    if line.stream == "stderr":
        kind = kind.replace("o", "e", 1)
    elif line.stream == "error":
        kind = "x"
    ts = f"<time>{escape(line.timestamp, quote=False)}</time>" if line.timestamp else ""
    return f'<div class="l {kind}">{ts}{prefix}{body}</div>'


def task_prefix(task_id: str, task: str, node: str) -> str:
    """Which task, on which node, printed a service's log line."""
    return (
        f'<span class="task" data-task="{escape(task_id)}">{escape(task)}'
        f'<span class="node">@{escape(node)}</span></span>'
    )


def service_prefix(service: str) -> str:
    """Which compose service printed a line of a project's merged log."""
    return f'<span class="task svc">{escape(service)}</span>'


def render_lines(lines: list[LogLine]) -> str:
    return "".join(map(render_line, lines))
