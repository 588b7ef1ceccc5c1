"""Design planner: a MILP (HiGHS) on the twin's physics, a Pareto front, and the chosen scenario file."""

from dctwin.lazy import lazy_exports

__getattr__ = lazy_exports(__name__, {
    "PlanConstraints": "dctwin.plan.constraints", "load_constraints": "dctwin.plan.constraints",
    "Design": "dctwin.plan.model", "solve_design": "dctwin.plan.model", "pareto_front": "dctwin.plan.pareto",
})

__all__ = ["Design", "PlanConstraints", "load_constraints", "pareto_front", "plan", "solve_design"]


def plan(*args, **kwargs):
    """See ``dctwin.plan.cli.plan``."""
    from dctwin.plan.cli import plan as _plan

    return _plan(*args, **kwargs)
