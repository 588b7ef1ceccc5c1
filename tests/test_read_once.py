"""Every input file is opened once per run (issue #21): the bytes checked, hashed (stage-cache key,
provenance SHA-256) and parsed are the same bytes, so a file swapped mid-run cannot be half of each."""

from __future__ import annotations

import builtins
import hashlib
import io
import os
from pathlib import Path

import pytest

from dctwin.config import load_scenario, scenario_from_dict
from dctwin.orchestrator import simulate
from dctwin.safeio import read_input, read_once
from dctwin.site.readers import read_weather_csv
from dctwin.workload.formats import read_trace


def _inputs(tmp_path: Path) -> tuple[Path, Path]:
    weather = tmp_path / "weather.csv"
    weather.write_text("timestamp,dry_bulb_c,rel_humidity_pct\n"
                       + "".join(f"2027-01-0{1 + h // 24} {h % 24:02d}:00,{-5 + h % 7},80\n" for h in range(72)))
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("submit_s,gpus,duration_s\n" + "".join(f"{600 * i},8,3600\n" for i in range(20)))
    return weather, jobs


def _opens(monkeypatch, *paths: Path) -> dict[str, int]:
    """Count every open of ``paths`` through os.open, io.open (pathlib) and builtins.open (pandas)."""
    watched = {os.path.realpath(p): 0 for p in paths}
    real_os_open, real_open, real_io_open = os.open, builtins.open, io.open

    def count(p) -> None:
        if isinstance(p, (str, os.PathLike)) and os.path.realpath(p) in watched:
            watched[os.path.realpath(p)] += 1

    def os_open(p, *a, **k):
        count(p)
        return real_os_open(p, *a, **k)

    def b_open(p, *a, **k):
        count(p)
        return real_open(p, *a, **k)

    def i_open(p, *a, **k):
        count(p)
        return real_io_open(p, *a, **k)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(io, "open", i_open)
    monkeypatch.setattr(builtins, "open", b_open)
    return watched


def test_a_run_opens_each_input_file_once(tmp_path, monkeypatch):
    weather, jobs = _inputs(tmp_path)
    d = load_scenario().model_dump(mode="json")
    d["simulation"].update(duration_days=2, step_s=3600)
    d["site"]["climate"] = {"source": "csv", "path": str(weather)}
    d["workload"]["jobs_path"] = str(jobs)
    scenario = scenario_from_dict(d)
    opens = _opens(monkeypatch, weather, jobs)
    result = simulate(scenario, cache=tmp_path / "cache")
    assert opens == {os.path.realpath(weather): 1, os.path.realpath(jobs): 1}
    origin = next(r["origin"] for r in result.manifest["site_data"] if r["series"].startswith("dry_bulb_c"))
    assert hashlib.sha256(weather.read_bytes()).hexdigest() in origin


def test_what_is_hashed_is_what_is_parsed_even_if_the_file_changes(tmp_path):
    weather, jobs = _inputs(tmp_path)
    with read_once():
        digest = read_input(weather, 1 << 20).sha256
        first = read_weather_csv(weather)
        weather.write_text(weather.read_text().replace(",80\n", ",20\n"))  # swapped after the hash was taken
        again = read_weather_csv(weather)
        assert read_input(weather, 1 << 20).sha256 == digest
        assert again.equals(first) and (again["rel_humidity_pct"] == 80).all()
        log = read_trace(jobs)
        jobs.write_text("submit_s,gpus,duration_s\n0,1,1\n")
        assert len(read_trace(jobs).jobs) == len(log.jobs) == 20
    assert (read_weather_csv(weather)["rel_humidity_pct"] == 20).all()  # outside a run: read afresh


def test_the_size_cap_holds_for_a_file_already_read(tmp_path):
    weather, _ = _inputs(tmp_path)
    with read_once():
        read_input(weather, 1 << 20)
        with pytest.raises(Exception, match="larger than 10 bytes"):
            read_input(weather, 10)


def test_telemetry_files_are_opened_once_and_hashed_as_parsed(tmp_path, monkeypatch):
    from dctwin.telemetry import read_telemetry
    from dctwin.telemetry.mapping import TelemetryMap

    p = tmp_path / "t.csv"
    p.write_text("time,it\n2027-01-01T00:00:00Z,100\n2027-01-01T00:01:00Z,200\n")
    tmap = TelemetryMap.model_validate({"step_s": 60, "series": {"it_power_kw": {"source": "it", "unit": "kW"}}})
    opens = _opens(monkeypatch, p)
    tel = read_telemetry([p], tmap)
    assert opens == {os.path.realpath(p): 1}
    assert tel.sources[0]["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
    with pytest.raises(Exception, match="pseudo-file"):
        read_telemetry(["/proc/self/status"], tmap)
