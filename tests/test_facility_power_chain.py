"""Power-chain stages against their cited sources: EU 548/2014, UPS vendor points, 80 PLUS Titanium."""

from __future__ import annotations

import numpy as np
import pytest

from dctwin.errors import InputError
from dctwin.facility import (
    distribution_loss_kw,
    load_params,
    power_shelf_loss_kw,
    transformer_loss_kw,
    units_for_redundancy,
    ups_loss_kw,
    utility_transformer_loss_kw,
)


def test_transformer_losses_match_ecodesign_tier2():
    """2,500 kVA liquid-immersed, Tier 2: no-load 1,575 W, load losses 18,500 W at rated (EU 548/2014)."""
    assert transformer_loss_kw(0.0, 2500.0, 1) == pytest.approx(1.575, rel=0.01)
    assert transformer_loss_kw(2500.0, 2500.0, 1) == pytest.approx(1.575 + 18.5, rel=0.01)
    # square law: at half load, a quarter of the load losses
    assert transformer_loss_kw(1250.0, 2500.0, 1) == pytest.approx(1.575 + 18.5 / 4, rel=0.01)


def test_utility_transformer_peaks_at_the_ecodesign_pei():
    """Large power transformer: peak efficiency ~99.7 % (EU 548/2014 Table I.7, Tier 2), where no-load = load loss."""
    k = np.linspace(0.05, 1.0, 96)
    eff = 1 - utility_transformer_loss_kw(k * 40_000, 40_000, 1) / (k * 40_000)
    assert eff.max() == pytest.approx(0.997, abs=2e-4)
    assert k[eff.argmax()] == pytest.approx(0.4, abs=0.02)


@pytest.mark.parametrize("mode,key", [("double_conversion", "double_conversion_eff"), ("eco", "eco_eff")])
def test_ups_curve_reproduces_vendor_points(mode, key):
    ups = load_params("power_chain")["ups"]
    x = np.array(ups["load_points"])
    eff_ref = np.array(ups[key])
    rating = 1000.0
    loss = ups_loss_kw(x * rating, rating, 1, mode)
    eff = x * rating / (x * rating + loss)
    np.testing.assert_allclose(eff, eff_ref, atol=0.002)


def test_eco_mode_beats_double_conversion_and_efficiency_peaks_mid_load():
    x = np.linspace(0.1, 1.0, 10) * 1000
    eco = ups_loss_kw(x, 1000, 1, "eco")
    dc = ups_loss_kw(x, 1000, 1, "double_conversion")
    assert np.all(eco < dc)
    eff = x / (x + dc)
    assert eff[0] < eff[5]  # light load is less efficient


def test_redundancy_counts_and_lighter_loading():
    assert units_for_redundancy(20_000, 3_000, "N") == 7
    assert units_for_redundancy(20_000, 3_000, "N+1") == 8
    assert units_for_redundancy(20_000, 3_000, "2N") == 14
    with pytest.raises(InputError):
        units_for_redundancy(20_000, 3_000, "3N")
    # at 30% of capacity, 2N (14 units) loses more than N (7 units): no-load losses dominate
    load = 0.3 * 20_000
    assert ups_loss_kw(load, 3000, 14, "double_conversion") > ups_loss_kw(load, 3000, 7, "double_conversion")
    # the square-law busway loses less when two paths share the load
    assert distribution_loss_kw(load, 20_000, 2) < distribution_loss_kw(load, 20_000, 1)


def test_power_shelf_titanium_points():
    """80 PLUS Titanium 230 V EU internal: 96% at 50% load, which the shelves see at rack max (N+N)."""
    it = np.array([1000.0])
    assert power_shelf_loss_kw(it, 1000.0)[0] == pytest.approx(1000 * 0.04, rel=1e-6)
    # at 40% of rack max each PSU is at 20%: 94%
    assert power_shelf_loss_kw(np.array([400.0]), 1000.0)[0] == pytest.approx(400 * 0.06, rel=1e-6)
