"""Trace readers: public cluster and inference traces, and the generic job-table file.

* ``read_alibaba_pods`` / ``read_alibaba_nodes``: Alibaba PAI GPU trace 2023
  (``openb_pod_list_*.csv``, ``openb_node_list_*.csv``; Weng et al., ATC 2023).
* ``read_azure_llm_trace``: Azure LLM inference trace 2023 (``TIMESTAMP,
  ContextTokens, GeneratedTokens``; Patel et al., Splitwise, ISCA 2024).
* ``read_job_table``: the generic CSV/Parquet job schema of ``docs/job-schema.md``.

Files may be gzip-compressed (``.gz``). A bad or truncated file raises
InputError naming the file, the line (CSV; line 1 is the header) or row
(Parquet) and the column.
"""

from __future__ import annotations

import gzip
import io
import warnings
import zlib
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from dctwin.errors import InputError
from dctwin.timeparse import parse_timestamps
from dctwin.workload.schema import (
    JOB_COLUMNS,
    JOB_KINDS,
    OPTIONAL_COLUMNS,
    PRIORITY_OF_KIND,
    finish_jobs,
    validate_jobs,
)

__all__ = [
    "packaged_trace",
    "read_alibaba_nodes",
    "read_alibaba_pods",
    "read_azure_llm_trace",
    "read_job_table",
]



def packaged_trace(name: str) -> Path:
    """Path of a trace copy shipped in ``dctwin/workload/data/traces`` (see its README)."""
    path = Path(str(resources.files("dctwin.workload") / "data" / "traces" / name))
    if not path.is_file():
        root = path.parent
        raise InputError("no such packaged trace", value=name,
                         allowed=", ".join(sorted(p.name for p in root.iterdir() if p.name != "README.md")))
    return path


def open_input(path: Path) -> io.BufferedIOBase:
    """A job or request log's bytes as a file object (gunzipped for ``.gz``): checked (regular file within the
    cap) and parsed from the same bytes, read once per run or fit (``dctwin.safeio.read_once``)."""
    from dctwin.safeio import MAX_JOB_FILE_BYTES, read_input

    raw = io.BytesIO(read_input(path, MAX_JOB_FILE_BYTES, what="job table").data)
    return gzip.GzipFile(fileobj=raw) if path.name.lower().endswith(".gz") else raw


def _read_table(path: str | Path, *, parquet_ok: bool = False) -> tuple[pd.DataFrame, str, bool]:
    """Read a CSV (optionally .gz) or Parquet file as raw strings; return (frame, file name, is_csv)."""
    file = str(path)
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", file=file)
    is_parquet = p.suffix.lower() in (".parquet", ".pq")
    if is_parquet and not parquet_ok:
        raise InputError("expected a CSV file", file=file, allowed=".csv or .csv.gz")
    raw = open_input(p)
    try:
        if is_parquet:
            return _parquet_frame(raw), file, False
        with warnings.catch_warnings():  # a row longer than the header shifted every column by one: refused
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(raw, dtype=str, keep_default_na=False, na_values=[""], index_col=False), file, True
    except pd.errors.ParserWarning:
        raise InputError("a line has more fields than the header", file=file,
                         allowed="as many comma-separated fields on every line as in the header") from None
    except pd.errors.EmptyDataError:
        raise InputError("file is empty", file=file) from None
    except pd.errors.ParserError as exc:
        raise InputError(f"malformed CSV: {str(exc).strip()}", file=file) from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(f"truncated or corrupt compressed file: {exc}", file=file) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"file is not UTF-8 text (byte {exc.start})", file=file) from None
    except Exception as exc:  # pyarrow errors on bad Parquet have no common public base class
        if is_parquet:
            raise InputError(f"unreadable Parquet file: {exc}", file=file) from None
        raise


def _parquet_frame(raw) -> pd.DataFrame:
    """A Parquet file as a frame, checked in full first: a damaged string column (bytes that are not UTF-8)
    is refused here, not met later as a decode error."""
    import pyarrow.parquet as pq

    table = pq.read_table(raw)
    table.validate(full=True)
    return table.to_pandas()


def _where(i: int, is_csv: bool) -> str:
    return f"line {i + 2}" if is_csv else f"row {i}"


def _need_columns(df: pd.DataFrame, cols: list[str], file: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}; the header has", file=file, field=missing[0],
                         value=list(df.columns)[:12],
                         allowed="a header with " + ", ".join(cols))


def _numbers(df: pd.DataFrame, col: str, file: str, is_csv: bool, *, integer: bool = False,
             minimum: float | None = None, required: bool = True) -> np.ndarray:
    """Column ``col`` as float64 (or int64), raising on the first blank, non-numeric or out-of-range cell."""
    raw = df[col]
    if not is_csv and (raw.dtype == bool or not pd.api.types.is_numeric_dtype(raw)) and raw.notna().any():
        # a Parquet column of times, durations, booleans or text is not silently turned into a number
        raise InputError("column holds no numbers", file=file, field=col, value=str(raw.dtype),
                         allowed="a numeric column (integer or floating point)")
    vals = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    blank = raw.isna().to_numpy()
    badnum = np.isnan(vals) & ~blank
    if required:
        badnum |= blank
    inf_ok = col == "max_wait_s"
    bad = badnum | (~np.isfinite(vals) & ~np.isnan(vals) & (not inf_ok))
    huge = np.isfinite(vals) & (np.abs(vals) > 2.0**53) if integer else np.zeros(vals.shape, dtype=bool)
    if integer:  # whole numbers beyond 2**53 are not exact in float64 and would wrap in int64
        bad |= (np.isfinite(vals) & (vals != np.round(vals))) | huge
    if minimum is not None:
        bad |= vals < minimum
    idx = np.flatnonzero(bad)
    if idx.size:
        i = int(idx[0])
        rule = "an integer" if integer else "a number"
        if minimum is not None:
            rule += f" >= {minimum:g}"
        problem = ("missing value (truncated line?)" if blank[i] else
                   "too large for a whole number (over 2**53)" if huge[i] else f"expected {rule}")
        raise InputError(f"{_where(i, is_csv)}: {problem}", file=file, field=col, value=raw.iloc[i],
                         allowed=rule)
    return vals.astype(np.int64) if integer and not blank.any() else vals


# --- Alibaba PAI GPU trace 2023 -------------------------------------------------------------------

_POD_COLUMNS = ["name", "num_gpu", "gpu_milli", "qos", "pod_phase", "creation_time", "deletion_time",
                "scheduled_time"]


def read_alibaba_pods(path: str | Path, *, include_unscheduled: bool = False) -> pd.DataFrame:
    """Read an Alibaba ``openb_pod_list_*.csv`` into a job table.

    Mapping: ``submit_s`` = creation_time − first creation_time [s]; ``duration_s`` =
    deletion_time − scheduled_time [s] (pods never scheduled are dropped unless
    ``include_unscheduled``, then their duration is deletion − creation); pods with
    ``num_gpu`` = 0 (CPU-only) are dropped; GPU-sharing pods (``gpu_milli`` < 1000)
    count as 1 GPU; a non-blank ``gpu_spec`` becomes ``gpu_type`` (the types a pod accepts).
    ``kind``: 'batch' (deferrable) for best-effort QoS 'BE',
    'finetune' for pods of 8 GPUs or more, else 'eval'. ``tenant`` is the QoS class;
    ``model`` is ''; ``max_wait_s`` is inf; pods with zero lifetime get 1 s.
    """
    df, file, is_csv = _read_table(path)
    _need_columns(df, _POD_COLUMNS, file)
    num_gpu = _numbers(df, "num_gpu", file, is_csv, integer=True, minimum=0)
    _numbers(df, "gpu_milli", file, is_csv, minimum=0)
    created = _numbers(df, "creation_time", file, is_csv, minimum=0)
    deleted = _numbers(df, "deletion_time", file, is_csv, minimum=0)
    sched = _numbers(df, "scheduled_time", file, is_csv, minimum=0, required=False)
    for col in ("qos", "name"):
        blank = df[col].isna().to_numpy()
        if blank.any():
            i = int(np.flatnonzero(blank)[0])
            raise InputError(f"{_where(i, is_csv)}: missing value (truncated line?)", file=file, field=col)
    start = np.where(np.isnan(sched), created, sched)
    early = np.flatnonzero(deleted < start)
    if early.size:
        i = int(early[0])
        raise InputError(f"{_where(i, is_csv)}: deletion_time is before scheduled_time", file=file,
                         field="deletion_time", value=df["deletion_time"].iloc[i])
    keep = (num_gpu >= 1) & (include_unscheduled | ~np.isnan(sched))
    qos = df["qos"].to_numpy(dtype=str)[keep]
    gpus = num_gpu[keep].astype(np.int64)
    kind = np.where(qos == "BE", "batch", np.where(gpus >= 8, "finetune", "eval"))
    t0 = created.min() if created.size else 0.0
    n = int(keep.sum())
    cols = {
        "kind": kind,
        "tenant": qos,
        "submit_s": created[keep] - t0,
        "gpus": gpus,
        "duration_s": np.maximum(deleted[keep] - start[keep], 1.0),
        "priority": np.select([kind == k for k in PRIORITY_OF_KIND], list(PRIORITY_OF_KIND.values())).astype(np.int64),
        "deferrable": kind == "batch",
        "model": np.full(n, "", dtype=object),
        "max_wait_s": np.full(n, np.inf),
    }
    if "gpu_spec" in df.columns:  # GPU types a pod accepts ('|' between alternatives); blank: any
        spec = df["gpu_spec"].astype("string").fillna("").str.strip().to_numpy(dtype=str)[keep]
        if (spec != "").any():
            cols["gpu_type"] = spec
    return validate_jobs(finish_jobs(cols), file=file)


def read_alibaba_nodes(path: str | Path) -> pd.DataFrame:
    """Read an Alibaba ``openb_node_list_*.csv``: columns node, cpu_milli, memory_mib, gpus, gpu_model."""
    df, file, is_csv = _read_table(path)
    _need_columns(df, ["sn", "cpu_milli", "memory_mib", "gpu", "model"], file)
    out = pd.DataFrame({
        "node": df["sn"].astype("str"),
        "cpu_milli": _numbers(df, "cpu_milli", file, is_csv, integer=True, minimum=0),
        "memory_mib": _numbers(df, "memory_mib", file, is_csv, integer=True, minimum=0),
        "gpus": _numbers(df, "gpu", file, is_csv, integer=True, minimum=0),
        "gpu_model": df["model"].fillna("").astype("str"),
    })
    return out


# --- Azure LLM inference trace 2023 ---------------------------------------------------------------

def read_azure_llm_trace(path: str | Path) -> pd.DataFrame:
    """Read an ``AzureLLMInferenceTrace_*.csv``: columns t_s (since the first request) [s], input_tokens,
    output_tokens."""
    df, file, is_csv = _read_table(path)
    _need_columns(df, ["TIMESTAMP", "ContextTokens", "GeneratedTokens"], file)
    ts = parse_timestamps(df["TIMESTAMP"], file=file, where=lambda i: f"{_where(i, is_csv)}, TIMESTAMP", naive=0.0)
    inp = _numbers(df, "ContextTokens", file, is_csv, integer=True, minimum=0)
    out = _numbers(df, "GeneratedTokens", file, is_csv, integer=True, minimum=0)
    t_ns = ts.as_unit("ns").asi8
    t_s = (t_ns - (t_ns.min() if t_ns.size else 0)) / 1e9
    order = np.argsort(t_s, kind="stable")
    return pd.DataFrame({"t_s": t_s[order], "input_tokens": inp[order], "output_tokens": out[order]})


def _factor(df: pd.DataFrame, col: str, default: str, n: int, file: str = "") -> tuple[np.ndarray, list[str]]:
    """Text column as (codes, categories); blanks and absent columns get ``default``."""
    if col not in df.columns:
        return np.zeros(n, dtype=np.int64), [default]
    try:
        codes, uniques = pd.factorize(df[col], use_na_sentinel=True)
    except TypeError:  # a Parquet column of lists or maps
        raise InputError("column must hold text", file=file, field=col, value=str(df[col].dtype)) from None
    cats = [str(u) for u in uniques]
    if default in cats:
        fill = cats.index(default)
    else:
        cats.append(default)
        fill = len(cats) - 1
    return np.where(codes < 0, fill, codes), cats


# --- generic job table ----------------------------------------------------------------------------

_REQUIRED = ["submit_s", "gpus", "duration_s"]


def _kinds(df: pd.DataFrame, n: int, file: str, is_csv: bool) -> tuple[np.ndarray, list[str]]:
    """The kind column as (codes, categories); an unknown kind is refused with its row."""
    kind_codes, kind_cats = _factor(df, "kind", "batch", n, file)
    known = np.array([c in JOB_KINDS for c in kind_cats])
    if not known.all():
        bad_code = int(np.flatnonzero(~known)[0])
        i = int(np.argmax(kind_codes == bad_code))
        raise InputError(f"{_where(i, is_csv)}: unknown job kind", file=file, field="kind", value=kind_cats[bad_code],
                         allowed=", ".join(JOB_KINDS))
    return kind_codes, kind_cats


def _deferrable(df: pd.DataFrame, is_batch: np.ndarray, n: int, file: str, is_csv: bool) -> np.ndarray:
    """The deferrable column (true/false words accepted); blank or absent: True for batch jobs."""
    if "deferrable" in df.columns and pd.api.types.is_bool_dtype(df["deferrable"].dtype):
        na = df["deferrable"].isna().to_numpy()
        return np.where(na, is_batch, df["deferrable"].fillna(False).to_numpy(dtype=bool))
    if "deferrable" not in df.columns:
        return is_batch
    d_codes, d_cats = _factor(df, "deferrable", "", n, file)
    truth = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False, "": None}
    norm = [c.strip().lower() for c in d_cats]
    bad = [j for j, c in enumerate(norm) if c not in truth]
    if bad:
        i = int(np.argmax(d_codes == bad[0]))
        raise InputError(f"{_where(i, is_csv)}: expected true or false", file=file, field="deferrable",
                         value=d_cats[bad[0]], allowed="true, false, 1, 0, yes, no or blank")
    blank = np.array([truth[c] is None for c in norm])[d_codes]
    return np.where(blank, is_batch, np.array([bool(truth[c]) for c in norm])[d_codes])


def read_job_table(path: str | Path) -> pd.DataFrame:
    """Read a job table from CSV (.csv, .csv.gz) or Parquet (.parquet) in the schema of ``docs/job-schema.md``.

    Required columns: submit_s [s], gpus, duration_s [s]. Optional: kind (default
    'batch'), tenant ('default'), priority (by kind), deferrable (True for 'batch'),
    model (''), max_wait_s (inf; blank = inf). A ``job_id`` column, if present, is
    ignored: jobs are renumbered 0..n-1 in submit order (ties keep file order).
    """
    df, file, is_csv = _read_table(path, parquet_ok=True)
    _need_columns(df, _REQUIRED, file)
    if df.empty:
        raise InputError("the job table has no jobs (a header only)", file=file, allowed="at least one job row")
    extra = [c for c in df.columns if c not in JOB_COLUMNS and c not in OPTIONAL_COLUMNS]
    if extra:
        raise InputError("unknown column", file=file, field=str(extra[0]),
                         allowed=", ".join([*JOB_COLUMNS, *OPTIONAL_COLUMNS]))
    n = len(df)
    submit = _numbers(df, "submit_s", file, is_csv, minimum=0)
    gpus = _numbers(df, "gpus", file, is_csv, integer=True, minimum=1)
    dur = _numbers(df, "duration_s", file, is_csv)
    nonpos = np.flatnonzero(dur <= 0)
    if nonpos.size:
        i = int(nonpos[0])
        raise InputError(f"{_where(i, is_csv)}: duration_s must be > 0", file=file, field="duration_s",
                         value=df["duration_s"].iloc[i])
    kind_codes, kind_cats = _kinds(df, n, file, is_csv)
    is_batch = np.array([c == "batch" for c in kind_cats])[kind_codes]
    default_prio = np.array([PRIORITY_OF_KIND[c] for c in kind_cats], dtype=np.int64)[kind_codes]
    if "priority" in df.columns:
        prio = _numbers(df, "priority", file, is_csv, integer=True, required=False)
        prio = np.where(np.isnan(prio), default_prio, prio).astype(np.int64)
    else:
        prio = default_prio
    deferrable = _deferrable(df, is_batch, n, file, is_csv)
    if "max_wait_s" in df.columns:
        wait = _numbers(df, "max_wait_s", file, is_csv, minimum=0, required=False)
        wait = np.where(np.isnan(wait), np.inf, wait)
    else:
        wait = np.full(n, np.inf)
    cols = {
        "kind": (kind_codes, kind_cats), "tenant": _factor(df, "tenant", "default", n, file), "submit_s": submit,
        "gpus": gpus.astype(np.int64), "duration_s": dur, "priority": prio, "deferrable": deferrable.astype(bool),
        "model": _factor(df, "model", "", n, file), "max_wait_s": wait,
    }
    if "gpu_type" in df.columns:  # blank: any type
        cols["gpu_type"] = _factor(df, "gpu_type", "", n, file)
    return validate_jobs(finish_jobs(cols), file=file)
