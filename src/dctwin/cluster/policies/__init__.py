"""Scheduling policies, one file each, and their registry."""

from __future__ import annotations

from dctwin.cluster.policies.base import Policy
from dctwin.cluster.policies.easy_backfill import EasyBackfill
from dctwin.cluster.policies.fair_share import FairShare
from dctwin.cluster.policies.fifo import Fifo
from dctwin.cluster.policies.priority_preempt import PriorityPreempt
from dctwin.cluster.policies.tenant_quota import TenantQuota
from dctwin.errors import InputError

__all__ = ["POLICIES", "Policy", "get_policy"]

POLICIES: dict[str, type[Policy]] = {p.name: p for p in (Fifo, EasyBackfill, PriorityPreempt, FairShare, TenantQuota)}


def get_policy(name: str) -> type[Policy]:
    """The policy class called ``name``; an unknown name lists the valid ones."""
    try:
        return POLICIES[name]
    except KeyError:
        raise InputError("unknown scheduling policy", field="scheduler.policy", value=name,
                         allowed=", ".join(sorted(POLICIES))) from None
