"""Accessibility and layout checks for the browser tests: axe-core run inside a page, in the
light and dark themes, at a wide and a phone-sized window, and the phone-sized page checked
for sideways scrolling.

axe-core comes from the npm registry as a test asset (`tests/assets/axe/`, pinned with its
checksum in `package-lock.json`, installed by `lab/engine-lab deps` with `npm ci`); it is
never under `static/` and never served. It is put into the page with Playwright's evaluate,
which the page's CSP does not govern, so the CSP under test stays the one the dashboard sends.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .browser import ROOT
from .lab import REQUIRE_ENGINE

AXE_JS = ROOT / "tests" / "assets" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# What fails a test: axe's two highest impacts (moderate and minor findings are written to
# the results file, not enforced).
BLOCKING_IMPACTS = ("serious", "critical")
WIDE = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
THEMES = ("light", "dark")
# The rules whose outcome depends on colours: the only ones run again when only the theme
# changed (the page's markup is the same in both themes, so the others would repeat).
COLOUR_RULES = ["color-contrast", "link-in-text-block"]
# The rules whose outcome may change with the window's size: colours over what now overlaps,
# boxes that now scroll, targets now smaller. The phone-sized passes run these; the rest of
# the markup is the wide page's, checked there in full. (The one element only a narrow window
# shows, the menu button, is checked in full by tests/test_theme_browser.py.)
LAYOUT_RULES = [*COLOUR_RULES, "scrollable-region-focusable", "target-size"]

# Elements wider than the window, outside any box that scrolls by itself: what makes a page
# scroll sideways, named for the failure message.
_WIDE_ELEMENTS = """
() => {
  const limit = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= limit + 0.5) continue;
    let p = el.parentElement, clipped = false;
    while (p && p !== document.body) {
      const o = getComputedStyle(p).overflowX;
      if (o !== "visible") { clipped = true; break; }
      p = p.parentElement;
    }
    if (clipped) continue;
    const id = el.id ? "#" + el.id : "";
    const cls = el.classList.length ? "." + [...el.classList].join(".") : "";
    out.push(el.tagName.toLowerCase() + id + cls + " (right edge " + Math.round(r.right) + ")");
    if (out.length >= 8) break;
  }
  return {scroll: document.documentElement.scrollWidth, client: limit, elements: out};
}
"""


def axe_source() -> str:
    if not AXE_JS.is_file():
        reason = f"axe-core is not installed at {AXE_JS} (lab/engine-lab deps fetches it with npm)"
        if REQUIRE_ENGINE:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return AXE_JS.read_text()


def run_axe(page: Any, rules: list[str] | None = None) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now (only `rules` if given)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    # No stylesheet preloading (only css-orientation-lock reads the CSSOM, and fetching it on
    # every run is most of a small page's time); no iframes (the pages have none).
    options: dict[str, Any] = {"resultTypes": ["violations"], "preload": False, "iframes": False}
    if rules:
        options["runOnly"] = {"type": "rule", "values": rules}
    result = page.evaluate("(options) => axe.run(document, options)", options)
    return result["violations"]


def set_theme(page: Any, theme: str) -> None:
    """Switch by the system preference, as a person's OS would: theme.js follows it live (the
    toggle's remembered choice would override it; the walk-through never makes one)."""
    page.emulate_media(color_scheme=theme)
    # A locator rather than wait_for_function: a polled expression is eval'd in the page,
    # which the CSP refuses.
    page.locator(f"html[data-theme={theme}]").wait_for(state="attached", timeout=5000)


def sideways(page: Any) -> dict[str, Any] | None:
    """None when the page does not scroll sideways, else its widths and the widest culprits."""
    found = page.evaluate(_WIDE_ELEMENTS)
    return found if found["scroll"] > found["client"] else None


@dataclass
class Audit:
    """axe in both themes at both sizes for each page a test visits; every result goes to a
    file under `out_dir`, the serious and critical ones (and sideways scrolling at phone size)
    into `problems`."""

    out_dir: Path
    problems: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    seconds: float = 0.0
    axe_seconds: float = 0.0

    def check(self, page: Any, name: str, screenshot_dir: Path | None = None) -> None:
        """The four passes over the page as it is; leaves it wide and light, as it was."""
        import time

        started = time.monotonic()
        slug = re.sub(r"[^a-z0-9-]+", "-", name.lower())
        passes = [
            (WIDE, "light", None),
            (WIDE, "dark", COLOUR_RULES),
            (PHONE, "dark", LAYOUT_RULES),
            (PHONE, "light", LAYOUT_RULES),
        ]
        try:
            for size, theme, rules in passes:
                if page.viewport_size != size:
                    page.set_viewport_size(size)
                set_theme(page, theme)
                where = f"{name} [{theme} {size['width']}x{size['height']}]"
                axe_started = time.monotonic()
                violations = run_axe(page, rules)
                took = time.monotonic() - axe_started
                self.axe_seconds += took
                self._record(where, f"{slug}-{theme}-{size['width']}", violations, took)
                if size is PHONE:
                    wide = sideways(page)
                    if wide:
                        self.problems.append(
                            f"{where}: scrolls sideways ({wide['scroll']} > {wide['client']} px):"
                            f" {', '.join(wide['elements'])}"
                        )
                if screenshot_dir is not None and (size is PHONE) != (theme == "dark"):
                    # The README's pictures: dark at full width, light at phone width.
                    label = "dark" if theme == "dark" else "phone"
                    page.screenshot(path=str(screenshot_dir / f"{slug}-{label}.png"))
        finally:
            page.set_viewport_size(WIDE)
            set_theme(page, "light")
            self.seconds += time.monotonic() - started

    def _record(self, where: str, stem: str, violations: list[dict[str, Any]], took: float) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        (self.out_dir / f"{stem}.json").write_text(json.dumps(violations, indent=1))
        counts: dict[str, int] = {}
        for v in violations:
            counts[v.get("impact") or "none"] = counts.get(v.get("impact") or "none", 0) + 1
            if v.get("impact") in BLOCKING_IMPACTS:
                targets = "; ".join(
                    " ".join(map(str, n.get("target", []))) for n in v.get("nodes", [])[:3]
                )
                self.problems.append(
                    f"{where}: {v['impact']} {v['id']} ({v['help']}) x{len(v['nodes'])}: {targets}"
                )
        tally = ", ".join(f"{k} {n}" for k, n in sorted(counts.items())) or "no violations"
        self.summary.append(f"{where}: {tally} ({took * 1000:.0f} ms)")

    def write_summary(self) -> Path:
        path = self.out_dir / "summary.txt"
        self.out_dir.mkdir(parents=True, exist_ok=True)
        lines = [
            f"{len(self.summary)} checks in {self.seconds:.1f} s ({self.axe_seconds:.1f} s in axe)",
            *self.summary,
            "",
            f"{len(self.problems)} blocking:",
            *self.problems,
        ]
        path.write_text("\n".join(lines) + "\n")
        return path
