"""Closing the books at the end of a run, and the allocation audit used by tests."""

from __future__ import annotations

from dctwin.cluster.engine import RESTARTING, RUNNING

__all__ = ["audit", "finish"]


def audit(eng) -> None:
    """Check that every GPU of every domain is free, held by exactly one holder, or down (slow; for tests)."""
    dom = eng.dom
    held = [0] * len(dom.cap)
    n_busy = 0
    for jobs in eng.running_by_prio.values():
        for j in jobs:
            k = 0
            for d, c in eng.alloc[j]:
                held[d] += c
                k += c
            if k != eng.gpus[j]:
                raise AssertionError(f"job {j} holds {k} GPUs, needs {eng.gpus[j]}")
            n_busy += k
    for d, c in eng.inf_pieces.items():
        held[d] += c
    for d, c in eng.down_by_domain.items():
        held[d] += c
    for d, cap in enumerate(dom.cap):
        if held[d] + dom.free[d] != cap:
            raise AssertionError(f"domain {d}: {held[d]} held + {dom.free[d]} free != {cap} GPUs")
    if n_busy != eng.busy or sum(eng.inf_pieces.values()) != eng.inf:
        raise AssertionError("busy counters disagree with allocations")
    if eng.busy + eng.inf > eng.cur_limit:
        raise AssertionError(f"{eng.busy + eng.inf} GPUs busy over the limit {eng.cur_limit}")


def finish(eng) -> None:
    """Close the books at the end of the run for jobs still holding GPUs."""
    t = eng.t_end
    for j in range(eng.n):
        s = eng.state[j]
        if s == RUNNING:
            eng._close(j, t, partial_useful=True)
        elif s == RESTARTING:
            eng.lost[j] += eng.gpus[j] * (t - eng.fail_t[j])
        else:
            continue
        eng.gpu_s[j] += eng.gpus[j] * (t - eng.since[j])
