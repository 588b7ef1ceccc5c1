"""Runs too large for the machine are refused up front, with the memory and time they would need (issue 7, item 4)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dctwin.catalog import load_catalog
from dctwin.config import load_scenario, scenario_from_dict
from dctwin.config.phases import RackGroup
from dctwin.errors import CapacityError, DctwinError
from dctwin.limits import check_run_fits, estimate_run, machine_memory_bytes

DEFAULT = load_scenario()


def _huge(gpus: int, step_s: int, days: float):
    """The default scenario with ``gpus`` Vera Rubin GPUs, built without validation (the schema's own
    power-envelope check would refuse it first; the run must refuse it even so)."""
    per_rack = load_catalog()["vr-nvl72"].gpus_per_unit
    phase = DEFAULT.phases[0]
    racks = RackGroup.model_construct(platform="vr-nvl72", count=-(-gpus // per_rack))
    sim = DEFAULT.simulation.model_copy(update={"step_s": step_s, "duration_days": days})
    return DEFAULT.model_copy(update={"phases": [phase.model_copy(update={"racks": [racks]})], "simulation": sim})


def test_billion_gpus_for_thirty_years_is_refused_with_an_estimate():
    scenario = _huge(1_000_000_000, 60, 365 * 30)
    with pytest.raises(CapacityError) as info:
        check_run_fits(scenario)
    msg = str(info.value)
    assert "too large" in msg and "memory" in msg and "this machine has" in msg
    est = estimate_run(scenario)
    assert est.gpus >= 1_000_000_000
    assert est.n_steps == 365 * 30 * 1440
    assert est.memory_bytes > 5e14  # ~0.14 jobs/GPU/day x 0.6 x 1e9 GPUs x 10,950 days x 1 kB = 0.9 PB
    assert "PB" in msg or "TB" in msg
    assert isinstance(info.value, DctwinError)  # the CLI prints it and exits 2, no traceback


def test_billion_gpus_is_refused_by_the_schema_too():
    doc = DEFAULT.model_dump(mode="json")
    doc["phases"][0]["racks"] = [{"platform": "vr-nvl72", "count": 1_000_000}] * 14
    with pytest.raises(DctwinError, match="power envelope|less than or equal"):
        scenario_from_dict(doc, source="<billion>")


def test_default_scenario_fits_and_is_estimated_sensibly():
    est = check_run_fits(DEFAULT)
    assert est.n_steps == 35_040
    assert est.gpus == 100 * 72
    assert 1e5 < est.jobs_estimate < 5e5  # the default run draws ~217,000 jobs
    assert 100e6 < est.memory_bytes < 4e9
    assert 1 < est.seconds < 600


def test_explicit_limits_refuse_with_both_figures():
    with pytest.raises(CapacityError, match=r"memory limit is 1\.0 MB"):
        check_run_fits(DEFAULT, memory_limit_bytes=1e6)
    with pytest.raises(CapacityError, match="time limit is 1 s") as info:
        check_run_fits(DEFAULT, time_limit_s=1.0)
    assert "memory" in str(info.value)


def test_machine_memory_is_read():
    assert 256e6 < machine_memory_bytes() < 1e15


@settings(max_examples=60, deadline=None)
@given(days=st.floats(1, 3000), step_s=st.sampled_from([60, 300, 900, 3600]), racks=st.integers(1, 10_000),
       factor=st.floats(1.01, 10))
def test_estimate_grows_with_span_resolution_and_size(days, step_s, racks, factor):
    """More days, finer steps or more racks never need less memory or time."""
    base = _huge(racks * 72, step_s, days)
    est = estimate_run(base)
    longer = estimate_run(_huge(racks * 72, step_s, days * factor))
    bigger = estimate_run(_huge(int(racks * factor) * 72 + 72, step_s, days))
    finer = estimate_run(_huge(racks * 72, 60, days))
    for other in (longer, bigger, finer):
        assert other.memory_bytes >= est.memory_bytes and other.seconds >= est.seconds
    assert est.memory_bytes > 0 and est.seconds > 0


def test_estimate_matches_a_measured_run():
    """A 30-day run of the default site in a fresh process: its peak memory is within a factor of
    three to five of the estimate (the estimate includes the imports a fresh process pays for)."""
    code = textwrap.dedent("""
        import json, time
        from dctwin.config import load_scenario, scenario_from_dict
        d = load_scenario().model_dump(mode="json")
        d["simulation"]["duration_days"] = 30
        s = scenario_from_dict(d)
        from dctwin.orchestrator import simulate
        t = time.perf_counter()
        res = simulate(s)
        # VmHWM is this process's own peak; ru_maxrss would carry the forking pytest worker's peak over exec
        hwm_kib = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
        print(json.dumps({"rss": hwm_kib * 1024,
                          "wall": time.perf_counter() - t, "jobs": len(res.tables["jobs"])}))
    """)
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                             check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("a 30-day default run took more than 5 minutes")
    assert out.returncode == 0, out.stderr
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    d = DEFAULT.model_dump(mode="json")
    d["simulation"]["duration_days"] = 30
    est = estimate_run(scenario_from_dict(d))
    assert est.memory_bytes / 3 < measured["rss"] < est.memory_bytes * 5
    assert est.jobs_estimate / 2 < measured["jobs"] < est.jobs_estimate * 2
    assert measured["wall"] < est.seconds * 10


def test_simulate_refuses_before_running(monkeypatch):
    """``dctwin.orchestrator.simulate`` calls ``check_run_fits`` first: a run that does not fit the
    machine's memory fails at once with CapacityError (here: a machine of 1 MB)."""
    import dctwin.limits
    import dctwin.orchestrator

    monkeypatch.setattr(dctwin.limits, "machine_memory_bytes", lambda: 1_000_000)
    d = DEFAULT.model_dump(mode="json")
    d["simulation"]["duration_days"] = 1
    with pytest.raises(CapacityError, match="this machine has 1.0 MB"):
        dctwin.orchestrator.simulate(scenario_from_dict(d))


def test_replayed_job_table_is_estimated_from_its_size(tmp_path):
    """A replayed job table counts at least one job per row (rows are at least ~30 bytes)."""
    rows = 5_000
    path = tmp_path / "jobs.csv"
    path.write_text("submit_s,gpus,duration_s\n" + "".join(f"{i},8,3600\n" for i in range(rows)))
    d = DEFAULT.model_dump(mode="json")
    d["workload"]["jobs_path"] = str(path)
    est = estimate_run(scenario_from_dict(d))
    assert rows / 2 <= est.jobs_estimate <= rows * 2
