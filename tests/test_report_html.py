"""The run report: a self-contained HTML file, figures that degrade to notes, PNGs on request."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from dctwin.errors import InputError
from dctwin.report import load_run, write_comparison, write_report
from dctwin.report.figures import FIGURES, build_figures
from dctwin.report.kpis import compare_rows, format_value
from dctwin.report.series import cooling_columns, energy_mwh, loss_columns, peak_week
from run_fixture import make_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("runs"), "base", description="<script>alert('x')</script> & co")


@pytest.fixture(scope="module")
def report(run_dir) -> str:
    return write_report(run_dir).read_text(encoding="utf-8")


def _figure_json(html: str) -> dict[str, dict]:
    blocks = re.findall(r'<script type="application/json" data-figure="fig-([a-z_]+)">(.*?)</script>', html, re.DOTALL)
    return {k: json.loads(v) for k, v in blocks}


def test_report_is_self_contained(report):
    # No external script, stylesheet or image; plotly.js is inlined.
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)=["\']?(https?:)?//', report)
    assert "plotly.js v" in report
    import html as _html

    head = _html.unescape(report[: report.index("<style>")])
    assert "Content-Security-Policy" in head and "default-src 'none'" in head and "connect-src 'none'" in head


def test_report_has_every_figure_with_data(report):
    figs = _figure_json(report)
    # the synthetic run has no placement log, so only the rack view (tested on real runs) is left out, with a note
    assert set(figs) == set(FIGURES) - {"rack_power"}
    for key, fig in figs.items():
        assert fig["data"], key
    assert report.count("not drawn,") == 1 and "Power and heat by rack: not drawn, table &#39;placements&#39;" in report


def test_sankey_conserves_energy(run_dir, report):
    run = load_run(run_dir)
    link = _figure_json(report)["energy_flow"]["data"][0]["link"]
    labels = _figure_json(report)["energy_flow"]["data"][0]["node"]["label"]
    grid = labels.index("Grid")
    out_of_grid = sum(v for s, v in zip(link["source"], link["value"], strict=True) if s == grid)
    # Everything drawn from the grid is the grid energy of the run (fixture is balanced by construction).
    assert out_of_grid == pytest.approx(energy_mwh(run, "grid_power_kw"), rel=1e-9)
    assert loss_columns(run) and cooling_columns(run)


def test_text_from_the_run_is_escaped(report):
    assert "<script>alert('x')</script>" not in report
    assert "&lt;script&gt;alert(" in report


def test_no_pngs_unless_asked(run_dir, report):
    assert not (run_dir / "figures").exists()


def test_pngs_on_request_are_the_report_figures(tmp_path):
    """``--png``: one PNG per drawn report figure, rendered by kaleido from the same plotly figure."""
    pytest.importorskip("kaleido")
    from PIL import Image

    from dctwin.report.png import PNG_SCALE, PNG_WIDTH_PX

    run_dir = make_run(tmp_path, "png")
    html = write_report(run_dir, png=True).read_text(encoding="utf-8")
    drawn = _figure_json(html)
    pngs = {p.stem: p for p in (run_dir / "figures").glob("*.png")}
    assert set(pngs) == set(drawn)
    for key, p in pngs.items():
        with Image.open(p) as im:
            assert im.size[0] == round(PNG_WIDTH_PX * PNG_SCALE), key
            assert im.size[1] >= round((drawn[key]["layout"].get("height") or 420) * PNG_SCALE), key
            assert len(im.getcolors(1 << 20) or range(1 << 20)) > 50, key  # drawn, not blank
    assert [p.name for p in (run_dir / "figures").iterdir() if p.name.startswith(".")] == []


def test_missing_columns_drop_figures_with_a_note(tmp_path):
    run_dir = make_run(tmp_path, "gappy", drop_columns=("dry_bulb_c", "utilisation", "gpus_online"),
                       drop_tables=("cost_lines",))
    html = write_report(run_dir).read_text(encoding="utf-8")
    figs = _figure_json(html)
    assert "pue_ambient" not in figs and "utilisation_heatmap" not in figs and "cost_breakdown" not in figs
    assert "energy_flow" in figs
    assert "Figures not drawn" in html
    assert "&#39;dry_bulb_c&#39;" in html and "cost_lines" in html


def test_report_is_written_atomically(run_dir, report):
    leftovers = [p.name for p in run_dir.rglob(".*tmp*")]
    assert leftovers == []


def test_report_refuses_an_incomplete_run(tmp_path):
    (tmp_path / "half").mkdir()
    with pytest.raises(InputError):
        write_report(tmp_path / "half")


def test_peak_week_finds_the_busiest_window(run_dir):
    import numpy as np

    run = load_run(run_dir)
    x = np.zeros(24 * 14)
    x[24 * 9] = 5.0
    rows = peak_week(run, x)
    assert rows.start <= 24 * 9 < rows.stop and rows.stop - rows.start == 24 * 7


def test_comparison_shows_differences(tmp_path):
    a = make_run(tmp_path, "a", seed=1)
    b = make_run(tmp_path, "b", seed=1, pue_offset=0.1)
    html = write_comparison([a, b], tmp_path / "cmp.html").read_text(encoding="utf-8")
    figs = _figure_json(html)
    assert {"daily_pue", "monthly_energy", "wait_cdf"} <= set(figs)
    assert len(figs["daily_pue"]["data"]) == 2
    rows = {r["label"]: r for r in compare_rows([load_run(a).kpis, load_run(b).kpis])}
    diff = load_run(b).kpis["pue"] - load_run(a).kpis["pue"]
    assert diff > 0.05
    assert rows["PUE"]["diffs"][1].startswith(f"{diff:+.3f}")
    assert rows["PUE"]["diffs"][1] in html
    with pytest.raises(InputError):
        write_comparison([a], tmp_path / "one.html")


def test_format_value_by_kind():
    assert format_value(1234567.891, "money") == "1,234,568"
    assert format_value(12.577, "price") == "12.58"
    assert format_value(1.23456, "ratio") == "1.235"
    assert format_value(589.0, "count") == "589"
    assert format_value(0.3314, "share") == "33.1"
    assert format_value(0.0418, "price") == "0.0418"
    assert format_value(None, "energy") == "-"
    assert format_value(float("nan"), "energy") == "n/a"


def test_layout_variants_of_the_real_pipeline(tmp_path):
    """Datetime months, losses inside the IT draw, ancillary load and an un-itemised gap."""
    import pandas as pd

    def edit(tables, kpis):
        ts = tables["timeseries"]
        ts["power_shelf_loss_kw"] = 0.01 * ts["it_power_kw"]
        ts["ancillary_kw"] = 50.0
        ts["grid_power_kw"] = ts["grid_power_kw"] + ts["ancillary_kw"] + 25.0   # 25 kW not itemised
        tables["monthly"]["month"] = pd.to_datetime(["2027-01-01"]).repeat(len(tables["monthly"]))

    run_dir = make_run(tmp_path, "variant", edit=edit)
    html = write_report(run_dir).read_text(encoding="utf-8")
    sankey = _figure_json(html)["energy_flow"]["data"][0]
    labels, link = sankey["node"]["label"], sankey["link"]
    value = dict(zip((labels[t] for t in link["target"]), link["value"], strict=True))
    run = load_run(run_dir)
    step_h = 1.0
    assert value["Other (not itemised)"] == pytest.approx(25.0 * len(run.tables["timeseries"]) * step_h / 1000)
    assert value["IT load"] == pytest.approx(energy_mwh(run, "it_power_kw") - energy_mwh(run, "power_shelf_loss_kw"))
    grid = labels.index("Grid")
    assert sum(v for s, v in zip(link["source"], link["value"], strict=True) if s == grid) == pytest.approx(
        energy_mwh(run, "grid_power_kw"))


def test_utilisation_and_pue_are_derived_when_absent(tmp_path):
    import numpy as np

    full = load_run(make_run(tmp_path, "full")).tables["timeseries"]
    run = load_run(make_run(tmp_path, "bare", drop_columns=("utilisation", "pue")))
    ts = run.tables["timeseries"]
    np.testing.assert_allclose(ts["utilisation"], full["utilisation"], rtol=1e-12)
    np.testing.assert_allclose(ts["pue"], full["pue"], rtol=1e-12)
    figs, notes = build_figures(run)
    assert "utilisation_heatmap" in figs and "pue_ambient" in figs and set(notes) <= {"rack_power"}  # no placement log


def test_float_noise_is_rounded_away(tmp_path):
    """A constant PUE with 1e-16 wiggles once made plotly draw axes at 'Infinity' (seen in chromium)."""
    import numpy as np

    from dctwin.report.figures import pue_ambient

    def edit(tables, kpis):
        ts = tables["timeseries"]
        ts["pue"] = 1.355 + np.tile([0.0, 2.2e-16, -2.2e-16], len(ts))[: len(ts)]

    fig = pue_ambient(load_run(make_run(tmp_path, "flat", days=3, edit=edit)))
    assert np.ptp(np.asarray(fig.data[0].y, dtype=float)) == 0.0


def test_report_figures_take_the_white_template_and_plotly_keeps_its_default():
    """Figures made inside ``white_figures`` carry plotly's 'plotly_white' template (taken once, when made);
    plotly's own default is restored afterwards, even when a builder raises."""
    import plotly.graph_objects as go
    import plotly.io as pio

    from dctwin.report.figures import LAYOUT, TEMPLATE, white_figures

    before = pio.templates.default
    with white_figures():
        assert pio.templates.default == TEMPLATE
        fig = go.Figure(go.Scatter(x=[0, 1], y=[1, 2]))
        fig.update_layout(**LAYOUT)
    assert fig.layout.template == pio.templates[TEMPLATE]
    assert pio.templates.default == before
    with pytest.raises(RuntimeError), white_figures():
        raise RuntimeError("a builder failed")
    assert pio.templates.default == before


def test_a_table_planted_beside_a_run_is_not_read(run_dir, tmp_path):
    # load_run read every *.parquet in the folder: a file the manifest does not list (so no hash checked it)
    # became a table, and a damaged one made `report` and `compare` fail
    import shutil

    copy = tmp_path / "r"
    shutil.copytree(run_dir, copy)
    shutil.copy(copy / "jobs.parquet", copy / "planted.parquet")
    (copy / "evil.parquet").write_bytes(b"PAR1")
    run = load_run(copy)
    assert "planted" not in run.tables and "evil" not in run.tables and "jobs" in run.tables
    assert write_report(copy).is_file()


def _as_version(run: Path, version: str, manifest_format: int | None = None) -> None:
    """Rewrite ``run``'s manifest as another dctwin version would have sealed it."""
    from dctwin.results.run_dir import _seal, seal_manifest

    m = json.loads((run / "manifest.json").read_text())
    m["dctwin_version"] = version
    m = seal_manifest(m)
    if manifest_format is not None:
        m["manifest_format"] = manifest_format
        m["manifest_sha256"] = _seal(m)
    (run / "manifest.json").write_text(json.dumps(m))


def test_comparison_of_runs_of_different_versions_says_so(tmp_path, cli):
    # runs of two dctwin versions were compared without a word: a model change read as a scenario difference
    a = make_run(tmp_path, "a", seed=1, days=3)
    b = make_run(tmp_path, "b", seed=1, days=3, drop_columns=("pue",), drop_tables=("jobs",))  # an older layout
    _as_version(b, "0.0.9")
    html = write_comparison([a, b], tmp_path / "cmp.html").read_text(encoding="utf-8")
    assert "different dctwin versions (a: 0.1.0, b: 0.0.9)" in html
    same = write_comparison([a, make_run(tmp_path, "c", seed=2, days=3)], tmp_path / "same.html")
    assert "different dctwin versions" not in same.read_text(encoding="utf-8")
    newer = make_run(tmp_path, "n", seed=1, days=3)
    _as_version(newer, "9.0", manifest_format=3)
    proc = cli("compare", str(a), str(newer), "--out", str(tmp_path / "x.html"))
    assert proc.returncode == 2 and "written by a newer dctwin ('9.0', manifest format 3)" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "x.html").exists()
