"""Real measured telemetry shipped with dctwin (Cornell BioHPC GPUs): read, replayed, and the IT side checked."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dctwin.errors import InputError
from dctwin.telemetry import read_telemetry
from dctwin.telemetry.itside import BIOHPC, biohpc_check, gpu_power_w, itside_check, shipped


def test_the_excerpt_ships_with_its_source_and_licence():
    folder = shipped("telemetry").parent
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "charlottegressel/dc_workload_pipeline" in readme and "MIT" in readme
    assert "Permission is hereby granted" in (folder / "LICENSE-MIT.txt").read_text(encoding="utf-8")
    assert shipped("telemetry").stat().st_size < 1_000_000


def test_the_real_export_is_read_with_every_repair_reported():
    tel = read_telemetry([shipped("telemetry")], shipped("mapping"))
    frame, q = tel.frame, tel.quality
    assert tel.step_s == 3600 and len(frame) == 8 * 7 * 24
    # local wall-clock hours in summer (EDT, UTC-4): the first hour 2025-06-09 00:00 is 04:00 UTC
    assert frame["time"].iloc[0] == pd.Timestamp("2025-06-09 04:00", tz="UTC")
    # the export is newest first: every host's samples were sorted, and said so
    sorted_rows = q[q["issue"] == "out_of_order"]
    assert len(sorted_rows) == 2 * len(BIOHPC["hosts"]) and (sorted_rows["count"] > 1000).all()
    # an hour that lacks any server is missing, never a smaller sum; nothing is interpolated
    missing = int(q.loc[(q["quantity"] == "it_power_kw") & (q["issue"] == "gap_missing"), "count"].sum())
    assert missing == int(frame["it_power_kw"].isna().sum()) > 0
    assert "gap_filled" not in set(q["issue"])
    power_w = frame["it_power_kw"].dropna() * 1000.0
    assert 3 * 2.0 < power_w.min() and power_w.max() < 3 * 450.0  # three GPUs, each between idle and board limit


def test_replay_runs_the_measured_it_power_and_says_there_is_nothing_to_compare(cli, tmp_path):
    out = tmp_path / "replay"
    r = cli("replay", str(shipped("scenario")), str(shipped("telemetry")), "-m", str(shipped("mapping")), "-o",
            str(out))
    assert r.returncode == 0, r.stderr
    assert "no facility meter" in r.stdout
    kpis = json.loads((out / "kpis.json").read_text(encoding="utf-8"))
    assert kpis["pue_measured"] is None and kpis["pue_predicted"] > 1.0
    replay = pd.read_parquet(out / "replay.parquet")
    measured = replay["it_power_kw"].dropna()
    assert kpis["it_energy_mwh"] == pytest.approx(measured.sum() / 1000.0)  # hourly steps: kWh per step
    assert not any(c.startswith("measured_") for c in replay.columns)
    assert "nothing to compare" in (out / "report.html").read_text(encoding="utf-8")
    cal = cli("calibrate", str(shipped("scenario")), str(shipped("telemetry")), "-m", str(shipped("mapping")),
              "-o", str(tmp_path / "cal.yaml"))
    assert cal.returncode == 2 and "no measured facility output" in cal.stderr and "Traceback" not in cal.stderr


def test_the_gpu_power_model_is_the_facility_models_idle_plus_utilised_range():
    assert gpu_power_w(40.0, 300.0, [0.0, 50.0, 100.0]) == pytest.approx([40.0, 170.0, 300.0])


def test_the_it_side_calibrates_on_five_weeks_and_is_checked_on_three_held_out():
    check = biohpc_check()
    gpus = check.gpus.set_index("host")
    assert list(gpus.index) == list(BIOHPC["hosts"])
    assert (gpus["idle_w"] < gpus["max_w"]).all() and (gpus["idle_std_w"] < 0.1 * gpus["idle_w"]).all()
    periods = check.hourly.groupby("period")["time"].agg(["min", "max"])
    assert periods.loc["calibration", "max"] < periods.loc["check", "min"]  # held out: strictly later
    err = check.errors.set_index(["period", "model"])
    fitted, held_out = err.loc[("calibration", "calibrated")], err.loc[("check", "calibrated")]
    assert fitted["hours"] > 500 and held_out["hours"] > 400
    # what the fit saw is matched better than what it did not, and both far better than the packaged GPU
    assert fitted["cv_rmse_pct"] < held_out["cv_rmse_pct"] < err.loc[("check", "packaged"), "cv_rmse_pct"] / 3
    # an independent recomputation of the held-out CV(RMSE) from the hourly table
    part = check.hourly[check.hourly["period"] == "check"].dropna()
    m, p = part["measured_w"].to_numpy(), part["calibrated_w"].to_numpy()
    assert held_out["cv_rmse_pct"] == pytest.approx(np.sqrt(((m - p) ** 2).sum() / (len(m) - 1)) / m.mean() * 100)


def test_gpu_check_command_prints_the_fit_and_refuses_a_naive_split(cli):
    args = ["telemetry", "gpu-check", str(shipped("telemetry")), "-m", str(shipped("mapping")),
            "--hosts", ",".join(BIOHPC["hosts"])]
    r = cli(*args, "--split", "2025-07-14T00:00:00-04:00")
    assert r.returncode == 0, r.stderr
    held_out = biohpc_check().errors.set_index(["period", "model"]).loc[("check", "calibrated")]
    assert "check (held out)" in r.stdout and f"{held_out['cv_rmse_pct']:.1f}" in r.stdout
    naive = cli(*args, "--split", "2025-07-14T00:00:00")
    assert naive.returncode == 2 and "offset" in naive.stderr and "Traceback" not in naive.stderr
    with pytest.raises(InputError, match="inside the telemetry's span"):
        itside_check([shipped("telemetry")], shipped("mapping"), BIOHPC["hosts"], pd.Timestamp("2026-01-01", tz="UTC"),
                     (80.0, 700.0))
