"""Uncertainty studies: distributions, Sobol'/LHS designs, physics reuse, Sobol' indices, tornado, Ray."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

pytest.importorskip("SALib")

from dctwin.config import load_scenario, scenario_from_dict  # noqa: E402
from dctwin.orchestrator import simulate  # noqa: E402
from dctwin.sweep import run_sweep  # noqa: E402
from dctwin.sweep.distributions import Uncertainty, to_values, unit_samples  # noqa: E402

STUDY = """\
    name: unc-smoke
    base: borlange-2027
    overrides: {simulation: {duration_days: 3, step_s: 3600}}
    uncertainty:
      method: METHOD
      samples: 20
      seed: 7
      inputs:
        - {field: economics.finance.revenue_eur_per_gpu_hour, dist: triangular, low: 3.45, mode: 6.7, high: 12,
           label: price}
        - {field: economics.finance.wacc, dist: uniform, low: 0.10, high: 0.15, label: WACC}
        - {field: economics.capex.rack_price_usd.vr-nvl72, dist: lognormal, low: 6.6e+6, high: 9.1e+6, label: rack}
        - {field: economics.ppa_carbon_g_per_kwh, dist: uniform, low: 0.0, high: 20.0, label: PPA carbon}
"""


def study_file(tmp_path: Path, method: str = "sobol", text: str = STUDY) -> Path:
    p = tmp_path / f"study-{method}.yaml"
    p.write_text(textwrap.dedent(text).replace("METHOD", method), encoding="utf-8")
    return p


def unc(**kw) -> Uncertainty:
    inputs = kw.pop("inputs", [{"field": "a.b", "dist": "uniform", "low": 0, "high": 1}])
    return Uncertainty.model_validate({"inputs": inputs, **kw})


def test_inverse_cdfs_hit_their_quantiles():
    u = unc(inputs=[{"field": "x.tri", "dist": "triangular", "low": 1, "mode": 2, "high": 4},
                    {"field": "x.norm", "dist": "normal", "low": 10, "high": 20},
                    {"field": "x.logn", "dist": "lognormal", "low": 1, "high": 100},
                    {"field": "x.int", "dist": "uniform", "low": 3, "high": 6, "integer": True}])
    v = to_values(u, np.array([[0.5, 0.05, 0.5, 0.99], [1e-9, 0.95, 0.95, 0.01]]))
    assert v[0, 0] == pytest.approx(stats.triang.ppf(0.5, 1 / 3, loc=1, scale=3))
    assert v[0, 1] == pytest.approx(10.0) and v[1, 1] == pytest.approx(20.0)     # low/high are P5/P95
    assert v[0, 2] == pytest.approx(10.0) and v[1, 2] == pytest.approx(100.0)    # geometric middle, P95
    assert v[0, 3] == 6 and v[1, 3] == 3


def test_sobol_design_size_and_lhs_strata():
    inputs = [{"field": f"x.v{i}", "dist": "uniform", "low": 0, "high": 1} for i in range(8)]
    x, problem = unit_samples(unc(inputs=inputs, samples=1000, method="sobol"))
    assert x.shape == (128 * 10, 8) and problem["num_vars"] == 8      # N (D + 2), N = 2^ceil(log2(1000/10))
    x, _ = unit_samples(unc(inputs=inputs, samples=50, method="lhs", seed=3))
    assert x.shape == (50, 8)
    for j in range(8):  # one draw per stratum of width 1/50
        assert sorted(np.floor(x[:, j] * 50).astype(int)) == list(range(50))


@pytest.mark.parametrize("inp,msg", [({"dist": "uniform", "low": 2, "high": 1}, "below high"),
                                     ({"dist": "triangular", "low": 0, "high": 1, "mode": 3}, "mode"),
                                     ({"dist": "lognormal", "low": 0, "high": 1}, "low > 0"),
                                     ({"dist": "beta", "low": 0, "high": 1}, "")])
def test_bad_distributions_are_refused_with_exit_2(tmp_path, cli, inp, msg):
    import yaml

    doc = {"name": "bad", "uncertainty": {"inputs": [{"field": "economics.finance.wacc", **inp}]}}
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(doc), encoding="utf-8")
    res = cli("sweep", str(p), "--out", str(tmp_path / "out"), "--quiet")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr and msg in res.stdout + res.stderr


def test_an_unknown_field_is_refused(tmp_path):
    from dctwin.errors import ScenarioError

    p = study_file(tmp_path, text=STUDY.replace("economics.finance.wacc", "economics.finance.wac"))
    with pytest.raises(ScenarioError, match="wac"):
        run_sweep(p, tmp_path / "out", workers=1)


@pytest.fixture(scope="module")
def sobol_study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("unc")
    return run_sweep(study_file(tmp), tmp / "out", workers=2), tmp


def test_finance_samples_reuse_physics_and_match_a_full_run(sobol_study):
    """A sample evaluated on the stored base year equals a full simulation of that sample's scenario."""
    outcome, tmp = sobol_study
    folder = outcome.folder
    samples = pd.read_parquet(folder / "samples.parquet")
    assert len(samples) == 4 * (4 + 2)   # N = 4 >= 20 / 6, Saltelli without second order
    base = load_scenario("borlange-2027").model_dump(mode="json")
    base["simulation"].update(duration_days=3, step_s=3600)
    row = samples.iloc[5]
    doc = dict(base)
    doc["economics"] = {**base["economics"],
                        "finance": {**base["economics"]["finance"], "revenue_eur_per_gpu_hour": row["price"],
                                    "wacc": row["WACC"]},
                        "capex": {**base["economics"]["capex"], "rack_price_usd": {"vr-nvl72": row["rack"]}},
                        "ppa_carbon_g_per_kwh": row["PPA carbon"]}
    full = simulate(scenario_from_dict(doc)).kpis
    for k in ("npv_eur", "tco_eur", "lcoc_eur_per_gpu_hour", "emissions_market_t", "pue"):
        assert row[k] == pytest.approx(full[k], rel=1e-9), k


def test_sobol_indices_and_tornado_rank_the_inputs(sobol_study):
    outcome, _ = sobol_study
    folder = outcome.folder
    sob = pd.read_parquet(folder / "sobol.parquet")
    npv = sob[sob["kpi"] == "npv_eur"].set_index("input")
    assert set(npv.index) == {"price", "WACC", "rack", "PPA carbon"}
    assert npv.loc["PPA carbon", "ST"] == pytest.approx(0.0, abs=1e-9)  # carbon of PPA energy cannot move NPV
    assert npv.loc["price", "ST"] > npv.loc["WACC", "ST"]
    tor = pd.read_parquet(folder / "tornado.parquet")
    assert tor["input"].iloc[0] == "price" and tor["input"].iloc[-1] == "PPA carbon"
    price = tor.set_index("input").loc["price"]
    assert price["at_high"] > price["at_p50"] > price["at_low"]
    summary = pd.read_parquet(folder / "summary.parquet").set_index("kpi")
    assert summary.loc["npv_eur", "p10"] <= summary.loc["npv_eur", "p50"] <= summary.loc["npv_eur", "p90"]
    html = (folder / "report.html").read_text(encoding="utf-8")
    for text in ("Net present value", "Project IRR", "Payback", "P10 to P90", "per million tokens", "Tornado"):
        assert text in html, text


def test_lhs_study_and_a_physics_input_run_each_sample(tmp_path):
    text = STUDY.replace("economics.ppa_carbon_g_per_kwh, dist: uniform, low: 0.0, high: 20.0",
                         "facility.cooling.liquid_supply_temp_c, dist: uniform, low: 38.0, high: 48.0")
    text = text.replace("samples: 20", "samples: 6")
    outcome = run_sweep(study_file(tmp_path, "lhs", text), tmp_path / "out", workers=2)
    notes = (outcome.folder / "study.json").read_text()
    assert '"physics_reused": false' in notes
    s = pd.read_parquet(outcome.folder / "samples.parquet")
    assert len(s) == 6 and s["pue"].nunique() > 1       # the supply temperature changes the physics
    assert pd.read_parquet(outcome.folder / "sobol.parquet").empty   # no Sobol' indices from an LHS design


@pytest.mark.ray
def test_ray_cluster_gives_the_local_study(tmp_path, sobol_study):
    """The same study on a real local Ray cluster (ray start --head, loopback only) gives identical tables."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare for a loopback-only network namespace")
    outcome, tmp = sobol_study
    ray_bin = Path(sys.executable).parent / "ray"
    # a temp dir of its own (short: Ray's socket paths must fit 107 bytes), so a cluster file left in
    # /tmp/ray by an earlier, killed run is never taken for a running cluster
    ray_tmp = tempfile.mkdtemp(prefix="dr", dir="/tmp")
    script = f"""
        set -e
        ip link set lo up
        export RAY_USAGE_STATS_ENABLED=0 RAY_TMPDIR={ray_tmp}
        {ray_bin} start --head --num-cpus=2 --port=6391 --include-dashboard=false --disable-usage-stats \\
            --temp-dir={ray_tmp} >/dev/null
        trap '{ray_bin} stop --force >/dev/null 2>&1; rm -rf {ray_tmp}' EXIT
        {sys.executable} -m dctwin sweep {study_file(tmp)} --out {tmp_path / 'ray'} --ray 127.0.0.1:6391 --quiet
    """
    proc = subprocess.run(["unshare", "--net", "--", "bash", "-c", textwrap.dedent(script)], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("samples", "summary", "sobol", "tornado"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "ray" / f"{name}.parquet"),
                                      pd.read_parquet(outcome.folder / f"{name}.parquet"))
