"""dctwin validate: every case is sourced, measures return finite figures, a wrong figure fails the run."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from dctwin.errors import InputError
from dctwin.validate import MEASURES, load_cases, run_case, select_cases, validate_command
from dctwin.validate.cases import ROLES

CASES = load_cases()


def test_every_case_has_source_role_and_tolerance():
    assert len(CASES) >= 20
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    for c in CASES:
        assert c.source_title and c.source_url.startswith("http"), c.id
        assert c.role in ROLES
        assert c.tolerance_rel is not None or c.bound in ("min", "max")
        assert c.published is not None or c.role == "consistency" or c.known_gap


def test_issue_topics_are_covered():
    ids = " ".join(c.id for c in CASES)
    for topic in ("llama3-405b-unexpected", "mlperf-v4.0-llama2-70b-offline-8xh100",
                  "mlperf-v4.0-llama2-70b-offline-8xh200", "nemo-", "azure-conv", "azure-code", "alibaba"):
        assert topic in ids
    assert any(c.role == "check" for c in CASES) and any(c.role == "calibration" for c in CASES)


def _first_case(name, fast):
    return next((c for c in CASES if c.measure == name and c.fast == fast), None)


@pytest.mark.parametrize("name", sorted({c.measure for c in CASES if c.fast}))
def test_fast_measures_return_finite(name):
    r = run_case(_first_case(name, True))
    assert math.isfinite(r.modelled) and r.modelled >= 0
    assert r.reference is not None and math.isfinite(r.reference)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted({c.measure for c in CASES if not c.fast}))
def test_slow_measures_return_finite(name):
    r = run_case(_first_case(name, False))
    assert math.isfinite(r.modelled) and r.modelled >= 0


def test_every_measure_is_used():
    assert set(MEASURES) == {c.measure for c in CASES}


def test_wrong_published_figure_fails_and_exit_code_is_1(tmp_path: Path):
    doc = [{"id": "wrong-mlperf", "title": "deliberately wrong", "role": "check",
            "source": {"title": "test", "url": "https://example.org"}, "published": 2000.0, "unit": "token/s",
            "measure": "inference_offline_tokens_per_s",
            "params": {"platform": "hgx-h100", "model": "llama-2-70b", "n_gpus": 8, "precision": "fp8"},
            "tolerance_rel": 0.15}]
    f = tmp_path / "cases.yaml"
    f.write_text(yaml.safe_dump(doc))
    r = run_case(load_cases(f)[0])
    assert not r.passed and r.blocking
    md = tmp_path / "v.md"
    assert validate_command(fast_only=True, cases_file=f, markdown_out=md) == 1
    assert "FAIL" in md.read_text()
    doc[0]["published"] = 21805.8
    f.write_text(yaml.safe_dump(doc))
    assert validate_command(fast_only=True, cases_file=f) == 0
    doc[0]["published"] = 2000.0
    doc[0]["known_gap"] = "documented"
    f.write_text(yaml.safe_dump(doc))
    assert validate_command(fast_only=True, cases_file=f) == 0


def test_case_without_source_is_refused(tmp_path: Path):
    f = tmp_path / "cases.yaml"
    f.write_text(yaml.safe_dump([{"id": "x", "title": "x", "source": {"title": "t"}, "published": 1, "unit": "-",
                                  "measure": "llama3_interruptions", "tolerance_rel": 0.1}]))
    with pytest.raises(InputError):
        load_cases(f)


def test_unknown_case_id_lists_valid_ones():
    with pytest.raises(InputError, match="nemo"):
        select_cases(CASES, case_ids=["nope"])


def test_fast_cases_pass():
    """What CI runs: `dctwin validate` (fast cases) exits 0."""
    assert validate_command(fast_only=True) == 0


def test_check_cases_are_listed_apart_from_calibration():
    """Issue 15: the table lists every check case before (and apart from) the calibration cases."""
    from dctwin.validate.report import run_cases
    ids = ["nemo-llama3-70b-fp8-64xh100", "llama3-405b-bf16-16384xh100", "llama3-405b-bf16-8192xh100",
           "llama3-405b-strong-scaling-8192-to-16384"]
    roles = [r.case.role for r in run_cases(select_cases(load_cases(), case_ids=ids))]
    assert roles == ["check", "check", "calibration", "calibration"]


CASE = "{id: x, title: t, source: {title: a, url: 'https://x'}, tolerance_rel: 0.1, unit: u, published: 1"


@pytest.mark.parametrize("text,problem", [
    ("a: 1\n", "YAML list of cases"),
    ("- a\n", "YAML list of cases"),
    ("{a: [", "malformed YAML"),
    (f"- {CASE}}}\n", r"\[0\].measure': missing"),
    (f"- {CASE}, measure: training_tflops_per_gpu, params: {{nope: 1}}}}\n", "unknown parameter of the measure"),
    (f"- {CASE.replace('published: 1', 'published: abc')}, measure: training_tflops_per_gpu}}\n",
     r"\[0\].published': expected a finite number"),
    (f"- {CASE}, measure: training_tflops_per_gpu, measure: x}}\n", "duplicate key 'measure'"),
])
def test_a_bad_cases_file_is_refused_before_any_case_runs(tmp_path, text, problem):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    with pytest.raises(InputError, match=problem):
        load_cases(p)


def test_a_missing_cases_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read file: No such file"):
        load_cases(tmp_path / "nope.yaml")
