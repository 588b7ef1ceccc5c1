"""Cluster simulation: event kernel, scheduling policies, placement, failures and checkpoints.

Entry point: ``simulate_cluster``. Policies: ``get_policy(name)`` (fifo,
easy_backfill, priority_preempt, fair_share); placement: ``get_placement``
(topology, first_fit).
"""

from dctwin.cluster.failures import FailureModel, failure_model, young_daly_interval_s
from dctwin.cluster.kernel import Kernel
from dctwin.cluster.placement import get_placement
from dctwin.cluster.policies import get_policy
from dctwin.cluster.simulate import ClusterResult, simulate_cluster

__all__ = [
           "ClusterResult",
           "FailureModel",
           "Kernel",
           "failure_model",
           "get_placement",
           "get_policy",
           "simulate_cluster",
           "young_daly_interval_s",
]
