"""Readers of public job-log formats into one trace log for fitting (``dctwin workload fit``).

Formats (``FORMATS``), each written from its published description:

* ``jobtable``: the job table of ``docs/job-schema.md`` (submit_s, gpus, duration_s, ...).
* ``openb``: Alibaba PAI GPU pods 2023 (``openb_pod_list_*.csv``; Weng et al., ATC 2023).
* ``slurm_csv``: Slurm-accounting CSVs with ``submit_time, gpu_num, start_time,
  end_time/duration, state, user`` (SenseTime Helios ``cluster_log.csv``, Hu et al.
  SC 2021; Shanghai AI Lab Acme ``trace_{seren,kalos}.csv``, Hu et al. NSDI 2024).
* ``philly``: Microsoft Philly ``cluster_job_log`` (JSON list of jobs with
  ``submitted_time``, ``status``, ``user``, ``vc``, ``attempts[].start_time/end_time/detail[].gpus``;
  Jeon et al., ATC 2019).
* ``swf``: the Standard Workload Format of the Parallel Workloads Archive (18
  whitespace-separated fields, ';' header comments; Feitelson et al.).

Every reader returns a ``TraceLog``: columns submit_s [s from the first
submission], gpus, duration_s [s], wait_s [s] (NaN: not recorded), state
(completed, failed, cancelled, unknown), tenant, kind ('' if the log has none),
plus the clock origin when the log has real dates, and ``notes``: every default
applied and every row left out, with counts, for the user to see. A row that
cannot be read exactly raises InputError with the file, line and reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from dctwin.errors import InputError
from dctwin.timeparse import parse_timestamps
from dctwin.workload.traces import _numbers, _read_table, _where, open_input, read_alibaba_pods, read_job_table

__all__ = ["FORMATS", "TraceLog", "detect_format", "read_trace"]

FORMATS = ("jobtable", "openb", "slurm_csv", "philly", "swf")
_STATE_WORDS = {"completed": "completed", "pass": "completed", "succeeded": "completed", "success": "completed",
                "failed": "failed", "fail": "failed", "node_fail": "failed", "out_of_memory": "failed",
                "timeout": "failed", "killed": "cancelled", "cancelled": "cancelled", "canceled": "cancelled"}


@dataclass
class TraceLog:
    """One job log in the common form; ``t0`` is the wall-clock time of submit_s = 0 (None: not in the log)."""

    jobs: pd.DataFrame
    file: str
    format: str
    t0: datetime | None = None
    notes: list[str] = field(default_factory=list)
    arrivals_known: bool = True


def _first_line(path: Path) -> str:
    try:
        return open_input(path).readline().decode("utf-8", errors="replace")
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from None


def detect_format(path: Path) -> str:
    """Guess the format from the name and first line; InputError when none fits."""
    name = path.name.lower()
    if name.endswith((".swf", ".swf.gz")):
        return "swf"
    if name.endswith(".json"):
        return "philly"
    if name.endswith((".parquet", ".pq")):
        return "jobtable"
    head = _first_line(path).strip().lower()
    cols = {c.strip() for c in head.split(",")}
    if {"creation_time", "scheduled_time", "num_gpu"} <= cols:
        return "openb"
    if {"submit_time", "gpu_num"} <= cols:
        return "slurm_csv"
    if "duration_s" in cols:
        return "jobtable"
    if head.startswith(";") or head[:1].isdigit():
        return "swf"
    raise InputError("cannot tell the trace format from the file", file=str(path), value=head[:80],
                     allowed="--format " + ", ".join(FORMATS))


def read_trace(path: str | Path, fmt: str = "auto", *, procs_per_gpu: int = 1) -> TraceLog:
    """Read ``path`` in format ``fmt`` ('auto' guesses) into a TraceLog."""
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", file=str(p))
    fmt = detect_format(p) if fmt == "auto" else fmt
    readers = {"jobtable": _jobtable, "openb": _openb, "slurm_csv": _slurm_csv, "philly": _philly,
               "swf": lambda q: _swf(q, procs_per_gpu)}
    if fmt not in readers:
        raise InputError("unknown trace format", field="format", value=fmt, allowed=", ".join(FORMATS))
    log = readers[fmt](p)
    if len(log.jobs) == 0:
        raise InputError("no usable jobs in the trace", file=str(p), allowed="at least one GPU job")
    return log


def _frame(submit, gpus, dur, wait, state, tenant, kind) -> pd.DataFrame:
    submit = np.asarray(submit, dtype=np.float64)
    order = np.argsort(submit, kind="stable")
    t0 = submit.min() if submit.size else 0.0
    return pd.DataFrame({
        "submit_s": (submit - t0)[order], "gpus": np.asarray(gpus, dtype=np.int64)[order],
        "duration_s": np.asarray(dur, dtype=np.float64)[order], "wait_s": np.asarray(wait, dtype=np.float64)[order],
        "state": np.asarray(state, dtype=object)[order], "tenant": np.asarray(tenant, dtype=object)[order],
        "kind": np.asarray(kind, dtype=object)[order]})


def _partial_jobtable(p: Path) -> TraceLog | None:
    """A job table without submit_s and/or gpus (a run-time-only log), with its defaults stated; None if complete."""
    if p.suffix.lower() in (".parquet", ".pq"):
        return None
    df, file, is_csv = _read_table(p)
    if "duration_s" not in df.columns or {"submit_s", "gpus"} <= set(df.columns):
        return None
    dur = _numbers(df, "duration_s", file, is_csv, minimum=0)
    bad = np.flatnonzero(dur <= 0)
    if bad.size:
        raise InputError(f"{_where(int(bad[0]), is_csv)}: duration_s must be > 0", file=file, field="duration_s")
    n = len(df)
    notes = []
    if "gpus" in df.columns:
        gpus = _numbers(df, "gpus", file, is_csv, integer=True, minimum=1)
    else:
        gpus = np.ones(n, dtype=np.int64)
        notes.append("no gpus column: every job counted as 1 GPU")
    if "submit_s" in df.columns:
        submit = _numbers(df, "submit_s", file, is_csv, minimum=0)
    else:
        submit = np.full(n, np.nan)
        notes.append("no submit_s column: arrivals not fitted (the profile has a flat rate of 0; a scenario sizes "
                     "the rate to its training budget, with a flat daily and weekly shape)")
    tenant = df["tenant"].fillna("default").astype(str).to_numpy() if "tenant" in df.columns else np.full(n, "default")
    kind = df["kind"].fillna("").astype(str).to_numpy() if "kind" in df.columns else np.full(n, "")
    out = _frame(np.nan_to_num(submit), gpus, dur, np.full(n, np.nan), np.full(n, "unknown"), tenant, kind)
    return TraceLog(out, file, "jobtable", notes=notes, arrivals_known="submit_s" in df.columns)


def _jobtable(p: Path) -> TraceLog:
    partial = _partial_jobtable(p)
    if partial is not None:
        return partial
    jt = read_job_table(p)
    n = len(jt)
    df = _frame(jt["submit_s"], jt["gpus"], jt["duration_s"], np.full(n, np.nan), np.full(n, "unknown"),
                jt["tenant"], jt["kind"])
    if "gpu_type" in jt.columns:  # already in submit order, as the frame
        df["gpu_type"] = jt["gpu_type"].to_numpy(dtype=str)
    return TraceLog(df, str(p), "jobtable", notes=["job table: no queue waits or final states recorded"])


def _openb(p: Path) -> TraceLog:
    jt = read_alibaba_pods(p)
    raw, file, _ = _read_table(p)
    num = pd.to_numeric(raw["num_gpu"], errors="coerce").to_numpy()
    sched = pd.to_numeric(raw["scheduled_time"], errors="coerce").to_numpy()
    keep = (num >= 1) & ~np.isnan(sched)
    created = pd.to_numeric(raw["creation_time"], errors="coerce").to_numpy()[keep]
    wait = sched[keep] - created
    phase = raw["pod_phase"].fillna("").str.lower().to_numpy()[keep]
    state = np.where(phase == "failed", "failed", np.where(phase == "succeeded", "completed", "unknown"))
    order = np.argsort(created, kind="stable")
    notes = [(f"openb: {int((num < 1).sum())} CPU-only pods and {int(((num >= 1) & np.isnan(sched)).sum())} "
             "never-scheduled GPU pods left out; a GPU-sharing pod counts as 1 GPU; run time = deletion - "
             "scheduled (pods still running at the trace end are cut there); the clock origin is not published")]
    df = _frame(jt["submit_s"], jt["gpus"], jt["duration_s"], wait[order], state[order], jt["tenant"], jt["kind"])
    if "gpu_type" in jt.columns:  # the pods' gpu_spec, in submit order
        df["gpu_type"] = jt["gpu_type"].to_numpy(dtype=str)
    return TraceLog(df, file, "openb", notes=notes)


def _times(df: pd.DataFrame, col: str, file: str, is_csv: bool, required: bool) -> np.ndarray:
    """A time column as seconds: plain numbers, or ISO 8601 dates (seconds since the epoch; naive ones are UTC,
    ones with an offset converted exactly: ``dctwin.timeparse``)."""
    raw = df[col]
    num = pd.to_numeric(raw, errors="coerce")
    if num.notna().sum() >= raw.notna().sum():
        return _numbers(df, col, file, is_csv, minimum=0, required=required)
    ts = parse_timestamps(raw, file=file, where=lambda i: f"{_where(i, is_csv)}, {col}", naive=0.0,
                          optional=not required)
    out = ts.as_unit("ns").asi8 / 1e9
    return np.where(pd.isna(ts), np.nan, out)


def _state(raw: pd.Series) -> tuple[np.ndarray, int]:
    low = raw.fillna("").astype(str).str.strip().str.lower()
    mapped = low.map(_STATE_WORDS).fillna("unknown").to_numpy(dtype=object)
    return mapped, int((mapped == "unknown").sum())


def _slurm_csv(p: Path) -> TraceLog:
    df, file, is_csv = _read_table(p)
    df.columns = [str(c).strip().lower() for c in df.columns]
    for need in ("submit_time", "gpu_num"):
        if need not in df.columns:
            raise InputError(f"missing column {need}", file=file, field=need, value=list(df.columns)[:12],
                             allowed="Helios/Acme columns: submit_time, gpu_num, start_time, end_time or duration")
    if "duration" not in df.columns and not {"start_time", "end_time"} <= set(df.columns):
        raise InputError("no run time: need a duration column or start_time and end_time", file=file)
    submit = _times(df, "submit_time", file, is_csv, True)
    gpus = _numbers(df, "gpu_num", file, is_csv, integer=True, minimum=0)
    start = _times(df, "start_time", file, is_csv, False) if "start_time" in df.columns else np.full(len(df), np.nan)
    if "duration" in df.columns:
        dur = _numbers(df, "duration", file, is_csv, minimum=0, required=False)
    else:
        dur = _times(df, "end_time", file, is_csv, False) - start
    neg = np.flatnonzero(dur < 0)
    if neg.size:
        raise InputError(f"{_where(int(neg[0]), is_csv)}: end_time is before start_time", file=file, field="end_time")
    early = np.flatnonzero(start < submit)
    if early.size:
        raise InputError(f"{_where(int(early[0]), is_csv)}: start_time is before submit_time", file=file,
                         field="start_time", value=df["start_time"].iloc[int(early[0])])
    state, unknown = _state(df["state"]) if "state" in df.columns else (np.full(len(df), "unknown"), len(df))
    keep = (gpus >= 1) & (dur > 0)
    tenant = df["user"] if "user" in df.columns else pd.Series(["default"] * len(df))
    kind = df["type"].fillna("").str.lower() if "type" in df.columns else pd.Series([""] * len(df))
    notes = [(f"{int((gpus < 1).sum())} CPU-only jobs and {int(((gpus >= 1) & ~(dur > 0)).sum())} GPU jobs "
             "without a run time (never started or zero) left out; "
             f"{unknown} rows with a state other than completed/failed/cancelled counted as unknown")]
    t0 = _origin(df["submit_time"], submit)
    out = _frame(submit[keep], gpus[keep], dur[keep], (start - submit)[keep], state[keep],
                 tenant.fillna("default").astype(str).to_numpy()[keep], kind.to_numpy()[keep])
    return TraceLog(out, file, "slurm_csv", t0=t0, notes=notes)


def _origin(raw: pd.Series, secs: np.ndarray) -> datetime | None:
    """Wall-clock time of the first submission when the column holds dates, else None."""
    if pd.to_numeric(raw, errors="coerce").notna().all() or not np.isfinite(secs).any():
        return None
    return _utc(float(np.nanmin(secs)))


def _utc(t_s: float) -> datetime:
    return datetime.fromtimestamp(t_s, UTC).replace(tzinfo=None)


def _philly_clock(doc: list, file: str) -> dict[str, float]:
    """UTC seconds of every time text in a Philly log, read by the one set of timestamp rules
    (``dctwin.timeparse``; naive times are UTC), each distinct text once."""
    where: dict[str, str] = {}
    for i, job in enumerate(doc):
        if not isinstance(job, dict):
            continue
        atts = job.get("attempts") if isinstance(job.get("attempts"), list) else []
        cells = [("submitted_time", job.get("submitted_time"))]
        cells += [(k, a.get(k)) for a in atts if isinstance(a, dict) for k in ("start_time", "end_time")]
        for key, v in cells:
            if v is not None and v != "None":
                where.setdefault(str(v), f"job {i}: {key}")
    texts = list(where)
    utc = parse_timestamps(pd.Series(texts, dtype=object), file=file, where=lambda k: where[texts[k]], naive=0.0)
    return dict(zip(texts, (utc.as_unit("ns").asi8 / 1e9).tolist(), strict=True))


def _philly_time(v, clock: dict[str, float]) -> float:
    return np.nan if v is None or v == "None" else clock[str(v)]


def _philly_job(job, i: int, file: str, clock: dict[str, float]) -> tuple[float, int, float, float, str, str]:
    where = f"job {i}"
    if not isinstance(job, dict) or "submitted_time" not in job or "attempts" not in job:
        raise InputError(f"{where}: expected an object with submitted_time and attempts", file=file)
    sub = _philly_time(job["submitted_time"], clock)
    if not np.isfinite(sub):
        raise InputError(f"{where}: submitted_time is missing", file=file, field="submitted_time")
    atts = job["attempts"] if isinstance(job["attempts"], list) else None
    if atts is None:
        raise InputError(f"{where}: attempts must be a list", file=file, field="attempts")
    run, first, gpus = 0.0, np.nan, 0
    for a in atts:
        s = _philly_time(a.get("start_time"), clock)
        e = _philly_time(a.get("end_time"), clock)
        if np.isfinite(s) and np.isfinite(e):
            if e < s:
                raise InputError(f"{where}: an attempt ends before it starts", file=file, field="end_time")
            run += e - s
        first = s if np.isfinite(s) and not np.isfinite(first) else first
        gpus = sum(len(d.get("gpus", [])) for d in a.get("detail", []) if isinstance(d, dict)) or gpus
    status = str(job.get("status", "")).lower()
    return sub, gpus, run, first - sub, _STATE_WORDS.get(status, "unknown"), str(job.get("user", "default"))


def _philly(p: Path) -> TraceLog:
    file = str(p)
    try:
        doc = json.loads(open_input(p).read().decode("utf-8"))  # checked, size-capped, read once
    except UnicodeDecodeError as exc:
        raise InputError(f"file is not UTF-8 text (byte {exc.start})", file=file) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", file=file) from None
    if not isinstance(doc, list):
        raise InputError("expected a JSON list of jobs", file=file, value=type(doc).__name__)
    clock = _philly_clock(doc, file)
    rows = [_philly_job(job, i, file, clock) for i, job in enumerate(doc)]
    arr = list(zip(*rows, strict=False)) if rows else [[]] * 6
    sub, gpus, run, wait = (np.asarray(a, dtype=np.float64) for a in arr[:4])
    keep = (gpus >= 1) & (run > 0)
    t0 = _utc(float(sub.min())) if sub.size else None
    notes = [(f"philly: {int((~keep).sum())} jobs without GPUs or without a finished attempt left out; run time "
             "= sum of attempts; wait = first attempt start - submission; times without an offset read as UTC")]
    out = _frame(sub[keep], gpus[keep], run[keep], wait[keep], np.asarray(arr[4], dtype=object)[keep],
                 np.asarray(arr[5], dtype=object)[keep], np.full(int(keep.sum()), ""))
    return TraceLog(out, file, "philly", t0=t0, notes=notes)


def _swf(p: Path, procs_per_gpu: int) -> TraceLog:
    from dctwin.workload.swf import read_swf_fields

    f, t0, notes = read_swf_fields(p)
    file = str(p)
    procs = np.where(f["alloc"] > 0, f["alloc"], f["req"])
    keep = (procs > 0) & (f["run"] > 0)
    gpus = np.ceil(procs / procs_per_gpu).astype(np.int64)
    state = np.select([f["status"] == 1, f["status"] == 0, f["status"] == 5], ["completed", "failed", "cancelled"],
                      "unknown").astype(object)
    notes.append(f"swf: {int((~keep).sum())} jobs without processors or run time (-1 or 0) left out; "
                 f"GPUs = processors / {procs_per_gpu} rounded up (--procs-per-gpu)")
    wait = np.where(f["wait"] >= 0, f["wait"], np.nan)
    user = np.where(f["user"] >= 0, f["user"].astype(np.int64).astype(str), "default").astype(object)
    out = _frame(f["submit"][keep], gpus[keep], f["run"][keep], wait[keep], state[keep], user[keep],
                 np.full(int(keep.sum()), ""))
    if t0 is not None and keep.any():  # the header's start is submit time 0, not the first kept job
        t0 = t0 + timedelta(seconds=float(f["submit"][keep].min()))
    return TraceLog(out, file, "swf", t0=t0, notes=notes)
