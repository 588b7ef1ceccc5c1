"""A synthetic job table in the ``dctwin.workload`` format, for tests and benchmarks.

Not a workload model: sizes and durations are simple heavy-tailed draws,
scaled so the offered load is ``load`` of ``gpus_total`` over the span.
Use ``dctwin.workload`` for scenario runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dctwin.rng import stream

__all__ = ["synthetic_jobs"]

_KINDS = np.array(["batch", "eval", "finetune", "pretrain"], dtype=object)
_KIND_P = np.array([0.6, 0.2, 0.17, 0.03])
_SIZES = {  # GPU counts per kind (powers of two and whole NVL72 racks)
    0: np.array([1, 2, 4, 8]),
    1: np.array([1, 2, 4, 8]),
    2: np.array([8, 16, 32, 72, 144]),
    3: np.array([72, 144, 288, 576, 1152]),
}


def synthetic_jobs(n_jobs: int, gpus_total: int, span_s: float, seed: int, load: float = 0.7,
                   n_tenants: int = 8, max_wait_s: float = 7 * 86_400.0) -> pd.DataFrame:
    """``n_jobs`` jobs submitted (Poisson) over ``span_s`` [s] offering ``load`` x ``gpus_total`` GPUs on average."""
    rng = stream(seed, "cluster.synthetic_jobs")
    kind = rng.choice(4, size=n_jobs, p=_KIND_P)
    gpus = np.empty(n_jobs, dtype=np.int64)
    for k, sizes in _SIZES.items():
        m = kind == k
        gpus[m] = rng.choice(sizes, size=int(m.sum()))
    gpus = np.minimum(gpus, max(1, gpus_total // 4))
    dur = rng.lognormal(mean=np.log(3600.0), sigma=1.0, size=n_jobs) * np.where(kind == 3, 20.0, 1.0)
    dur *= load * gpus_total * span_s / float((gpus * dur).sum())
    dur = np.minimum(dur, 60 * 86_400.0)
    submit = np.sort(rng.uniform(0.0, span_s, size=n_jobs))
    prio = np.select([kind == 3, kind == 2], [3, 2], 1).astype(np.int64)
    return pd.DataFrame({
        "job_id": np.arange(n_jobs, dtype=np.int64),
        "kind": pd.Series(_KINDS[kind], dtype="string"),
        "tenant": pd.Series(np.char.add("tenant-", rng.integers(0, n_tenants, n_jobs).astype(str)), dtype="string"),
        "submit_s": submit,
        "gpus": gpus,
        "duration_s": dur,
        "priority": prio,
        "deferrable": kind == 0,
        "model": pd.Series(np.where(kind >= 2, "mistral-large-2", "small"), dtype="string"),
        "max_wait_s": np.full(n_jobs, max_wait_s),
    })
