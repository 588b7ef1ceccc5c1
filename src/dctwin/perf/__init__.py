"""Performance model: training step time and memory, inference throughput and latency, power-capping cost.

Training (``training``, ``memory``, ``schedule``, ``collectives``, ``search``):
step time from compute, HBM traffic, collectives and the pipeline schedule,
for pre-training, full fine-tuning and LoRA, in a layout the caller fixes or
the fastest that fits. Inference (``roofline``, ``inference``, ``disagg``): one
step roofline shared with ``dctwin.serving``. Every constant is in
``perf/data/calibration.yaml`` with its source, fitted ones labelled; the
published figures they were fitted to are in ``perf/data/reference.yaml``
(``python -m dctwin.perf``), the checks in ``dctwin validate``.
"""

from dctwin.perf.disagg import DisaggregatedPerf, disaggregated_perf
from dctwin.perf.hardware import PRECISIONS, check_precision, peak_flops
from dctwin.perf.inference import InferencePerf, inference_perf, replica_sizes, throughput_at_scale
from dctwin.perf.layout import MODES, Layout, TrainingJob
from dctwin.perf.memory import MemoryUse, training_memory
from dctwin.perf.models import LLM, get_model, load_models, read_models_file
from dctwin.perf.power import power_cap_throughput_factor
from dctwin.perf.reference import CaseResult, calibration_report, fit_constants, format_report, load_reference
from dctwin.perf.roofline import StepCost, step_cost
from dctwin.perf.search import best_layout, choose_parallelism, mfu_at_scale, training_perf
from dctwin.perf.training import TrainingPerf, evaluate_layout, model_flops_per_token

__all__ = [
    "DisaggregatedPerf",
    "LLM",
    "StepCost",
    "disaggregated_perf",
    "step_cost",
    "MODES",
    "Layout",
    "MemoryUse",
    "TrainingJob",
    "best_layout",
    "evaluate_layout",
    "training_memory",
    "PRECISIONS",
    "CaseResult",
    "InferencePerf",
    "TrainingPerf",
    "calibration_report",
    "check_precision",
    "choose_parallelism",
    "fit_constants",
    "format_report",
    "get_model",
    "inference_perf",
    "load_models",
    "load_reference",
    "mfu_at_scale",
    "model_flops_per_token",
    "peak_flops",
    "power_cap_throughput_factor",
    "read_models_file",
    "replica_sizes",
    "throughput_at_scale",
    "training_perf",
]
