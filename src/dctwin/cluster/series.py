"""Turn piecewise-constant level changes into per-step time-weighted means (pure numpy)."""

from __future__ import annotations

import numpy as np

__all__ = ["step_mean"]


def step_mean(t_s: np.ndarray, delta: np.ndarray, step_s: float, n_steps: int) -> np.ndarray:
    """Mean level over each step of a quantity that starts at 0 and jumps by ``delta`` at ``t_s``.

    ``t_s`` [s] sorted ascending (equal times allowed); returns ``n_steps``
    time-weighted means over ``[k step_s, (k+1) step_s)``, same unit as ``delta``.
    """
    t = np.asarray(t_s, dtype=np.float64)
    d = np.asarray(delta, dtype=np.float64)
    edges = np.arange(n_steps + 1, dtype=np.float64) * step_s
    if t.size == 0:
        return np.zeros(n_steps)
    level = np.cumsum(d)
    area = np.empty_like(t)
    area[0] = 0.0
    np.cumsum(level[:-1] * np.diff(t), out=area[1:])
    j = _last_change_at_or_before(t, edges)
    jj = np.maximum(j, 0)
    f = np.where(j >= 0, area[jj] + level[jj] * (edges - t[jj]), 0.0)
    return np.diff(f) / step_s


def _last_change_at_or_before(t: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Index of the last change at or before each edge, -1 if none: ``searchsorted(t, edges, 'right') - 1``.

    With fewer changes than edges (a scale-up domain's log over a year of steps) the changes are placed among the
    edges and counted instead: the same integers, found in a fraction of the time."""
    if t.size >= edges.size:
        return np.searchsorted(t, edges, side="right") - 1
    first = np.searchsorted(edges, t, side="left")      # first edge at or after each change
    return np.cumsum(np.bincount(first, minlength=edges.size + 1)[:edges.size]) - 1
