"""Workload engine, part 1: job generators, inference demand curves and trace readers.

Job tables (``JOB_COLUMNS``) feed the cluster simulator; inference demand feeds
the inference capacity model. Fitted parameters live in ``workload/data``
(recompute with ``python -m dctwin.workload.fit``).
"""

from dctwin.workload.inference import inference_demand, services
from dctwin.workload.jobs import generate_jobs
from dctwin.workload.schema import JOB_COLUMNS, JOB_KINDS, validate_jobs
from dctwin.workload.traces import read_alibaba_nodes, read_alibaba_pods, read_azure_llm_trace, read_job_table

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
