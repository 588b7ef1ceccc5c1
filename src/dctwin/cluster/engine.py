"""The cluster engine: job lifecycle, capacity, failures and checkpoints.

One event heap of ``(t_s, seq, kind, a, b)`` tuples (see ``kernel.py``),
merged with the sorted submit times and the step edges so neither sits in the
heap. Events at equal times are handled as one batch, followed by one
scheduling pass. Per-job state lives in flat Python lists indexed by job.

Job model. A job needs ``duration_s`` of full-speed compute on ``gpus`` GPUs.
It writes a checkpoint every ``tau`` seconds of compute, stalling ``C``
seconds each time; a resumed job first spends ``restart_s`` relaunching.
A run segment therefore lasts ``startup + W + n_ck C`` with
``n_ck = ceil(W / tau) - 1`` checkpoints. A failure (exponential, rate
``gpus x sum of component rates``) stops the whole job: work since the last
checkpoint is lost, the job holds its GPUs for ``detect_s`` and then
relaunches; a hardware failure takes a node (``node_gpus``) down for
``repair_s``, replaced by a free GPU if there is one, else the job waits in
the queue. Every allocated GPU-second ends up as useful, lost or checkpoint.
"""

from __future__ import annotations

import heapq
import math
from array import array

import numpy as np

from dctwin.cluster.engine_capacity import step_capacity, step_changes
from dctwin.cluster.engine_path import core_serves
from dctwin.cluster.failures import checkpoint_interval_s, draw_components
from dctwin.cluster.fenwick import Fenwick
from dctwin.cluster.placement import Domains
from dctwin.cluster.placement.gang import GangRule
from dctwin.cluster.placement.log import PlacementLog
from dctwin.cluster.placement.typed import TypedDomains, can_start, fits_typed

__all__ = ["CANCELLED", "DONE", "FAILED", "PENDING", "QUEUED", "RESTARTING", "RUNNING", "Engine"]

PENDING, QUEUED, RUNNING, RESTARTING, DONE, FAILED, CANCELLED = range(7)
EV_END, EV_FAIL, EV_RESUME, EV_REPAIR = range(4)
_INF = math.inf
_DRAW_CHUNK = 1 << 14


class Engine:
    """State and actions of one cluster run; ``run()`` drives it. Built by ``simulate_cluster``."""

    def __init__(self, *, jobs: dict, step_s: int, n_steps: int, online: list[int], limit: list[int],
                 inf_need: list[int], domain_gpus: int, place, policy_cls, depth: int, fm, ckpt_cfg,
                 max_restarts: int, inference_preempts: bool, rng: np.random.Generator,
                 spare_fraction: float = 0.0, bin_s: float = 60.0, gang: str = "none", job_types=None,
                 domain_types=None, path: str = "python") -> None:
        self._tau_rule = lambda g: checkpoint_interval_s(ckpt_cfg, fm.checkpoint_cost_s, g * fm.total_rate_per_gpu_s)
        self.step_s = step_s
        self.n_steps = n_steps
        self.t_end = float(step_s * n_steps)
        self.online, self.limit, self.inf_need = online, limit, inf_need
        self.dom = Domains(domain_gpus) if domain_types is None else TypedDomains(domain_gpus, *domain_types)
        self.place = place
        self.path = path                 # engine_path.py: 'python' (reference) or 'compiled' (numba)
        self.fm = fm
        self.lam = fm.total_rate_per_gpu_s
        self.C = fm.checkpoint_cost_s
        self.max_restarts = max_restarts
        self.inference_preempts = inference_preempts
        self.rng = rng
        self._init_jobs(jobs)
        self._tau_cache: dict[int, float] = {}
        self.tenant_busy = [0] * (max(self.tenant) + 1 if self.n else 1)
        self.running_by_prio: dict[int, dict[int, None]] = {}
        self.prio_busy: dict[int, int] = {}
        self.busy = 0
        self.inf = 0
        self.inf_pieces: dict[int, int] = {}
        self.down = 0
        self.down_by_domain: dict[int, int] = {}
        self.spare_fraction = spare_fraction
        self.spare = 0
        self.audit_each_batch = False
        self.cur_limit = 0
        self._init_logs()
        self.fail_log: list[tuple[float, int, int]] = []
        self.preempt_lost_gpu_s = 0.0
        self.preemptions_for_capacity = 0
        self.bin_s = bin_s
        horizon = self.t_end + (max(jobs["duration_s"]) if self.n else 0.0) * 1.2 + 86_400.0
        self.releases = Fenwick(int(min(horizon / bin_s, 1 << 22)) + 1)
        self._exp: list[float] = []
        self._comp: list[int] = []
        self._released = False
        self._first_walls()
        self.core = path == "compiled" and core_serves(policy_cls.name, gang, job_types, place)  # core/run.py
        if path == "compiled" and not self.core:
            from dctwin.cluster.placement.compiled import use_compiled

            use_compiled(self, domain_gpus)
        self.gang = GangRule(self.dom) if gang == "domain" else None   # placement/gang.py
        self.jtypes = job_types          # per job: None (any GPU type) or the type indices it accepts
        self.chosen = [0] * self.n if job_types is not None else None        # placement/typed.py
        self.policy = policy_cls(self, depth)

    def _init_jobs(self, jobs: dict) -> None:
        """Per-job columns (lists: the event loop indexes them one at a time)."""
        n = len(jobs["gpus"])
        self.n = n
        self.gpus: list[int] = jobs["gpus"]
        self.prio: list[int] = jobs["priority"]
        self.tenant: list[int] = jobs["tenant"]
        self.submit: list[float] = jobs["submit_s"]
        self.deadline: list[float] = jobs["deadline_s"]
        self.deferrable: list[bool] = jobs["deferrable"]
        self.rem: list[float] = list(jobs["duration_s"])
        self.state = [PENDING] * n
        self.first_start = [-1.0] * n
        self.end_s = [_INF] * n
        self.restarts = [0] * n
        self.preempts = [0] * n
        self.lost = [0.0] * n
        self.ckpt = [0.0] * n
        self.useful = [0.0] * n
        self.gpu_s = [0.0] * n
        self.ndom = [0] * n
        self.first_dom = [-1] * n
        self.alloc: list = [None] * n
        self.since = [0.0] * n
        self.epoch = [0] * n
        self.seg = [None] * n        # (t0, startup, nck, tau, wall, end_bin)
        self.fail_t = [0.0] * n
        self.resumed = [False] * n

    def _init_logs(self) -> None:
        """The event heap and the change logs that become the per-step series."""
        self.heap: list[tuple] = []
        self.seq = 0
        self.events = 0
        # (time [s], GPU change) of training, inference and down GPUs: flat C arrays, no Python object per entry
        # (at 1-s steps inference changes nearly every step)
        self.tr_t, self.tr_d = array("d"), array("q")
        self.in_t, self.in_d = array("d"), array("q")
        self.dn_t, self.dn_d = array("d"), array("q")
        self.plog = PlacementLog()       # every piece taken or given back, by holder and domain
        self.shortfall = np.zeros(self.n_steps, dtype=np.int64)
        self.step_changes = step_changes(self.online, self.limit, self.inf_need, self.n_steps)

    # ---- small helpers -------------------------------------------------
    def avail(self) -> int:
        """GPUs a job may take now: free in the domains (less the hot spares) and under the busy cap."""
        room = self.cur_limit - self.busy - self.inf
        f = self.dom.total_free - self.spare
        return f if f < room else room

    def fits(self, j: int, now: float) -> bool:
        """Job ``j`` may start now: enough GPUs, in a shape the gang rule allows (its fragmentation wait kept)."""
        if self.jtypes is not None and self.jtypes[j] is not None:
            return fits_typed(self, j, now)
        g = self.gpus[j]
        if g > self.avail():
            if self.gang is not None:
                self.gang.stop(now)
            return False
        return self.gang is None or self.gang.check(g, now)

    def shape_ok(self, j: int) -> bool:
        """Job ``j``'s GPUs are free in a shape the gang rule allows, of a type it accepts (no blocked state kept)."""
        return can_start(self, j, self.gpus[j])

    def dom_of(self, j: int):
        """Where job ``j`` is placed: the whole cluster, or the domains of the GPU type chosen for it."""
        return self.dom if self.jtypes is None or self.jtypes[j] is None else self.dom.views[self.chosen[j]]

    def expired(self, j: int, now: float) -> bool:
        """True (and the job is cancelled) when ``j`` never started and waited past its deadline."""
        if now > self.deadline[j] and self.first_start[j] < 0:
            self.state[j] = CANCELLED
            self.end_s[j] = self.deadline[j]
            return True
        return False

    def tau(self, g: int) -> float:
        t = self._tau_cache.get(g)
        if t is None:
            t = self._tau_cache[g] = self._tau_rule(g)
        return t

    def _first_walls(self) -> None:
        """Failure-free wall time, checkpoint count and interval of every job's first segment (vectorised;
        ``resume_wall`` replaces a job's entries for its next segment once it is stopped)."""
        g = np.asarray(self.gpus, dtype=np.int64)
        d = np.asarray(self.rem, dtype=np.float64)
        if g.size:  # a lookup table by job size: O(n), where np.unique(return_inverse) sorts every job ...
            table = g.max() <= 1 << 22  # ... unless a job of 1e11 GPUs (cancelled later) would size a 745 GiB table
            sizes, inverse = (np.flatnonzero(np.bincount(g)), g) if table else np.unique(g, return_inverse=True)
            by_size = np.zeros(int(sizes[-1]) + 1 if table else sizes.size)
            by_size[sizes if table else slice(None)] = [self.tau(int(x)) for x in sizes]
            tau = by_size[inverse]
        else:
            tau = np.zeros(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            nck = np.where(np.isfinite(tau) & (d > 0), np.maximum(np.ceil(d / tau) - 1, 0), 0).astype(np.int64)
        self.wall0 = (d + nck * self.C).tolist()
        self.nck0 = nck.tolist()
        self.tau0 = tau.tolist()

    def resume_wall(self, j: int) -> None:
        """Job ``j`` was stopped (its remaining work ``rem`` is final until it runs again): store its next
        segment's wall time, checkpoints and interval in ``wall0``/``nck0``/``tau0``, read per backfill pass."""
        self.resumed[j] = True
        w = self.rem[j]
        tau = self.tau(self.gpus[j])
        nck = max(0, math.ceil(w / tau) - 1) if tau != _INF and w > 0 else 0
        self.wall0[j] = self.fm.restart_s + w + nck * self.C
        self.nck0[j] = nck
        self.tau0[j] = tau

    def est_end_bin(self, j: int, now: float) -> int:
        """Time bin in which job ``j`` would end if started at ``now`` without failures."""
        b = int((now + self.wall0[j]) / self.bin_s)
        return b if b < self.releases.n else self.releases.n - 1

    def _push(self, t: float, kind: int, a: int, b: int) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, a, b))

    def _draw_comp(self) -> int:
        if not self._comp:
            self._comp = draw_components(self.rng, self.fm.component_cdf, _DRAW_CHUNK).tolist()[::-1]
        return self._comp.pop()

    def _busy_add(self, j: int, k: int, now: float) -> None:
        self.busy += k
        self.tenant_busy[self.tenant[j]] += k
        p = self.prio[j]
        self.prio_busy[p] = self.prio_busy.get(p, 0) + k
        self.tr_t.append(now)
        self.tr_d.append(k)

    # ---- actions ---------------------------------------------------------
    def start(self, j: int, now: float) -> None:
        """Place job ``j`` and begin a run segment."""
        g = self.gpus[j]
        pieces = self.place(self.dom if self.jtypes is None else self.dom_of(j), g)
        self.alloc[j] = pieces
        self.plog.add(now, j, pieces, 1)
        if len(pieces) > self.ndom[j]:
            self.ndom[j] = len(pieces)
        if self.first_start[j] < 0:
            self.first_start[j] = now
            self.first_dom[j] = pieces[0][0]
        self.state[j] = RUNNING
        self.since[j] = now
        p = self.prio[j]
        d = self.running_by_prio.get(p)
        if d is None:
            d = self.running_by_prio[p] = {}
        d[j] = None
        self.busy += g                              # _busy_add(j, g, now), inlined: the hottest path
        self.tenant_busy[self.tenant[j]] += g
        pb = self.prio_busy
        pb[p] = pb.get(p, 0) + g
        self.tr_t.append(now)
        self.tr_d.append(g)
        self._begin(j, now)

    def _begin(self, j: int, now: float) -> None:
        wall, nck, tau = self.wall0[j], self.nck0[j], self.tau0[j]     # resume_wall's when resumed
        startup = self.fm.restart_s if self.resumed[j] else 0.0
        ep = self.epoch[j] + 1
        self.epoch[j] = ep
        g = self.gpus[j]
        lam = g * self.lam
        if lam > 0:
            ex = self._exp                           # one chunk of draws at a time
            if not ex:
                ex = self._exp = self.rng.standard_exponential(_DRAW_CHUNK).tolist()[::-1]
            tf = ex.pop() / lam
        else:
            tf = _INF
        rel = self.releases
        b = int((now + wall) / self.bin_s)
        if b >= rel.n:
            b = rel.n - 1
        self.seg[j] = (now, startup, nck, tau, wall, b)
        rel.add(b, g)
        self.seq += 1
        if tf < wall:
            heapq.heappush(self.heap, (now + tf, self.seq, EV_FAIL, j, ep))
        else:
            heapq.heappush(self.heap, (now + wall, self.seq, EV_END, j, ep))

    def _close(self, j: int, now: float, partial_useful: bool = False) -> None:
        """Account a run segment stopped at ``now`` by a failure, preemption or the end of the run."""
        t0, startup, nck, tau, _, b = self.seg[j]
        self.seg[j] = None
        self.releases.add(b, -self.gpus[j])
        g = self.gpus[j]
        e = now - t0
        if e <= startup:
            self.lost[j] += g * e
            return
        x = e - startup
        k = min(int(x // (tau + self.C)), nck) if nck else 0
        saved = k * tau if k else 0.0
        partial = x - k * (tau + self.C) if k else x
        self.rem[j] -= saved
        self.ckpt[j] += g * k * self.C
        if partial > tau:                      # stopped while writing checkpoint k + 1
            self.ckpt[j] += g * (partial - tau)
            partial = tau
        if partial_useful:
            self.useful[j] += g * (saved + partial)
            self.rem[j] -= partial
            self.lost[j] += g * startup
        else:
            self.useful[j] += g * saved
            self.lost[j] += g * (startup + partial)

    def _release(self, j: int, now: float) -> None:
        """Give back every GPU job ``j`` holds."""
        pieces = self.alloc[j]
        self.alloc[j] = None
        self.plog.add(now, j, pieces, -1)
        k = self.dom.release(pieces)
        self.busy -= k                              # _busy_add(j, -k, now), inlined
        self.tenant_busy[self.tenant[j]] -= k
        p = self.prio[j]
        pb = self.prio_busy
        pb[p] = pb.get(p, 0) - k
        self.tr_t.append(now)
        self.tr_d.append(-k)
        self.gpu_s[j] += self.gpus[j] * (now - self.since[j])
        del self.running_by_prio[p][j]
        self._released = True

    def _end(self, j: int, now: float) -> None:
        _, startup, nck, _, _, b = self.seg[j]
        self.seg[j] = None
        self.releases.add(b, -self.gpus[j])
        g = self.gpus[j]
        self.useful[j] += g * self.rem[j]
        self.rem[j] = 0.0
        self.ckpt[j] += g * nck * self.C
        self.lost[j] += g * startup
        self._release(j, now)
        self.state[j] = DONE
        self.end_s[j] = now

    def preempt(self, j: int, now: float) -> None:
        """Stop job ``j`` (running or relaunching), free its GPUs and queue it again."""
        before = self.lost[j]
        if self.state[j] == RUNNING:
            self._close(j, now)
        else:  # RESTARTING: holding GPUs during detection
            self.lost[j] += self.gpus[j] * (now - self.fail_t[j])
        self.preempt_lost_gpu_s += self.lost[j] - before
        self.epoch[j] += 1
        self._release(j, now)
        self.preempts[j] += 1
        self.resume_wall(j)
        self.state[j] = QUEUED
        self.policy.requeue(j)

    def _victims(self, below: float):
        """Running jobs with priority below ``below``: lowest priority, latest start first."""
        for p in sorted(self.running_by_prio):
            if p >= below:
                break
            yield from reversed(list(self.running_by_prio[p]))

    def preempt_lower(self, prio: int, g: int, now: float, j: int = -1) -> bool:
        """Preempt lower-priority jobs until ``g`` GPUs are available (in a shape the gang rule allows).

        False (and nothing done) if too few are held below ``prio``; under a gang rule it may preempt and
        still find no shape (False)."""
        short = g - self.avail()
        if sum(b for p, b in self.prio_busy.items() if p < prio) < short:
            return False
        for v in self._victims(prio):
            if can_start(self, j, g):
                break
            self.preempt(v, now)
        return can_start(self, j, g)

    # ---- driving and checking: in their own modules ------------------------
    def run(self) -> None:
        if self.core:
            from dctwin.cluster.core.run import run_core

            return run_core(self)
        from dctwin.cluster.engine_loop import run_engine

        run_engine(self)

    def _step(self, k: int, now: float) -> None:
        step_capacity(self, k, now)

    def audit(self) -> None:
        from dctwin.cluster.engine_audit import audit

        audit(self)
