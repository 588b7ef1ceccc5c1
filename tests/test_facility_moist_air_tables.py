"""The shipped moist-air tables are psychrolib's own values on the grid (one implementation, loaded fast)."""

from __future__ import annotations

import numpy as np

from dctwin.facility import moist_air


def test_shipped_tables_equal_a_fresh_psychrolib_computation():
    with np.load(moist_air.SHIPPED_TABLES) as shipped:
        fresh = moist_air.compute_tables()
        assert set(shipped.files) == set(fresh)
        for key, values in fresh.items():
            np.testing.assert_array_equal(shipped[key], values, err_msg=key)


def test_a_run_reads_the_shipped_tables():
    moist_air._all_tables.cache_clear()
    tables = moist_air._all_tables()
    with np.load(moist_air.SHIPPED_TABLES) as shipped:
        np.testing.assert_array_equal(tables["wet_bulb"], shipped["wet_bulb"])
    # 30 °C at 40 % RH: wet-bulb 20.0 °C (ASHRAE psychrometric chart No. 1, sea level)
    assert abs(float(moist_air.wet_bulb_c(30.0, 40.0)) - 20.0) < 0.2
