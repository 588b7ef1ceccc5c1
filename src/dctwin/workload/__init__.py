"""Workload engine, part 1: job generators, inference demand curves and trace readers.

Job tables (``JOB_COLUMNS``) feed the cluster simulator; inference demand feeds
the inference capacity model. Fitted parameters live in ``workload/data``
(recompute with ``python -m dctwin.workload.fit``).
"""

from dctwin.lazy import lazy_exports

__getattr__ = lazy_exports(__name__, {
    "inference_demand": "dctwin.workload.inference", "services": "dctwin.workload.inference",
    "generate_jobs": "dctwin.workload.jobs", "JOB_COLUMNS": "dctwin.workload.schema",
    "JOB_KINDS": "dctwin.workload.schema", "validate_jobs": "dctwin.workload.schema",
    "read_alibaba_nodes": "dctwin.workload.traces", "read_alibaba_pods": "dctwin.workload.traces",
    "read_azure_llm_trace": "dctwin.workload.traces", "read_job_table": "dctwin.workload.traces",
})

__all__ = [
    "JOB_COLUMNS",
    "JOB_KINDS",
    "generate_jobs",
    "inference_demand",
    "read_alibaba_nodes",
    "read_alibaba_pods",
    "read_azure_llm_trace",
    "read_job_table",
    "services",
    "validate_jobs",
]
