"""The job-size and job-duration distributions, as pure functions shared by the fitter and the generator.

Size: GPUs per job are powers of two, ``gpus = 2**k`` for k = 0..k_max, with
P(k=0) = ``p_one_gpu`` and P(k) ∝ q**k for k >= 1 (a geometric tail in log2 GPUs).
Duration: log-normal per size class, ln(duration_s) ~ Normal(mu0 + slope·k, sigma),
clipped at ``max_s`` (the longest run of the source trace).
"""

from __future__ import annotations

import numpy as np

__all__ = ["clipped_lognormal_mean", "dev_job_stats", "mixture_cdf", "size_probs"]


def size_probs(p_one_gpu: float, q: float, k_max: int) -> np.ndarray:
    """P(gpus = 2**k) for k = 0..k_max [-]."""
    k = np.arange(1, k_max + 1)
    tail = q ** k
    tail = tail / tail.sum() if tail.size else tail
    return np.concatenate([[p_one_gpu if k_max > 0 else 1.0], (1.0 - p_one_gpu) * tail])


def clipped_lognormal_mean(mu: np.ndarray, sigma: float, max_s: float) -> np.ndarray:
    """E[min(X, max_s)] for ln X ~ Normal(mu, sigma) [s]."""
    from scipy.special import ndtr  # here, not at import: a run replaying a job trace never calls it (~0.2 s)

    mu = np.asarray(mu, dtype=np.float64)
    lc = np.log(max_s)
    below = np.exp(mu + 0.5 * sigma**2) * ndtr((lc - mu - sigma**2) / sigma)
    return below + max_s * (1.0 - ndtr((lc - mu) / sigma))


def mixture_cdf(x_s: float, probs: np.ndarray, mu: np.ndarray, sigma: float) -> float:
    """P(duration <= x_s) over the size mixture (clipping does not move it below ``max_s``) [-]."""
    from scipy.special import ndtr

    return float(np.sum(probs * ndtr((np.log(x_s) - mu) / sigma)))


def dev_job_stats(p_one_gpu: float, q: float, k_max: int, mu0: float, slope: float, sigma: float,
                  max_s: float) -> dict[str, float]:
    """Mean GPUs, mean and median duration [s], mean GPU-seconds per job [GPU·s] of the model."""
    probs = size_probs(p_one_gpu, q, k_max)
    k = np.arange(k_max + 1)
    mu = mu0 + slope * k
    mean_d = clipped_lognormal_mean(mu, sigma, max_s)
    lo, hi = 1e-3, max_s
    for _ in range(200):  # bisection on the log scale for the mixture median
        mid = np.sqrt(lo * hi)
        if mixture_cdf(mid, probs, mu, sigma) < 0.5:
            lo = mid
        else:
            hi = mid
    return {
        "mean_gpus": float(np.sum(probs * 2.0**k)),
        "mean_duration_s": float(np.sum(probs * mean_d)),
        "median_duration_s": float(np.sqrt(lo * hi)),
        "gpu_s_per_job": float(np.sum(probs * 2.0**k * mean_d)),
        "share_one_gpu": float(probs[0]),
    }
