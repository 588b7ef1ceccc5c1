"""A small named-variable wrapper over HiGHS (highspy) for the planner's MILP."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dctwin.extras import require

highspy = require("highspy", "the design planner (dctwin plan)")

__all__ = ["Model", "Solution"]

INF = highspy.kHighsInf


@dataclass
class Solution:
    status: str
    objective: float
    values: dict[str, float]
    row_activity: dict[str, float]

    @property
    def ok(self) -> bool:
        return self.status == "Optimal"


@dataclass
class Model:
    """Variables and rows by name; ``solve()`` hands them to HiGHS."""

    names: list[str] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    rows: list[tuple[str, dict[str, float], float, float]] = field(default_factory=list)

    def var(self, name: str, lb: float = 0.0, ub: float = INF, cost: float = 0.0, integer: bool = False) -> str:
        if name in self.names:
            raise ValueError(f"duplicate variable {name}")
        self.names.append(name)
        self.lower.append(lb)
        self.upper.append(ub)
        self.cost.append(cost)
        self.integer.append(integer)
        return name

    def add_cost(self, coefs: dict[str, float], scale: float = 1.0) -> None:
        idx = {n: i for i, n in enumerate(self.names)}
        for n, c in coefs.items():
            self.cost[idx[n]] += c * scale

    def row(self, name: str, coefs: dict[str, float], lb: float = -INF, ub: float = INF) -> None:
        self.rows.append((name, {k: v for k, v in coefs.items() if v != 0.0}, lb, ub))

    def solve(self, time_limit_s: float = 30.0) -> Solution:
        h = _quiet_highs()
        h.setOptionValue("time_limit", float(time_limit_s))
        h.setOptionValue("mip_rel_gap", 1e-6)
        lp = highspy.HighsLp()
        n = len(self.names)
        idx = {nm: i for i, nm in enumerate(self.names)}
        lp.num_col_ = n
        lp.num_row_ = len(self.rows)
        lp.col_cost_ = np.asarray(self.cost, dtype=float)
        lp.col_lower_ = np.asarray(self.lower, dtype=float)
        lp.col_upper_ = np.asarray(self.upper, dtype=float)
        lp.row_lower_ = np.asarray([r[2] for r in self.rows], dtype=float)
        lp.row_upper_ = np.asarray([r[3] for r in self.rows], dtype=float)
        starts, index, value = [0], [], []
        for _, coefs, _, _ in self.rows:
            for k, v in coefs.items():
                index.append(idx[k])
                value.append(v)
            starts.append(len(index))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.asarray(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.asarray(index, dtype=np.int32)
        lp.a_matrix_.value_ = np.asarray(value, dtype=float)
        if any(self.integer):
            lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                               for i in self.integer]
        h.passModel(lp)
        h.run()
        status = h.modelStatusToString(h.getModelStatus())
        if status != "Optimal":
            return Solution(status=status, objective=float("nan"), values={}, row_activity={})
        sol = h.getSolution()
        x = list(sol.col_value)
        act = list(sol.row_value)
        return Solution(status=status, objective=float(h.getInfo().objective_function_value),
                        values=dict(zip(self.names, x, strict=True)),
                        row_activity={r[0]: a for r, a in zip(self.rows, act, strict=True)})


def _quiet_highs() -> highspy.Highs:
    """A HiGHS instance with its output off; the banner it prints on creation goes to /dev/null."""
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return h
