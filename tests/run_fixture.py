"""A small synthetic but self-consistent run directory for fast report and web tests.

The numbers are made up but obey the run's balances: grid power is IT power
plus losses plus cooling plus heat-pump power, heat delivered plus heat
rejected equals the heat that leaves the IT and the heat pumps, and every
job's wait is its start minus its submit time. It is written with
``dctwin.results.write_run_dir`` exactly as a real run would be.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Self

import numpy as np
import pandas as pd

from dctwin.results import write_run_dir
from dctwin.results.timing import TIMING, timing_text

SERVICES = ("mistral-large-2", "mixtral-8x22b")


def _scenario_dict(name: str, racks: int) -> dict:
    try:
        from dctwin.config import load_scenario

        data = load_scenario().model_dump(mode="json")
    except Exception:  # noqa: BLE001 - the fixture must not depend on config work in progress
        data = {"name": name, "phases": [{"name": "phase-1", "racks": [{"platform": "vr-nvl72", "count": racks}]}]}
    data["name"] = name
    try:
        data["phases"][0]["racks"][0]["count"] = racks
    except (KeyError, IndexError, TypeError):
        pass
    return data


def make_run(
    root: Path,
    name: str = "fixture-run",
    *,
    days: int = 14,
    step_s: int = 3600,
    seed: int = 1,
    racks: int = 100,
    pue_offset: float = 0.0,
    drop_columns: tuple[str, ...] = (),
    drop_tables: tuple[str, ...] = (),
    description: str = "",
    edit=None,
) -> Path:
    """Write a run directory ``root/name`` and return its path."""
    rng = np.random.default_rng(seed)
    n = int(days * 86400 // step_s)
    t_s = np.arange(n, dtype=np.int64) * step_s
    start = pd.Timestamp("2027-01-01T00:00:00Z")
    timestamp = start + pd.to_timedelta(t_s, unit="s")
    hour = (t_s % 86400) / 3600.0
    doy = t_s / 86400.0
    dry_bulb_c = -5 + 15 * np.sin(2 * np.pi * (doy - 100) / 365) + 4 * np.sin(2 * np.pi * (hour - 9) / 24)
    dry_bulb_c += rng.normal(0, 1.0, n)
    gpus_total = racks * 72
    gpus_down = rng.binomial(gpus_total, 0.01, n)
    gpus_online = np.full(n, gpus_total) - gpus_down
    infer_frac = 0.25 + 0.1 * np.sin(2 * np.pi * (hour - 14) / 24)
    gpus_busy_inference = np.floor(gpus_online * infer_frac)
    gpus_busy_training = np.floor((gpus_online - gpus_busy_inference) * rng.uniform(0.7, 0.95, n))
    utilisation = (gpus_busy_training + gpus_busy_inference) / gpus_online
    it_power_kw = racks * (60 + 130 * utilisation)
    ups_loss_kw = 0.02 * it_power_kw
    transformer_loss_kw = 0.01 * it_power_kw
    cdu_pump_kw = 0.01 * it_power_kw
    dry_cooler_fan_kw = it_power_kw * (0.01 + 0.002 * np.clip(dry_bulb_c, 0, None)) + pue_offset * it_power_kw
    chiller_kw = np.where(dry_bulb_c > 20, 0.05 * it_power_kw, 0.0)
    crah_fan_kw = 0.005 * it_power_kw
    heat_demand_mw = np.clip(12 - 0.5 * dry_bulb_c, 2, None)
    heat_pump_kw = np.minimum(heat_demand_mw * 1000 / 3.5, 0.3 * it_power_kw)
    heat_delivered_kw = heat_pump_kw * 3.5
    heat_out_kw = it_power_kw + heat_pump_kw
    heat_delivered_kw = np.minimum(heat_delivered_kw, heat_out_kw)
    heat_rejected_kw = heat_out_kw - heat_delivered_kw
    grid_power_kw = (it_power_kw + ups_loss_kw + transformer_loss_kw + cdu_pump_kw + dry_cooler_fan_kw + chiller_kw
                     + crah_fan_kw + heat_pump_kw)
    price = 40 + 30 * np.sin(2 * np.pi * (hour - 18) / 24) ** 2 + rng.normal(0, 5, n)
    carbon = 30 + 10 * rng.random(n)
    ts = {
        "t_s": t_s, "timestamp": timestamp, "dry_bulb_c": dry_bulb_c, "price_eur_per_mwh": price,
        "carbon_g_per_kwh": carbon, "heat_demand_mw": heat_demand_mw, "gpus_online": gpus_online,
        "gpus_busy_training": gpus_busy_training, "gpus_busy_inference": gpus_busy_inference,
        "gpus_down": gpus_down, "utilisation": utilisation, "it_power_kw": it_power_kw,
        "grid_power_kw": grid_power_kw, "ups_loss_kw": ups_loss_kw, "transformer_loss_kw": transformer_loss_kw,
        "cdu_pump_kw": cdu_pump_kw, "dry_cooler_fan_kw": dry_cooler_fan_kw, "chiller_kw": chiller_kw,
        "crah_fan_kw": crah_fan_kw, "heat_pump_kw": heat_pump_kw, "heat_delivered_kw": heat_delivered_kw,
        "heat_rejected_kw": heat_rejected_kw, "water_l_per_h": np.zeros(n),
        "cooling_shortfall_kw": np.zeros(n), "pue": grid_power_kw / it_power_kw,
        "it_demand_kw": it_power_kw, "cooling_capacity_kw": racks * 190 * (1.6 - 0.02 * dry_bulb_c),
    }
    for k, svc in enumerate(SERVICES):
        rps = (200 + 100 * k) * (0.5 + 0.5 * np.sin(2 * np.pi * (hour - 14) / 24) ** 2)
        tokens = rps * 400
        capacity = np.full(n, tokens.max() * 0.95)
        ts[f"{svc}__requests_per_s"] = rps
        ts[f"{svc}__output_tokens_per_s"] = tokens
        ts[f"{svc}__output_tokens_served_per_s"] = np.minimum(tokens, capacity)
        ts[f"{svc}__capacity_output_tokens_per_s"] = capacity
    timeseries = pd.DataFrame({k: v for k, v in ts.items() if k not in drop_columns})

    step_h = step_s / 3600.0
    month = timestamp.month
    frame = pd.DataFrame({"month": month, "it": it_power_kw, "grid": grid_power_kw, "heat": heat_delivered_kw,
                          "cost": grid_power_kw * price / 1000})
    g = frame.groupby("month")
    monthly = pd.DataFrame({
        "month": g.size().index.astype(np.int64),
        "pue": (g["grid"].sum() / g["it"].sum()).to_numpy(),
        "it_energy_mwh": (g["it"].sum() * step_h / 1000).to_numpy(),
        "heat_delivered_mwh": (g["heat"].sum() * step_h / 1000).to_numpy(),
        "energy_cost_eur": (g["cost"].sum() * step_h).to_numpy(),
    })

    n_jobs = 300
    kind = rng.choice(["training", "finetune", "batch"], n_jobs, p=[0.3, 0.3, 0.4])
    submit_s = np.sort(rng.uniform(0, t_s[-1] * 0.9, n_jobs))
    wait_s = rng.exponential(np.where(kind == "training", 3600, 600))
    duration_s = rng.exponential(np.where(kind == "training", 86400, 7200))
    start_s = submit_s + wait_s
    end_s = start_s + duration_s
    restarts = rng.poisson(np.where(kind == "training", 0.5, 0.05))
    gpus = np.where(kind == "training", 72 * rng.integers(1, 8, n_jobs), 8 * rng.integers(1, 4, n_jobs))
    state = np.where(end_s <= t_s[-1], "completed", "running")
    jobs = pd.DataFrame({
        "job_id": np.arange(n_jobs, dtype=np.int64), "kind": kind, "tenant": rng.choice(["mistral", "ext"], n_jobs),
        "submit_s": submit_s, "gpus": gpus.astype(np.int64), "duration_s": duration_s, "start_s": start_s,
        "end_s": end_s, "wait_s": wait_s, "state": state, "restarts": restarts.astype(np.int64),
        "lost_gpu_s": restarts * gpus * rng.uniform(0, 1800, n_jobs),
        "gpu_s": gpus * (np.nan_to_num(end_s, nan=float(t_s[-1])) - np.nan_to_num(start_s, nan=0.0)).clip(0),
    })
    failed = jobs[jobs.restarts > 0]
    failures = pd.DataFrame({
        "t_s": np.sort(rng.uniform(0, t_s[-1], len(failed))),
        "job_id": failed.job_id.to_numpy(),
        "component": rng.choice(["gpu", "nvlink", "psu", "software"], len(failed)),
    })
    capex = racks * 4.0e6
    cost_lines = pd.DataFrame({
        "line": ["IT hardware", "facility build", "energy", "grid fees", "staff", "maintenance", "heat revenue"],
        "category": ["capex", "capex", "opex", "opex", "opex", "opex", "revenue"],
        "eur": [capex * 0.8, capex * 0.2, float(monthly.energy_cost_eur.sum()), 1.0e6, 2.0e6, 3.0e6, -0.5e6],
    })

    it_mwh = float(it_power_kw.sum() * step_h / 1000)
    grid_mwh = float(grid_power_kw.sum() * step_h / 1000)
    heat_mwh = float(heat_delivered_kw.sum() * step_h / 1000)
    gpu_h_used = float((gpus_busy_training + gpus_busy_inference).sum() * step_h)
    tco = float(cost_lines.eur.sum())
    kpis = {
        "pue": grid_mwh / it_mwh, "wue_l_per_kwh": 0.0, "erf": heat_mwh / it_mwh,
        "cue_kg_per_kwh": float((grid_power_kw * carbon).sum() / it_power_kw.sum() / 1000),
        "it_energy_mwh": it_mwh, "grid_energy_mwh": grid_mwh, "heat_delivered_mwh": heat_mwh,
        "chiller_hours": float((chiller_kw > 0).sum() * step_h), "goodput_frac": 0.93,
        "mean_utilisation": float(utilisation.mean()), "tco_eur": tco, "capex_eur": capex,
        "eur_per_gpu_hour_used": tco / gpu_h_used,
        "emissions_market_t": float((grid_power_kw * carbon).sum() * step_h / 1e6),
        "run_hours": n * step_h, "horizon_years": 10.0,
        **{f"eur_per_mtok__{svc}": 0.05 * (i + 1) for i, svc in enumerate(SERVICES)},
    }
    tables = {"timeseries": timeseries, "monthly": monthly, "jobs": jobs, "failures": failures,
              "cost_lines": cost_lines}
    tables = {k: v for k, v in tables.items() if k not in drop_tables}
    if edit is not None:  # a test reshapes the tables the way another dctwin version might write them
        edit(tables, kpis)
    scenario = _scenario_dict(name, racks)
    if description:
        scenario["description"] = description
    now = dt.datetime(2027, 1, 1, tzinfo=dt.UTC).isoformat(timespec="seconds")
    manifest = {"scenario_name": name, "seed": seed, "dctwin_version": "0.1.0", "step_s": step_s, "n_steps": n,
                "scenario": scenario}
    timing = {"started_utc": now, "finished_utc": now, "wall_time_s": 1.0}
    return write_run_dir(Path(root) / name, tables, kpis, manifest, texts={"scenario.yaml": f"name: {name}\n"},
                         unsealed={TIMING: timing_text(timing)})


def fake_runner(delay_s: float = 0.0, days: int = 7):
    """A stand-in for ``dctwin.orchestrator.run`` that writes a fixture run, reporting progress on the way."""
    import time

    def runner(scenario, out_dir: Path, progress) -> Path:
        racks = scenario.phases[0].racks[0].count
        for i, stage in enumerate(("site", "workload", "cluster", "facility", "accounting")):
            progress(stage, i / 6)
            time.sleep(delay_s / 5)
        progress("write", 5 / 6)
        return make_run(Path(out_dir).parent, Path(out_dir).name, days=min(days, scenario.simulation.duration_days),
                        racks=racks, description=scenario.description)

    return runner


class ServerThread:
    """Run an ASGI app with uvicorn on a free loopback port in a daemon thread (context manager)."""

    def __init__(self, app, host: str = "127.0.0.1") -> None:
        import socket

        import uvicorn

        with socket.socket() as s:
            s.bind((host, 0))
            self.port = s.getsockname()[1]
        self.host = host
        config = uvicorn.Config(app, host=host, port=self.port, log_level="warning", access_log=False,
                                limit_concurrency=1000, backlog=1024)
        self.server = uvicorn.Server(config)
        self.thread = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> Self:
        import threading
        import time

        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
