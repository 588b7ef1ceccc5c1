"""The operating twin: Guideline 14 statistics, calibration recovers known parameters, drift is flagged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dctwin.config import load_scenario
from dctwin.config.load import scenario_from_dict
from dctwin.errors import InputError, ScenarioError
from dctwin.telemetry import read_telemetry
from dctwin.telemetry.metrics import cv_rmse_pct, nmbe_pct
from dctwin.telemetry.replay import model_inputs, predict
from dctwin.telemetry.service import calibrate_telemetry, replay_telemetry
from dctwin.telemetry.synth import EXAMPLE_TRUTH, example_mapping, synthetic_telemetry

TRUTH = EXAMPLE_TRUTH
MAPPING = example_mapping(300)


def test_guideline14_statistics_match_a_hand_computation():
    m, p = np.array([10.0, 12.0, 14.0, 16.0]), np.array([11.0, 12.0, 13.0, 14.0])
    # mean 13; residuals -1, 0, 1, 2: sum 2, squares 6; n - 1 = 3
    assert cv_rmse_pct(m, p) == pytest.approx(np.sqrt(6 / 3) / 13 * 100)
    assert nmbe_pct(m, p) == pytest.approx(2 / (3 * 13) * 100)
    assert np.isnan(cv_rmse_pct([np.nan, 1.0], [1.0, 1.0]))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("telemetry")
    sc = load_scenario()
    wide, _ = synthetic_telemetry(sc, "2027-01-04T00:00:00Z", 14, 300, TRUTH, seed=11)
    # a late summer fortnight too, so the dry-cooler fans run
    summer, _ = synthetic_telemetry(sc, "2027-07-05T00:00:00Z", 14, 300, TRUTH, seed=12)
    (d / "winter.csv").write_text(wide.to_csv(index=False))
    (d / "summer.csv").write_text(summer.to_csv(index=False))
    (d / "map.yaml").write_text(MAPPING)
    return sc, d


@pytest.fixture(scope="module")
def summer_fit(site):
    sc, d = site
    tel = read_telemetry([d / "summer.csv"], d / "map.yaml")
    return tel, calibrate_telemetry(sc, tel, list(TRUTH))


def test_calibration_recovers_the_true_parameters_within_their_uncertainty(site):
    sc, d = site
    tel = read_telemetry([d / "winter.csv"], d / "map.yaml")
    before = replay_telemetry(sc, tel)
    result = calibrate_telemetry(sc, tel, list(TRUTH))
    t = result.table.set_index("name")
    for name, true in TRUTH.items():
        assert t.loc[name, "identifiable"]
        assert t.loc[name, "ci95_low"] <= true <= t.loc[name, "ci95_high"], (name, t.loc[name].to_dict())
        assert abs(t.loc[name, "fitted"] - true) < 0.25 * abs(t.loc[name, "initial"] - true)  # it moved to the truth
    after = replay_telemetry(result.scenario, tel)
    fit = after.fit.set_index("quantity")
    assert fit["hourly_meets_guideline14"].all(), fit
    assert not before.fit.set_index("quantity")["hourly_meets_guideline14"].all()  # default model did not


def test_summer_calibration_recovers_the_fans_too(summer_fit):
    t = summer_fit[1].table.set_index("name")
    assert t.loc["dry_cooler_fan", "ci95_low"] <= TRUTH["dry_cooler_fan"] <= t.loc["dry_cooler_fan", "ci95_high"]
    assert t.loc["dry_cooler_fan", "std"] < 0.05 * TRUTH["dry_cooler_fan"]  # summer fans pin it down


def test_fouled_dry_coolers_are_flagged_as_drift_in_their_week_only(summer_fit):
    tel, fit = summer_fit
    calibrated = fit.scenario
    frame = tel.frame.copy()
    fouled = (frame["time"] >= "2027-07-12") & (frame["time"] < "2027-07-19")
    extra_kw = frame.loc[fouled, "dry_cooler_fan_kw"] * 0.6  # fouled coils: fans run harder for the same heat
    for col in ("dry_cooler_fan_kw", "cooling_power_kw", "grid_power_kw"):
        frame.loc[fouled, col] += extra_kw
    drifted = type(tel)(frame, tel.step_s, tel.quality, tel.sources)
    flags = replay_telemetry(calibrated, drifted).drift
    fan = flags[flags["quantity"] == "dry_cooler_fan_kw"]
    assert len(fan) == 1
    assert fan["start"].iloc[0] >= pd.Timestamp("2027-07-11", tz="UTC")
    assert fan["mean_deviation_pct"].iloc[0] > 20
    assert replay_telemetry(calibrated, tel).drift.empty


def test_model_parameters_in_a_scenario_change_the_physics_and_unknown_ones_are_refused(site):
    sc, d = site
    tel = read_telemetry([d / "winter.csv"], d / "map.yaml")
    doc = sc.model_dump(mode="json")
    doc["facility"]["model_parameters"] = {"cooling.values.cdu_loop_head_kpa": 600.0}
    heavier = scenario_from_dict(doc)
    inputs = model_inputs(sc, tel)
    assert predict(heavier, inputs)["cdu_pump_kw"].sum() == pytest.approx(2 * predict(sc, inputs)["cdu_pump_kw"].sum())
    doc["facility"]["model_parameters"] = {"cooling.values.no_such_thing": 1.0}
    with pytest.raises(ScenarioError, match="names no facility model parameter"):
        scenario_from_dict(doc)
    doc["facility"]["model_parameters"] = {"power_chain.ups.eco_eff": [0.9, 0.9]}
    with pytest.raises(ScenarioError, match="as long as the packaged one"):
        scenario_from_dict(doc)


def test_cli_replay_and_calibrate_write_results_a_user_can_open(site, cli, tmp_path):
    sc, d = site
    r = cli("calibrate", "borlange-2027", str(d / "winter.csv"), "-m", str(d / "map.yaml"), "-o",
            str(tmp_path / "cal.yaml"), "--replay-out", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr
    assert "calibration:" in r.stdout and "yes" in r.stdout
    cal = load_scenario(tmp_path / "cal.yaml")
    assert cal.facility.model_parameters["cooling.values.cdu_loop_head_kpa"] == pytest.approx(240, rel=0.01)
    from dctwin.results.run_dir import verify_run_dir

    assert verify_run_dir(tmp_path / "rep") == []
    replay = pd.read_parquet(tmp_path / "rep" / "replay.parquet")
    assert {"measured_grid_power_kw", "predicted_grid_power_kw", "residual_grid_power_kw"} <= set(replay.columns)
    bad = cli("replay", "borlange-2027", str(d / "winter.csv"), "-m", str(d / "winter.csv"), "-o",
              str(tmp_path / "x"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    again = cli("calibrate", "borlange-2027", str(d / "winter.csv"), "-m", str(d / "map.yaml"), "-o",
                str(tmp_path / "cal.yaml"))
    assert again.returncode == 2 and "never overwrites" in again.stderr


def test_a_replay_is_its_own_kind_of_run(site, tmp_path):
    from fastapi.testclient import TestClient

    from dctwin.report.data import load_run
    from dctwin.telemetry.service import write_replay_dir
    from dctwin.web import create_app

    sc, d = site
    tel = read_telemetry([d / "winter.csv"], d / "map.yaml")
    path = write_replay_dir(tmp_path / "runs" / "rep", sc, tel, replay_telemetry(sc, tel))
    html = (path / "report.html").read_text()
    assert "Fit by ASHRAE Guideline 14" in html and "hourly CV(RMSE) [%]" in html
    with pytest.raises(InputError, match="telemetry replay"):
        load_run(path)
    client = TestClient(create_app(tmp_path / "runs", write_reports=False), base_url="http://127.0.0.1")
    assert 'class="replay-link"' in client.get("/").text
    page = client.get("/runs/rep")
    assert page.status_code == 200 and "Rolling deviation and drift periods" in page.text
    assert client.get("/compare?run=rep&run=rep").status_code == 400


def test_telemetry_options_a_user_gets_wrong_are_exit_2_not_tracebacks(site, cli, tmp_path):
    # --start yesterday (DateParseError), --hosts '' (min() of an empty sequence), a parameter twice (TypeError)
    _, d = site
    tel = [str(d / "winter.csv"), "-m", str(d / "map.yaml")]
    runs = [(("telemetry", "example", "-o", str(tmp_path / "ex"), "--start", "yesterday"), "not an ISO 8601 time"),
            (("telemetry", "gpu-check", *tel, "--hosts", " , ", "--split", "2027-01-10T00:00:00Z"),
             "give each host once"),
            (("calibrate", "borlange-2027", *tel, "-o", str(tmp_path / "c.yaml"), "--params",
              "ups_loss_scale,ups_loss_scale"), "give each parameter once")]
    for args, problem in runs:
        r = cli(*args)
        assert r.returncode == 2 and problem in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
