"""Energy, PPA and carbon accounting: textbook cases a reader can check by hand."""

import numpy as np
import pytest

from dctwin.accounting import emissions_t, energy_flows
from dctwin.errors import InputError


def test_flat_price_constant_load_gives_textbook_cost():
    # 1 MW for 24 h at EUR 50/MWh, tax 38, fee 8: 24 MWh x (50 + 38 + 8) = EUR 2,304
    out = energy_flows(np.full(96, 1000.0), np.full(96, 50.0), 0.25,
                       energy_tax_eur_per_mwh=38.0, grid_fee_eur_per_mwh=8.0)
    assert out["energy_mwh"].sum() == pytest.approx(24.0)
    assert out["spot_cost_eur"].sum() == pytest.approx(24.0 * 50.0)
    assert out["energy_cost_eur"].sum() == pytest.approx(24.0 * 96.0)


def test_annual_ppa_blends_strike_and_spot():
    # 60% at EUR 40 strike, 40% at EUR 50 spot: (0.6*40 + 0.4*50) = EUR 44/MWh
    out = energy_flows(np.full(24, 2000.0), np.full(24, 50.0), 1.0, ppa_share=0.6, ppa_price_eur_per_mwh=40.0)
    assert out["ppa_matched_mwh"].sum() == pytest.approx(0.6 * 48.0)
    assert out["energy_cost_eur"].sum() / out["energy_mwh"].sum() == pytest.approx(44.0)


def test_hourly_ppa_sells_surplus_when_load_dips():
    load = np.array([1000.0, 0.0, 1000.0, 0.0])  # mean 500 kW -> full-share flat PPA of 500 kW
    price = np.array([60.0, 10.0, 60.0, 10.0])
    out = energy_flows(load, price, 1.0, ppa_share=1.0, ppa_price_eur_per_mwh=30.0, ppa_matching="hourly")
    assert out["ppa_matched_mwh"].sum() == pytest.approx(1.0)       # 0.5 + 0.5 MWh used
    assert out["ppa_surplus_mwh"].sum() == pytest.approx(1.0)       # 0.5 + 0.5 MWh sold
    assert out["ppa_surplus_credit_eur"].sum() == pytest.approx(-0.5 * 10 * 2)
    # total = spot 2 x 0.5 x 60 + PPA 2 MWh x 30 - credit 10
    assert out["energy_cost_eur"].sum() == pytest.approx(60.0 + 60.0 - 10.0)


def test_negative_prices_lower_the_bill():
    out = energy_flows(np.full(2, 1000.0), np.array([-20.0, 20.0]), 1.0)
    assert out["spot_cost_eur"].sum() == pytest.approx(0.0)


def test_bad_inputs_raise_input_error():
    with pytest.raises(InputError, match="ppa_matching"):
        energy_flows(np.ones(3), np.ones(3), 1.0, ppa_matching="monthly")
    with pytest.raises(InputError, match="same length"):
        energy_flows(np.ones(3), np.ones(4), 1.0)


def test_location_and_market_emissions():
    e = np.full(10, 2.0)  # MWh
    em = emissions_t(e, np.full(10, 36.0), 0.8 * e, residual_mix_g_per_kwh=38.95)
    # 20 MWh x 36 g/kWh = 720 kg; market: 4 MWh x 38.95 g/kWh = 155.8 kg
    assert em["location_t"].sum() == pytest.approx(0.720)
    assert em["market_t"].sum() == pytest.approx(0.1558)
