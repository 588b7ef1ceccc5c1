"""Precision handling: which peak FLOP/s and how many bytes per weight.

A precision is one of 'fp4', 'fp8', 'bf16'. Asking for a precision the GPU
has no tensor-core support for (FP4 on Hopper) is an InputError, not a
silent fallback.

An inference step does not run every operation at the serving precision
(:func:`serving_rates`). TensorRT-LLM's FP4 recipe (NVFP4) quantizes the
weights and the activations of the linear layers only; attention (context
FMHA and generation kernels) reads an FP8 KV cache and runs in FP8, as it
does under FP8 serving; BF16 serving runs both in BF16. Sources: TensorRT-LLM
'Quantization' guide (FP4 and FP8 recipes act on linear layers, the FP8 KV
cache is a recipe of its own),
https://nvidia.github.io/TensorRT-LLM/features/quantization.html ;
TensorRT-LLM attention backends (FP8 input/output and FP8 KV cache in the
fused attention kernels), mirrored at
https://www.mintlify.com/NVIDIA/TensorRT-LLM/features/attention-mechanisms ;
MLPerf Inference v5.1 NVIDIA and Nebius configs
(Blackwell: fp4 weights with an FP8 KV cache; Hopper: fp8),
https://github.com/mlcommons/inference_results_v5.1 .

A GPU's memory size is read in one place (:func:`hbm_bytes_per_gpu`): the
catalog's hbm_gb are binary gigabytes (GiB), as the HBM stacks are sized and
nvidia-smi shows them (calibration.yaml source hbm_visible: 81,559 MiB =
85.5e9 B on an "80 GB" H100). Training's memory budget and inference's KV
cache both start from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dctwin.catalog.platform import Platform
from dctwin.errors import InputError

__all__ = ["ATTENTION_PRECISION", "BYTES_PER_GIB", "PRECISIONS", "WEIGHT_BYTES", "ServingRates", "check_precision",
           "hbm_bytes_per_gpu", "hbm_bytes_per_s", "link_bytes_per_s_one_way", "peak_flops", "serving_rates"]

PRECISIONS = ("fp4", "fp8", "bf16")
# Bytes per weight value. FP4 (NVFP4) stores 4-bit values plus one FP8 scale
# per 16 values: 0.5 + 1/16 bytes.
WEIGHT_BYTES = {"fp4": 0.5625, "fp8": 1.0, "bf16": 2.0}
# Precision of attention under each serving precision (sources in the module docstring).
ATTENTION_PRECISION = {"fp4": "fp8", "fp8": "fp8", "bf16": "bf16"}
BYTES_PER_GIB = 2.0**30  # [B/GiB]


def hbm_bytes_per_gpu(platform: Platform) -> float:
    """Memory one GPU of ``platform`` holds [B]: the catalog's hbm_gb read as GiB (module docstring)."""
    return platform.hbm_gb * BYTES_PER_GIB


def hbm_bytes_per_s(platform: Platform, c: Mapping[str, float], gpus: int = 1) -> float:
    """HBM bandwidth ``gpus`` GPUs of ``platform`` reach together [B/s]: nominal TB/s x ``c["hbm_efficiency"]``
    (``c``: the 'training' or 'inference' constants)."""
    return platform.hbm_bandwidth_tb_s * 1e12 * gpus * c["hbm_efficiency"]


def link_bytes_per_s_one_way(both_ways_gb_s: float, c: Mapping[str, float]) -> float:
    """Bandwidth one direction of a link carries [B/s]: the catalog's figure counts both directions
    [GB/s], a transfer streams one way, derated by ``c["link_efficiency"]``."""
    return both_ways_gb_s / 2 * 1e9 * c["link_efficiency"]


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


@dataclass(frozen=True, slots=True)
class ServingRates:
    """Rates of one GPU in an inference step, by operation: dense peaks and the fractions of them reached."""

    gemm_peak_flops_s: float       # dense peak at the serving precision, for the weight GEMMs [FLOP/s]
    gemm_efficiency: float         # fraction of that peak the GEMMs reach [-]
    attention_peak_flops_s: float  # dense peak at ATTENTION_PRECISION[serving precision] [FLOP/s]
    attention_efficiency: float    # fraction of that peak attention reaches [-]
    attention_precision: str       # 'fp8' | 'bf16' [-]
    quant_bytes_per_value: float   # extra HBM bytes per GEMM input value for activation quantization [B]


def serving_rates(platform: Platform, precision: str, c: Mapping[str, float]) -> ServingRates:
    """Per-operation rates of one GPU serving at ``precision`` with the 'inference' constants ``c``.

    Both operations reach ``compute_efficiency`` of their own precision's
    peak; FP4 GEMMs reach ``fp4_gemm_efficiency_vs_fp8`` times that (NVFP4
    GEMMs against FP8 GEMMs' fraction of peak on the same GPU). Under FP4 the
    16-bit input of every GEMM is quantized to NVFP4 first: 4-bit values plus
    one FP8 scale per 16 values (WEIGHT_BYTES['fp4'] = 0.5625 B per value)
    written by the quantizer and read by the GEMM, 2 x 0.5625 B per value on
    top of the 16-bit traffic the elementwise count already charges.
    """
    check_precision(platform, precision)  # once: the peaks below are read without peak_flops' second check
    attention, eff, fp4 = ATTENTION_PRECISION[precision], c["compute_efficiency"], precision == "fp4"
    return ServingRates(platform.peak_tflops(precision) * 1e12,
                        eff * (c["fp4_gemm_efficiency_vs_fp8"] if fp4 else 1.0),
                        platform.peak_tflops(attention) * 1e12, eff, attention,
                        2.0 * WEIGHT_BYTES["fp4"] if fp4 else 0.0)
