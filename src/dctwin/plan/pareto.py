"""Pareto front of cost vs compute vs carbon by the epsilon-constraint method.

The compute target is stepped up from the user's value until no design is
feasible; at each step the carbon cap is tightened to fractions of the
cheapest design's emissions. Each point is the cheapest design under those
epsilon constraints; dominated points are dropped.
"""

from __future__ import annotations

import pandas as pd

from dctwin.config import Scenario
from dctwin.errors import InputError
from dctwin.plan.constraints import PlanConstraints
from dctwin.plan.model import Design, platform_coefs, solve_design
from dctwin.plan.site_model import build_site_model

__all__ = ["nondominated", "pareto_front", "target_name"]

TARGET_STEPS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0)
CARBON_STEPS = (0.5, 0.1)


def target_name(cons: PlanConstraints) -> str:
    return "min_training_pflops" if cons.min_training_pflops is not None else "min_tokens_per_day"


def _compute(d: Design, target: str) -> float:
    return d.training_pflops if target == "min_training_pflops" else d.tokens_per_day


def nondominated(df: pd.DataFrame, compute_col: str) -> pd.DataFrame:
    """Rows no other row beats on cost (lower), compute (higher) and carbon (lower) at once."""
    keep = []
    rows = df[["cost_eur_per_year", compute_col, "carbon_t_per_year"]].to_numpy()
    for i, a in enumerate(rows):
        dominated = any((b[0] <= a[0] + 1e-6) and (b[1] >= a[1] - 1e-9) and (b[2] <= a[2] + 1e-9)
                        and ((b[0] < a[0] - 1e-6) or (b[1] > a[1] + 1e-9) or (b[2] < a[2] - 1e-9))
                        for j, b in enumerate(rows) if j != i)
        keep.append(not dominated)
    return df[keep].reset_index(drop=True)


def pareto_front(scenario: Scenario, cons: PlanConstraints) -> tuple[Design, pd.DataFrame, list[Design]]:
    """The chosen design (cheapest meeting ``cons``), the non-dominated table (sorted by compute) and its designs.

    Row ``i`` of the table describes ``designs[i]``.
    """
    site = build_site_model(scenario)
    coefs = platform_coefs(scenario, cons, site)
    chosen = solve_design(scenario, cons, site=site, coefs=coefs)
    target = target_name(cons)
    base = getattr(cons, target)
    designs: list[tuple[Design, float]] = [(chosen, base)]
    for step in TARGET_STEPS[1:]:
        try:
            d = solve_design(scenario, cons, site=site, coefs=coefs, overrides={target: base * step})
        except InputError:
            break
        designs.append((d, base * step))
    for d0, t in list(designs):
        for frac in CARBON_STEPS:
            if d0.carbon_t_per_year <= 1e-6:
                break
            try:
                d = solve_design(scenario, cons, site=site, coefs=coefs,
                                 overrides={target: t, "carbon_cap_t_per_year": frac * d0.carbon_t_per_year})
            except InputError:
                break
            designs.append((d, t))
    rows = []
    for i, (d, t) in enumerate(designs):
        r = d.as_row()
        r["target"] = target
        r["target_value"] = t
        r["compute"] = _compute(d, target)
        r["chosen"] = d is chosen
        r["_i"] = i
        rows.append(r)
    df = pd.DataFrame(rows).drop_duplicates(subset=["racks", "redundancy", "ppa_share", "heat_pump_mw"])
    front = nondominated(df, "compute").sort_values("compute").reset_index(drop=True)
    picked = [designs[i][0] for i in front.pop("_i")]
    return chosen, front, picked
