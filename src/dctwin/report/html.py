"""Render report pages: Jinja2 templates with autoescaping, figures as inert JSON data blocks.

Figures travel as ``<script type="application/json">`` blocks whose ``<``,
``>`` and ``&`` are escaped, so no text from a run (names, descriptions,
labels) can close the block or inject markup; one small script draws them.
The standalone report inlines plotly.js, so it opens offline and its
Content-Security-Policy forbids every network fetch.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jinja2
import plotly.graph_objects as go

__all__ = ["CSS", "REPORT_CSP", "figure_json", "plotly_js", "render"]

REPORT_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
              "img-src data: blob:; font-src data:; connect-src 'none'; form-action 'none'; base-uri 'none'")

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("dctwin.report", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def figure_json(fig: go.Figure) -> str:
    """A figure as JSON that is safe inside an HTML ``<script>`` data block."""
    text = fig.to_json(validate=False, engine="json")
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def figure_blocks(figs: dict[str, tuple[str, go.Figure]]) -> list[dict[str, Any]]:
    return [{"key": key, "title": title, "json": figure_json(fig)} for key, (title, fig) in figs.items()]


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    """plotly.js as bundled with the plotly Python package (no CDN)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


@functools.lru_cache(maxsize=1)
def _css() -> str:
    return (jinja2.PackageLoader("dctwin.report", "templates").get_source(_ENV, "report.css")[0])


def CSS() -> str:
    return _css()


def render(template: str, *, inline_plotly: bool, **context: Any) -> str:
    """Render a page template with the shared CSS and, if asked, plotly.js inlined."""
    tpl = _ENV.get_template(template)
    return tpl.render(css=_css(), plotly_js=plotly_js() if inline_plotly else "", inline_plotly=inline_plotly,
                      csp=REPORT_CSP, **context)


def scenario_text(scenario: dict[str, Any]) -> str:
    """The resolved scenario as indented JSON text (escaped by the template)."""
    return json.dumps(scenario, indent=2, ensure_ascii=False, default=str)
