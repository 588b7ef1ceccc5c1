"""hpcsim's generated workload as a dctwin job table, so both simulators run the identical jobs.

hpcsim (https://pypi.org/project/hpcsim/, MIT) draws its jobs with
``WorkloadGenerator(WorkloadConfig(duration=..., rng_seed=...)).generate()``;
each job carries work (iterations, queries, HPO trials) rather than a run time,
and its engine turns work into time with a per-model throughput model. This
module asks hpcsim's own public functions (``multi_gpu_throughput``,
``Cluster.find_best_placement``, ``Cluster.effective_bandwidth_gbps``) for the
run time of each job on its requested H100s packed on as few nodes as possible,
which is what dctwin's ``duration_s`` means ("run time at full speed on the
site's GPUs, no failures").

Mapping (hpcsim class -> dctwin kind, GPUs, duration):

- TrainingJob, LLMJob, HybridJob -> ``finetune``, requested GPUs,
  iterations / data-parallel throughput at those GPUs;
- InferenceJob -> ``batch``, requested GPUs, queries / (throughput x batch);
- HPOJob -> ``finetune``, trials x GPUs per trial, waves of 4 trials x
  epochs x hpcsim's seconds per epoch;
- CPUJob, MIGJob (no whole GPU in hpcsim) -> ``batch`` on 1 GPU for their
  base duration, so the job count stays equal. This gives dctwin slightly more
  GPU work than hpcsim (conservative for the speed comparison).

hpcsim has no job priority and no queue-wait limit: every dctwin job gets
priority 1, ``max_wait_s`` = inf, ``deferrable`` False.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

HPCSIM_CLUSTER = "h100_supercluster"


def hpcsim_version() -> str | None:
    """Installed hpcsim version, or None when hpcsim is not installed."""
    from importlib import metadata

    try:
        return metadata.version("hpcsim")
    except metadata.PackageNotFoundError:
        return None


def generate_hpcsim_jobs(duration_s: float, seed: int, mean_arrival_interval_s: float = 30.0) -> list:
    """hpcsim's default workload over ``duration_s`` [s] (what ``hpcsim simulate`` draws for the same flags)."""
    from hpcsim.workload.generator import WorkloadConfig, WorkloadGenerator

    cfg = WorkloadConfig(duration=float(duration_s), rng_seed=seed, mean_arrival_interval=mean_arrival_interval_s)
    return WorkloadGenerator(cfg).generate()


class _Durations:
    """Run time of hpcsim jobs on packed H100s, from hpcsim's throughput model (cached per GPU count)."""

    def __init__(self, cluster_name: str = HPCSIM_CLUSTER):
        from hpcsim.cluster.cluster import CLUSTER_CONFIGS, Cluster
        from hpcsim.simulator.engine import SimulationEngine

        self.cluster = Cluster(CLUSTER_CONFIGS[cluster_name])
        self.gpu_type = next(iter(self.cluster.gpus.values())).gpu_type
        self.epoch_s = float(SimulationEngine.HPO_EPOCH_SECONDS)
        self._bw: dict[int, float] = {}

    def bandwidth_gbps(self, k: int) -> float:
        """Bandwidth hpcsim gives a job on ``k`` GPUs placed on as few nodes as possible [Gbit/s]."""
        if k not in self._bw:
            ids = self.cluster.find_best_placement(k, self.gpu_type, True)
            if not ids:
                raise ValueError(f"hpcsim cluster cannot place {k} GPUs")
            self._bw[k] = float(self.cluster.effective_bandwidth_gbps(ids))
        return self._bw[k]

    def throughput(self, job, k: int, batch_size: int) -> float:
        from hpcsim.workload.job import multi_gpu_throughput

        return float(multi_gpu_throughput(job.arch, self.gpu_type, batch_size, k, self.bandwidth_gbps(k)))

    def row(self, job) -> tuple[str, int, float]:
        """(kind, GPUs, duration [s]) of one hpcsim job."""
        from hpcsim.workload.job import CPUJob, HPOJob, HybridJob, InferenceJob, LLMJob, MIGJob, TrainingJob

        if isinstance(job, (TrainingJob, LLMJob, HybridJob)):
            k = int(job.num_gpus_requested)
            tp = self.throughput(job, k, int(getattr(job, "batch_size", 64)))
            return "finetune", k, job.num_iterations / tp
        if isinstance(job, InferenceJob):
            k = int(job.num_gpus_requested)
            tp = self.throughput(job, k, int(job.batch_size)) * job.current_batch_size
            return "batch", k, job.total_queries / tp
        if isinstance(job, HPOJob):
            waves = math.ceil(job.num_trials / min(job.num_trials, 4))
            return "finetune", int(job.num_gpus_requested), waves * job.max_epochs_per_trial * self.epoch_s
        if isinstance(job, (CPUJob, MIGJob)):
            return "batch", 1, float(job.base_duration_sec)
        raise TypeError(f"unknown hpcsim job class {type(job).__name__}")


def to_job_table(jobs: list, cluster_name: str = HPCSIM_CLUSTER) -> pd.DataFrame:
    """A dctwin job table (``dctwin.workload.JOB_COLUMNS``) with one row per hpcsim job, in submit order."""
    from dctwin.workload.schema import finish_jobs, validate_jobs

    d = _Durations(cluster_name)
    rows = [d.row(j) for j in jobs]
    n = len(jobs)
    cols = {
        "submit_s": np.fromiter((j.submit_time for j in jobs), dtype=np.float64, count=n),
        "kind": np.array([r[0] for r in rows], dtype=object),
        "tenant": np.array([j.user_id for j in jobs], dtype=object),
        "gpus": np.array([r[1] for r in rows], dtype=np.int64),
        "duration_s": np.maximum(np.array([r[2] for r in rows], dtype=np.float64), 1.0),
        "priority": np.ones(n, dtype=np.int64),
        "deferrable": np.zeros(n, dtype=bool),
        "model": np.array([getattr(getattr(j, "arch", None), "value", "") for j in jobs], dtype=object),
        "max_wait_s": np.full(n, np.inf),
    }
    return validate_jobs(finish_jobs(cols))


def hpcsim_cluster_gpus(cluster_name: str = HPCSIM_CLUSTER) -> tuple[int, int]:
    """(GPUs, GPU nodes) of an hpcsim cluster preset."""
    from hpcsim.cluster.cluster import CLUSTER_CONFIGS, Cluster

    c = Cluster(CLUSTER_CONFIGS[cluster_name])
    gpu_nodes = {c.node_map[g] for g in c.gpus}
    return int(c.total_gpu_count()), len(gpu_nodes)
