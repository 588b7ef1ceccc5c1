"""The engine's main loop: heap events, submissions and step edges merged in time order.

Events at one time are handled as a batch, then one scheduling pass runs. The
loop runs millions of times a year, so it keeps its state in locals and calls
one function per distinct time, not per event.
"""

from __future__ import annotations

import heapq
import math

from dctwin.cluster.engine import CANCELLED, EV_END, EV_FAIL, EV_RESUME, QUEUED, RUNNING
from dctwin.cluster.engine_audit import finish
from dctwin.cluster.engine_fail import fail
from dctwin.cluster.placement.log import DOWN
from dctwin.progress import sink as progress_sink

__all__ = ["run_engine"]

_INF = math.inf


def _step_edge(eng, istep: int, t: float) -> None:
    """Step ``istep`` begins: apply its capacity unless nothing changed (most steps at 1-s resolution)."""
    if eng.step_changes[istep] or eng.busy + eng.inf > eng.cur_limit:
        eng._step(istep, t)
    else:
        eng.shortfall[istep] = eng.inf_need[istep] - eng.inf


def _heap_batch(eng, t: float) -> int:
    """Handle every heap event at time ``t``; return how many there were."""
    heap, pop, epoch = eng.heap, heapq.heappop, eng.epoch
    count = 0
    while heap and heap[0][0] == t:
        _, _, kind, a, b = pop(heap)
        count += 1
        if kind == EV_END:
            if epoch[a] == b:
                eng._end(a, t)
        elif kind == EV_FAIL:
            if epoch[a] == b:
                fail(eng, a, t)
        elif kind == EV_RESUME:
            if epoch[a] == b:
                eng.lost[a] += eng.gpus[a] * (t - eng.fail_t[a])
                eng.state[a] = RUNNING
                eng._begin(a, t)
        else:  # EV_REPAIR: a = domain, b = GPUs
            eng.dom.give(a, b)
            eng.down -= b
            eng.down_by_domain[a] -= b
            eng.plog.one(t, DOWN, a, -b)
            eng.dn_t.append(t)
            eng.dn_d.append(-b)
            eng._released = True
    return count


def _admit(eng, t: float, isub: int, max_gpus: int) -> tuple[int, list[int]]:
    """Queue the jobs submitted at ``t`` (one larger than the cluster is cancelled); return the next index."""
    submit, gpus, state, n = eng.submit, eng.gpus, eng.state, eng.n
    new = []
    while isub < n and submit[isub] == t:
        j = isub
        isub += 1
        if gpus[j] > max_gpus:
            state[j] = CANCELLED
            eng.end_s[j] = t
            continue
        state[j] = QUEUED
        eng.policy.push(j)
        new.append(j)
    return isub, new


def run_engine(eng) -> None:
    """Run ``eng`` to the end of its span and close the books."""
    heap, submit, n = eng.heap, eng.submit, eng.n
    step_s, n_steps, t_end = eng.step_s, eng.n_steps, eng.t_end
    max_gpus = max(eng.online) if eng.online else 0
    isub = istep = events = 0
    hook = progress_sink()               # the run's progress bar, if one listens
    tick = max(1, n_steps // 200)
    while True:
        th = heap[0][0] if heap else _INF
        ts = submit[isub] if isub < n else _INF
        tk = istep * step_s if istep < n_steps else _INF
        t = th if th < ts else ts
        if tk < t:
            t = tk
        if t >= t_end:
            break
        if tk == t:
            _step_edge(eng, istep, t)
            istep += 1
            events += 1
            if hook is not None and istep % tick == 0:
                hook(istep / n_steps)
        if heap and heap[0][0] == t:
            events += _heap_batch(eng, t)
        new = []
        if isub < n and submit[isub] == t:
            first = isub
            isub, new = _admit(eng, t, isub, max_gpus)
            events += isub - first
        released = eng._released
        eng._released = False
        if released or new:
            eng.policy.schedule(t, released, new)
        if eng.audit_each_batch:
            eng.audit()
    eng.events = events
    finish(eng)
