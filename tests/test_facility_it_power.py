"""IT power from catalog parts: idle/max end points, power cap, classes, every catalog platform."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dctwin.catalog import load_catalog
from dctwin.catalog.platform import PowerPart
from dctwin.errors import InputError
from dctwin.facility import it_power_kw, part_activity, part_class, rack_power_curve_kw


def _platforms():
    seen = {}
    for p in load_catalog().values():
        seen[p.id] = p
    return list(seen.values())


def _with_parts():
    base = _platforms()[0]
    parts = (
        PowerPart("Rubin GPU", 72, 250.0, 1800.0),
        PowerPart("Vera CPU", 36, 100.0, 300.0),
        PowerPart("LPDDR5X memory", 36, 20.0, 60.0),
        PowerPart("ConnectX-9 NIC", 72, 20.0, 35.0),
        PowerPart("NVLink switch tray", 9, 800.0, 1200.0),
        PowerPart("management", 1, 500.0, 500.0),
    )
    return dataclasses.replace(base, parts=parts)


@pytest.mark.parametrize("platform", _platforms(), ids=lambda p: p.id)
def test_every_catalog_platform_spans_idle_to_max(platform):
    """u=0 gives the idle power and u=1 the max power of the catalog (parts sum or unit figures)."""
    if platform.parts:
        idle = sum(p.idle_w * p.count for p in platform.parts) / 1000
        peak = sum(p.max_w * p.count for p in platform.parts) / 1000
    else:
        idle, peak = platform.unit_idle_kw, platform.unit_max_kw
    got = rack_power_curve_kw(platform, np.array([0.0, 1.0]))
    np.testing.assert_allclose(got, [idle, peak], rtol=1e-9)
    u = np.linspace(0, 1, 21)
    assert np.all(np.diff(rack_power_curve_kw(platform, u)) > 0)
    # a power cap never raises power and lowers it at full load
    capped = rack_power_curve_kw(platform, u, 0.6)
    assert np.all(capped <= rack_power_curve_kw(platform, u) + 1e-12)
    assert capped[-1] < peak


def test_parts_classes_follow_the_data_file():
    assert part_class("Rubin GPU") == "gpu"
    assert part_class("Vera CPU") == "cpu"
    assert part_class("LPDDR5X memory") == "memory"
    assert part_class("ConnectX-9 NIC") == "nic"
    assert part_class("NVLink switch tray") == "switch"
    assert part_class("rear fans") == "fan"
    assert part_class("BMC management") == "other"


def test_gpu_cap_limits_only_the_gpu_part():
    plat = _with_parts()
    full = rack_power_curve_kw(plat, 1.0, 1.0)
    capped = rack_power_curve_kw(plat, 1.0, 0.5)
    # GPUs drop from 72 x 1800 W to 72 x 900 W; nothing else changes
    assert full - capped == pytest.approx(72 * 900 / 1000, rel=1e-9)
    # a cap below idle leaves the GPU at idle
    floor = rack_power_curve_kw(plat, 1.0, 0.0)
    assert floor == pytest.approx(full - 72 * (1800 - 250) / 1000, rel=1e-9)


def test_static_parts_barely_follow_load():
    """Switch trays (ElasticTree: power nearly independent of traffic) sit near max at half load; GPUs at half range."""
    plat = _with_parts()
    only_switch = dataclasses.replace(plat, parts=(PowerPart("NVLink switch tray", 9, 800.0, 1200.0),))
    assert rack_power_curve_kw(only_switch, 0.5) > 0.99 * 9 * 1.2
    only_gpu = dataclasses.replace(plat, parts=(PowerPart("Rubin GPU", 72, 250.0, 1800.0),))
    assert rack_power_curve_kw(only_gpu, 0.5) == pytest.approx(72 * (250 + 775) / 1000, rel=1e-9)
    u = np.linspace(0, 1, 11)
    for p in (0.1, 0.5, 1.0):
        a = part_activity(u, p)
        assert a[0] == 0 and a[-1] == pytest.approx(1.0) and np.all(np.diff(a) > 0)
    np.testing.assert_allclose(part_activity(u, 1.0), u)


def test_units_scale_and_vectorise():
    plat = _platforms()[0]
    units = np.array([0, 10, 100])
    u = np.array([0.5, 0.5, 0.5])
    got = it_power_kw(plat, units, u, 1.0)
    assert got.shape == (3,)
    assert got[0] == 0
    assert got[2] == pytest.approx(10 * got[1])


@pytest.mark.parametrize("bad", [-0.1, 1.5, np.nan])
def test_bad_utilisation_is_an_input_error(bad):
    with pytest.raises(InputError):
        it_power_kw(_platforms()[0], 1, np.array([bad]))
