"""Arrival bursts shorter than the fluid model's window (:mod:`dctwin.serving.fluid`).

The fluid model holds a window's arrival rate for the whole window (a Gamma law
with the variance of the counts per window). Real request logs are also bursty
below that scale: on the Azure code trace the index of dispersion of the counts
(variance / mean) is 2.3 at 0.1 s, 6.4 at 0.5 s and 34 at 5 s, where a rate
held for 5 s gives only 1.7 and 4.3 at the short scales. Those sub-second
bursts are what stalls a short decode.

* :func:`dispersion_curve`: the index of dispersion of a log's counts at dyadic
  scales below the window, per interval (the variance-time curve), measured from
  the log itself;
* :func:`exposure_rates`: the arrival rate a request meets over its own decode
  exposure ``E``. A rate held over the window accounts for an excess
  ``(D_w - 1) E / w`` of the dispersion at scale ``E``; the rest,
  ``D(E) - 1 - (D_w - 1) E / w``, is rate variation inside the window. It is
  drawn as the window level is: a Gamma law around the window's rate with that
  variance (``rate * excess / E``), size-biased because a request is more likely
  to arrive in a burst. Without a curve (``D(E)`` on the line of the window) the
  rate is the window's, as before.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SUBWINDOW_LEVELS", "dispersion_columns", "dispersion_curve", "exposure_rates"]

#: Dyadic scales measured below the window: ``window_s / 2**k`` for k = 1..7 (2.5 s down to 39 ms at a
#: 5 s window, the length of a few engine steps). Below the shortest the curve is held flat (a burst of
#: requests arriving together), above the window the window's own dispersion applies.
SUBWINDOW_LEVELS = 7


def dispersion_columns(window_s: float) -> list[tuple[str, float]]:
    """(column name, scale [s]) of the sub-window dispersion columns, longest scale first."""
    return [(f"arrival_dispersion_{window_s / 2**k * 1000:.0f}ms", window_s / 2**k)
            for k in range(1, SUBWINDOW_LEVELS + 1)]


def dispersion_curve(t_rel_s: np.ndarray, interval_s: float, n_int: int, span_s: float,
                     scale_s: float) -> np.ndarray:
    """Index of dispersion (variance / mean, at least 1) of the counts per ``scale_s`` inside each interval [-].

    ``t_rel_s``: arrival times from the log's start [s]; only bins starting inside the log (``span_s``) count.
    """
    n_bin = max(round(interval_s / scale_s), 1)
    w = np.floor(t_rel_s / (interval_s / n_bin)).astype(np.int64)
    per = np.bincount(w, minlength=n_int * n_bin)[: n_int * n_bin].reshape(n_int, n_bin).astype(float)
    inside = (np.arange(n_int * n_bin) * (interval_s / n_bin) <= span_s).reshape(n_int, n_bin)
    n_in = np.maximum(inside.sum(1), 1)
    m = (per * inside).sum(1) / n_in
    var = (((per - m[:, None]) ** 2) * inside).sum(1) / n_in
    disp = np.where((m > 0) & (n_in >= 2), var / np.maximum(m, 1e-12), 1.0)
    return np.maximum(disp, 1.0)


def _excess_after(curve: np.ndarray, scales_s: np.ndarray, disp_w, window_s: float, e_s):
    """Mean excess of arrivals in the ``e_s`` after a request over a rate held for its window [-].

    For a stationary arrival stream with index of dispersion ``D(E)``, the arrivals expected in the ``E``
    after an arrival exceed ``rate E`` by ``(D - 1 + E dD/dE) / 2``; a rate held over the window accounts for
    ``(D_w - 1) E / w`` of it. ``D`` is the measured curve, the window's own dispersion at ``window_s``, read
    piecewise linear in log scale and flat below the shortest scale.
    """
    sc = np.log(np.concatenate([[window_s], scales_s]))
    cv = np.column_stack([disp_w, curve])
    order = np.argsort(sc)
    sc, cv = sc[order], cv[:, order]
    le = np.log(np.clip(e_s, np.exp(sc[0]), window_s))
    j = np.clip(np.searchsorted(sc, le, side="right") - 1, 0, sc.size - 2)
    f = (le - sc[j]) / (sc[j + 1] - sc[j])
    lo, hi = np.take_along_axis(cv, j, 1), np.take_along_axis(cv, j + 1, 1)
    d = lo * (1.0 - f) + hi * f
    slope = np.where(e_s > np.exp(sc[0]), (hi - lo) / (sc[j + 1] - sc[j]), 0.0)     # dD/dlnE
    held = (disp_w[:, None] - 1.0) * e_s / window_s                                 # and its own slope
    after = (d - 1.0 - held + slope - held) / 2.0
    return np.where(e_s < window_s, np.maximum(after, 0.0), 0.0)


def exposure_rates(rng, lam_window, e_s, curve, scales_s, disp_w, window_s: float):
    """Deployment arrival rate over each request's exposure ``e_s`` [1/s] (size-biased Gamma inside its window).

    ``lam_window``: the deployment rate of the request's window [1/s], one row per interval;
    ``curve``: dispersion per interval at ``scales_s`` (None: the window's rate is returned).
    """
    if curve is None:
        return lam_window
    ex = _excess_after(curve, np.asarray(scales_s, dtype=float), disp_w, window_s, e_s)
    e = np.maximum(e_s, 1e-9)
    shape = lam_window * e / np.maximum(ex, 1e-12)
    g = rng.gamma(np.where(ex > 0, shape + 1.0, 1.0))
    return np.where(ex > 0, g * ex / e, lam_window)
