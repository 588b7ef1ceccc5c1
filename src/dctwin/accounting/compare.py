"""What an operation policy saved and what it cost: its run against the same scenario without it."""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["compare_policy"]

# key -> (name in the summary, +1 if a decrease is a saving, -1 if an increase is a gain)
_SAVINGS = {
    "grid_energy_mwh": "energy_saved_mwh",
    "energy_cost_eur": "energy_cost_saved_eur",
    "emissions_location_t": "emissions_location_saved_t",
    "emissions_market_t": "emissions_market_saved_t",
}
_GAINS = {"heat_revenue_eur": "heat_revenue_gained_eur"}
_WORK = {
    "gpu_hours_used": "gpu_hours_lost",
    "effective_gpu_hours_used": "effective_gpu_hours_lost",
}
_DELAY = {"backlog_gpu_hours_end": "work_delayed_gpu_hours"}


def _num(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def compare_policy(base_kpis: Mapping[str, float], policy_kpis: Mapping[str, float]) -> dict:
    """Savings and costs of a policy run against its baseline.

    Returns ``{'saved': {...}, 'cost': {...}, 'net_eur': float, 'deltas': {key: {base, policy, delta}}}``.
    ``saved`` holds positive-is-good reductions (energy [MWh], energy cost [EUR],
    emissions [t]) and heat revenue gained [EUR]; ``cost`` holds the work given
    up (GPU-hours, tokens, and queue-wait growth when the cluster reports
    ``*_wait_h`` KPIs). ``net_eur`` is energy cost saved plus heat revenue gained.
    Every numeric key present in both dicts appears in ``deltas``.
    """
    deltas = {k: {"base": float(base_kpis[k]), "policy": float(policy_kpis[k]),
                  "delta": float(policy_kpis[k]) - float(base_kpis[k])}
              for k in sorted(set(base_kpis) & set(policy_kpis))
              if _num(base_kpis[k]) and _num(policy_kpis[k])}
    saved = {name: -deltas[k]["delta"] for k, name in _SAVINGS.items() if k in deltas}
    saved.update({name: deltas[k]["delta"] for k, name in _GAINS.items() if k in deltas})
    cost = {name: -deltas[k]["delta"] for k, name in _WORK.items() if k in deltas}
    cost.update({name: deltas[k]["delta"] for k, name in _DELAY.items() if k in deltas})
    for k in deltas:
        if k.startswith("tokens_served__"):
            cost[f"tokens_lost__{k.split('__', 1)[1]}"] = -deltas[k]["delta"]
        if k.endswith("_wait_h"):
            cost[f"{k}_added"] = deltas[k]["delta"]
    net = saved.get("energy_cost_saved_eur", 0.0) + saved.get("heat_revenue_gained_eur", 0.0)
    return {"saved": saved, "cost": cost, "net_eur": net, "deltas": deltas}
