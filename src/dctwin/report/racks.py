"""The hall by rack: IT power (which all leaves as heat) of every rack over time, from the placement log.

Exact to the model, not a guess: the run's ``placements`` table logs every
change of GPUs held in every scale-up domain, so the GPUs busy in each domain
per step are known. A pool's IT power per step is ``units x
rack_power_curve_kw(u)`` at its utilisation ``u``; the curve is affine in the
busy GPUs at fixed ``u`` of the other parts (``busy_gpu_extra_kw``), so each
online rack draws the pool's mean rack power plus that slope times its busy
GPUs above the pool mean. The racks of a pool then add up to the pool's power
step by step. Racks come online in build-out order (the first ``units_online``);
when the plant throttles IT power for lack of cooling, every rack is scaled
by the same factor (the model caps the hall, not one rack). A platform whose
scale-up domains do not tile its racks is refused (a domain's power could
not be given to one rack).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dctwin.report.data import Missing, RunData

__all__ = ["HallPower", "hall_power"]

BUSY_HOLDERS = ("job", "inference")   # holders whose GPUs work; 'down' GPUs idle until repaired


CHUNK_CELLS = 2_000_000   # steps x domains computed at a time: a 2,600-rack year stays within ~100 MB


@dataclass(frozen=True)
class HallPower:
    """Mean IT power per period [kW] of each rack: ``kw`` shape (periods, racks), a period being ``period_steps``
    steps from the run's start (the last may be shorter); per rack its ``platform`` (catalog id), ``number``
    (1-based: build-out order, pool after pool), rated full load ``max_kw`` [kW] and the share of its heat taken
    by liquid ``liquid_frac`` [-]."""

    kw: np.ndarray
    platform: list[str]
    number: np.ndarray
    max_kw: np.ndarray
    liquid_frac: np.ndarray
    period_steps: int


def _pools(run: RunData):
    """The run's pools (platform, units online per step) rebuilt from its resolved scenario."""
    from pydantic import ValidationError

    from dctwin.buildout import installed_pools
    from dctwin.config.scenario import Scenario
    from dctwin.timeline import Timeline

    try:  # the run checked it in full; only its shape is needed here
        sc = Scenario.model_validate(run.scenario)
    except ValidationError:
        raise Missing("the manifest's resolved scenario does not validate with this dctwin") from None
    timeline = Timeline.from_config(sc.simulation)
    if timeline.n_steps != len(run.table("timeseries")):
        raise Missing("the scenario's steps do not match the timeseries table")
    return installed_pools(sc, timeline), timeline.step_s


def _held_chunks(rows: tuple[np.ndarray, np.ndarray, np.ndarray], step_s: float, n_steps: int, n_dom: int,
                 chunk: int):
    """(first step, GPUs held per step and domain over ``chunk`` steps) from one pool's log rows (time [s],
    domain, GPU change), chunk by chunk: the GPUs held when a chunk starts enter as one change at its start, then
    ``domain_held_per_step``."""
    from dctwin.cluster.placement.log import domain_held_per_step

    order = np.argsort(rows[0], kind="stable")  # by time, log order kept among equal times
    t, dom, change = (a[order] for a in rows)
    level, done = np.zeros(n_dom), 0
    for a in range(0, n_steps, chunk):
        b = min(a + chunk, n_steps)
        lo, hi = np.searchsorted(t, [a * step_s, b * step_s], side="left")
        level += np.bincount(dom[done:lo], weights=change[done:lo], minlength=n_dom)[:n_dom]
        start = np.flatnonzero(level)
        frame = pd.DataFrame({"t_s": np.concatenate([np.zeros(start.size), t[lo:hi] - a * step_s]),
                              "domain": np.concatenate([start, dom[lo:hi]]),
                              "gpus_change": np.concatenate([level[start], change[lo:hi]])})
        yield a, domain_held_per_step(frame, step_s, b - a, n_dom, holder=None)
        done = lo


def _domains_kw(platform, gpus_on: np.ndarray, held: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """IT power per step and scale-up domain of one pool [kW], adding up to the pool's IT power."""
    from dctwin.facility.it_power import busy_gpu_extra_kw, rack_power_curve_kw

    g, d = platform.gpus_per_unit, platform.scale_up_domain_gpus
    on_d = np.clip(gpus_on[:, None] - np.arange(held.shape[1])[None, :] * d, 0.0, d)   # GPUs online per domain
    if np.any(held > on_d + 1e-6):
        raise Missing(f"the placement log holds GPUs in a domain of {platform.id} that is not online")
    busy = held.sum(axis=1)
    u = np.divide(busy, gpus_on, out=np.zeros(len(busy)), where=gpus_on > 0)
    per_unit_kw = rack_power_curve_kw(platform, np.clip(u, 0.0, 1.0), cap)
    extra_kw = np.broadcast_to(busy_gpu_extra_kw(platform, cap), u.shape)
    return per_unit_kw[:, None] * on_d / g + extra_kw[:, None] * (held - u[:, None] * on_d)


def _domains_per_rack(platform) -> int:
    """Scale-up domains in one rack; refused when the platform's domains do not tile its racks."""
    g, d = platform.gpus_per_unit, platform.scale_up_domain_gpus
    if d > g or g % d:
        raise Missing(f"scale-up domains of {d} GPUs do not tile the {g}-GPU racks of {platform.id}, so "
                      "a domain's power cannot be given to one rack")
    return g // d


def _pool_racks_kw(pool, rows: tuple[np.ndarray, np.ndarray, np.ndarray], cap, scale, step_s: float,
                   period: int) -> np.ndarray:
    """Mean IT power per period of each rack of one pool [kW], shape (periods, racks)."""
    per_rack = _domains_per_rack(pool.platform)
    n, n_dom = len(cap), pool.units_installed * per_rack
    chunk = max(1, CHUNK_CELLS // max(n_dom, 1) // period) * period
    out = np.zeros((-(-n // period), pool.units_installed))
    gpus_on = pool.gpus_online.astype(np.float64)
    for a, held in _held_chunks(rows, step_s, n, n_dom, chunk):
        b = a + len(held)
        kw = _domains_kw(pool.platform, gpus_on[a:b], held, cap[a:b]) * scale[a:b, None]
        racks = kw.reshape(len(kw), -1, per_rack).sum(axis=2)
        starts = np.arange(0, len(racks), period)
        out[a // period:a // period + len(starts)] = np.add.reduceat(racks, starts, axis=0) / \
            np.diff(np.append(starts, len(racks)))[:, None]
    return out


def hall_power(run: RunData, period_steps: int = 1) -> HallPower:
    """Mean IT power per period of ``period_steps`` steps of every rack of the run [kW] (see the module text)."""
    placements = run.table("placements", ("t_s", "holder", "domain", "gpus_change", "platform"))
    ts = run.table("timeseries", ("power_cap_frac", "it_demand_kw", "it_power_kw", "gpus_busy_training",
                                  "gpus_busy_inference"))
    pools, step_s = _pools(run)
    cap = np.clip(ts["power_cap_frac"].to_numpy(dtype=np.float64), 0.0, 1.0)
    demand = ts["it_demand_kw"].to_numpy(dtype=np.float64)
    scale = np.divide(ts["it_power_kw"].to_numpy(dtype=np.float64), demand, out=np.ones(len(ts)), where=demand > 0)
    busy = placements["holder"].astype(str).isin(BUSY_HOLDERS).to_numpy(dtype=bool)
    if not busy.any() and (ts[["gpus_busy_training", "gpus_busy_inference"]].to_numpy(dtype=np.float64) > 0).any():
        from dctwin.cluster.placement.log import MAX_ROWS as LOG_ROWS
        raise Missing(f"the run kept no placement log: a log past {LOG_ROWS:,} rows (about a year of a "
                      "38,000-GPU cluster at 60-s steps) is dropped to bound memory, and racks without it would "
                      "be a guess")
    cols, platform, max_kw, liquid = [], [], [], []
    platform_of_row = placements["platform"].astype(str)
    log = (placements["t_s"].to_numpy(dtype=np.float64), placements["domain"].to_numpy(dtype=np.int64),
           placements["gpus_change"].to_numpy(dtype=np.float64))
    for pool in pools:
        mine = busy & (platform_of_row == pool.platform.id).to_numpy(dtype=bool)
        cols.append(_pool_racks_kw(pool, tuple(a[mine] for a in log), cap, scale, step_s, period_steps))
        n = pool.units_installed
        platform += [pool.platform.id] * n
        max_kw += [pool.platform.unit_max_kw] * n
        liquid += [pool.platform.liquid_cooled_fraction] * n
    if not cols:
        raise Missing("the run has no rack online")
    return HallPower(np.hstack(cols), platform, np.arange(1, len(platform) + 1), np.asarray(max_kw),
                     np.asarray(liquid), period_steps)


MAX_ROWS = 200   # larger halls: consecutive racks of one platform share a row (mean kW per rack)


def _rows(hall: HallPower) -> tuple[np.ndarray, list[str]]:
    """Columns of racks grouped into at most about ``MAX_ROWS`` rows: mean kW per rack of each group, and labels."""
    size = max(1, -(-len(hall.number) // MAX_ROWS))
    cols, names = [], []
    for pid in dict.fromkeys(hall.platform):
        idx = np.flatnonzero(np.asarray(hall.platform) == pid)
        for chunk in (idx[i:i + size] for i in range(0, len(idx), size)):
            cols.append(hall.kw[:, chunk].mean(axis=1))
            first, last = hall.number[chunk[0]], hall.number[chunk[-1]]
            names.append(f"rack {first} · {pid}" if first == last else f"racks {first}-{last} · {pid}")
    return np.stack(cols, axis=1), names


def rack_heatmap(run: RunData):
    """Mean IT power of each rack [kW] per day (per hour for runs up to 14 days): a heat map, racks by row."""
    import plotly.graph_objects as go

    ts = run.table("timeseries", ("timestamp",))
    index = pd.DatetimeIndex(pd.to_datetime(ts["timestamp"]))
    step_s = (index[1] - index[0]).total_seconds() if len(index) > 1 else 3600.0
    hourly = index[-1] - index[0] <= pd.Timedelta(days=14)
    period_s = 3600.0 if hourly else 86400.0
    if period_s % step_s:
        raise Missing(f"the step of {step_s:g} s does not divide an {'hour' if hourly else 'day'}")
    hall = hall_power(run, int(max(1.0, period_s // step_s)))
    kw, names = _rows(hall)
    x = [t.strftime("%Y-%m-%d %H:00" if hourly else "%Y-%m-%d") for t in index[::hall.period_steps]]
    shares = sorted({round(float(f) * 100) for f in hall.liquid_frac})
    liquid_text = {(0,): "all of it to the room air", (100,): "all of it to the liquid loop"}.get(
        tuple(shares), "/".join(f"{v} %" for v in shares) + " of it to the liquid loop, the rest to the room air")
    grouped = len(names) < len(hall.number)
    per = "hour" if hourly else "day"
    top_kw = float(hall.max_kw.max())
    fig = go.Figure(go.Heatmap(
        z=np.round(kw.T, 2), x=x, y=names, colorscale="Inferno", zmin=0.0, zmax=top_kw,
        colorbar={"title": {"text": f"kW per rack (top: rated {top_kw:,.0f} kW)", "side": "right"}},
        hovertemplate="%{y}<br>%{x}<br>%{z:,.1f} kW per rack drawn, all released as heat<extra></extra>"))
    fig.update_layout(font={"family": "system-ui, sans-serif", "size": 12},
                      margin={"l": 20, "r": 20, "t": 80, "b": 50}, height=max(360, min(14 * len(names), 900) + 150),
                      title={"text": f"IT power by rack{' (groups of racks: mean per rack)' if grouped else ''}, mean "
                                     f"per {per} [kW]: every kW drawn leaves as heat, {liquid_text}"},
                      xaxis_title="local time")
    fig.update_yaxes(automargin=True, autorange="reversed", title_text="rack (build-out order)")
    return fig
