"""The job table: the one format every job source (generator, trace reader) hands to the cluster simulator.

A job table is a pandas DataFrame with exactly the columns of ``JOB_COLUMNS``,
one row per job, sorted by ``submit_s`` with ``job_id`` = 0..n-1 in that order.
See ``docs/job-schema.md`` for the file form of the same schema.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from dctwin.errors import InputError

__all__ = ["JOB_COLUMNS", "JOB_KINDS", "OPTIONAL_COLUMNS", "empty_jobs", "finish_jobs", "validate_jobs"]

#: column -> dtype of a job table.
JOB_COLUMNS: dict[str, str] = {
    "job_id": "int64",        # 0..n-1 in submit order
    "kind": "str",            # 'pretrain' | 'finetune' | 'eval' | 'batch'
    "tenant": "str",          # who submitted it
    "submit_s": "float64",    # seconds since the scenario start [s], ascending
    "gpus": "int64",          # GPUs held while running, >= 1
    "duration_s": "float64",  # run time at full speed on the site's GPUs, no failures [s]
    "priority": "int64",      # higher = more important
    "deferrable": "bool",     # may be shifted to cheap / low-carbon hours
    "model": "str",           # model trained or evaluated, '' when unknown
    "max_wait_s": "float64",  # longest acceptable queue wait [s], inf when none
}

#: optional columns: written only when the source has them.
OPTIONAL_COLUMNS: dict[str, str] = {
    "gpu_type": "str",        # GPU type(s) the job accepts: '' any, a name, or names separated by '|'
}

JOB_KINDS = ("pretrain", "finetune", "eval", "batch")

#: Default priority of each kind when a source gives none (higher = more important): pre-training
#: holds thousands of GPUs; evaluation needs timely feedback (Hu et al., NSDI 2024); batch can wait.
PRIORITY_OF_KIND = {"pretrain": 3, "eval": 2, "finetune": 1, "batch": 0}


def empty_jobs() -> pd.DataFrame:
    """A job table with no rows."""
    return finish_jobs({c: np.empty(0, dtype=str if t == "str" else t) for c, t in JOB_COLUMNS.items()})


def _str_column(values, order: np.ndarray | None) -> pd.api.extensions.ExtensionArray:
    """A pandas 'str' column from strings, or fast from ``(codes, categories)`` via an Arrow dictionary."""
    if isinstance(values, tuple):
        codes, cats = values
        codes = np.asarray(codes, dtype=np.int32)
    else:
        cats, codes = np.unique(np.asarray(values, dtype=str), return_inverse=True)
        codes = codes.astype(np.int32)
    if order is not None:
        codes = codes[order]
    dictionary = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array([str(c) for c in cats], pa.string()))
    return pd.array(dictionary.dictionary_decode(), dtype=pd.StringDtype("pyarrow", na_value=np.nan))


def finish_jobs(cols: dict) -> pd.DataFrame:
    """Build a job table from column arrays: stable-sort by submit time, number the jobs, set dtypes.

    A string column may be given as an array of strings or as ``(codes, categories)``
    (much faster for millions of rows).
    """
    submit = np.asarray(cols["submit_s"], dtype=np.float64)
    n = submit.size
    if n < 2 or bool(np.all(submit[1:] >= submit[:-1])):
        order = None
    else:
        order = np.argsort(submit, kind="stable")  # timsort: near-linear on a few sorted runs
    data = {}
    for name, dtype in JOB_COLUMNS.items():
        if name == "job_id":
            data[name] = np.arange(n, dtype=np.int64)
        elif dtype == "str":
            data[name] = _str_column(cols[name], order)
        else:
            arr = np.asarray(cols[name])
            data[name] = (arr if order is None else arr[order]).astype(dtype, copy=False)
    if "gpu_type" in cols:
        data["gpu_type"] = _str_column(cols["gpu_type"], order)
    return pd.DataFrame(data, copy=False)


def validate_jobs(df: pd.DataFrame, file: str | None = None) -> pd.DataFrame:
    """Check that ``df`` is a job table; return it unchanged or raise InputError naming the row and column."""
    if not isinstance(df, pd.DataFrame):
        raise InputError("a job table must be a pandas DataFrame", file=file, value=type(df).__name__)
    missing = [c for c in JOB_COLUMNS if c not in df.columns]
    if missing:
        raise InputError("job table lacks columns", file=file, field=missing[0], value=missing,
                         allowed=", ".join(JOB_COLUMNS))
    n = len(df)

    def bad(mask: np.ndarray, col: str, rule: str) -> None:
        idx = np.flatnonzero(mask)
        if idx.size:
            i = int(idx[0])
            raise InputError(f"row {i}: {rule} ({idx.size} bad rows)", file=file, field=col, value=df[col].iloc[i])

    for col in ("job_id", "gpus", "priority"):
        if not pd.api.types.is_integer_dtype(df[col].dtype):
            raise InputError("column must be integer", file=file, field=col, value=str(df[col].dtype))
    for col in ("submit_s", "duration_s", "max_wait_s"):
        if not pd.api.types.is_float_dtype(df[col].dtype):
            raise InputError("column must be float64", file=file, field=col, value=str(df[col].dtype))
    if not pd.api.types.is_bool_dtype(df["deferrable"].dtype):
        raise InputError("column must be bool", file=file, field="deferrable", value=str(df["deferrable"].dtype))
    bad(df["job_id"].to_numpy() != np.arange(n), "job_id", "job_id must be 0..n-1 in submit order")
    submit = df["submit_s"].to_numpy()
    bad(~np.isfinite(submit) | (submit < 0), "submit_s", "submit_s must be finite and >= 0")
    if n > 1:
        bad(np.r_[False, np.diff(submit) < 0], "submit_s", "submit_s must be sorted ascending")
    bad(df["gpus"].to_numpy() < 1, "gpus", "gpus must be >= 1")
    dur = df["duration_s"].to_numpy()
    bad(~np.isfinite(dur) | (dur <= 0), "duration_s", "duration_s must be finite and > 0")
    wait = df["max_wait_s"].to_numpy()
    bad(np.isnan(wait) | (wait < 0), "max_wait_s", "max_wait_s must be >= 0 (inf for none)")
    bad(~df["kind"].isin(JOB_KINDS).to_numpy(), "kind", f"kind must be one of {', '.join(JOB_KINDS)}")
    bad(df["tenant"].isna().to_numpy(), "tenant", "tenant must be a string")
    bad(df["model"].isna().to_numpy(), "model", "model must be a string ('' when unknown)")
    if "gpu_type" in df.columns:
        bad(df["gpu_type"].isna().to_numpy(), "gpu_type", "gpu_type must be a string ('' for any type)")
    return df
