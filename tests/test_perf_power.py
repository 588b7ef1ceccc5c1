"""Power capping: throughput falls much less than power near the top (MLPerf v4.0 paired runs)."""

import numpy as np
import pytest

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.perf import power_cap_throughput_factor

H100 = get_platform("hgx-h100")


def test_full_power_is_full_throughput_and_no_gain_above():
    assert power_cap_throughput_factor(H100, 1.0) == pytest.approx(1.0)
    assert power_cap_throughput_factor(H100, 1.3) == pytest.approx(1.0)


def test_mlperf_power_limited_runs():
    # 8x H100 at 450 W vs 700 W: 17,561.6 / 21,805.8 tok/s; 8x H200 700 W vs 1,000 W: 27,738.3 / 31,712
    assert power_cap_throughput_factor(H100, 450 / 700) == pytest.approx(17561.6 / 21805.8, rel=0.05)
    assert power_cap_throughput_factor(H100, 0.7) == pytest.approx(27738.3 / 31712, rel=0.05)


def test_throughput_falls_less_than_power():
    caps = np.linspace(0.5, 1.0, 11)
    f = power_cap_throughput_factor(H100, caps)
    assert f.shape == caps.shape
    assert np.all(np.diff(f) > 0)
    assert np.all(f[:-1] > caps[:-1])
    assert 0.90 <= power_cap_throughput_factor(H100, 0.8) <= 0.95


def test_cap_below_settable_range_is_an_input_error():
    with pytest.raises(InputError, match="cap_frac"):
        power_cap_throughput_factor(H100, np.array([0.9, 0.1]))
