"""Trace readers on the shipped real files and on corrupt copies."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from dctwin.errors import InputError
from dctwin.workload import (
    JOB_COLUMNS,
    read_alibaba_nodes,
    read_alibaba_pods,
    read_azure_llm_trace,
    read_job_table,
    validate_jobs,
)
from dctwin.workload.traces import packaged_trace

PODS = packaged_trace("openb_pod_list_default.csv.gz")
NODES = packaged_trace("openb_node_list_gpu_node.csv.gz")
CONV = packaged_trace("AzureLLMInferenceTrace_conv.csv.gz")
CODE = packaged_trace("AzureLLMInferenceTrace_code.csv.gz")


def _lines(path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return f.read().splitlines()


# --- real files: figures from /work/shared/data/traces/README.md ----------------------------------

def test_alibaba_pods_real_file():
    raw = pd.read_csv(PODS)
    assert len(raw) == 8152
    # README: GPUs per pod 1 -> 6,989, 2 -> 16, 4 -> 15, 8 -> 44 (some never scheduled)
    assert raw["num_gpu"].value_counts().to_dict() == {1: 6989, 0: 1088, 8: 44, 2: 16, 4: 15}
    jobs = read_alibaba_pods(PODS)
    validate_jobs(jobs)
    scheduled = raw[(raw["num_gpu"] > 0) & raw["scheduled_time"].notna()]
    assert len(jobs) == len(scheduled)
    life = (scheduled["deletion_time"] - scheduled["scheduled_time"]).clip(lower=1)
    assert np.median(jobs["duration_s"]) == pytest.approx(np.median(life))
    assert jobs["submit_s"].iloc[0] == 0.0
    assert set(jobs["kind"]) <= {"eval", "finetune", "batch"}
    assert (jobs.loc[jobs["tenant"] == "BE", "kind"] == "batch").all()
    everything = read_alibaba_pods(PODS, include_unscheduled=True)
    assert len(everything) == int((raw["num_gpu"] > 0).sum())


def test_alibaba_nodes_real_file():
    nodes = read_alibaba_nodes(NODES)
    assert int(nodes["gpus"].sum()) == 6212  # README: 6,212 GPUs
    assert list(nodes.columns) == ["node", "cpu_milli", "memory_mib", "gpus", "gpu_model"]


@pytest.mark.parametrize("path,rows,rate", [(CODE, 8819, 2.6), (CONV, 19366, 5.5)])
def test_azure_real_files(path, rows, rate):
    df = read_azure_llm_trace(path)
    assert list(df.columns) == ["t_s", "input_tokens", "output_tokens"]
    assert len(df) == rows
    assert df["t_s"].iloc[0] == 0.0 and np.all(np.diff(df["t_s"]) >= 0)
    assert rows / df["t_s"].iloc[-1] == pytest.approx(rate, rel=0.05)  # README: ~2.6 and ~5.5 req/s
    raw = pd.read_csv(path)
    assert df["input_tokens"].sum() == raw["ContextTokens"].sum()


# --- corrupt copies --------------------------------------------------------------------------------

def _write(tmp_path, name: str, lines: list[str]):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_truncated_pod_file_names_line_and_column(tmp_path):
    lines = _lines(PODS)[:101]
    lines[-1] = lines[-1][:20]  # cut mid-line
    path = _write(tmp_path, "pods.csv", lines)
    with pytest.raises(InputError) as err:
        read_alibaba_pods(path)
    msg = str(err.value)
    assert "pods.csv" in msg and "line 101" in msg and "field '" in msg


def test_non_numeric_cell_names_line_and_column(tmp_path):
    lines = _lines(CONV)[:50]
    head, row = lines[0], lines[10].split(",")
    row[1] = "lots"
    lines[10] = ",".join(row)
    path = _write(tmp_path, "conv.csv", [head] + lines[1:])
    with pytest.raises(InputError, match=r"conv\.csv: field 'ContextTokens': line 11: expected an integer"):
        read_azure_llm_trace(path)


def test_bad_timestamp(tmp_path):
    lines = _lines(CODE)[:20]
    lines[5] = "yesterday," + lines[5].split(",", 1)[1]
    with pytest.raises(InputError, match="line 6"):
        read_azure_llm_trace(_write(tmp_path, "code.csv", lines))


def test_missing_column(tmp_path):
    lines = [",".join(h for h in _lines(NODES)[0].split(",") if h != "gpu")]
    with pytest.raises(InputError, match=r"field 'gpu': missing column\(s\) gpu"):
        read_alibaba_nodes(_write(tmp_path, "nodes.csv", lines))


def test_truncated_gzip(tmp_path):
    data = PODS.read_bytes()
    path = tmp_path / "pods.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="pods.csv.gz"):
        read_alibaba_pods(path)


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        read_job_table(empty)
    with pytest.raises(InputError, match="not found"):
        read_azure_llm_trace(tmp_path / "nope.csv")


def test_extra_field_on_a_line(tmp_path):
    lines = _lines(CONV)[:10]
    lines[4] += ",99"
    with pytest.raises(InputError, match="malformed CSV"):
        read_azure_llm_trace(_write(tmp_path, "conv.csv", lines))


# --- generic job table -----------------------------------------------------------------------------

def test_job_table_csv_defaults_and_order(tmp_path):
    path = _write(tmp_path, "jobs.csv", [
        "job_id,submit_s,gpus,duration_s,kind,tenant,priority,deferrable,model,max_wait_s",
        "7,100,8,3600,finetune,acme,,,mistral-large-2,",
        "3,50,1,60,eval,acme,5,false,,7200",
        "9,100,2,30,batch,,,,,",
    ])
    df = read_job_table(path)
    assert list(df.columns) == list(JOB_COLUMNS)
    assert df["submit_s"].tolist() == [50.0, 100.0, 100.0]
    assert df["kind"].tolist() == ["eval", "finetune", "batch"]  # ties keep file order
    assert df["priority"].tolist() == [5, 1, 0]
    assert df["deferrable"].tolist() == [False, False, True]
    assert df["tenant"].tolist() == ["acme", "acme", "default"]
    assert df["max_wait_s"].tolist() == [7200.0, np.inf, np.inf]


def test_job_table_parquet_round_trip(tmp_path):
    src = read_alibaba_pods(PODS)
    path = tmp_path / "jobs.parquet"
    src.to_parquet(path)
    back = read_job_table(path)
    pd.testing.assert_frame_equal(back, src, check_dtype=False)
    assert back.dtypes.astype(str).tolist() == src.dtypes.astype(str).tolist()


@pytest.mark.parametrize("row,field,where", [
    ("10,0,60", "gpus", "line 3"),
    ("10,1,-5", "duration_s", "line 3"),
    ("10,1,", "duration_s", "line 3"),
    ("-1,1,5", "submit_s", "line 3"),
    ("10,1.5,5", "gpus", "line 3"),
])
def test_job_table_bad_rows(tmp_path, row, field, where):
    path = _write(tmp_path, "jobs.csv", ["submit_s,gpus,duration_s", "0,1,60", row])
    with pytest.raises(InputError) as err:
        read_job_table(path)
    assert f"field '{field}'" in str(err.value) and where in str(err.value) and "jobs.csv" in str(err.value)


def test_job_table_unknown_kind_and_column(tmp_path):
    with pytest.raises(InputError, match="unknown job kind.*allowed: pretrain"):
        read_job_table(_write(tmp_path, "a.csv", ["submit_s,gpus,duration_s,kind", "0,1,1,training"]))
    with pytest.raises(InputError, match="unknown column"):
        read_job_table(_write(tmp_path, "b.csv", ["submit_s,gpus,duration_s,colour", "0,1,1,red"]))


def test_parquet_bad_row_names_row(tmp_path):
    path = tmp_path / "bad.parquet"
    pd.DataFrame({"submit_s": [0.0, 1.0], "gpus": [1, 0], "duration_s": [5.0, 5.0]}).to_parquet(path)
    with pytest.raises(InputError, match=r"field 'gpus': row 1"):
        read_job_table(path)
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(path.read_bytes()[:40])
    with pytest.raises(InputError, match="corrupt.parquet"):
        read_job_table(corrupt)


def test_validate_jobs_rejects_unsorted():
    df = read_alibaba_pods(PODS).iloc[:10].copy()
    df.loc[3, "submit_s"] = 1e12
    with pytest.raises(InputError, match="row 4.*sorted"):
        validate_jobs(df)


def test_docs_job_schema_example_parses(tmp_path):
    """The CSV example and error message in docs/job-schema.md are real."""
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "job-schema.md").read_text(encoding="utf-8")
    example = doc.split("```csv\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "jobs.csv"
    path.write_text(example)
    df = read_job_table(path)
    assert df["kind"].tolist() == ["pretrain", "finetune", "eval", "batch"]
    assert df["deferrable"].tolist() == [False, False, False, True]
    bad = tmp_path / "bad" / "jobs.csv"
    bad.parent.mkdir()
    bad.write_text("submit_s,gpus,duration_s\n0,1,60\n10,0,60\n")
    with pytest.raises(InputError) as err:
        read_job_table(bad)
    expected = "jobs.csv: field 'gpus': line 3: expected an integer >= 1 (got '0'); allowed: an integer >= 1"
    assert str(err.value).endswith(expected) and expected in doc


def test_parquet_typed_columns_with_gaps(tmp_path):
    path = tmp_path / "typed.parquet"
    pd.DataFrame({
        "submit_s": [5.0, 1.0, 3.0], "gpus": [2, 1, 4], "duration_s": [10.0, 20.0, 30.0],
        "kind": ["batch", None, "eval"], "tenant": ["a", None, "b"],
        "deferrable": pd.array([None, True, False], dtype="boolean"), "max_wait_s": [None, 60.0, np.inf],
    }).to_parquet(path)
    df = read_job_table(path)
    assert df["submit_s"].tolist() == [1.0, 3.0, 5.0]
    assert df["kind"].tolist() == ["batch", "eval", "batch"]
    assert df["tenant"].tolist() == ["default", "b", "a"]
    assert df["deferrable"].tolist() == [True, False, True]
    assert df["max_wait_s"].tolist() == [60.0, np.inf, np.inf]


def test_replay_two_million_jobs_is_fast(tmp_path):
    import time

    n = 2_000_000
    rng = np.random.default_rng(0)
    path = tmp_path / "big.parquet"
    pd.DataFrame({"submit_s": np.sort(rng.random(n) * 3e7), "gpus": rng.integers(1, 64, n),
                  "duration_s": rng.random(n) * 1e4 + 1, "kind": np.where(rng.random(n) < 0.5, "eval", "batch")}
                 ).to_parquet(path)
    t0 = time.perf_counter()
    df = read_job_table(path)
    elapsed = time.perf_counter() - t0
    print(f"\nread {len(df):,} jobs from Parquet in {elapsed:.2f} s")
    assert len(df) == n and elapsed < 15.0


def test_csv_round_trip_property(tmp_path):
    """Any valid job table written as CSV reads back unchanged (hypothesis)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from dctwin.workload.schema import finish_jobs

    row = st.tuples(
        st.sampled_from(["pretrain", "finetune", "eval", "batch"]), st.sampled_from(["a", "b-c", "team 1"]),
        st.floats(0, 1e8, allow_nan=False), st.integers(1, 100_000), st.floats(1e-3, 1e7, allow_nan=False),
        st.integers(-5, 5), st.booleans(), st.sampled_from(["", "mistral-large-2"]),
        st.one_of(st.just(np.inf), st.floats(0, 1e6, allow_nan=False)),
    )

    @settings(max_examples=30, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.lists(row, min_size=1, max_size=20))
    def check(rows):
        cols = dict(zip(["kind", "tenant", "submit_s", "gpus", "duration_s", "priority", "deferrable", "model",
                         "max_wait_s"], map(list, zip(*rows, strict=True)), strict=True))
        src = finish_jobs({k: np.array(v) for k, v in cols.items()})
        path = tmp_path / "rt.csv"
        src.to_csv(path, index=False, float_format="%.17g")
        pd.testing.assert_frame_equal(read_job_table(path), src)

    check()


def test_a_row_longer_than_the_header_is_refused_not_shifted(tmp_path):
    # pandas took the extra first field as the index: submit 8, gpus 3600, duration 5
    p = tmp_path / "jobs.csv"
    p.write_text("submit_s,gpus,duration_s\n0,8,3600,5\n")
    with pytest.raises(InputError, match="more fields than the header"):
        read_job_table(p)


@pytest.mark.parametrize("col,values", [
    ("gpus", [True]), ("gpus", ["8"]), ("submit_s", pd.to_datetime(["2027-01-01"])),
    ("duration_s", pd.to_timedelta(["1h"])),
])
def test_parquet_columns_of_other_types_are_not_turned_into_numbers(tmp_path, col, values):
    df = pd.DataFrame({"submit_s": [0.0], "gpus": [8], "duration_s": [3600.0]})
    df[col] = values
    df.to_parquet(tmp_path / "jobs.parquet")
    with pytest.raises(InputError, match=f"'{col}': column holds no numbers"):
        read_job_table(tmp_path / "jobs.parquet")


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_job_table_without_jobs_is_refused(tmp_path, kind):
    df = pd.DataFrame({"submit_s": pd.Series([], dtype=float), "gpus": pd.Series([], dtype="int64"),
                       "duration_s": pd.Series([], dtype=float)})
    p = tmp_path / f"jobs.{kind}"
    df.to_csv(p, index=False) if kind == "csv" else df.to_parquet(p)
    with pytest.raises(InputError, match="has no jobs"):
        read_job_table(p)


def test_a_bad_parquet_value_is_shown_as_its_value_not_a_numpy_repr(tmp_path):
    # "(got np.float64(inf))": numpy 2's repr of the scalar, not the value the user wrote
    p = tmp_path / "jobs.parquet"
    pd.DataFrame({"submit_s": [0.0], "gpus": [8], "duration_s": [np.inf]}).to_parquet(p)
    with pytest.raises(InputError) as e:
        read_job_table(p)
    assert "(got inf)" in str(e.value) and "np.float64" not in str(e.value)
