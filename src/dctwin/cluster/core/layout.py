"""Where the compiled engine core keeps its state: per-job columns, run scalars and buffers.

Everything the Python engine (``engine.py``) keeps in per-job lists and attributes lives here in
numpy arrays, so that the whole run is one call into compiled code. The names mirror the Python
engine's attributes (``engine.py``), and the layout is the only thing the core's modules share.

- ``ji[j, c]`` (int64) and ``jf[j, c]`` (float64): one row per job, the columns below.
- ``s[c]`` (int64) and ``sf[c]`` (float64): run scalars (counters, buffer lengths, queue pointers).
- ``CoreType``: the arrays of one run as one numba structure (``make_core``), passed to every function.
- ``Conf``: the run's fixed scalar parameters (a named tuple: no reference counts).

A constant passed to a core function is wrapped, ``np.int64(EV_END)``: numba compiles a function once per
literal argument value otherwise (seven copies of ``overflow``, four of ``push``).

Buffers whose size depends on the history (event heap, change logs, placement log, failure log,
requeued jobs, allocation pieces) are sized from estimates; one that overflows stops the run with
``s[STATUS]`` naming it, and the caller runs again from the start with that buffer doubled
(``run.py``): the run is deterministic, so the retry gives exactly the result an unbounded buffer would.
"""

from __future__ import annotations

from collections import namedtuple

import numba as nb
from numba.core import types
from numba.experimental import structref

# job states and event kinds: the values of engine.py
PENDING, QUEUED, RUNNING, RESTARTING, DONE, FAILED, CANCELLED = range(7)
EV_END, EV_FAIL, EV_RESUME, EV_REPAIR = range(4)
INFERENCE_HOLDER, DOWN_HOLDER = -1, -2           # placement log holder codes (placement/log.py)

# ji columns
(GPUS, PRIO, STATE, RESTARTS, PREEMPTS, NDOM, FIRST_DOM, EPOCH, RESUMED, NCK0, SEG_NCK, SEG_BIN, DEFER,
 RNXT, RPRV, AOFF, ALEN, ACAP) = range(18)
NI = 18
# jf columns
(SUBMIT, DEADLINE, REM, FIRST_START, END_S, LOST, CKPT, USEFUL, GPU_S, SINCE, FAIL_T, WALL0, TAU, SEG_T0,
 SEG_STARTUP) = range(15)
NF = 15

# s scalars
(BUSY, INF, DOWN, SPARE, CUR_LIMIT, SEQ, EVENTS, RELEASED, PREEMPT_CAP, NFREE, NGPUS, NDOMS, ISUB, ISTEP,
 HLEN, PLEN, PDROP, TRN, INN, DNN, FLN, EXP_I, COMP_I, POOL, QF, QH, QT, WMIN, BASE, LIVE_N, SEEN, STATUS,
 NEW_N) = range(33)
NS = 33
# sf scalars
PREEMPT_LOST, DROPPED_AT = range(2)
NSF = 2

# s[STATUS]: 0 running or done, else the buffer that overflowed
OVERFLOWS = ("heap", "training_log", "down_log", "failure_log", "placement_log", "requeued", "pieces")
(OV_HEAP, OV_TR, OV_DN, OV_FAIL, OV_PLOG, OV_REQUEUE, OV_POOL) = range(1, 8)

DRAW_CHUNK = 1 << 14     # random draws taken at a time, as engine.py (same stream, same order)
NO_WMIN = -1             # s[WMIN] when EASY's lower bound is unknown (``None`` in easy_backfill.py)

_I1, _I2 = types.Array(types.int64, 1, "C"), types.Array(types.int64, 2, "C")
_F1, _F2 = types.Array(types.float64, 1, "C"), types.Array(types.float64, 2, "C")
_B1 = types.Array(types.bool_, 1, "C")
FIELDS = {
    "ji": _I2, "jf": _F2, "s": _I1, "sf": _F1,
    "ht": _F1, "hp": _I2,                # event heap: time [s]; (seq, kind, a, b)
    "tree": _I1,                         # Fenwick tree of GPUs released per time bin (1-based)
    "tr_t": _F1, "tr_d": _I1, "in_t": _F1, "in_d": _I1, "dn_t": _F1, "dn_d": _I1,  # training, inference, down
    "fl_t": _F1, "fl_j": _I1, "fl_c": _I1,   # failure log: time, job, component
    "plog": _F1,                         # placement log, 4 floats a row
    "pool": _I1,                         # allocation pieces [d, k, ...]; job j's at ji[j, AOFF], ji[j, ALEN] pieces
    "st": _I1, "out": _I1, "rows": _F1,  # domain state (placement/kernels.py) and its scratch arrays
    "qf": _I1, "qb": _I1,                # queue: requeued jobs (a stack, last = head) and submitted jobs in order
    "live_pos": _I1, "live_job": _I1,    # EASY: the window's waiting jobs
    "rh": _I1, "rt": _I1,                # running jobs per priority rank: first and last (linked by RNXT/RPRV)
    "exp": _F1, "comp": _I1,             # chunks of exponential draws and failure components
    "down_dom": _I1,                     # GPUs down per domain
    "shortfall": _I1,                    # inference GPUs missing per step
    "scratch": _I1,                      # candidate jobs of a backfill pass or a shedding
    "online": _I1, "limit": _I1, "inf_need": _I1, "changes": _B1,   # per step
    "plan": _I1,                         # GPUs of each domain (empty: all of ``Conf.dom_size``)
    "node_down": _B1, "cdf": _F1,        # per failure component: takes a node down; cumulative probability
}


@structref.register
class CoreType(types.StructRef):
    """The arrays of one run as one object: passing it to a function costs one reference count, where a tuple
    of arrays costs one per array (~1 us a call for this many)."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(t)) for name, t in fields)


CORE = CoreType(list(FIELDS.items()))
Arrays = namedtuple("Arrays", list(FIELDS))     # the same arrays on the Python side


@nb.njit
def make_core(a):
    """The ``CoreType`` object of the arrays ``a`` (an ``Arrays``)."""
    c = structref.new(CORE)
    c.ji = a.ji
    c.jf = a.jf
    c.s = a.s
    c.sf = a.sf
    c.ht = a.ht
    c.hp = a.hp
    c.tree = a.tree
    c.tr_t = a.tr_t
    c.tr_d = a.tr_d
    c.in_t = a.in_t
    c.in_d = a.in_d
    c.dn_t = a.dn_t
    c.dn_d = a.dn_d
    c.fl_t = a.fl_t
    c.fl_j = a.fl_j
    c.fl_c = a.fl_c
    c.plog = a.plog
    c.pool = a.pool
    c.st = a.st
    c.out = a.out
    c.rows = a.rows
    c.qf = a.qf
    c.qb = a.qb
    c.live_pos = a.live_pos
    c.live_job = a.live_job
    c.rh = a.rh
    c.rt = a.rt
    c.exp = a.exp
    c.comp = a.comp
    c.down_dom = a.down_dom
    c.shortfall = a.shortfall
    c.scratch = a.scratch
    c.online = a.online
    c.limit = a.limit
    c.inf_need = a.inf_need
    c.changes = a.changes
    c.plan = a.plan
    c.node_down = a.node_down
    c.cdf = a.cdf
    return c


Conf = namedtuple("Conf", [
    "step_s", "n_steps", "t_end", "lam", "ckpt_s", "restart_s", "detect_s", "repair_s", "node_gpus",
    "max_restarts", "inference_preempts", "spare_fraction", "bin_s", "fen_n", "fen_top", "depth", "easy",
    "max_gpus", "plog_limit", "dom_size", "audit",
])
