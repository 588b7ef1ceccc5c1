"""The investor table: P10-P90 bands over the finance norms' ranges, and its place at the top of the report."""

import numpy as np
import pandas as pd
import pytest

from dctwin.accounting import account
from dctwin.accounting.accounts import accounting_stage
from dctwin.accounting.band import BAND_FIELDS, investor_table
from test_accounting_fixtures import default_scenario, flat_series, platforms


@pytest.fixture(scope="module")
def series():
    return flat_series(24 * 14, 3600, grid_kw=18500.0, heat_kw=8000.0)


def band(scenario, series, samples):
    base = account(scenario, series, 3600, platforms()).kpis
    return investor_table(scenario, lambda sc: account(sc, series, 3600, platforms()).kpis, base, samples), base


def test_band_brackets_the_median_and_varies_every_sourced_norm(series):
    table, base = band(default_scenario(), series, 24)
    t = table.set_index("kpi")
    assert (t["samples"] == 24).all() and (t["inputs_varied"] == len(BAND_FIELDS)).all()
    for k in ("npv_eur", "irr_project", "lcoc_eur_per_gpu_hour", "eur_per_gpu_hour_used"):
        assert t.loc[k, "p10"] < t.loc[k, "p50"] < t.loc[k, "p90"], k
        assert t.loc[k, "value"] == pytest.approx(base[k])
    again, _ = band(default_scenario(), series, 24)
    assert again.equals(table)  # seeded by the scenario's seed


def test_a_value_outside_its_norm_range_is_held_fixed(series):
    table, _ = band(default_scenario(finance={"wacc": 0.30}), series, 8)
    assert (table["inputs_varied"] == len(BAND_FIELDS) - 1).all()


def test_no_band_when_samples_is_zero(series):
    table, _ = band(default_scenario(), series, 0)
    assert (table["samples"] == 0).all() and table[["p10", "p50", "p90"]].isna().all().all()
    assert table["value"].notna().all()


def test_report_opens_with_the_investor_answer(tmp_path, cli):
    scenario = tmp_path / "short.yaml"
    scenario.write_text("extends: borlange-2027\nname: short\nsimulation: {duration_days: 3, step_s: 3600}\n"
                        "economics: {finance: {band_samples: 12}}\n")
    res = cli("run", str(scenario), "--out", str(tmp_path / "run"), "--quiet")
    assert res.returncode == 0, res.stderr
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    start = html.index("For an investor")
    assert start < html.index("Key figures")  # the first thing on the page
    section = html[start:html.index("Key figures")]
    for text in ("Net present value", "Project IRR", "Payback", "Levelised cost of compute",
                 "Cost per million tokens", "P10 to P90", "12 draws", "Yearly cash flows", "Compute revenue"):
        assert text in section, text


def test_stage_band_equals_full_accounting_passes(series):
    """The stage re-runs only the finance part per draw; the band must equal full ``account()`` passes."""
    scenario = default_scenario(finance={"band_samples": 6})
    staged = accounting_stage(scenario, series, 3600)
    full = investor_table(scenario, lambda sc: account(sc, series, 3600).kpis,
                                account(scenario, series, 3600).kpis, 6)
    assert (staged.investor["samples"] == 6).all()
    pd.testing.assert_frame_equal(staged.investor, full, check_exact=False, rtol=1e-12)
    assert pd.Series(staged.kpis).equals(pd.Series(account(scenario, series, 3600).kpis))  # NaN equals NaN here


def test_triangular_ppf_is_scipys_bit_for_bit():
    from scipy import stats

    from dctwin.accounting.band import band_draws, triangular_ppf

    u = np.concatenate([band_draws(40, 7).unit.ravel(), [1e-12, 0.25, 0.5, 1.0]])
    for low, mode, high in ((0.10, 0.12, 0.15), (3.45, 6.7, 12.0), (0.0, 0.0, 1.0), (2.0, 6.0, 6.0)):
        c = (mode - low) / (high - low)
        assert np.array_equal(triangular_ppf(u, low, mode, high),
                              stats.triang.ppf(u, c, loc=low, scale=high - low))


def test_band_draws_are_scipys_latin_hypercube_bit_for_bit():
    from scipy.stats import qmc

    from dctwin.accounting.band import band_draws

    for seed in (0, 1, 42, 2**31 - 1, 2**63 - 1):
        for samples in (1, 2, 40, 257):
            want = qmc.LatinHypercube(d=len(BAND_FIELDS), seed=seed).random(samples)
            assert np.array_equal(band_draws(samples, seed).unit, want)


def test_cached_draws_give_the_same_band(series):
    from dctwin.accounting.band import band_draws

    scenario = default_scenario(finance={"band_samples": 5})
    given = accounting_stage(scenario, series, 3600, band_draws(5, scenario.simulation.seed))
    drawn = accounting_stage(scenario, series, 3600)
    pd.testing.assert_frame_equal(given.investor, drawn.investor, check_exact=True)


def test_reused_unpriced_flows_give_the_same_bits(series):
    """The band reuses the flows the spot and heat prices do not enter: each draw's flows and sums equal a
    fresh ``step_flows`` bit for bit, also after a draw that changed what those flows read (the PPA share)."""
    from dctwin.accounting.accounts import heat_price_by_month_eur_per_mwh
    from dctwin.accounting.totals import run_totals, step_flows, step_sums

    scenario = default_scenario()
    totals, reuse = run_totals(series, 3600), {}
    heat = heat_price_by_month_eur_per_mwh(scenario)
    base = scenario.economics
    for econ in (base, base.model_copy(update={"spot_price_factor": 1.3, "ppa_share": 0.4}),
                 base.model_copy(update={"spot_price_factor": 0.7})):
        fresh, reused = step_flows(econ, heat * 1.1, totals), step_flows(econ, heat * 1.1, totals, reuse)
        assert list(fresh) == list(reused)
        for k in fresh:
            assert np.array_equal(fresh[k], reused[k]), k
        assert step_sums(reused, reuse) == {k: float(v.sum()) for k, v in fresh.items()}
    assert len([k for k in reuse if k != "sums"]) == 2  # two distinct sets of unpriced inputs
