"""PNG copies of the report's figures, on request (``dctwin report RUN --png``).

Each PNG is the report's own plotly figure rendered by kaleido in a headless
Chromium (Debian's ``chromium`` or any Chrome on the PATH; kaleido never
downloads one here), so the HTML and the PNG share one figure definition.
Starting the browser costs seconds, which is why ``dctwin run`` writes none.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import plotly.graph_objects as go

from dctwin.errors import DctwinError
from dctwin.extras import require

__all__ = ["PNG_SCALE", "PNG_WIDTH_PX", "write_pngs"]

PNG_WIDTH_PX = 1100   # CSS pixels; the page layout the report tests hold at 800-1920 px
PNG_SCALE = 2.0       # device pixels per CSS pixel (print quality)
DEFAULT_HEIGHT_PX = 420


def _plotly_js() -> str:
    from importlib import resources

    return str(resources.files("plotly") / "package_data" / "plotly.min.js")


def _wrapped(fig: go.Figure) -> go.Figure:
    """A copy whose title is wrapped to the PNG width, as the report page wraps it (draw.js)."""
    import textwrap

    text = fig.layout.title.text
    max_chars = max(30, (PNG_WIDTH_PX - 80) // 8)
    if not text or len(text) <= max_chars or "<br>" in text:
        return fig
    lines = textwrap.wrap(text, max_chars)
    out = go.Figure(fig)
    top = (fig.layout.margin.t if fig.layout.margin.t is not None else 80) + 18 * (len(lines) - 1)
    out.update_layout(title_text="<br>".join(lines), margin_t=top,
                      height=int((fig.layout.height or DEFAULT_HEIGHT_PX) + 18 * (len(lines) - 1)))
    return out


def write_pngs(figures: dict[str, go.Figure], out_dir: Path) -> list[Path]:
    """Write ``<key>.png`` for each figure into ``out_dir``; each file appears whole or not at all."""
    kaleido = require("kaleido", "dctwin report --png")
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".png-tmp-{os.getpid()}"
    staging.mkdir()
    try:
        wrapped = {key: _wrapped(fig) for key, fig in figures.items()}
        specs = [{"fig": fig, "path": str(staging / f"{key}.png"),
                  "opts": {"format": "png", "width": PNG_WIDTH_PX, "scale": PNG_SCALE,
                           "height": int(fig.layout.height or DEFAULT_HEIGHT_PX)}}
                 for key, fig in wrapped.items()]
        try:
            # mathjax off: its default is a CDN address, and nothing may be fetched at run time
            kaleido.write_fig_from_object_sync(specs, kopts={"mathjax": False, "plotlyjs": _plotly_js()})
        except Exception as exc:  # kaleido raises its own and choreographer's types; all mean no PNG
            raise DctwinError(f"PNG export failed ({type(exc).__name__}: {exc}); it needs Chromium or Chrome "
                              "installed (Debian: apt-get install chromium)") from None
        written = []
        for key in figures:
            src = staging / f"{key}.png"
            os.replace(src, out_dir / src.name)
            written.append(out_dir / src.name)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
