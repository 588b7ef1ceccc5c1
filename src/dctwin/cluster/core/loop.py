"""The core's main loop: heap events, submissions and step edges merged in time order (``engine_loop.py``).

``run`` advances the run up to (not including) a stop time and returns, so the caller can report progress
between calls; all state is in the arrays, so the next call goes on exactly where this one stopped.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from dctwin.cluster.core.capacity import fail, step_capacity
from dctwin.cluster.core.check import audit
from dctwin.cluster.core.layout import (
    BUSY,
    CANCELLED,
    CUR_LIMIT,
    DOWN,
    DOWN_HOLDER,
    END_S,
    EPOCH,
    EV_END,
    EV_FAIL,
    EV_REPAIR,
    EV_RESUME,
    EVENTS,
    FAIL_T,
    GPU_S,
    GPUS,
    HLEN,
    INF,
    ISTEP,
    ISUB,
    LOST,
    NFREE,
    QUEUED,
    RELEASED,
    RESTARTING,
    RUNNING,
    SINCE,
    STATE,
    STATUS,
    SUBMIT,
    make_core,
)
from dctwin.cluster.core.life import begin, close, end
from dctwin.cluster.core.queue import q_push, schedule
from dctwin.cluster.core.stamp import cover_sources
from dctwin.cluster.core.store import log_down, plog_done, plog_row, pop
from dctwin.cluster.placement import kernels as kn

_INF = math.inf


@nb.njit(inline="always")
def step_edge(c, f, k, t):
    """Step ``k`` begins: apply its capacity unless nothing changed."""
    if c.changes[k] or c.s[BUSY] + c.s[INF] > c.s[CUR_LIMIT]:
        step_capacity(c, f, k, t)
    else:
        c.shortfall[k] = c.inf_need[k] - c.s[INF]


@nb.njit(inline="always")
def heap_batch(c, f, rng, t):
    """Handle every heap event at time ``t``; how many there were."""
    count = 0
    while c.s[HLEN] and c.ht[0] == t and c.s[STATUS] == 0:
        kind, a, b = c.hp[0, 1], c.hp[0, 2], c.hp[0, 3]
        pop(c)
        count += 1
        if kind == EV_REPAIR:
            repair(c, f, a, b, t)
        elif c.ji[a, EPOCH] != b:
            continue
        elif kind == EV_END:
            end(c, f, a, t)
        elif kind == EV_FAIL:
            fail(c, f, rng, a, t)
        elif kind == EV_RESUME:
            c.jf[a, LOST] += c.ji[a, GPUS] * (t - c.jf[a, FAIL_T])
            c.ji[a, STATE] = RUNNING
            begin(c, f, rng, a, t)
    return count


@nb.njit(inline="always")
def repair(c, f, d, k, t):
    """``k`` GPUs of domain ``d`` are back from repair."""
    if kn.give(c.st, d, k) < 0:
        raise AssertionError("a repaired domain would hold more GPUs than it has (double free)")
    c.s[NFREE] += k
    c.s[DOWN] -= k
    c.down_dom[d] -= k
    plog_row(c, t, np.int64(DOWN_HOLDER), d, -k)
    plog_done(c, f.plog_limit, t)
    log_down(c, t, -k)
    c.s[RELEASED] = 1


@nb.njit(inline="always")
def admit(c, f, t):
    """Queue the jobs submitted at ``t`` (one larger than the cluster is cancelled); how many were queued."""
    n = c.ji.shape[0]
    queued = 0
    while c.s[ISUB] < n and c.jf[c.s[ISUB], SUBMIT] == t:
        j = c.s[ISUB]
        c.s[ISUB] += 1
        if c.ji[j, GPUS] > f.max_gpus:
            c.ji[j, STATE] = CANCELLED
            c.jf[j, END_S] = t
            continue
        c.ji[j, STATE] = QUEUED
        q_push(c, f, j)
        queued += 1
    return queued


@nb.njit
def next_time(c, f):
    """The time of the next thing to happen: a heap event, a submission or a step edge."""
    n = c.ji.shape[0]
    th = c.ht[0] if c.s[HLEN] else _INF
    ts = c.jf[c.s[ISUB], SUBMIT] if c.s[ISUB] < n else _INF
    tk = float(c.s[ISTEP] * f.step_s) if c.s[ISTEP] < f.n_steps else _INF
    t = th if th < ts else ts
    return tk if tk < t else t


@nb.njit(inline="always")
def run(c, f, rng, t_stop):
    """Handle every time before ``t_stop`` (and before the end of the span); True once the span is done."""
    n = c.ji.shape[0]
    while c.s[STATUS] == 0:
        t = next_time(c, f)
        if t >= f.t_end:
            return True
        if t >= t_stop:
            return False
        if c.s[ISTEP] < f.n_steps and c.s[ISTEP] * f.step_s == t:
            step_edge(c, f, c.s[ISTEP], t)
            c.s[ISTEP] += 1
            c.s[EVENTS] += 1
        if c.s[HLEN] and c.ht[0] == t:
            c.s[EVENTS] += heap_batch(c, f, rng, t)
        first = c.s[ISUB]
        n_new = 0
        if first < n and c.jf[first, SUBMIT] == t:
            n_new = admit(c, f, t)
            c.s[EVENTS] += c.s[ISUB] - first
        released = c.s[RELEASED]
        c.s[RELEASED] = 0
        if released or n_new:
            schedule(c, f, rng, t, released, first, c.s[ISUB], n_new)
        if f.audit and c.s[STATUS] == 0:     # a run stopped by a full buffer is half done: it is repeated
            audit(c)
    return False


@nb.njit(inline="always")
def finish(c, f):
    """Close the books at the end of the span for jobs still holding GPUs (``engine_audit.finish``)."""
    t = f.t_end
    for j in range(c.ji.shape[0]):
        s = c.ji[j, STATE]
        if s == RUNNING:
            close(c, f, j, t, np.bool_(True))
        elif s == RESTARTING:
            c.jf[j, LOST] += c.ji[j, GPUS] * (t - c.jf[j, FAIL_T])
        else:
            continue
        c.jf[j, GPU_S] += c.ji[j, GPUS] * (t - c.jf[j, SINCE])


@nb.njit(cache=True)
def run_slice(a, f, rng, t_stop):
    """``run`` on the arrays ``a`` (an ``Arrays``): the entry point from Python."""
    return run(make_core(a), f, rng, t_stop)


@nb.njit(cache=True)
def finish_books(a, f):
    """``finish`` on the arrays ``a``: the entry point from Python."""
    finish(make_core(a), f)


cover_sources(run_slice, finish_books)        # their cached code is stale once any core file changes
