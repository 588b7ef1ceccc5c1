"""Energy-aware operation policies: power capping, load shifting, demand response, heat-led operation.

How the orchestrator uses this package (one way: exogenous series -> plan -> cluster):

1. Build ``ExogenousInputs`` from the site series before the cluster runs:
   timestamps, step_s, price_eur_per_mwh, carbon_g_per_kwh, heat_demand_mw,
   dry_bulb_c, gpus_installed per step, the main platform and
   ``operation.facility_overhead``.
2. ``plan = plan_operation(scenario.operation, exo)`` (or, in one call,
   ``plan_operation(scenario, timeline, site_df, pools)`` -> ``RunPlan``).
3. Apply it in the cluster run: a busy GPU draws
   ``idle + (max - idle) x plan.power_cap_frac[k]`` and progresses at
   ``plan.throughput_factor[k]`` of its normal rate; never more than
   ``plan.gpu_cap[k]`` GPUs busy (inference first, then running jobs are
   paused or shrunk); deferrable jobs start only where ``plan.defer_ok[k]``.
4. Add ``plan.to_frame()`` columns to the run's time series and pass
   ``plan.notes`` into the KPIs; compare runs with ``compare_policy``.
"""

from dctwin.config.operation import OperationConfig
from dctwin.operation import demand_response, heat_led, load_shift, power_cap  # noqa: F401  (registers)
from dctwin.operation.base import (
    REGISTRY,
    ExogenousInputs,
    OperationPlan,
    OperationPolicy,
    combine_plans,
    get_policy,
    no_policy_plan,
)
from dctwin.operation.estimate import apply_plan
from dctwin.operation.run_plan import RunPlan, exogenous_inputs, plan_for_run
from dctwin.perf.power import power_cap_throughput_factor

__all__ = [
    "REGISTRY",
    "ExogenousInputs",
    "OperationPlan",
    "OperationPolicy",
    "RunPlan",
    "apply_plan",
    "combine_plans",
    "exogenous_inputs",
    "get_policy",
    "no_policy_plan",
    "plan_for_run",
    "plan_operation",
    "power_cap_throughput_factor",
]


def plan_operation(config, exo, site=None, pools=None):
    """The combined plan of every enabled policy (no policy: the neutral plan).

    Two call forms: ``plan_operation(operation_config, exogenous_inputs) -> OperationPlan``, or the
    orchestrator's ``plan_operation(scenario, timeline, site_df, pools) -> RunPlan`` (per-pool views:
    ``gpu_cap(pool)``, ``throughput_factor(pool)``, ``power_cap_frac``, ``defer_ok``, ``notes``).
    """
    if not isinstance(config, OperationConfig):
        return plan_for_run(config, exo, site, pools)
    plans = [get_policy(name, getattr(config, name)).plan(exo) for name in config.policies]
    return combine_plans(exo, plans)
