"""Cash-flow table, IRR, payback, revenue curves and debt: against numpy-financial and hand-worked cases."""

import math

import numpy as np
import numpy_financial as npf
import pandas as pd
import pytest

from dctwin.accounting import account
from dctwin.accounting.cashflow import CAPITAL, OPERATING, debt_schedule, irr, npv, payback_years
from dctwin.accounting.revenue import generation_age_years, revenue_by_year
from test_accounting_fixtures import default_scenario, flat_series, platforms

COSTS = [*CAPITAL, *(c for c in OPERATING if c != "compute_revenue_eur"), "residual_value_eur"]


@pytest.fixture(scope="module")
def year():
    s = default_scenario()
    return s, account(s, flat_series(8760, 3600, grid_kw=18500.0, heat_kw=8000.0), 3600, platforms())


@pytest.mark.parametrize("flows", [[-100, 30, 40, 50, 20], [-1000, 100, 100, 100, 100, 1200], [-50, 10, 10, 10, 10],
                                   [-10, 1, 1, 1, 1, 1, 2], [-100, 230, -132]])
def test_irr_matches_numpy_financial(flows):
    ours, ref = irr(np.array(flows, float)), npf.irr(flows)
    assert ours == pytest.approx(ref, abs=1e-9)
    assert npf.npv(ours, flows) == pytest.approx(0.0, abs=1e-6)
    assert npv(0.07, np.array(flows, float)) == pytest.approx(npf.npv(0.07, flows))


def test_irr_without_a_sign_change_is_nan():
    assert math.isnan(irr(np.array([-1.0, -2.0])))
    assert math.isnan(irr(np.array([5.0, 2.0])))


def test_irr_takes_only_real_roots_in_range_nearest_zero():
    # -100 + 230 x - 132 x^2 = 0 at x = 1/1.1 and 1/1.2: rates 10 % and 20 %, the one nearest zero wins
    assert irr(np.array([-100.0, 230.0, -132.0])) == pytest.approx(0.1, abs=1e-13)
    assert math.isnan(irr(np.array([1.0, -1.0, 1.0])))  # 1 - x + x^2 has only a complex pair of roots
    assert math.isnan(irr(np.array([-1.0, *[0.0] * 9, 1e12])))  # (1 + r)^10 = 1e12: r = 14.8, above 1,000 %
    flows = np.array([-1e9, 1.2e8, 1.4e8, 1.5e8, 1.5e8, 1.5e8, 1.5e8, 1.5e8, 1.5e8, 1.5e8, 4e8])
    r = irr(flows)
    assert abs(npv(r, flows)) < 1e-12 * np.abs(flows).sum()  # a root to rounding of the flows


def test_payback_hand_worked():
    assert payback_years(np.array([-100.0, 30, 40, 50])) == pytest.approx(2 + 30 / 50)  # 3rd year closes the gap
    assert payback_years(np.array([-100.0, 30, 40])) == math.inf
    # a refresh that takes the cumulative negative again counts: payback is after the last negative year
    assert payback_years(np.array([-100.0, 120, -50, 60])) == pytest.approx(2 + 30 / 60)


def test_default_scenario_table_sums_to_npv_and_tco(year):
    s, acc = year
    t, k = acc.cash_flows, acc.kpis
    assert len(t) == s.economics.finance.horizon_years + 1
    assert t["pv_project_eur"].sum() == pytest.approx(k["npv_eur"], rel=1e-12)
    rate = s.economics.finance.rate
    assert npf.npv(rate, t["project_cash_flow_eur"]) == pytest.approx(k["npv_eur"], rel=1e-9)
    costs = -float(t[COSTS].to_numpy().sum())
    assert costs + k["cost_of_capital_eur"] == pytest.approx(k["tco_eur"], rel=1e-9)
    assert acc.cost_lines["eur"].sum() == pytest.approx(k["tco_eur"], rel=1e-9)
    assert k["irr_project"] == pytest.approx(npf.irr(t["project_cash_flow_eur"]), abs=1e-9)
    cum = t["project_cash_flow_eur"].cumsum().to_numpy()
    if math.isfinite(k["payback_years"]):
        assert cum[int(math.ceil(k["payback_years"]))] >= 0
    else:
        assert cum[-1] < 0


def test_higher_wacc_lowers_npv_not_tco_cash(year):
    lo = account(default_scenario(finance={"wacc": 0.10}), flat_series(24 * 14, 3600), 3600, platforms())
    hi = account(default_scenario(finance={"wacc": 0.15}), flat_series(24 * 14, 3600), 3600, platforms())
    assert hi.kpis["npv_eur"] < lo.kpis["npv_eur"]
    pd.testing.assert_series_equal(hi.cash_flows["project_cash_flow_eur"], lo.cash_flows["project_cash_flow_eur"])


def test_tax_is_paid_only_on_profit_after_losses():
    rich = account(default_scenario(finance={"revenue_eur_per_gpu_hour": 40.0}), flat_series(24 * 14, 3600), 3600,
                   platforms())
    t = rich.cash_flows
    assert (t["tax_eur"] <= 0).all() and t["tax_eur"].sum() < 0
    rate = default_scenario().economics.finance.corporate_tax_rate
    taxable = (t["ebitda_eur"] - t["depreciation_eur"]).to_numpy()
    assert -t["tax_eur"].sum() <= rate * taxable[taxable > 0].sum() + 1e-6


def test_revenue_curve_falls_with_age_and_restarts_at_refresh():
    r = revenue_by_year(8, 1000.0, 1.0, launch_price_eur_per_gpu_hour=10.0, decline_per_year=0.2,
                        contracted_share=0.0, contract_price_frac=0.7, contract_years=3, ramp_start_frac=1.0,
                        ramp_years=0, it_life_years=4)
    spot = r["spot_price_eur_per_gpu_hour"].to_numpy()
    assert spot[0] == pytest.approx(10.0 * 0.8 ** 0.5)
    assert np.all(np.diff(spot[:4]) < 0) and spot[4] == pytest.approx(spot[0])
    assert r["compute_revenue_eur"].sum() == pytest.approx(1000.0 * spot.sum())
    np.testing.assert_allclose(generation_age_years(3, 5.0, 1.0), [np.nan, 0.5, 1.5])


def test_contracts_are_billed_whether_used_or_not_and_ramp_limits_spot():
    kw = dict(launch_price_eur_per_gpu_hour=10.0, decline_per_year=0.25, contracted_share=0.6,
              contract_price_frac=0.7, contract_years=3, ramp_start_frac=0.5, ramp_years=2, it_life_years=5)
    idle = revenue_by_year(5, 1000.0, 0.0, **kw)
    assert idle["compute_revenue_eur"].iloc[:3].to_numpy() == pytest.approx([0.6 * 1000 * 7.0] * 3)
    assert idle["compute_revenue_eur"].iloc[3:].sum() == 0.0
    busy = revenue_by_year(5, 1000.0, 1.0, **kw)
    assert busy["sales_ramp_frac"].to_numpy() == pytest.approx([0.5, 0.75, 1.0, 1.0, 1.0])
    assert busy["gpu_hours_spot_sold"].iloc[0] == pytest.approx(400 * 0.5)


def test_annuity_debt_matches_numpy_financial():
    d = debt_schedule(1000.0, 0.1, 5, 10)
    pay = -npf.pmt(0.1, 5, 1000.0)
    service = (d["debt_interest_eur"] + d["debt_principal_eur"]).to_numpy()
    assert service[1:6] == pytest.approx([pay] * 5)
    assert d["debt_principal_eur"].sum() == pytest.approx(1000.0)
    assert service[6:].sum() == 0


def test_debt_gives_equity_flows_and_a_cover_ratio():
    acc = account(default_scenario(finance={"debt_share": 0.5, "revenue_eur_per_gpu_hour": 12.0}),
                  flat_series(24 * 14, 3600), 3600, platforms())
    t, k = acc.cash_flows, acc.kpis
    assert t["debt_drawdown_eur"].iloc[0] == pytest.approx(-0.5 * t[list(CAPITAL)].iloc[0].sum())
    assert t["equity_cash_flow_eur"].iloc[0] == pytest.approx(t["project_cash_flow_eur"].iloc[0] / 2)
    assert math.isfinite(k["dscr_min"])
    assert k["irr_equity"] == pytest.approx(npf.irr(t["equity_cash_flow_eur"]), abs=1e-9)


def test_monthly_table_sums_to_the_yearly_one_with_the_seasons_of_the_run(year):
    s, acc = year
    m, y = acc.cash_flows_monthly, acc.cash_flows
    assert len(m) == 12 * s.economics.finance.horizon_years + 1
    for col in ("project_cash_flow_eur", "energy_eur", "heat_revenue_eur", "compute_revenue_eur", "tax_eur"):
        np.testing.assert_allclose(m.groupby("year")[col].sum().to_numpy(), y[col].to_numpy(), rtol=1e-9, atol=1e-6)
    assert m["cumulative_project_eur"].iloc[-1] == pytest.approx(y["cumulative_project_eur"].iloc[-1])


def test_token_price_by_year_is_the_gpu_hour_price_at_the_service_throughput(year):
    _, acc = year
    t = acc.cash_flows
    svc = "mistral-large-2"
    col = f"spot_price_eur_per_mtok__{svc}"
    assert col in t.columns
    ratio = (t[col] / t["spot_price_eur_per_gpu_hour"]).dropna().to_numpy()
    assert np.allclose(ratio, ratio[0]) and ratio[0] > 0   # one throughput per service, prices move together
