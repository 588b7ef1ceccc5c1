"""Design planner: a MILP (HiGHS) on the twin's physics, a Pareto front, and the chosen scenario file."""

from dctwin.plan.constraints import PlanConstraints, load_constraints
from dctwin.plan.model import Design, solve_design
from dctwin.plan.pareto import pareto_front

__all__ = ["Design", "PlanConstraints", "load_constraints", "pareto_front", "plan", "solve_design"]


def plan(*args, **kwargs):
    """See ``dctwin.plan.cli.plan``."""
    from dctwin.plan.cli import plan as _plan

    return _plan(*args, **kwargs)
