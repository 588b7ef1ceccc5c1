"""Fuzzing the weather, grid, heat and trace readers on truncated and corrupted files (issue 7, item 1).

Each reader gets a small valid file (generated, or cut from the packaged
traces and weather), then hypothesis damages it: truncation at any byte
(also inside gzip), flipped and inserted bytes, junk cells (blank, NaN, inf,
huge, negative, text, NUL, mixed time zones), extra and missing fields,
dropped and duplicated rows, a lost header, foreign encodings. Every file
must either read into data that keeps the reader's documented promises
(finite numbers in range, increasing timestamps, whole numbers that are the
file's numbers) or raise the project's ``DctwinError`` naming the file.
``FILES`` counts the files tried; ``test_reader_fuzz_count`` writes the count
to ``test-artifacts/fuzz-readers-count.txt``.
"""

from __future__ import annotations

import atexit
import collections
import gzip
import io
import re
import shutil
import tempfile
import time
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dctwin.errors import DctwinError
from dctwin.site import read_epw, read_grid_csv, read_heat_demand_csv, read_weather_csv
from dctwin.workload import read_alibaba_nodes, read_alibaba_pods, read_azure_llm_trace, read_job_table

REPO = Path(__file__).resolve().parent.parent
WORK = Path(tempfile.mkdtemp(prefix="dctwin-fuzz-readers-"))
atexit.register(shutil.rmtree, WORK, True)  # hypothesis examples share it; removed at exit
TRACES = Path(str(resources.files("dctwin.workload") / "data" / "traces"))
ARLANDA = Path(str(resources.files("dctwin.site") / "data" / "weather" / "SWE_Stockholm.Arlanda.024600_IWEC.epw"))
FUZZ = {"deadline": None, "database": None, "print_blob": True, "suppress_health_check": list(HealthCheck)}
FILES: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
MAX_SECONDS_PER_FILE = 10.0
INT_EXACT = 2**53  # whole numbers above this cannot come from a float64 column unchanged

JUNK = ["", " ", "nan", "NaN", "inf", "-inf", "1e400", "-1e400", "99999999999999999999999", "9223372036854775808",
        "1e30", "-1", "-0.5", "0x10", "1_000", "1,5", '"', "'", "\x00", "é", "\ufeff", "None", "true", "2027-13-45",
        "2027-01-01 00:00+01:00", "2027-01-01 00:00+05:00", "2027-01-01T00:00Z", "0001-01-01", "9999-12-31 23:59",
        "1.5", "2.0", "abc"]


def _head(name: str, n_lines: int) -> str:
    with gzip.open(TRACES / name, "rt", encoding="utf-8") as fh:
        return "".join(next(fh) for _ in range(n_lines))


SAMPLES = {
    "pods": _head("openb_pod_list_default.csv.gz", 40),
    "nodes": _head("openb_node_list_gpu_node.csv.gz", 30),
    "azure": _head("AzureLLMInferenceTrace_conv.csv.gz", 40),
}


# --- what a successful read must promise ----------------------------------------------------------

def _finite_in(df: pd.DataFrame, col: str, lo: float, hi: float) -> None:
    v = df[col].to_numpy(dtype=float)
    assert np.isfinite(v).all(), f"{col} holds NaN/inf"
    assert ((v >= lo) & (v <= hi)).all(), f"{col} outside [{lo}, {hi}]"


def _increasing(ts) -> None:
    t = pd.to_datetime(pd.Series(ts)).to_numpy().astype("datetime64[s]").astype(np.int64)
    assert (np.diff(t) > 0).all()


def _check_site(kind: str, df: pd.DataFrame) -> None:
    assert len(df) >= 2
    _increasing(df["timestamp"])
    if kind == "weather":
        _finite_in(df, "dry_bulb_c", -70, 70)
        _finite_in(df, "rel_humidity_pct", 0, 100)
    elif kind == "grid":
        _finite_in(df, "price_eur_per_mwh", -5000, 20000)
        _finite_in(df, "carbon_g_per_kwh", 0, 2000)
    else:
        _finite_in(df, "heat_demand_mw", 0, 1e5)
        if "dh_supply_temp_c" in df:
            _finite_in(df, "dh_supply_temp_c", 20, 200)


def _check_jobs(df: pd.DataFrame) -> None:
    assert (df["gpus"].to_numpy() >= 1).all() and (df["gpus"].to_numpy() < INT_EXACT).all()
    _finite_in(df, "submit_s", 0, np.inf)
    dur = df["duration_s"].to_numpy()
    assert np.isfinite(dur).all() and (dur > 0).all()
    assert (np.abs(df["priority"].to_numpy()) < INT_EXACT).all()
    assert (df["max_wait_s"].to_numpy() >= 0).all()


def _check_trace(kind: str, df: pd.DataFrame) -> None:
    if kind in ("pods", "jobs"):
        _check_jobs(df)
    elif kind == "nodes":
        for col in ("cpu_milli", "memory_mib", "gpus"):
            v = df[col].to_numpy()
            assert ((v >= 0) & (v < INT_EXACT)).all(), f"{col} wrapped or negative: {v}"
    else:
        t = df["t_s"].to_numpy()
        assert np.isfinite(t).all() and (t >= 0).all() and (np.diff(t) >= 0).all()
        for col in ("input_tokens", "output_tokens"):
            v = df[col].to_numpy()
            assert ((v >= 0) & (v < INT_EXACT)).all(), f"{col} wrapped or negative: {v[:5]}"


def _outcome(kind: str, path: Path, read, check) -> None:
    FILES[kind]["tried"] += 1
    t0 = time.perf_counter()
    try:
        df = read(path)
    except DctwinError as exc:
        msg = str(exc)
        assert str(path) in msg, f"error does not name the file: {msg[:300]}"
        FILES[kind]["refused"] += 1
    else:
        check(df)
        FILES[kind]["loaded"] += 1
    assert time.perf_counter() - t0 < MAX_SECONDS_PER_FILE


# --- valid files and their damage -----------------------------------------------------------------

@st.composite
def site_csv(draw, kind: str) -> str:
    n = draw(st.integers(2, 30))
    step_h = draw(st.sampled_from([1, 0.25, 24]))
    ts = pd.date_range("2027-01-01", periods=n, freq=pd.Timedelta(hours=step_h)).strftime("%Y-%m-%d %H:%M")
    cols = {"weather": [("dry_bulb_c", -40, 40), ("rel_humidity_pct", 0, 100)],
            "grid": [("price_eur_per_mwh", -500, 3000), ("carbon_g_per_kwh", 0, 900)],
            "heat": [("heat_demand_mw", 0, 300), ("dh_supply_temp_c", 50, 110)]}[kind]
    if kind == "heat" and draw(st.booleans()):
        cols = cols[:1]
    header = ",".join(["timestamp"] + [c for c, _, _ in cols])
    rows = []
    for t in ts:
        vals = [f"{draw(st.floats(lo, hi)):.2f}" for _, lo, hi in cols]
        rows.append(",".join([t] + vals))
    return header + "\n" + "\n".join(rows) + "\n"


@st.composite
def damaged(draw, text: str, gz_ok: bool = False) -> tuple[bytes, str]:
    """(file bytes, suffix) after 0-3 kinds of damage."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["cell", "cell", "cell", "drop_row", "dup_row", "swap_rows", "extra_field",
                                   "short_row", "no_header", "header_case", "blank_line"]))
        i = draw(st.integers(1, max(len(lines) - 1, 1))) if len(lines) > 1 else 0
        if i >= len(lines):
            continue
        fields = lines[i].split(",")
        if op == "cell":
            fields[draw(st.integers(0, len(fields) - 1))] = draw(st.one_of(st.sampled_from(JUNK), st.text(max_size=6)))
            lines[i] = ",".join(fields)
        elif op == "drop_row":
            del lines[i]
        elif op == "dup_row":
            lines.insert(i, lines[i])
        elif op == "swap_rows" and i + 1 < len(lines):
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
        elif op == "extra_field":
            lines[i] += ",extra"
        elif op == "short_row":
            lines[i] = ",".join(fields[: draw(st.integers(0, max(len(fields) - 1, 0)))])
        elif op == "no_header":
            lines = lines[1:]
        elif op == "header_case":
            lines[0] = lines[0].upper()
        elif op == "blank_line":
            lines.insert(i, "")
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    op = draw(st.sampled_from(["none", "none", "truncate", "flip", "insert", "latin1", "utf16", "bom", "crlf"]))
    if op == "truncate":
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif op == "flip" and raw:
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1:]
    elif op == "insert":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=6)) + raw[at:]
    elif op == "latin1":
        raw = "\n".join(lines).replace("e", "é").encode("latin-1", errors="replace")
    elif op == "utf16":
        raw = "\n".join(lines).encode("utf-16")
    elif op == "bom":
        raw = b"\xef\xbb\xbf" + raw
    elif op == "crlf":
        raw = raw.replace(b"\n", b"\r\n")
    suffix = ".csv"
    if gz_ok and draw(st.booleans()):
        raw = gzip.compress(raw)
        if draw(st.booleans()):
            raw = raw[: draw(st.integers(0, len(raw)))]  # truncated download
        suffix = ".csv.gz"
    return raw, suffix


# --- site readers ---------------------------------------------------------------------------------

SITE_READERS = {"weather": read_weather_csv, "grid": read_grid_csv, "heat": read_heat_demand_csv}


@settings(max_examples=600, **FUZZ)
@given(data=st.data(), kind=st.sampled_from(sorted(SITE_READERS)))
def test_site_csv_readers_on_damaged_files(data, kind):
    raw, _ = data.draw(damaged(data.draw(site_csv(kind))))
    path = WORK / f"{kind}.csv"
    path.write_bytes(raw)
    _outcome(kind, path, SITE_READERS[kind], lambda df: _check_site(kind, df))


EPW_LINES = ARLANDA.read_text(encoding="utf-8").splitlines()


@st.composite
def damaged_epw(draw) -> bytes:
    lines = list(EPW_LINES)
    op = draw(st.sampled_from(["cell", "cell", "cell", "truncate", "drop_row", "short_row", "header"]))
    i = draw(st.integers(8, len(lines) - 1))
    if op == "cell":
        fields = lines[i].split(",")
        j = draw(st.sampled_from([0, 1, 2, 3, 4, 6, 7, 8, 9, 21]))
        fields[j] = draw(st.sampled_from(JUNK))
        lines[i] = ",".join(fields)
    elif op == "truncate":
        text = "\n".join(lines)
        return text.encode()[: draw(st.integers(0, len(text)))]
    elif op == "drop_row":
        del lines[i]
    elif op == "short_row":
        lines[i] = ",".join(lines[i].split(",")[:10])
    else:
        lines[0] = draw(st.sampled_from(["", "LOCATIO", "location,x"]))
    return ("\n".join(lines) + "\n").encode()


@settings(max_examples=25, **FUZZ)  # a whole EPW year per example: ~0.1-0.2 s each
@given(raw=damaged_epw())
def test_epw_reader_on_damaged_files(raw):
    path = WORK / "damaged.epw"
    path.write_bytes(raw)

    def check(df):
        assert len(df) in (8760, 8784)
        _finite_in(df, "dry_bulb_c", -70, 70)
        _finite_in(df, "rel_humidity_pct", 0, 110)
        for col, lo, hi in (("month", 1, 12), ("day", 1, 31), ("hour", 1, 24)):
            _finite_in(df, col, lo, hi)

    _outcome("epw", path, read_epw, check)


# --- known reader bugs, one line each (see the report of issue 7) ---------------------------------

def _epw_with(row: int, field: int, value: str) -> Path:
    lines = list(EPW_LINES)
    fields = lines[8 + row].split(",")
    fields[field] = value
    lines[8 + row] = ",".join(fields)
    path = WORK / f"epw-{field}-{abs(hash(value))}.epw"
    path.write_text("\n".join(lines) + "\n")
    return path


def _text_file(name: str, text: str) -> Path:
    path = WORK / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("field,value", [(6, "nan"), (8, "NaN")], ids=["dry-bulb-nan", "humidity-nan"])
def test_epw_refuses_nan_in_required_columns(field, value):
    path = _epw_with(100, field, value)
    with pytest.raises(DctwinError, match="line 109"):
        read_epw(path)


@pytest.mark.parametrize("field", [0, 1], ids=["year", "month"])
def test_epw_refuses_integers_too_large(field):
    path = _epw_with(100, field, "99999999999999999999")
    with pytest.raises(DctwinError, match=str(path)):
        read_epw(path)


def test_site_csv_with_mixed_utc_offsets_is_refused_cleanly():
    path = WORK / "mixed-tz.csv"
    path.write_text("timestamp,dry_bulb_c,rel_humidity_pct\n2027-03-28 01:00+01:00,1,50\n2027-03-28 03:00+02:00,1,50\n")
    try:
        df = read_weather_csv(path)
    except DctwinError as exc:
        assert str(path) in str(exc)
    else:
        _check_site("weather", df)


# --- workload trace readers -----------------------------------------------------------------------

TRACE_READERS = {"pods": read_alibaba_pods, "nodes": read_alibaba_nodes, "azure": read_azure_llm_trace,
                 "jobs": read_job_table}


@st.composite
def job_table_csv(draw) -> str:
    n = draw(st.integers(1, 20))
    rows = ["submit_s,gpus,duration_s,kind,tenant,priority,deferrable,model,max_wait_s"]
    for _ in range(n):
        rows.append(",".join([
            f"{draw(st.floats(0, 1e6)):.1f}", str(draw(st.integers(1, 4096))), f"{draw(st.floats(1, 1e6)):.1f}",
            draw(st.sampled_from(["pretrain", "finetune", "eval", "batch", ""])), draw(st.sampled_from(["a", "b", ""])),
            draw(st.sampled_from(["0", "3", ""])), draw(st.sampled_from(["true", "false", "", "1"])),
            draw(st.sampled_from(["", "m"])), draw(st.sampled_from(["", "3600", "inf"]))]))
    return "\n".join(rows) + "\n"


@settings(max_examples=900, **FUZZ)
@given(data=st.data(), kind=st.sampled_from(sorted(TRACE_READERS)))
def test_trace_readers_on_damaged_files(data, kind):
    text = data.draw(job_table_csv()) if kind == "jobs" else SAMPLES[kind]
    raw, suffix = data.draw(damaged(text, gz_ok=True))
    path = WORK / f"{kind}{suffix}"
    for other in WORK.glob(f"{kind}.*"):
        other.unlink()
    path.write_bytes(raw)
    _outcome(kind, path, TRACE_READERS[kind], lambda df: _check_trace(kind, df))


@settings(max_examples=60, **FUZZ)
@given(data=st.data())
def test_job_table_parquet_damaged(data):
    """Parquet job tables: truncated or byte-flipped files, and odd column types."""
    df = pd.read_csv(io.StringIO(data.draw(job_table_csv())))  # typed columns, blanks as NaN
    col = data.draw(st.sampled_from(list(df.columns)))
    df[col] = data.draw(st.sampled_from([df[col], df[col].astype(str), pd.Series([b"\xff"] * len(df)),
                                         pd.Series([[1, 2]] * len(df)), pd.Series([1e30] * len(df))]))
    buf = io.BytesIO()
    try:
        df.to_parquet(buf)
    except Exception:  # noqa: BLE001 - pyarrow cannot write this column: nothing to test
        return
    raw = buf.getvalue()
    if data.draw(st.booleans()):
        at = data.draw(st.integers(0, len(raw) - 1))
        flip = bytes([data.draw(st.integers(0, 255))])
        raw = raw[:at] if data.draw(st.booleans()) else raw[:at] + flip + raw[at + 1:]
    path = WORK / "jobs.parquet"
    path.write_bytes(raw)
    _outcome("jobs-parquet", path, read_job_table, _check_jobs)


@pytest.mark.parametrize("kind,text", [
    ("pods", ("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,"
             "scheduled_time\np0,1,1,1e30,1000,,LS,Running,0,100,0\n")),
    ("nodes", "sn,cpu_milli,memory_mib,gpu,model\nn0,1e30,1,1,P100\n"),
    ("azure", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03,1e300,10\n"),
    ("jobs", "submit_s,gpus,duration_s,priority\n0,1,10,1e30\n"),
], ids=["pods-gpus", "nodes-cpu", "azure-tokens", "jobs-priority"])
def test_trace_readers_refuse_whole_numbers_too_large(kind, text):
    """1e30 in an integer column must be refused, not wrapped to a negative int64 and used."""
    path = WORK / f"huge-{kind}.csv"
    path.write_text(text)
    with pytest.raises(DctwinError, match=re.escape(str(path))):
        TRACE_READERS[kind](path)


@pytest.mark.parametrize("col", ["kind", "tenant", "model"])
def test_job_table_parquet_with_a_list_column_is_refused_cleanly(col):
    path = WORK / f"list-{col}.parquet"
    pd.DataFrame({"submit_s": [0.0], "gpus": [1], "duration_s": [1.0], col: [[1, 2]]}).to_parquet(path)
    with pytest.raises(DctwinError, match=re.escape(str(path))):
        read_job_table(path)


def test_azure_trace_with_mixed_utc_offsets_is_refused_cleanly():
    path = WORK / "mixed-tz-azure.csv"
    path.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03+01:00,4,1\n"
                    "2023-11-16 18:17:04+02:00,4,1\n")
    _outcome("azure", path, read_azure_llm_trace, lambda df: _check_trace("azure", df))


def test_reader_fuzz_count():
    """Record how many damaged files each reader saw."""
    lines = [f"{k}: tried {c['tried']}, loaded {c['loaded']}, refused {c['refused']}" for k, c in sorted(FILES.items())]
    lines.append(f"total files tried: {sum(c['tried'] for c in FILES.values())}")
    out = REPO / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "fuzz-readers-count.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    assert all(c["tried"] >= c["loaded"] + c["refused"] for c in FILES.values())
