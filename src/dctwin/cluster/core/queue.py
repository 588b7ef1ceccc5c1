"""The core's scheduling policies: FIFO and EASY backfill (``policies/fifo.py``, ``policies/easy_backfill.py``).

The queue is the deque of the Python policies: jobs requeued at its front sit on a stack (``qf``, last =
first in the queue), submitted jobs in arrival order in ``qb[QH:QT]``. EASY keeps the same window state as
its Python class (``_wmin``, ``_base``, ``_live``, ``_seen``), so every pass makes the same decisions.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from dctwin.cluster.core.layout import (
    BASE,
    BUSY,
    CANCELLED,
    CUR_LIMIT,
    DEADLINE,
    END_S,
    FIRST_START,
    GPUS,
    INF,
    LIVE_N,
    NFREE,
    NO_WMIN,
    OV_REQUEUE,
    QF,
    QH,
    QT,
    QUEUED,
    SEEN,
    SPARE,
    STATE,
    WALL0,
    WMIN,
)
from dctwin.cluster.core.life import start
from dctwin.cluster.core.store import fen_first_reaching, fen_prefix, overflow


@nb.njit
def q_len(c):
    return c.s[QF] + c.s[QT] - c.s[QH]


@nb.njit
def q_at(c, i):
    nf = c.s[QF]
    return c.qf[nf - 1 - i] if i < nf else c.qb[c.s[QH] + i - nf]


@nb.njit
def q_push(c, f, j):
    """A submitted job joins the back (``push``)."""
    c.qb[c.s[QT]] = j
    c.s[QT] += 1
    w = c.s[WMIN]
    n = q_len(c)
    if f.easy and w != NO_WMIN and 2 <= n <= f.depth + 1 and c.ji[j, GPUS] < w:
        c.s[WMIN] = c.ji[j, GPUS]


@nb.njit
def requeue(c, j):
    """A stopped job goes back to the front (``requeue``)."""
    n = c.s[QF]
    if n == c.qf.size:
        overflow(c, np.int64(OV_REQUEUE))
        return
    c.qf[n] = j
    c.s[QF] = n + 1
    c.s[BASE] -= 1
    c.s[WMIN] = NO_WMIN
    c.s[LIVE_N] = -1


@nb.njit
def q_popleft(c, f):
    if c.s[QF]:
        c.s[QF] -= 1
    else:
        c.s[QH] += 1
    c.s[BASE] += 1
    w = c.s[WMIN]
    if f.easy and w != NO_WMIN and q_len(c) > f.depth:
        g = c.ji[q_at(c, f.depth), GPUS]
        if g < w:
            c.s[WMIN] = g


@nb.njit
def avail(c):
    """GPUs a job may take now (``Engine.avail``)."""
    room = c.s[CUR_LIMIT] - c.s[BUSY] - c.s[INF]
    free = c.s[NFREE] - c.s[SPARE]
    return free if free < room else room


@nb.njit
def expired(c, j, now):
    """``Engine.expired``: a job that never started and waited past its deadline is cancelled."""
    if now > c.jf[j, DEADLINE] and c.jf[j, FIRST_START] < 0:
        c.ji[j, STATE] = CANCELLED
        c.jf[j, END_S] = c.jf[j, DEADLINE]
        return True
    return False


@nb.njit
def head(c, f, now):
    """The first live queued job (stale entries dropped), or -1 (``Fifo._head``)."""
    while q_len(c):
        j = q_at(c, 0)
        if c.ji[j, STATE] != QUEUED or expired(c, j, now):
            q_popleft(c, f)
            continue
        return j
    return -1


@nb.njit(inline="always")
def start_heads(c, f, rng, now):
    """Start queue heads while they fit; the blocked head, or -1."""
    while True:
        j = head(c, f, now)
        if j < 0 or c.ji[j, GPUS] > avail(c):
            return j
        q_popleft(c, f)
        start(c, f, rng, j, now)


@nb.njit(inline="always")
def window_live(c, f):
    """``EasyBackfill._window_live``: (position, job) of the window's waiting jobs in ``live_pos/live_job``."""
    base = c.s[BASE]
    hi = base + min(f.depth, q_len(c) - 1)
    n = c.s[LIVE_N]
    if n < 0:
        n = 0
        for i in range(1, hi - base + 1):
            j = q_at(c, i)
            if c.ji[j, STATE] == QUEUED:
                c.live_pos[n], c.live_job[n] = base + i, j
                n += 1
    else:
        lo = base + 1
        k = 0
        while k < n and c.live_pos[k] < lo:
            k += 1
        m = 0
        for i in range(k, n):
            if c.ji[c.live_job[i], STATE] == QUEUED:
                c.live_pos[m], c.live_job[m] = c.live_pos[i], c.live_job[i]
                m += 1
        n = m
        for a in range(max(c.s[SEEN] + 1, lo), hi + 1):
            j = q_at(c, a - base)
            if c.ji[j, STATE] == QUEUED:
                c.live_pos[n], c.live_job[n] = a, j
                n += 1
    c.s[LIVE_N] = n
    c.s[SEEN] = hi
    return n


@nb.njit(inline="always")
def candidates(c, f, released, first_new, end_new, n_new, avail_now):
    """Jobs EASY may backfill now, into ``scratch``; their number (0: nothing to do)."""
    m = 0
    if released:
        w = c.s[WMIN]
        if w != NO_WMIN and w > avail_now:
            return 0
        n = window_live(c, f)
        lowest = 1 << 62
        for i in range(n):
            g = c.ji[c.live_job[i], GPUS]
            if g <= avail_now:
                c.scratch[m] = c.live_job[i]
                m += 1
            lowest = min(lowest, g)
        if m == 0:
            c.s[WMIN] = lowest
    elif n_new and q_len(c) <= f.depth + n_new:
        for j in range(first_new, end_new):
            if c.ji[j, STATE] == QUEUED and c.ji[j, GPUS] <= avail_now:
                c.scratch[m] = j
                m += 1
    return m


@nb.njit
def end_bin(c, f, j, now):
    b = int((now + c.jf[j, WALL0]) / f.bin_s)
    return b if b < f.fen_n else f.fen_n - 1


@nb.njit(inline="always")
def schedule(c, f, rng, now, released, first_new, end_new, n_new):
    """One scheduling pass (``Fifo.schedule`` or ``EasyBackfill.schedule``)."""
    hd = start_heads(c, f, rng, now)
    if hd < 0 or not f.easy:
        return
    av = avail(c)
    if av <= 0:
        return
    m = candidates(c, f, released, first_new, end_new, n_new, av)
    if m == 0:
        return
    shadow = fen_first_reaching(c, f.fen_n, f.fen_top, c.ji[hd, GPUS] - av)
    extra = av + fen_prefix(c, shadow if shadow < f.fen_n else f.fen_n - 1) - c.ji[hd, GPUS]
    for i in range(m):
        j = c.scratch[i]
        g = c.ji[j, GPUS]
        if j == hd or c.ji[j, STATE] != QUEUED or g > av or expired(c, j, now):
            continue
        early = end_bin(c, f, j, now) < shadow
        if g > extra and not early:
            continue
        if avail(c) < g:          # shape_ok without a gang rule: free and under the cap
            continue
        start(c, f, rng, j, now)
        av -= g
        if not early:
            extra -= g
        if av <= 0:
            return
