"""IT power of racks from their catalog parts, utilisation and power cap.

Each catalog part runs from ``idle_w`` (rack idle) to ``max_w`` (full load).
GPUs follow utilisation linearly and the power cap limits them; CPUs, memory
and NICs are less energy-proportional; switches are nearly static once the
rack works (proportionality per class in ``data/it_power.yaml``, each with
its source). The result is the power at the
rack input, which ISO/IEC 30134-2 counts as IT energy (power-shelf losses
included).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from dctwin.catalog.platform import Platform, PowerPart
from dctwin.errors import InputError
from dctwin.facility.params import FacilityParams, packaged_params

__all__ = ["busy_gpu_extra_kw", "it_power_kw", "part_activity", "part_class", "rack_power_curve_kw"]


def part_class(name: str, *, params: FacilityParams | None = None) -> str:
    """The power class of a catalog part by keywords in its name: gpu, cpu, memory, nic, switch, fan or other."""
    lowered = name.lower()
    classes = (params or packaged_params()).it_power["classes"]
    for cls, spec in classes.items():
        if any(word in lowered for word in spec["keywords"]):
            return cls
    return "other"


@lru_cache(maxsize=64)
def _coefficients(parts: tuple[PowerPart, ...],
                  params: FacilityParams) -> tuple[float, tuple[tuple[float, float], ...], float, float]:
    """(idle_w of non-GPU parts, ((span_w, proportionality), ...), gpu_idle_w, gpu_max_w) of one unit."""
    classes = params.it_power["classes"]
    idle_w = gpu_idle_w = gpu_max_w = 0.0
    spans: dict[float, float] = {}
    for part in parts:
        cls = part_class(part.name, params=params)
        if cls == "gpu":
            gpu_idle_w += part.idle_w * part.count
            gpu_max_w += part.max_w * part.count
            continue
        prop = classes[cls]["proportionality"]
        idle_w += part.idle_w * part.count
        spans[prop] = spans.get(prop, 0.0) + (part.max_w - part.idle_w) * part.count
    return idle_w, tuple((w, k) for k, w in spans.items()), gpu_idle_w, gpu_max_w


def part_activity(utilisation, proportionality: float) -> np.ndarray:
    """Share of a part's idle-to-max range drawn at GPU utilisation ``u`` [0-1]: ``1 - (1 - u)**(1/p)``.

    ``p = 1`` is energy-proportional (linear); a small ``p`` reaches most of the
    range at light load, so the part is nearly static while the rack works.
    Both ends are exact: idle at ``u = 0``, max at ``u = 1``.
    """
    u = np.asarray(utilisation, dtype=float)
    if proportionality >= 1.0:
        return u
    return 1.0 - (1.0 - u) ** (1.0 / max(proportionality, 1e-3))


def _check_fraction(name: str, value: np.ndarray) -> None:
    if value.size and not (np.all(value >= 0.0) and np.all(value <= 1.0)):  # NaN fails both
        bad = value[~((value >= 0.0) & (value <= 1.0))].flat[0]
        raise InputError("must lie in [0, 1]", field=name, value=float(bad), allowed="fractions 0..1")


def rack_power_curve_kw(platform: Platform, gpu_utilisation, power_cap_frac=1.0, *,
                        params: FacilityParams | None = None) -> np.ndarray:
    """Power of one unit of ``platform`` at GPU utilisation [0-1] under a GPU power cap [fraction of max] [kW].

    ``gpu_utilisation`` is the share of GPUs busy. With catalog parts: a busy GPU
    draws its maximum limited to ``cap * max`` (never below idle), an idle one its
    idle power; other parts draw ``idle + (max - idle) *
    part_activity(u, p)`` with the proportionality ``p`` of their class. Without parts: linear ``unit_idle_kw ..
    unit_max_kw`` in ``u``,
    the GPU share of the range (``gpus * (gpu_max_w - gpu_idle_w)``) limited by the cap.
    """
    u = np.asarray(gpu_utilisation, dtype=float)
    cap = np.asarray(power_cap_frac, dtype=float)
    _check_fraction("gpu_utilisation", u)
    _check_fraction("power_cap_frac", cap)
    params = params or packaged_params()
    g_idle, g_max = _gpu_range_w(platform, params)
    if platform.parts:
        idle_w, spans, _, _ = _coefficients(tuple(platform.parts), params)
        other_w = idle_w + sum(w * part_activity(u, k) for w, k in spans)
    else:
        span_w = (platform.unit_max_kw - platform.unit_idle_kw) * 1000.0
        g_span = min(platform.gpus_per_unit * platform.gpu_max_w - g_idle, span_w)
        other_w = platform.unit_idle_kw * 1000.0 - g_idle + (span_w - g_span) * u
    # u is the share of GPUs busy: each busy GPU draws its maximum limited by the cap, each idle one idles
    busy_w = np.maximum(g_idle, np.minimum(g_max, cap * g_max))
    gpu_w = g_idle + (busy_w - g_idle) * u
    return (other_w + gpu_w) / 1000.0


def _gpu_range_w(platform: Platform, params: FacilityParams) -> tuple[float, float]:
    """(idle, full-load) power of all GPUs of one unit [W]; without catalog parts the GPU range is at most the
    unit's idle-to-max range."""
    if platform.parts:
        _, _, g_idle, g_max = _coefficients(tuple(platform.parts), params)
        return g_idle, g_max
    g_idle = platform.gpus_per_unit * platform.gpu_idle_w
    g_max = platform.gpus_per_unit * platform.gpu_max_w
    span_w = (platform.unit_max_kw - platform.unit_idle_kw) * 1000.0
    return g_idle, g_idle + min(g_max - g_idle, span_w)


def busy_gpu_extra_kw(platform: Platform, power_cap_frac=1.0, *, params: FacilityParams | None = None) -> np.ndarray:
    """Power one busy GPU draws above an idle one under the GPU power cap [kW per GPU].

    :func:`rack_power_curve_kw` is affine in the busy GPUs at a given utilisation of the other parts, with
    this slope; the rack view of the report splits a pool's power by rack with it.
    """
    cap = np.asarray(power_cap_frac, dtype=float)
    _check_fraction("power_cap_frac", cap)
    g_idle, g_max = _gpu_range_w(platform, params or packaged_params())
    return (np.maximum(g_idle, np.minimum(g_max, cap * g_max)) - g_idle) / platform.gpus_per_unit / 1000.0


def it_power_kw(platform: Platform, units_online, gpu_utilisation, power_cap_frac=1.0, *,
                params: FacilityParams | None = None) -> np.ndarray:
    """IT power of one platform's units online per step [kW].

    ``units_online`` [units] (may be fractional: an average over the step),
    ``gpu_utilisation`` [0-1] and ``power_cap_frac`` [0-1 of GPU max power]
    broadcast against each other; see :func:`rack_power_curve_kw`.
    """
    units = np.asarray(units_online, dtype=float)
    if units.size and (np.isnan(units).any() or units.min() < 0):
        raise InputError("must be >= 0", field="units_online", value=float(np.nanmin(units)), allowed=">= 0")
    return units * rack_power_curve_kw(platform, gpu_utilisation, power_cap_frac, params=params)
