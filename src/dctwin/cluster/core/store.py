"""The core's containers: event heap, Fenwick tree of releases, change logs, placement log, pieces, draws.

Each append checks its buffer's room; a full buffer sets ``s[STATUS]`` and writes nothing (``layout.py``:
the run is then repeated with a larger buffer), so no write ever leaves an array.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from dctwin.cluster.core.layout import (
    COMP_I,
    DNN,
    DRAW_CHUNK,
    DROPPED_AT,
    EXP_I,
    FLN,
    HLEN,
    INN,
    OV_DN,
    OV_FAIL,
    OV_HEAP,
    OV_PLOG,
    OV_POOL,
    OV_TR,
    PDROP,
    PLEN,
    POOL,
    SEQ,
    STATUS,
    TRN,
)


@nb.njit
def overflow(c, which):
    if c.s[STATUS] == 0:
        c.s[STATUS] = which


# ---- event heap: entries (t, seq, kind, a, b), ordered by (t, seq) -----------------------------------------
@nb.njit
def _before(c, i, k):
    """Entry ``i`` comes before entry ``k``."""
    return c.ht[i] < c.ht[k] or (c.ht[i] == c.ht[k] and c.hp[i, 0] < c.hp[k, 0])


@nb.njit
def _swap(c, i, k):
    c.ht[i], c.ht[k] = c.ht[k], c.ht[i]
    for m in range(4):
        c.hp[i, m], c.hp[k, m] = c.hp[k, m], c.hp[i, m]


@nb.njit
def push(c, t, kind, a, b):
    """Schedule event ``kind`` on ``a, b`` at ``t`` (takes the next sequence number, as ``Engine._push``)."""
    c.s[SEQ] += 1
    n = c.s[HLEN]
    if n == c.ht.size:
        overflow(c, np.int64(OV_HEAP))
        return
    c.ht[n] = t
    c.hp[n, 0] = c.s[SEQ]
    c.hp[n, 1] = kind
    c.hp[n, 2] = a
    c.hp[n, 3] = b
    c.s[HLEN] = n + 1
    while n > 0:
        parent = (n - 1) >> 1
        if not _before(c, n, parent):
            break
        _swap(c, n, parent)
        n = parent


@nb.njit
def pop(c):
    """Drop the first entry (read it from ``ht[0]``, ``hp[0]`` before)."""
    n = c.s[HLEN] - 1
    c.s[HLEN] = n
    if n == 0:
        return
    c.ht[0] = c.ht[n]
    c.hp[0, :] = c.hp[n, :]
    i = 0
    while True:
        m = 2 * i + 1
        if m >= n:
            break
        if m + 1 < n and _before(c, m + 1, m):
            m += 1
        if not _before(c, m, i):
            break
        _swap(c, i, m)
        i = m


# ---- Fenwick tree over release bins (fenwick.py without its update buffer: same sums) ----------------------
@nb.njit
def fen_add(c, n, i, v):
    i += 1
    while i <= n:
        c.tree[i] += v
        i += i & -i


@nb.njit
def fen_prefix(c, i):
    i += 1
    total = 0
    while i > 0:
        total += c.tree[i]
        i -= i & -i
    return total


@nb.njit
def fen_first_reaching(c, n, top, x):
    """Smallest bin with prefix sum >= ``x``; ``n`` when none (``Fenwick.first_reaching``)."""
    pos = 0
    rem = x
    step = top
    while step:
        nxt = pos + step
        if nxt <= n and c.tree[nxt] < rem:
            pos = nxt
            rem -= c.tree[nxt]
        step >>= 1
    return pos


# ---- change logs -------------------------------------------------------------------------------------------
# One function per log, not one append taking the log's arrays as arguments: passing arrays out of the core's
# structref costs reference counting on every call, measured +1 s CPU on the default year (start and end of each job).
@nb.njit
def log_training(c, t, change):
    n = c.s[TRN]
    if n == c.tr_t.size:
        overflow(c, np.int64(OV_TR))
        return
    c.tr_t[n] = t
    c.tr_d[n] = change
    c.s[TRN] = n + 1


@nb.njit
def log_inference(c, t, change):
    n = c.s[INN]                      # at most one change a step: sized to the steps, never full
    c.in_t[n] = t
    c.in_d[n] = change
    c.s[INN] = n + 1


@nb.njit
def log_down(c, t, change):
    n = c.s[DNN]
    if n == c.dn_t.size:
        overflow(c, np.int64(OV_DN))
        return
    c.dn_t[n] = t
    c.dn_d[n] = change
    c.s[DNN] = n + 1


@nb.njit
def log_failure(c, t, j, comp):
    n = c.s[FLN]
    if n == c.fl_t.size:
        overflow(c, np.int64(OV_FAIL))
        return
    c.fl_t[n] = t
    c.fl_j[n] = j
    c.fl_c[n] = comp
    c.s[FLN] = n + 1


@nb.njit
def plog_row(c, t, holder, d, change):
    """One placement-log row (``PlacementLog.one``); the bound is checked by ``plog_done``."""
    if c.s[PDROP]:
        return
    n = c.s[PLEN]
    if n + 4 > c.plog.size:
        overflow(c, np.int64(OV_PLOG))
        return
    c.plog[n] = t
    c.plog[n + 1] = holder
    c.plog[n + 2] = d
    c.plog[n + 3] = change
    c.s[PLEN] = n + 4


@nb.njit
def plog_done(c, limit, t):
    """After an add: past the bound the log is dropped whole, as ``PlacementLog._drop``."""
    if not c.s[PDROP] and c.s[PLEN] > limit:
        c.s[PDROP] = 1
        c.s[PLEN] = 0
        c.sf[DROPPED_AT] = t


@nb.njit
def plog_pieces(c, t, holder, off, m, sign, limit):
    """Rows of ``m`` pieces at ``pool[off:]`` taken (``sign`` +1) or given back (-1) by ``holder``."""
    for i in range(m):
        plog_row(c, t, holder, c.pool[off + 2 * i], sign * c.pool[off + 2 * i + 1])
    plog_done(c, limit, t)


# ---- allocation pieces -------------------------------------------------------------------------------------
@nb.njit
def pool_region(c, pieces):
    """Offset of a new region of room for ``pieces`` pieces, or -1 (overflow)."""
    off = c.s[POOL]
    if off + 2 * pieces > c.pool.size:
        overflow(c, np.int64(OV_POOL))
        return -1
    c.s[POOL] = off + 2 * pieces
    return off


# ---- random draws: the Python engine's chunks, in the same order ---------------------------------------------
@nb.njit
def draw_exp(c, rng):
    i = c.s[EXP_I]
    if i == DRAW_CHUNK:
        c.exp[:] = rng.standard_exponential(DRAW_CHUNK)
        i = 0
    c.s[EXP_I] = i + 1
    return c.exp[i]


@nb.njit
def draw_comp(c, rng, cdf):
    i = c.s[COMP_I]
    if i == DRAW_CHUNK:
        u = rng.random(DRAW_CHUNK)
        for k in range(DRAW_CHUNK):                # np.searchsorted(cdf, u, side="right"), a loop: compiles faster
            lo, hi = 0, cdf.size
            while lo < hi:
                mid = (lo + hi) >> 1
                if cdf[mid] <= u[k]:
                    lo = mid + 1
                else:
                    hi = mid
            c.comp[k] = lo
        i = 0
    c.s[COMP_I] = i + 1
    return c.comp[i]
