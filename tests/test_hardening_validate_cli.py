"""Hostile `dctwin validate` options and cases files: each refused with file, field, value, exit 2.

Before: `--markdown` naming a folder, a path under a file or a full disk crashed with a traceback after every
case had run; an empty `--cases` file ran 0 cases and exited 0; a case missing a measure parameter, or a ratio
case with bad inner parameters, crashed with TypeError; 64.5, '64' or true GPUs were converted to 64, 64 and 1;
10^12 GPUs hung the layout search; tolerance_rel < 0 (nothing can pass), bound: above and fast: 7 were taken.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dctwin.errors import InputError
from dctwin.validate.cases import load_cases, run_case

HEAD = "- {id: x, title: t, source: {title: a, url: 'https://x'}, role: check, unit: u, published: 700, "
LAYOUT = ("platform: hgx-h100, model: llama-3-70b, precision: fp8, global_batch_tokens: 1048576, seq_tokens: 8192, "
          "tp: 4, pp: 8, dp: 2")


def _cases(tmp_path, text: str):
    p = tmp_path / "c.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def _tflops(extra: str = "tolerance_rel: 0.1", n_gpus: str = "64", layout: str = LAYOUT) -> str:
    return HEAD + f"{extra}, measure: training_tflops_per_gpu, params: {{{layout}, n_gpus: {n_gpus}}}}}\n"


@pytest.mark.parametrize("text,field,problem", [
    ("", "--cases", "has no cases"),
    ("[]\n", "--cases", "has no cases"),
    (_tflops(layout="platform: hgx-h100, model: llama-3-70b, precision: fp8"), "[0].params",
     "missing parameter of the measure"),
    (_tflops(n_gpus="64.5"), "[0].params.n_gpus", "expected an integer"),
    (_tflops(n_gpus="'64'"), "[0].params.n_gpus", "expected an integer"),
    (_tflops(n_gpus="true"), "[0].params.n_gpus", "expected an integer"),
    (_tflops(n_gpus=".nan"), "[0].params.n_gpus", "expected a finite number"),
    (_tflops(n_gpus="1000000000000"), "[0].params.n_gpus", "integer out of range"),
    (_tflops(n_gpus="-8"), "[0].params.n_gpus", "integer out of range"),
    (_tflops("tolerance_rel: -0.1"), "[0].tolerance_rel", "must be >= 0"),
    (_tflops("tolerance_rel: 0.1, bound: above"), "[0].bound", "unknown bound"),
    (_tflops("tolerance_rel: 0.1, fast: 7"), "[0].fast", "expected true or false"),
])
def test_a_bad_cases_file_is_refused_before_any_case_runs(tmp_path, text, field, problem):
    p = _cases(tmp_path, text)
    with pytest.raises(InputError, match=problem) as e:
        load_cases(p)
    assert e.value.file == str(p) and e.value.field == field


@pytest.mark.parametrize("kind", ["folder", "fifo", "missing"])
def test_a_cases_path_that_is_not_a_file_is_named_as_such(tmp_path, kind):
    p = tmp_path / "c.yaml"
    if kind == "folder":
        p.mkdir()
    elif kind == "fifo":
        os.mkfifo(p)
    with pytest.raises(InputError, match="not a regular file" if kind != "missing" else "No such file") as e:
        load_cases(p)
    assert e.value.field == "--cases"


def test_bad_inner_parameters_of_a_user_case_are_an_input_error(tmp_path):
    ratio = (HEAD + "tolerance_rel: 0.1, measure: training_throughput_ratio, params: {numerator: {platform: hgx-h100,"
             " model: llama-3-70b, n_gpus: 64}, denominator: {platform: hgx-h100}}}\n")
    p = _cases(tmp_path, ratio)
    with pytest.raises(InputError, match="cannot run with these parameters") as e:
        run_case(load_cases(p)[0])
    assert e.value.file == str(p) and "TypeError" in str(e.value)
    p = _cases(tmp_path, _tflops(layout=LAYOUT.replace("hgx-h100", "nope")))
    with pytest.raises(InputError, match="unknown catalog id") as e:
        run_case(load_cases(p)[0])
    assert e.value.file == str(p) and e.value.field == "x.params.platform"


@pytest.mark.parametrize("target", ["folder", "under-a-file", "/dev/full"])
def test_a_bad_markdown_path_is_refused_before_the_cases_run(tmp_path, target):
    (tmp_path / "folder").mkdir()
    (tmp_path / "afile").write_text("x")
    out = {"folder": tmp_path / "folder", "under-a-file": tmp_path / "afile" / "t.md"}.get(target, target)
    r = subprocess.run([sys.executable, "-m", "dctwin", "validate", "--case", "nemo-llama3-70b-fp8-64xh100",
                        "--markdown", str(out)], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "field '--markdown'" in r.stderr and str(out) in r.stderr
    assert "cases:" not in r.stdout  # refused before running: no table
