"""Performance model: training step time and memory, inference throughput and latency, power-capping cost.

Training (``training``, ``memory``, ``schedule``, ``collectives``, ``search``, ``job``):
step time from compute, HBM traffic, collectives and the pipeline schedule,
for pre-training, full fine-tuning and LoRA, in a layout the caller fixes or
the fastest that fits. Inference (``roofline``, ``inference``, ``disagg``): one
step roofline shared with ``dctwin.serving``. Every constant is in
``perf/data/calibration.yaml`` with its source, fitted ones labelled; the
published figures they were fitted to are the calibration cases of ``dctwin validate`` (plus the power-cap and
FP8-attention points of ``perf/data/reference.yaml``; the fit: ``python -m dctwin.perf``), the checks beside them.
"""

from dctwin.lazy import lazy_exports

# name -> submodule: imported on first use (PEP 562), so that a run that only reads the model list does not
# import the calibration fit (scipy.optimize, ~0.5 s)
__getattr__ = lazy_exports(__name__, {
    "DisaggregatedPerf": "dctwin.perf.disagg", "disaggregated_perf": "dctwin.perf.disagg",
    "PRECISIONS": "dctwin.perf.hardware", "check_precision": "dctwin.perf.hardware",
    "peak_flops": "dctwin.perf.hardware", "InferencePerf": "dctwin.perf.inference",
    "inference_perf": "dctwin.perf.inference", "replica_sizes": "dctwin.perf.inference",
    "throughput_at_scale": "dctwin.perf.inference", "MODES": "dctwin.perf.layout", "Layout": "dctwin.perf.layout",
    "TrainingJob": "dctwin.perf.layout", "MemoryUse": "dctwin.perf.memory", "training_memory": "dctwin.perf.memory",
    "LLM": "dctwin.perf.models", "get_model": "dctwin.perf.models", "load_models": "dctwin.perf.models",
    "read_models_file": "dctwin.perf.models", "power_cap_throughput_factor": "dctwin.perf.power",
    "CaseResult": "dctwin.perf.reference", "calibration_report": "dctwin.perf.reference",
    "fit_constants": "dctwin.perf.reference", "format_report": "dctwin.perf.reference",
    "load_reference": "dctwin.perf.reference", "StepCost": "dctwin.perf.roofline",
    "step_cost": "dctwin.perf.roofline", "best_layout": "dctwin.perf.search",
    "choose_parallelism": "dctwin.perf.search", "mfu_at_scale": "dctwin.perf.search",
    "training_perf": "dctwin.perf.search", "TrainingPerf": "dctwin.perf.training",
    "evaluate_layout": "dctwin.perf.training", "model_flops_per_token": "dctwin.perf.training",
    "estimated_inputs": "dctwin.perf.provenance",
})

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
    "estimated_inputs",
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

