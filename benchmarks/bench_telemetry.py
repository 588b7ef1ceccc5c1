"""Speed of the operating twin: a year of 1-minute telemetry of the 23 MW default site (50 series).

Ingest (read, align, check), replay (facility driven by the measured IT power and
weather, Guideline 14 statistics, drift) and calibrate (four parameters with the
jackknife uncertainty) as one user would run them. Target (issue 20): under 60 s.
    .venv/bin/pytest benchmarks/bench_telemetry.py --benchmark-only -p no:xdist
"""

from __future__ import annotations

import time

import pytest

from dctwin.config import load_scenario
from dctwin.telemetry import read_telemetry
from dctwin.telemetry.service import calibrate_telemetry, replay_telemetry
from dctwin.telemetry.synth import example_mapping, synthetic_telemetry

TRUTH = {"dry_cooler_fan": 0.026, "cdu_pump_head": 260.0, "facility_pump_head": 280.0, "ups_loss_scale": 1.4}
MAPPING = example_mapping(60)


@pytest.fixture(scope="module")
def year_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("telemetry-year")
    sc = load_scenario()
    wide, _ = synthetic_telemetry(sc, "2027-01-01T00:00:00Z", 365, 60, TRUTH, seed=3)
    wide.to_parquet(d / "year.parquet", index=False)
    (d / "map.yaml").write_text(MAPPING)
    return sc, d, wide.shape


def _ingest_replay_calibrate(sc, d):
    t0 = time.perf_counter()
    tel = read_telemetry([d / "year.parquet"], d / "map.yaml")
    t1 = time.perf_counter()
    rep = replay_telemetry(sc, tel)
    t2 = time.perf_counter()
    cal = calibrate_telemetry(sc, tel, list(TRUTH))
    t3 = time.perf_counter()
    print(f"\ningest {t1 - t0:.1f} s, replay {t2 - t1:.1f} s, calibrate {t3 - t2:.1f} s")
    return tel, rep, cal


def test_bench_telemetry_year_1min_23mw(benchmark, year_files):
    sc, d, shape = year_files
    assert shape == (525_600, 51)  # time + 50 series
    tel, rep, cal = benchmark.pedantic(_ingest_replay_calibrate, args=(sc, d), rounds=1, iterations=1)
    assert len(tel.frame) == 525_600
    t = cal.table.set_index("name")
    for name, true in TRUTH.items():
        assert t.loc[name, "ci95_low"] <= true <= t.loc[name, "ci95_high"], name
    assert benchmark.stats.stats.max < 60.0
