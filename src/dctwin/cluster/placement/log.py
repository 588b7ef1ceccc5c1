"""Placement log: every change of which GPUs of which scale-up domain are held, by whom.

One row per piece taken or given back: time [s], holder (a job index, or
``INFERENCE`` / ``DOWN``), domain index and signed GPU count. Kept in one
``array.array`` of float64 (32 bytes a row, no Python object per row) and
turned into a table once at the end of the run. Summing the rows of a domain up to
time ``t`` gives the GPUs held there at ``t`` exactly, so power and heat by
domain (and rack) over time follow from the log (``domain_held_per_step``).

The log is bounded: past ``MAX_ROWS`` rows (a year of a ~38,000-GPU cluster
at 60-s steps logs ~58 M) it is dropped whole and the run keeps none, since a
cut log would give wrong rack loads; ``dropped_at_s`` says when.
"""

from __future__ import annotations

from array import array

import numpy as np
import pandas as pd

from dctwin.cluster.series import step_mean

__all__ = ["DOWN", "HOLDERS", "INFERENCE", "MAX_ROWS", "PlacementLog", "domain_held_per_step", "placement_table"]

INFERENCE = -1          # holder code: GPUs granted to inference replicas
DOWN = -2               # holder code: GPUs out of service after a node failure, awaiting repair
HOLDERS = {INFERENCE: "inference", DOWN: "down"}
MAX_ROWS = 8_000_000    # 256 MB in the engine; the default site's year logs ~0.64 M rows


class PlacementLog:
    """Append-only rows ``(t_s, holder, domain, gpus change)`` in one float64 array (integers below 2**53 exact)."""

    __slots__ = ("dropped_at_s", "limit", "rows")

    def __init__(self, max_rows: int | None = None) -> None:
        self.rows = array("d")
        self.limit = 4 * (MAX_ROWS if max_rows is None else max_rows)   # floats, four a row
        self.dropped_at_s: float | None = None

    def add(self, t: float, holder: int, pieces, sign: int) -> None:
        """Log ``[[domain, count], ...]`` taken (``sign`` +1) or given back (-1) by ``holder`` at ``t``
        (a job start or end: ~2 M calls in a Frontier-sized year, so ``flat`` is inlined; most have one piece)."""
        rows = self.rows
        if len(pieces) == 1:
            d, c = pieces[0]
            rows.fromlist([t, holder, d, sign * c])
        else:
            flat: list[float] = []
            for d, c in pieces:
                flat += (t, holder, d, sign * c)
            rows.fromlist(flat)
        if len(rows) > self.limit:
            self._drop(t)

    def one(self, t: float, holder: int, d: int, change: int) -> None:
        """Log a change of ``change`` GPUs held by ``holder`` in domain ``d`` at ``t``."""
        self.flat(t, [t, holder, d, change])

    def flat(self, t: float, rows: list[float]) -> None:
        """Log rows already laid out flat, ``[t, holder, domain, change, t, ...]``, all at time ``t``."""
        self.rows.fromlist(rows)         # fromlist: one resize, ~2x faster than extend
        if len(self.rows) > self.limit:
            self._drop(t)

    def block(self, t: float, rows) -> None:
        """Log rows laid out flat in a float64 numpy array (the compiled path's kernels write them there)."""
        self.rows.frombytes(rows.tobytes())
        if len(self.rows) > self.limit:
            self._drop(t)

    def _drop(self, t: float) -> None:
        """Past the bound: free the rows and keep none from here on (a cut log would mislead)."""
        self.dropped_at_s = t
        self.rows = _Sink()

    def columns(self) -> np.ndarray:
        """The rows as a ``(n, 4)`` float64 array."""
        return np.frombuffer(self.rows, dtype=np.float64).reshape(-1, 4) if len(self.rows) else np.zeros((0, 4))


class _Sink:
    """Where rows go once the log is dropped: nowhere."""

    __slots__ = ()

    def fromlist(self, _rows) -> None:
        pass

    def frombytes(self, _rows) -> None:
        pass

    def __len__(self) -> int:
        return 0


def placement_table(log: PlacementLog, job_ids: np.ndarray, perm: np.ndarray | None = None) -> pd.DataFrame:
    """The log as a table: ``t_s`` [s], ``job_id`` (-1 when not a job), ``holder`` (job, inference, down),
    ``domain`` [index], ``gpus_change`` [GPU]. ``perm``: the engine's queue order (job index i is row perm[i])."""
    cols = log.columns()
    holder = cols[:, 1].astype(np.int64)
    is_job = holder >= 0
    rows = holder[is_job]
    if perm is not None:
        rows = perm[rows]
    job = np.full(holder.size, -1, dtype=np.int64)
    job[is_job] = np.asarray(job_ids, dtype=np.int64)[rows]
    names = np.full(holder.size, "job", dtype=object)
    for code, name in HOLDERS.items():
        names[holder == code] = name
    return pd.DataFrame({
        "t_s": cols[:, 0].copy(),
        "job_id": job,
        "holder": pd.Series(names, dtype="string"),
        "domain": cols[:, 2].astype(np.int64),
        "gpus_change": cols[:, 3].astype(np.int64),
    })


def domain_held_per_step(placements: pd.DataFrame, step_s: float, n_steps: int, n_domains: int | None = None,
                         holder: str | None = "job") -> np.ndarray:
    """Time-weighted mean GPUs held per step and domain, shape ``(n_steps, n_domains)`` [GPU].

    ``holder``: 'job', 'inference', 'down', or None for all holders together. Rows must be one pool's.
    """
    p = placements if holder is None else placements[placements["holder"] == holder]
    dom = p["domain"].to_numpy(dtype=np.int64)
    n_dom = int(n_domains if n_domains is not None else (placements["domain"].max() + 1 if len(placements) else 0))
    t = p["t_s"].to_numpy(dtype=np.float64)
    change = p["gpus_change"].to_numpy(dtype=np.float64)
    out = np.zeros((n_dom, n_steps))          # filled domain by domain in rows (contiguous writes), then turned
    order = np.lexsort((t, dom))              # by domain, then time (stable: equal times keep log order)
    dom, t, change = dom[order], t[order], change[order]
    bounds = np.searchsorted(dom, np.arange(n_dom + 1))
    for d in range(n_dom):
        if bounds[d] < bounds[d + 1]:
            sl = slice(bounds[d], bounds[d + 1])
            out[d] = step_mean(t[sl], change[sl], step_s, n_steps)
    return np.ascontiguousarray(out.T)
