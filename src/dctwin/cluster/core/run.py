"""Run an ``Engine`` in the compiled core: its state packed into arrays, one compiled loop, results back.

``run_core(eng)`` runs an engine the core serves (``engine_path.core_serves``: FIFO or EASY backfill, the
topology placement, one GPU type, no gang rule) and leaves on ``eng`` the same per-job
columns, change logs, failure log and placement log as the Python loop (``engine_loop.run_engine``), byte
for byte (tests/test_engine_paths.py).
"""

from __future__ import annotations

import math

import numpy as np

from dctwin.cluster.core import layout as L
from dctwin.cluster.core.layout import Arrays, Conf
from dctwin.cluster.core.loop import finish_books, run_slice
from dctwin.cluster.core.warm import announce_compile
from dctwin.cluster.placement import kernels as kn
from dctwin.progress import sink as progress_sink

__all__ = ["run_core"]


def run_core(eng) -> None:
    """Run ``eng`` to the end of its span; a buffer that overflows is doubled and the run repeated."""
    rng_state = eng.rng.bit_generator.state
    sizes = _estimates(eng)
    while True:
        c, f = _pack(eng, sizes)
        _drive(c, f, eng.rng)
        status = int(c.s[L.STATUS])
        if status == 0:
            break
        which = L.OVERFLOWS[status - 1]
        sizes[which] *= 2
        eng.rng.bit_generator.state = rng_state
    finish_books(c, f)
    _unpack(eng, c)


def _drive(c, f, rng) -> None:
    """The loop in slices of steps, reporting progress between them."""
    announce_compile((run_slice, (c, f, rng, 0.0)), (finish_books, (c, f)))  # a cold cache: ~30 s, say so
    hook = progress_sink()
    if hook is None or f.n_steps == 0:
        run_slice(c, f, rng, math.inf)
        return
    tick = max(1, f.n_steps // 200)
    k = tick
    while not run_slice(c, f, rng, float(k * f.step_s)) and c.s[L.STATUS] == 0:
        hook(min(k, f.n_steps) / f.n_steps)
        k += tick


def _estimates(eng) -> dict[str, int]:
    """First sizes of the history-dependent buffers (doubled on overflow)."""
    g = np.asarray(eng.gpus, dtype=np.int64)
    n = g.size
    dom = eng.dom
    pieces = int((-(-g // dom.size)).sum()) + n
    fails = int(eng.lam * float((g * np.asarray(eng.rem, dtype=np.float64)).sum()) * 1.5) + 4096
    top = max(eng.online, default=0)
    return {"heap": min(n, top) + 4096, "training_log": 2 * n + n // 4 + 4096, "down_log": 2 * fails,
            "failure_log": fails, "placement_log": 4 * (2 * pieces + 2 * eng.n_steps + 4096),
            "requeued": n // 8 + 4096, "pieces": 2 * pieces + pieces // 4 + 4096}


def _domain_state(eng, top: int) -> np.ndarray:
    dom = eng.dom
    nd = len(dom.plan) if dom.plan is not None else max(1, -(-top // dom.size))
    st = np.zeros(kn.state_words(dom.size, nd), dtype=np.int64)
    st[:4] = (dom.size, nd, -1, -1)
    return st


def _jobs(eng) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-job int and float columns, and the number of priority ranks."""
    n = eng.n
    ji = np.zeros((n, L.NI), dtype=np.int64)
    jf = np.zeros((n, L.NF), dtype=np.float64)
    ji[:, L.GPUS] = eng.gpus
    ranks, ji[:, L.PRIO] = np.unique(np.asarray(eng.prio, dtype=np.int64), return_inverse=True)
    ji[:, L.STATE] = L.PENDING
    ji[:, L.FIRST_DOM] = -1
    ji[:, L.NCK0] = eng.nck0
    ji[:, L.DEFER] = eng.deferrable
    ji[:, L.RNXT] = ji[:, L.RPRV] = -1
    jf[:, L.SUBMIT] = eng.submit
    jf[:, L.DEADLINE] = eng.deadline
    jf[:, L.REM] = eng.rem
    jf[:, L.FIRST_START] = -1.0
    jf[:, L.END_S] = math.inf
    jf[:, L.WALL0] = eng.wall0
    jf[:, L.TAU] = eng.tau0
    return ji, jf, max(1, ranks.size)


def _per_run(eng) -> tuple[Conf, dict]:
    """The run's scalars (each cast to one type: a field typed int here and float there would compile the
    core a second time) and its per-step and per-component arrays."""
    fm = eng.fm
    fen_n = int(eng.releases.n)
    plan = np.asarray(eng.dom.plan if eng.dom.plan is not None else [], dtype=np.int64)
    conf = Conf(
        step_s=int(eng.step_s), n_steps=int(eng.n_steps), t_end=float(eng.t_end), lam=float(eng.lam),
        ckpt_s=float(eng.C), restart_s=float(fm.restart_s), detect_s=float(fm.detect_s),
        repair_s=float(fm.repair_s), node_gpus=int(fm.node_gpus), max_restarts=int(eng.max_restarts),
        inference_preempts=bool(eng.inference_preempts), spare_fraction=float(eng.spare_fraction),
        bin_s=float(eng.bin_s), fen_n=fen_n, fen_top=1 << (fen_n.bit_length() - 1) if fen_n else 0,
        depth=int(eng.policy.depth), easy=type(eng.policy).name == "easy_backfill",
        max_gpus=int(max(eng.online, default=0)), plog_limit=int(eng.plog.limit), dom_size=int(eng.dom.size),
        audit=bool(eng.audit_each_batch))
    return conf, dict(
        online=np.asarray(eng.online, dtype=np.int64), limit=np.asarray(eng.limit, dtype=np.int64),
        inf_need=np.asarray(eng.inf_need, dtype=np.int64), changes=np.asarray(eng.step_changes, dtype=np.bool_),
        plan=plan, node_down=np.asarray(fm.node_down, dtype=np.bool_), cdf=fm.component_cdf.astype(np.float64))


def _pack(eng, sizes: dict[str, int]) -> tuple[Arrays, Conf]:
    """Fresh arrays for a run of ``eng`` from its start (buffers of ``sizes``)."""
    f, per_run = _per_run(eng)
    ji, jf, n_ranks = _jobs(eng)
    n = eng.n
    st = _domain_state(eng, f.max_gpus)
    nd = int(st[1])
    s = np.zeros(L.NS, dtype=np.int64)
    s[L.EXP_I] = s[L.COMP_I] = L.DRAW_CHUNK
    s[L.WMIN] = L.NO_WMIN
    s[L.LIVE_N] = -1
    steps = max(1, eng.n_steps)
    plog = min(sizes["placement_log"], f.plog_limit + 4 * nd + 16)
    c = Arrays(
        ji=ji, jf=jf, s=s, sf=np.zeros(L.NSF), ht=np.zeros(sizes["heap"]),
        hp=np.zeros((sizes["heap"], 4), dtype=np.int64), tree=np.zeros(f.fen_n + 1, dtype=np.int64),
        tr_t=np.zeros(sizes["training_log"]), tr_d=np.zeros(sizes["training_log"], dtype=np.int64),
        in_t=np.zeros(steps), in_d=np.zeros(steps, dtype=np.int64),
        dn_t=np.zeros(sizes["down_log"]), dn_d=np.zeros(sizes["down_log"], dtype=np.int64),
        fl_t=np.zeros(sizes["failure_log"]), fl_j=np.zeros(sizes["failure_log"], dtype=np.int64),
        fl_c=np.zeros(sizes["failure_log"], dtype=np.int64), plog=np.zeros(plog),
        pool=np.zeros(sizes["pieces"], dtype=np.int64), st=st, out=np.zeros(2 * nd + 2, dtype=np.int64),
        rows=np.zeros(4 * nd + 4), qf=np.zeros(sizes["requeued"], dtype=np.int64),
        qb=np.zeros(max(1, n), dtype=np.int64), live_pos=np.zeros(f.depth + 2, dtype=np.int64),
        live_job=np.zeros(f.depth + 2, dtype=np.int64), rh=np.full(n_ranks, -1, dtype=np.int64),
        rt=np.full(n_ranks, -1, dtype=np.int64), exp=np.zeros(L.DRAW_CHUNK),
        comp=np.zeros(L.DRAW_CHUNK, dtype=np.int64), down_dom=np.zeros(nd, dtype=np.int64),
        shortfall=np.zeros(eng.n_steps, dtype=np.int64), scratch=np.zeros(n + f.depth + 2, dtype=np.int64), **per_run)
    return c, f


def _unpack(eng, c: Arrays) -> None:
    """The run's results on ``eng``, where ``simulate_cluster`` reads them."""
    ji, jf, s = c.ji, c.jf, c.s
    eng.state = ji[:, L.STATE]
    eng.first_start = jf[:, L.FIRST_START]
    eng.end_s = jf[:, L.END_S]
    eng.restarts = ji[:, L.RESTARTS]
    eng.preempts = ji[:, L.PREEMPTS]
    eng.gpu_s, eng.useful, eng.lost, eng.ckpt = jf[:, L.GPU_S], jf[:, L.USEFUL], jf[:, L.LOST], jf[:, L.CKPT]
    eng.ndom, eng.first_dom = ji[:, L.NDOM], ji[:, L.FIRST_DOM]
    eng.events = int(s[L.EVENTS])
    eng.tr_t, eng.tr_d = c.tr_t[:s[L.TRN]], c.tr_d[:s[L.TRN]]
    eng.in_t, eng.in_d = c.in_t[:s[L.INN]], c.in_d[:s[L.INN]]
    eng.dn_t, eng.dn_d = c.dn_t[:s[L.DNN]], c.dn_d[:s[L.DNN]]
    m = int(s[L.FLN])
    eng.fail_log = list(zip(c.fl_t[:m].tolist(), c.fl_j[:m].tolist(), c.fl_c[:m].tolist(), strict=True))
    eng.shortfall = c.shortfall
    eng.preemptions_for_capacity = int(s[L.PREEMPT_CAP])
    eng.preempt_lost_gpu_s = float(c.sf[L.PREEMPT_LOST])
    if s[L.PDROP]:
        eng.plog.dropped_at_s = float(c.sf[L.DROPPED_AT])
        eng.plog.rows = np.zeros(0)
    else:
        eng.plog.rows = c.plog[:s[L.PLEN]]
