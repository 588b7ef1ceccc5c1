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


WIDTHS = (800, 1280, 1920)
PRINT_WIDTH = 718   # A4 less 12 mm margins at 96 px/inch, as chromium lays out a printed page

# Geometry of the page: each figure's box, its drawn SVG, legend and plot areas, and tick labels.
LAYOUT_JS = """() => {
  const abs = r => ({l: r.left + scrollX, t: r.top + scrollY, r: r.right + scrollX, b: r.bottom + scrollY,
                     w: r.width, h: r.height});
  const figs = [...document.querySelectorAll('div.figure')].map(d => {
    const svg = d.querySelector('svg.main-svg');
    const legend = d.querySelector('g.legend');
    return {id: d.id, box: abs(d.getBoundingClientRect()), svg: svg ? abs(svg.getBoundingClientRect()) : null,
            legend: legend ? abs(legend.getBoundingClientRect()) : null,
            plots: [...d.querySelectorAll('rect.nsewdrag')].map(e => abs(e.getBoundingClientRect())),
            ticks: [...d.querySelectorAll('g.xtick text, g.ytick text')].map(e => abs(e.getBoundingClientRect()))
                     .filter(r => r.w > 0),
            texts: [...d.querySelectorAll('svg.main-svg text')].filter(e => e.textContent.trim())
                     .map(e => Object.assign(abs(e.getBoundingClientRect()), {s: e.textContent.slice(0, 30),
                       title: !!e.closest('g.g-gtitle, g.annotation')})).filter(r => r.w > 0)};
  });
  const heads = [...document.querySelectorAll('main h1, main h2, .warn, table')]
    .map(e => ({tag: e.tagName, text: e.textContent.slice(0, 40), box: abs(e.getBoundingClientRect())}));
  return {figs, heads, pageWidth: document.documentElement.scrollWidth, viewWidth: innerWidth};
}"""

KPI_ROWS_JS = """() => [...document.querySelectorAll('tr.kpi-row')].map(tr => ({
  key: tr.dataset.key, label: (tr.querySelector('.label') || {}).textContent || '',
  unit: (tr.querySelector('.unit') || {}).textContent || ''}))"""


def _overlap(a: dict, b: dict) -> float:
    """Area [px²] two boxes share."""
    return max(0.0, min(a["r"], b["r"]) - max(a["l"], b["l"])) * max(0.0, min(a["b"], b["b"]) - max(a["t"], b["t"]))


def layout_problems(geometry: dict, tol_px: float = 1.5) -> list[str]:
    """Everything wrong with a page's layout: overlapping figures or sections, drawings spilling out of
    their box, legends over a plot area, tick labels cut off, a page wider than the window."""
    out = []
    figs, heads = geometry["figs"], geometry["heads"]
    if geometry["pageWidth"] > geometry["viewWidth"] + tol_px:
        out.append(f"page is {geometry['pageWidth']} px wide in a {geometry['viewWidth']} px window")
    for i, a in enumerate(figs):
        for b in figs[i + 1:]:
            if _overlap(a["box"], b["box"]) > 0:
                out.append(f"{a['id']} overlaps {b['id']}")
        for h in heads:
            if _overlap(a["box"], h["box"]) > 0:
                out.append(f"{a['id']} overlaps {h['tag']} '{h['text']}'")
        if a["svg"] is None:
            out.append(f"{a['id']} has no drawing")
            continue
        s, box = a["svg"], a["box"]
        if s["b"] > box["b"] + tol_px or s["r"] > box["r"] + tol_px or s["w"] < 100 or s["h"] < 100:
            out.append(f"{a['id']}: drawing {s} spills out of its box {box}")
        if a["legend"] is not None and a["legend"]["w"] > 0:
            hidden = sum(_overlap(a["legend"], p) for p in a["plots"])
            if hidden > 0.05 * a["legend"]["w"] * a["legend"]["h"]:
                out.append(f"{a['id']}: legend covers the plot area")
        for t in a["texts"]:
            if t["l"] < s["l"] - tol_px or t["r"] > s["r"] + tol_px or t["b"] > s["b"] + tol_px:
                out.append(f"{a['id']}: text '{t['s']}' is cut off at the edge of the drawing")
                break
        if a["legend"] is not None:
            for t in a["texts"]:
                if t["title"] and _overlap(t, a["legend"]) > 0.2 * t["w"] * t["h"]:
                    out.append(f"{a['id']}: title '{t['s']}' runs into the legend")
                    break
    return out


def kpi_row_problems(rows: list[dict]) -> list[str]:
    """KPI rows without a label or a unit (or shown under their raw key with an unknown unit)."""
    return [f"{r['key']}: label {r['label']!r}, unit {r['unit']!r}" for r in rows
            if not r["label"].strip() or not r["unit"].strip() or r["unit"].strip() == "?"]


def check_page(page, shot_prefix: Path) -> list[str]:
    """At each width and in print: screenshot ``{prefix}-{width}.png`` / ``-print.png`` and list problems."""
    problems = []
    page.wait_for_function("document.querySelectorAll('div.figure[data-drawn]').length === "
                           "document.querySelectorAll('div.figure').length", timeout=60_000)
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    for width in (*WIDTHS, "print"):
        if width == "print":
            page.set_viewport_size({"width": PRINT_WIDTH, "height": 1000})
            page.emulate_media(media="print")
        else:
            page.set_viewport_size({"width": width, "height": 1000})
        page.evaluate("window.dctwinResizeFigures && window.dctwinResizeFigures()")
        page.wait_for_timeout(1000)   # sankey and relayout transitions settle
        problems += [f"[{width}] {p}" for p in layout_problems(page.evaluate(LAYOUT_JS))]
        page.screenshot(path=f"{shot_prefix}-{width}.png", full_page=True)
    page.emulate_media(media="screen")
    return problems
