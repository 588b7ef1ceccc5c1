"""A job's life in the core: start, run segment, close, release, end, preemption (``engine.py``'s actions).

Same arithmetic in the same order as the Python engine, so the floats come out bit for bit the same.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from dctwin.cluster.core.layout import (
    ACAP,
    ALEN,
    AOFF,
    BUSY,
    CKPT,
    DONE,
    END_S,
    EPOCH,
    EV_END,
    EV_FAIL,
    FAIL_T,
    FIRST_DOM,
    FIRST_START,
    GPU_S,
    GPUS,
    LOST,
    NCK0,
    NDOM,
    NFREE,
    PREEMPT_LOST,
    PREEMPTS,
    PRIO,
    QUEUED,
    RELEASED,
    REM,
    RESUMED,
    RNXT,
    RPRV,
    RUNNING,
    SEG_BIN,
    SEG_NCK,
    SEG_STARTUP,
    SEG_T0,
    SINCE,
    STATE,
    TAU,
    USEFUL,
    WALL0,
)
from dctwin.cluster.core.store import draw_exp, fen_add, log_training, plog_pieces, pool_region, push
from dctwin.cluster.placement import kernels as kn

_INF = math.inf


@nb.njit
def link(c, j):
    """Job ``j`` joins the end of its priority's running list (``running_by_prio[p][j] = None``)."""
    p = c.ji[j, PRIO]
    tail = c.rt[p]
    c.ji[j, RPRV] = tail
    c.ji[j, RNXT] = -1
    if tail >= 0:
        c.ji[tail, RNXT] = j
    else:
        c.rh[p] = j
    c.rt[p] = j


@nb.njit
def unlink(c, j):
    p = c.ji[j, PRIO]
    a, b = c.ji[j, RPRV], c.ji[j, RNXT]
    if a >= 0:
        c.ji[a, RNXT] = b
    else:
        c.rh[p] = b
    if b >= 0:
        c.ji[b, RPRV] = a
    else:
        c.rt[p] = a


@nb.njit
def place(c, j, g):
    """Topology placement of ``g`` GPUs for job ``j`` into its allocation (a region of the pool, reused
    when it has room); the number of pieces, or -1 on overflow."""
    m = kn.place(c.st, g, c.out)
    if m < 0:
        raise AssertionError("placement with too few GPUs free")
    c.s[NFREE] -= g
    off = c.ji[j, AOFF]
    if m > c.ji[j, ACAP]:
        off = pool_region(c, m)
        if off < 0:
            return -1
        c.ji[j, AOFF] = off
        c.ji[j, ACAP] = m
    c.pool[off:off + 2 * m] = c.out[:2 * m]
    c.ji[j, ALEN] = m
    return m


@nb.njit
def start(c, f, rng, j, now):
    """Place job ``j`` and begin a run segment (``Engine.start``)."""
    g = c.ji[j, GPUS]
    m = place(c, j, g)
    if m < 0:
        return
    plog_pieces(c, now, j, c.ji[j, AOFF], m, np.int64(1), f.plog_limit)
    if m > c.ji[j, NDOM]:
        c.ji[j, NDOM] = m
    if c.jf[j, FIRST_START] < 0:
        c.jf[j, FIRST_START] = now
        c.ji[j, FIRST_DOM] = c.pool[c.ji[j, AOFF]]
    c.ji[j, STATE] = RUNNING
    c.jf[j, SINCE] = now
    link(c, j)
    c.s[BUSY] += g
    log_training(c, now, g)
    begin(c, f, rng, j, now)


@nb.njit
def begin(c, f, rng, j, now):
    """A run segment starts: its failure draw, its end bin, its END or FAIL event (``Engine._begin``)."""
    wall, nck = c.jf[j, WALL0], c.ji[j, NCK0]
    startup = f.restart_s if c.ji[j, RESUMED] else 0.0
    ep = c.ji[j, EPOCH] + 1
    c.ji[j, EPOCH] = ep
    g = c.ji[j, GPUS]
    lam = g * f.lam
    tf = draw_exp(c, rng) / lam if lam > 0 else _INF
    b = int((now + wall) / f.bin_s)
    if b >= f.fen_n:
        b = f.fen_n - 1
    c.jf[j, SEG_T0] = now
    c.jf[j, SEG_STARTUP] = startup
    c.ji[j, SEG_NCK] = nck
    c.ji[j, SEG_BIN] = b
    fen_add(c, f.fen_n, b, g)
    if tf < wall:
        push(c, now + tf, np.int64(EV_FAIL), j, ep)
    else:
        push(c, now + wall, np.int64(EV_END), j, ep)


@nb.njit
def close(c, f, j, now, partial_useful):
    """Account a run segment stopped at ``now`` (``Engine._close``)."""
    g = c.ji[j, GPUS]
    fen_add(c, f.fen_n, c.ji[j, SEG_BIN], -g)
    t0, startup, nck, tau = c.jf[j, SEG_T0], c.jf[j, SEG_STARTUP], c.ji[j, SEG_NCK], c.jf[j, TAU]
    e = now - t0
    if e <= startup:
        c.jf[j, LOST] += g * e
        return
    x = e - startup
    k = min(int(x // (tau + f.ckpt_s)), nck) if nck else 0
    saved = k * tau if k else 0.0
    partial = x - k * (tau + f.ckpt_s) if k else x
    c.jf[j, REM] -= saved
    c.jf[j, CKPT] += g * k * f.ckpt_s
    if partial > tau:
        c.jf[j, CKPT] += g * (partial - tau)
        partial = tau
    if partial_useful:
        c.jf[j, USEFUL] += g * (saved + partial)
        c.jf[j, REM] -= partial
        c.jf[j, LOST] += g * startup
    else:
        c.jf[j, USEFUL] += g * saved
        c.jf[j, LOST] += g * (startup + partial)


@nb.njit
def give_pieces(c, j):
    """Free every piece job ``j`` holds; the GPUs given back."""
    off, m = c.ji[j, AOFF], c.ji[j, ALEN]
    k = 0
    for i in range(m):
        d, n = c.pool[off + 2 * i], c.pool[off + 2 * i + 1]
        if kn.give(c.st, d, n) < 0:
            raise AssertionError("freeing GPUs a domain does not hold (double free)")
        k += n
    c.s[NFREE] += k
    c.ji[j, ALEN] = 0
    return k


@nb.njit
def release(c, f, j, now):
    """Give back every GPU job ``j`` holds (``Engine._release``)."""
    plog_pieces(c, now, j, c.ji[j, AOFF], c.ji[j, ALEN], np.int64(-1), f.plog_limit)
    k = give_pieces(c, j)
    c.s[BUSY] -= k
    log_training(c, now, -k)
    c.jf[j, GPU_S] += c.ji[j, GPUS] * (now - c.jf[j, SINCE])
    unlink(c, j)
    c.s[RELEASED] = 1


@nb.njit
def end(c, f, j, now):
    """Job ``j`` finished its work (``Engine._end``)."""
    g = c.ji[j, GPUS]
    fen_add(c, f.fen_n, c.ji[j, SEG_BIN], -g)
    c.jf[j, USEFUL] += g * c.jf[j, REM]
    c.jf[j, REM] = 0.0
    c.jf[j, CKPT] += g * c.ji[j, SEG_NCK] * f.ckpt_s
    c.jf[j, LOST] += g * c.jf[j, SEG_STARTUP]
    release(c, f, j, now)
    c.ji[j, STATE] = DONE
    c.jf[j, END_S] = now


@nb.njit
def resume_wall(c, f, j):
    """Job ``j`` was stopped: its next segment's wall time and checkpoints (``Engine.resume_wall``)."""
    c.ji[j, RESUMED] = 1
    w = c.jf[j, REM]
    tau = c.jf[j, TAU]
    nck = max(0, math.ceil(w / tau) - 1) if tau != _INF and w > 0 else 0
    c.jf[j, WALL0] = f.restart_s + w + nck * f.ckpt_s
    c.ji[j, NCK0] = nck


@nb.njit
def preempt(c, f, j, now):
    """Stop job ``j``, free its GPUs, leave it to be queued again (``Engine.preempt`` before ``requeue``)."""
    before = c.jf[j, LOST]
    if c.ji[j, STATE] == RUNNING:
        close(c, f, j, now, np.bool_(False))
    else:
        c.jf[j, LOST] += c.ji[j, GPUS] * (now - c.jf[j, FAIL_T])
    c.sf[PREEMPT_LOST] += c.jf[j, LOST] - before
    c.ji[j, EPOCH] += 1
    release(c, f, j, now)
    c.ji[j, PREEMPTS] += 1
    resume_wall(c, f, j)
    c.ji[j, STATE] = QUEUED
