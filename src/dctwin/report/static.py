"""Static PNG versions of the key figures, for papers (matplotlib, Agg backend)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from dctwin.report.data import Missing, RunData
from dctwin.report.series import resample, slowdown

__all__ = ["STATIC_FIGURES", "write_static_figures"]


def _pue_ambient(run: RunData, ax) -> None:
    f = resample(run, ("pue", "dry_bulb_c"), "1D")
    ax.plot(f.index, f["pue"], color="#1f77b4", lw=1.2)
    ax.set_ylabel("PUE (daily mean) [-]")
    ax2 = ax.twinx()
    ax2.plot(f.index, f["dry_bulb_c"], color="#d62728", lw=0.8)
    ax2.set_ylabel("dry-bulb [°C]", color="#d62728")
    ax.set_title("PUE and ambient temperature")


def _heatmap(run: RunData, ax) -> None:
    f = resample(run, ("utilisation",), "1h")
    grid = f.assign(day=f.index.date, hour=f.index.hour).pivot_table(index="day", columns="hour",
                                                                     values="utilisation", aggfunc="mean")
    im = ax.imshow(grid.to_numpy().T, aspect="auto", origin="lower", vmin=0, vmax=1, cmap="viridis",
                   interpolation="nearest")
    ax.set_xlabel("day of run")
    ax.set_ylabel("hour of day (UTC)")
    ax.figure.colorbar(im, ax=ax, label="GPU utilisation [-]")
    ax.set_title("GPU utilisation")


def _monthly(run: RunData, ax) -> None:
    m = run.table("monthly", ("month", "it_energy_mwh"))
    x = np.arange(len(m), dtype=np.float64)
    months = m["month"]
    labels = (pd.to_datetime(months).dt.strftime("%Y-%m") if not pd.api.types.is_numeric_dtype(months)
              else months.astype(str))
    ax.set_xticks(x, list(labels), rotation=45 if len(m) > 6 else 0)
    ax.bar(x - 0.2, m["it_energy_mwh"], width=0.4, label="IT energy")
    if "heat_delivered_mwh" in m.columns:
        ax.bar(x + 0.2, m["heat_delivered_mwh"], width=0.4, label="heat delivered")
    ax.set_xlabel("month")
    ax.set_ylabel("MWh")
    ax.legend(frameon=False)
    ax.set_title("Monthly energy and heat delivered")


def _jobs(run: RunData, ax) -> None:
    jobs = run.table("jobs", ("kind", "wait_s", "duration_s"))
    jobs = jobs[np.isfinite(jobs["wait_s"].to_numpy(dtype=np.float64))]
    if jobs.empty:
        raise Missing("the jobs table is empty")
    kinds = sorted(jobs["kind"].astype(str).unique())
    sd = slowdown(jobs)
    data = [sd[(jobs["kind"].astype(str) == k).to_numpy()] for k in kinds]
    ax.boxplot(data, showfliers=False)
    ax.set_xticks(range(1, len(kinds) + 1), kinds)
    ax.set_yscale("log")
    ax.set_ylabel("slowdown [-]")
    ax.set_title("Job slowdown by class")


def _costs(run: RunData, ax) -> None:
    c = run.table("cost_lines", ("line", "eur"))
    y = np.arange(len(c))
    ax.barh(y, c["eur"].to_numpy(dtype=np.float64) / 1e6)
    ax.set_yticks(y, c["line"].astype(str))
    ax.set_xlabel("M EUR")
    ax.set_title("Cost breakdown")


STATIC_FIGURES: dict[str, Callable[[RunData, object], None]] = {
    "pue_ambient": _pue_ambient,
    "utilisation_heatmap": _heatmap,
    "monthly_energy": _monthly,
    "job_slowdown": _jobs,
    "cost_breakdown": _costs,
}


def write_static_figures(run: RunData, out_dir: Path) -> tuple[list[Path], dict[str, str]]:
    """Write ``<key>.png`` for each figure the run has data for; notes for the others."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written, notes = [], {}
    for key, draw in STATIC_FIGURES.items():
        fig, ax = plt.subplots(figsize=(7, 3.6), dpi=150, layout="constrained")
        try:
            draw(run, ax)
        except Missing as exc:
            notes[key] = f"{key}.png: not drawn, {exc}."
            continue
        finally:
            if key in notes:
                plt.close(fig)
        target = out_dir / f"{key}.png"
        tmp = out_dir / f".{key}.png.tmp-{os.getpid()}"
        fig.savefig(tmp, format="png", metadata={"Software": None})
        plt.close(fig)
        os.replace(tmp, target)
        written.append(target)
    return written, notes
