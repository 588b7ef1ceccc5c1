"""Precision handling: which peak FLOP/s and how many bytes per weight.

A precision is one of 'fp4', 'fp8', 'bf16'. Asking for a precision the GPU
has no tensor-core support for (FP4 on Hopper) is an InputError, not a
silent fallback.
"""

from __future__ import annotations

from dctwin.catalog.platform import Platform
from dctwin.errors import InputError

__all__ = ["PRECISIONS", "WEIGHT_BYTES", "check_precision", "peak_flops"]

PRECISIONS = ("fp4", "fp8", "bf16")
# Bytes per weight value. FP4 (NVFP4) stores 4-bit values plus one FP8 scale
# per 16 values: 0.5 + 1/16 bytes.
WEIGHT_BYTES = {"fp4": 0.5625, "fp8": 1.0, "bf16": 2.0}


def check_precision(platform: Platform, precision: str) -> str:
    """Return ``precision`` if the platform supports it, else raise InputError."""
    if precision not in PRECISIONS:
        raise InputError("unknown precision", field="precision", value=precision, allowed=", ".join(PRECISIONS))
    if precision == "fp4" and platform.fp4_dense_tflops is None:
        supported = [p for p in PRECISIONS if p != "fp4"]
        raise InputError(f"{platform.id} ({platform.gpu_name}) has no FP4 tensor cores", field="precision",
                         value=precision, allowed=", ".join(supported))
    return precision


def peak_flops(platform: Platform, precision: str) -> float:
    """Dense peak of one GPU at ``precision`` [FLOP/s]."""
    check_precision(platform, precision)
    return platform.peak_tflops(precision) * 1e12
