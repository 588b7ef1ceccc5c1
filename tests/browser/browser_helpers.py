"""Helpers of the browser tests: chromium launch settings, page logs, figure checks."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

TESTS = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("DCTWIN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = TESTS.parent / "test-artifacts"


class PageLog:
    """Console errors, page errors and every request URL of one page."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text} [{page.url}]")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("request", lambda r: self.requests.append(r.url))

    def off_machine(self, allowed_hosts: tuple[str, ...] = ()) -> list[str]:
        """Requests that would leave the machine (anything but file:, data:, blob: and loopback hosts)."""
        out = []
        for url in self.requests:
            u = urlparse(url)
            if u.scheme in ("file", "data", "blob", "about"):
                continue
            if u.hostname in ("127.0.0.1", "localhost", "::1", *allowed_hosts):
                continue
            out.append(url)
        return out


def rendered_figures(page) -> dict[str, dict]:
    """Per figure div: number of SVG elements and drawn size in pixels."""
    return page.eval_on_selector_all(
        "div.figure",
        """els => Object.fromEntries(els.map(e => {
            const svg = e.querySelector('svg.main-svg');
            const r = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
            return [e.id, {svgs: e.querySelectorAll('svg').length, marks: e.querySelectorAll('path, rect').length,
                           width: r.width, height: r.height}];
        }))""",
    )


def pipeline_ready() -> bool:
    """True once ``dctwin.orchestrator`` can simulate a day of the default scenario."""
    try:
        from dctwin.config import load_scenario, scenario_from_dict
        from dctwin.orchestrator import simulate

        data = load_scenario().model_dump(mode="json")
        data["simulation"]["duration_days"] = 1
        simulate(scenario_from_dict(data))
        return True
    except (NotImplementedError, ImportError, AttributeError):
        return False
