"""The core's step edges and failures: capacity growth, GPU limit, inference grants, shedding, node faults
(``engine_capacity.py`` and ``engine_fail.py``)."""

from __future__ import annotations

import numba as nb
import numpy as np

from dctwin.cluster.core.layout import (
    ACAP,
    ALEN,
    AOFF,
    BUSY,
    CUR_LIMIT,
    DEFER,
    DOWN,
    DOWN_HOLDER,
    END_S,
    EPOCH,
    EV_REPAIR,
    EV_RESUME,
    FAIL_T,
    FAILED,
    GPUS,
    INF,
    NDOMS,
    NFREE,
    NGPUS,
    PREEMPT_CAP,
    QUEUED,
    RELEASED,
    RESTARTING,
    RESTARTS,
    RNXT,
    SPARE,
    STATE,
)
from dctwin.cluster.core.life import close, preempt, release, resume_wall
from dctwin.cluster.core.queue import requeue
from dctwin.cluster.core.store import (
    draw_comp,
    log_down,
    log_failure,
    log_inference,
    log_training,
    plog_done,
    plog_row,
    pool_region,
    push,
)
from dctwin.cluster.placement import kernels as kn

SHORT_OF_GRANT, SHORT_OF_LIMIT = 0, 1     # what shedding makes room for: an inference grant, or the GPU limit


@nb.njit(inline="always")
def grow(c, f, gpus):
    """Bring GPUs online up to ``gpus`` in total, domains filled in order (``ArrayDomains.grow_to``)."""
    nd = c.st[1]
    cap = kn.HEADER + nd
    has_plan = c.plan.size > 0
    if has_plan and gpus > c.plan.sum():
        raise ValueError("more GPUs online than the domain plan holds")
    while c.s[NGPUS] < gpus:
        d = c.s[NDOMS] - 1
        full = c.plan[d] if has_plan and d >= 0 else f.dom_size
        if d >= 0 and c.st[cap + d] < full:
            k = min(full - c.st[cap + d], gpus - c.s[NGPUS])
        else:
            d += 1
            if d >= nd:
                raise ValueError("more GPUs online than room was made for")
            k = min(c.plan[d] if has_plan else f.dom_size, gpus - c.s[NGPUS])
            c.s[NDOMS] += 1
        c.st[cap + d] += k
        kn.give(c.st, d, k)
        c.s[NFREE] += k
        c.s[NGPUS] += k


@nb.njit
def room(c):
    """GPUs inference may take now: free beyond the spares, and under the limit."""
    return min(c.s[NFREE] - c.s[SPARE], c.s[CUR_LIMIT] - c.s[BUSY] - c.s[INF])


@nb.njit
def short(c, mode, x):
    """GPUs still missing for what shedding makes room for."""
    if mode == SHORT_OF_GRANT:
        return x - room(c)
    return c.s[BUSY] + c.s[INF] - c.s[CUR_LIMIT]


@nb.njit
def shed(c, f, now, mode, x):
    """Preempt training until nothing is missing (``engine_capacity.shed``): deferrable jobs first, then
    lowest priority first; within that, the smallest job that covers the need (latest started on ties), else
    the largest."""
    need = short(c, mode, x)
    if need <= 0:
        return
    for only_deferrable in (True, False):
        for p in range(c.rh.size):
            need = shed_set(c, f, now, mode, x, need, p, only_deferrable)
            if need <= 0:
                return


@nb.njit(inline="always")
def shed_set(c, f, now, mode, x, need, p, only_deferrable):
    """``_shed_set`` for priority rank ``p``; the GPUs still missing. Plain loops, no numpy sort or search:
    those cost the core's compile ~10 s CPU."""
    m = 0
    v = c.rh[p]
    while v >= 0:
        if not only_deferrable or c.ji[v, DEFER]:
            c.scratch[m] = v
            m += 1
        v = c.ji[v, RNXT]
    if m == 0:
        return need
    keys = np.empty(m, np.int64)
    for i in range(m):                                  # by size, start order kept within a size
        keys[i] = c.ji[c.scratch[i], GPUS] * m + i
    heap_sort(keys)
    jobs = np.empty(m, np.int64)
    lo = np.empty(m, np.int64)                          # group g: jobs[lo[g]:hi[g]] of size unique[g]
    hi = np.empty(m, np.int64)
    unique = np.empty(m, np.int64)
    n_groups = 0
    for i in range(m):
        jobs[i] = c.scratch[keys[i] % m]
        g = keys[i] // m
        if n_groups == 0 or unique[n_groups - 1] != g:
            unique[n_groups], lo[n_groups] = g, i
            n_groups += 1
        hi[n_groups - 1] = i + 1
    while True:
        i = first_at_least(unique, n_groups, need)     # smallest size covering the need ...
        while i < n_groups and hi[i] == lo[i]:
            i += 1
        if i == n_groups:                               # ... else the largest left
            i -= 1
            while i >= 0 and hi[i] == lo[i]:
                i -= 1
            if i < 0:
                return need
        hi[i] -= 1
        best = jobs[hi[i]]
        preempt(c, f, best, now)
        requeue(c, best)
        c.s[PREEMPT_CAP] += 1
        need = short(c, mode, x)
        if need <= 0:
            return need


@nb.njit
def first_at_least(a, n, x):
    """Index of the first of the ascending ``a[:n]`` that is >= ``x`` (``n`` if none): ``searchsorted`` left."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@nb.njit
def heap_sort(a):
    """Sort the distinct int64 keys ``a`` ascending, in place."""
    n = a.size
    for root in range((n >> 1) - 1, -1, -1):
        sift_down(a, root, n)
    for end in range(n - 1, 0, -1):
        a[0], a[end] = a[end], a[0]
        sift_down(a, 0, end)


@nb.njit
def sift_down(a, i, n):
    while True:
        k = 2 * i + 1
        if k >= n:
            return
        if k + 1 < n and a[k + 1] > a[k]:
            k += 1
        if a[i] >= a[k]:
            return
        a[i], a[k] = a[k], a[i]
        i = k


@nb.njit(inline="always")
def step_capacity(c, f, k, now):
    """Apply step ``k``'s online GPUs, GPU limit and inference need (``engine_capacity.step_capacity``)."""
    if c.online[k] > c.s[NGPUS]:
        grow(c, f, c.online[k])
        c.s[RELEASED] = 1
    c.s[SPARE] = int(f.spare_fraction * c.online[k])
    old_limit = c.s[CUR_LIMIT]
    lim = c.limit[k]
    c.s[CUR_LIMIT] = lim
    if lim > old_limit:
        c.s[RELEASED] = 1
    target = min(c.inf_need[k], lim, c.s[NGPUS] - c.s[DOWN])
    if target > c.s[INF]:
        x = target - c.s[INF]
        if f.inference_preempts and x > room(c):
            shed(c, f, now, np.int64(SHORT_OF_GRANT), x)
        x = max(0, min(x, room(c)))
        if x:
            grant(c, f, now, x)
    elif target < c.s[INF]:
        y = c.s[INF] - target
        c.s[INF] -= y
        log_inference(c, now, -y)
        rows = kn.give_back(c.st, y, now, c.rows)
        if rows < 0:
            raise AssertionError("freeing inference GPUs a domain does not hold (double free)")
        c.s[NFREE] += y
        for i in range(rows):
            plog_row(c, now, c.rows[4 * i + 1], c.rows[4 * i + 2], c.rows[4 * i + 3])
        plog_done(c, f.plog_limit, now)
        c.s[RELEASED] = 1
    c.shortfall[k] = c.inf_need[k] - c.s[INF]
    if c.s[BUSY] + c.s[INF] > lim:
        shed(c, f, now, np.int64(SHORT_OF_LIMIT), np.int64(0))   # int64, not constants: compiled once


@nb.njit(inline="always")
def grant(c, f, now, x):
    """``x`` GPUs to inference, packed (``grant_inference``)."""
    rows = kn.grant(c.st, x, now, c.rows)
    c.s[NFREE] -= x
    for i in range(rows):
        plog_row(c, now, c.rows[4 * i + 1], c.rows[4 * i + 2], c.rows[4 * i + 3])
    plog_done(c, f.plog_limit, now)
    c.s[INF] += x
    log_inference(c, now, x)


@nb.njit(inline="always")
def fail(c, f, rng, j, now):
    """Job ``j`` fails at ``now`` (``engine_fail.fail``)."""
    close(c, f, j, now, np.bool_(False))
    c.ji[j, RESTARTS] += 1
    comp = draw_comp(c, rng, c.cdf)
    log_failure(c, now, j, comp)
    c.ji[j, EPOCH] += 1
    resume_wall(c, f, j)
    if c.node_down[comp]:
        if not node_down(c, f, j, now):
            return
    if c.ji[j, RESTARTS] > f.max_restarts:
        release(c, f, j, now)
        c.ji[j, STATE] = FAILED
        c.jf[j, END_S] = now
        return
    c.ji[j, STATE] = RESTARTING
    c.jf[j, FAIL_T] = now
    push(c, now + f.detect_s, np.int64(EV_RESUME), j, c.ji[j, EPOCH])


@nb.njit(inline="always")
def node_down(c, f, j, now):
    """A node of job ``j``'s first piece goes down for repair; a free GPU replaces it, else the job gives
    back the rest and waits (``_release_short``). True if the job keeps running."""
    off = c.ji[j, AOFF]
    d = c.pool[off]
    k = min(f.node_gpus, c.pool[off + 1])
    c.pool[off + 1] -= k
    if c.pool[off + 1] == 0:
        m = c.ji[j, ALEN] - 1
        c.pool[off:off + 2 * m] = c.pool[off + 2:off + 2 * m + 2].copy()
        c.ji[j, ALEN] = m
    plog_row(c, now, j, d, -k)
    plog_done(c, f.plog_limit, now)
    plog_row(c, now, np.int64(DOWN_HOLDER), d, k)
    plog_done(c, f.plog_limit, now)
    c.s[BUSY] -= k
    log_training(c, now, -k)
    c.s[DOWN] += k
    c.down_dom[d] += k
    log_down(c, now, k)
    push(c, now + f.repair_s, np.int64(EV_REPAIR), d, k)
    if c.s[NFREE] >= k and c.s[CUR_LIMIT] - c.s[BUSY] - c.s[INF] >= k:
        extend(c, f, j, k, now)
        return True
    release(c, f, j, now)
    if c.ji[j, RESTARTS] > f.max_restarts:
        c.ji[j, STATE] = FAILED
        c.jf[j, END_S] = now
    else:
        c.ji[j, STATE] = QUEUED
        requeue(c, j)
    return False


@nb.njit(inline="always")
def extend(c, f, j, k, now):
    """Job ``j`` takes ``k`` more GPUs (replacing a down node), appended to its pieces."""
    m = kn.place(c.st, k, c.out)
    if m < 0:
        raise AssertionError("placement with too few GPUs free")
    c.s[NFREE] -= k
    n = c.ji[j, ALEN]
    off = c.ji[j, AOFF]
    if n + m > c.ji[j, ACAP]:
        new = pool_region(c, n + m)
        if new < 0:
            return
        c.pool[new:new + 2 * n] = c.pool[off:off + 2 * n].copy()
        off = c.ji[j, AOFF] = new
        c.ji[j, ACAP] = n + m
    c.pool[off + 2 * n:off + 2 * (n + m)] = c.out[:2 * m]
    c.ji[j, ALEN] = n + m
    for i in range(m):
        plog_row(c, now, j, c.out[2 * i], c.out[2 * i + 1])
    plog_done(c, f.plog_limit, now)
    c.s[BUSY] += k
    log_training(c, now, k)
