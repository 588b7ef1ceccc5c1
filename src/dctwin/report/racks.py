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


@dataclass(frozen=True)
class HallPower:
    """IT power per step [kW] of each rack: ``kw`` shape (steps, racks); per rack its ``platform`` (catalog id),
    ``number`` (1-based: build-out order, pool after pool), rated full load ``max_kw`` [kW] and the share of its heat
    taken by liquid ``liquid_frac`` [-]."""

    kw: np.ndarray
    platform: list[str]
    number: np.ndarray
    max_kw: np.ndarray
    liquid_frac: np.ndarray


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


def _pool_domains_kw(pool, held: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """IT power per step and scale-up domain of one pool [kW], adding up to the pool's IT power."""
    from dctwin.facility.it_power import busy_gpu_extra_kw, rack_power_curve_kw

    g, d = pool.platform.gpus_per_unit, pool.platform.scale_up_domain_gpus
    gpus_on = pool.gpus_online.astype(np.float64)[:, None]
    on_d = np.clip(gpus_on - np.arange(held.shape[1])[None, :] * d, 0.0, d)   # GPUs online per domain
    if np.any(held > on_d + 1e-6):
        raise Missing(f"the placement log holds GPUs in a domain of {pool.platform.id} that is not online")
    busy = held.sum(axis=1)
    u = np.divide(busy, gpus_on[:, 0], out=np.zeros(len(busy)), where=gpus_on[:, 0] > 0)
    per_unit_kw = rack_power_curve_kw(pool.platform, np.clip(u, 0.0, 1.0), cap)
    extra_kw = np.broadcast_to(busy_gpu_extra_kw(pool.platform, cap), u.shape)
    return per_unit_kw[:, None] * on_d / g + extra_kw[:, None] * (held - u[:, None] * on_d)


def _domains_per_rack(pool) -> int:
    """Scale-up domains in one rack; refused when the platform's domains do not tile its racks."""
    g, d = pool.platform.gpus_per_unit, pool.platform.scale_up_domain_gpus
    if d > g or g % d:
        raise Missing(f"scale-up domains of {d} GPUs do not tile the {g}-GPU racks of {pool.platform.id}, so "
                      "a domain's power cannot be given to one rack")
    return g // d


def hall_power(run: RunData) -> HallPower:
    """IT power per step of every rack of the run [kW] (see the module text)."""
    from dctwin.cluster.placement.log import domain_held_per_step

    placements = run.table("placements", ("t_s", "holder", "domain", "gpus_change", "platform"))
    ts = run.table("timeseries", ("power_cap_frac", "it_demand_kw", "it_power_kw"))
    pools, step_s = _pools(run)
    cap = np.clip(ts["power_cap_frac"].to_numpy(dtype=np.float64), 0.0, 1.0)
    cols, platform, max_kw, liquid = [], [], [], []
    for pool in pools:
        per_rack = _domains_per_rack(pool)
        mine = placements[(placements["platform"].astype(str) == pool.platform.id)
                          & placements["holder"].astype(str).isin(BUSY_HOLDERS)]
        held = domain_held_per_step(mine, step_s, len(ts), pool.units_installed * per_rack, holder=None)
        dom_kw = _pool_domains_kw(pool, held, cap)
        cols.append(dom_kw.reshape(len(dom_kw), -1, per_rack).sum(axis=2))
        n = pool.units_installed
        platform += [pool.platform.id] * n
        max_kw += [pool.platform.unit_max_kw] * n
        liquid += [pool.platform.liquid_cooled_fraction] * n
    if not cols:
        raise Missing("the run has no rack online")
    demand = ts["it_demand_kw"].to_numpy(dtype=np.float64)
    scale = np.divide(ts["it_power_kw"].to_numpy(dtype=np.float64), demand, out=np.ones(len(ts)), where=demand > 0)
    return HallPower(np.hstack(cols) * scale[:, None], platform, np.arange(1, len(platform) + 1), np.asarray(max_kw),
                     np.asarray(liquid))


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

    hall = hall_power(run)
    kw, names = _rows(hall)
    ts = run.table("timeseries", ("timestamp",))
    index = pd.DatetimeIndex(pd.to_datetime(ts["timestamp"]))
    hourly = index[-1] - index[0] <= pd.Timedelta(days=14)
    frame = pd.DataFrame(kw, index=index).resample("1h" if hourly else "1D").mean()
    x = [t.strftime("%Y-%m-%d %H:00" if hourly else "%Y-%m-%d") for t in frame.index]
    shares = sorted({round(float(f) * 100) for f in hall.liquid_frac})
    liquid_text = {(0,): "all of it to the room air", (100,): "all of it to the liquid loop"}.get(
        tuple(shares), "/".join(f"{v} %" for v in shares) + " of it to the liquid loop, the rest to the room air")
    grouped = len(names) < len(hall.number)
    per = "hour" if hourly else "day"
    top_kw = float(hall.max_kw.max())
    fig = go.Figure(go.Heatmap(
        z=np.round(frame.to_numpy().T, 2), x=x, y=names, colorscale="Inferno", zmin=0.0, zmax=top_kw,
        colorbar={"title": {"text": f"kW per rack (top: rated {top_kw:,.0f} kW)", "side": "right"}},
        hovertemplate="%{y}<br>%{x}<br>%{z:,.1f} kW per rack drawn, all released as heat<extra></extra>"))
    fig.update_layout(template="plotly_white", font={"family": "system-ui, sans-serif", "size": 12},
                      margin={"l": 20, "r": 20, "t": 80, "b": 50}, height=max(360, min(14 * len(names), 900) + 150),
                      title={"text": f"IT power by rack{' (groups of racks: mean per rack)' if grouped else ''}, mean "
                                     f"per {per} [kW]: every kW drawn leaves as heat, {liquid_text}"},
                      xaxis_title="local time")
    fig.update_yaxes(automargin=True, autorange="reversed", title_text="rack (build-out order)")
    return fig
