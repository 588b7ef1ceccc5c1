"""Hostile values in the performance fields of the pre-training job class (mfu: null).

Before: `scenario validate` said "valid" for every layout, batch or precision the run then refused (exit 2
only after the site stage); a fixed ep on a dense model was dropped (EP1 run), ep not dividing the experts or
dp, tp not dividing the attention heads and pp above the layer count were evaluated as fractions; a global batch
of 1 token was rounded up to one 8,192-token sequence. Now `scenario validate` and `run` refuse them through
the same check (dctwin.config.runnable), naming file, field, value and what is allowed.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dctwin.catalog import get_platform
from dctwin.config import load_scenario
from dctwin.config.runnable import check_runnable
from dctwin.errors import InputError
from dctwin.perf import training_perf

HEAD = "extends: borlange-2027\nname: p\nsimulation: {duration_days: 2, step_s: 3600}\n"
PT = "workload: {{training: {{pretrain: {{mfu: null, {0}}}}}}}\n"


def _refusal(tmp_path, body: str) -> InputError:
    p = tmp_path / "s.yaml"
    p.write_text(HEAD + PT.format(body), encoding="utf-8")
    sc = load_scenario(p)  # the file itself is well formed: only the run's sizing refuses it
    with pytest.raises(InputError) as e:
        check_runnable(sc, str(p))
    assert e.value.file == str(p)
    return e.value


@pytest.mark.parametrize("body,field,value,allowed", [
    ("gpus: 4096, layout: {tp: 4, pp: 8, dp: 128, ep: 3}", "layout.ep", 3, "null or 1 (a dense model)"),
    ("model: mixtral-8x22b, gpus: 4096, layout: {tp: 4, pp: 8, dp: 128, ep: 3}", "layout.ep", 3,
     "a divisor of its 8 experts and of dp"),
    ("model: mixtral-8x22b, gpus: 4096, layout: {tp: 4, pp: 8, dp: 128, ep: 16}", "layout.ep", 16,
     "a divisor of its 8 experts and of dp"),
    ("model: mixtral-8x22b, gpus: 4096, layout: {tp: 8, pp: 8, dp: 4, cp: 16, ep: 8}", "layout.ep", 8,
     "a divisor of its 8 experts and of dp"),
    ("gpus: 4096, layout: {tp: 64, pp: 64, dp: 1}", "layout.tp", 64, "a divisor of its 96 attention heads"),
    ("gpus: 4096, layout: {tp: 1, pp: 1024, dp: 4}", "layout.pp", 1024, "at most its 88 layers"),
    ("gpus: 4096, seq_tokens: 8200, layout: {tp: 8, pp: 4, dp: 16, cp: 8}", "layout.cp", 8, "2 x cp divides"),
    ("global_batch_tokens: 1000", "global_batch_tokens", 1000.0, ">= seq_tokens (8,192 tokens)"),
    ("global_batch_tokens: 1.0e-12", "global_batch_tokens", 1e-12, ">= seq_tokens"),
    ("precision: bf16, attention_precision: fp8", "attention_precision", "fp8", "bf16 with precision bf16"),
])
def test_a_layout_the_model_cannot_take_is_refused_before_the_run(tmp_path, body, field, value, allowed):
    e = _refusal(tmp_path, body)
    assert e.field == f"workload.training.pretrain.{field}" and e.value == value and allowed in e.allowed, str(e)


@pytest.mark.parametrize("body,problem", [
    ("gpus: 1000000, layout: {tp: 8, pp: 125, dp: 1000}", "needs more GPUs than the site gives training"),
    ("gpus: 4096, layout: {tp: 1, pp: 1, dp: 64, cp: 64}", "does not fit"),
    ("gpus: 4096, schedule: interleaved, layout: {tp: 8, pp: 1, dp: 512}", "no layout"),
    ("micro_batch: 512, global_batch_tokens: 8192, seq_tokens: 8192", "no layout"),
])
def test_validate_refuses_what_the_run_refused_after_its_first_stages(tmp_path, body, problem):
    assert problem in str(_refusal(tmp_path, body))


def test_scenario_validate_and_run_exit_2_naming_the_file(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(HEAD + PT.format("gpus: 4096, layout: {tp: 4, pp: 8, dp: 128, ep: 3}"), encoding="utf-8")
    env = {**os.environ, "COLUMNS": "200"}
    for args in (["scenario", "validate", str(p)], ["run", str(p), "-q", "--out", str(tmp_path / "r")]):
        r = subprocess.run([sys.executable, "-m", "dctwin", *args], capture_output=True, text=True, env=env,
                           timeout=300)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert f"{p}: field 'workload.training.pretrain.layout.ep'" in r.stderr and "(got 3)" in r.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("body", [
    "model: mixtral-8x22b, gpus: 4096, layout: {tp: 4, pp: 8, dp: 128, ep: 8}",
    "gpus: 4096, layout: {tp: 4, pp: 8, dp: 128, ep: 1}",
    "global_batch_tokens: 8192",
    "precision: fp8, attention_precision: fp8, cuda_graphs: true",
])
def test_sizes_the_model_can_take_still_pass(tmp_path, body):
    p = tmp_path / "s.yaml"
    p.write_text(HEAD + PT.format(body), encoding="utf-8")
    check_runnable(load_scenario(p), str(p))


def test_training_perf_no_longer_drops_ep_on_a_dense_model():
    # it ran EP1 and reported that layout as if the request had been honoured
    with pytest.raises(InputError, match="cannot be split") as e:
        training_perf(get_platform("vr-nvl72"), "mistral-large-2", 4096, "fp8", tp=4, pp=8, dp=128, ep=4)
    assert e.value.field == "ep"


TAMPA = "extends: air-cooled-hgx-tampa\nname: p\nsimulation: {duration_days: 2, step_s: 3600}\n"
SERVICE = "workload: {{inference: [{{model: mistral-large-2, peak_requests_per_s: 10, {0}}}]}}\n"


@pytest.mark.parametrize("body,field,problem", [
    ("disaggregated: {prefill_gpus: 1, decode_gpus: 1}", "disaggregated.prefill_gpus", "cannot run the prefill pool"),
    ("tpot_ms: 0.001, disaggregated: {prefill_gpus: 8, decode_gpus: 8}", "disaggregated.decode_gpus",
     "cannot run the decode pool"),
    ("disaggregated: {prefill_gpus: 2, decode_gpus: 8}", "disaggregated", "above the 450 ms target"),
    ("ttft_ms: 1.0e-12", "ttft_ms/tpot_ms", "no batch size meets the latency targets"),
])
def test_a_serving_unit_that_cannot_meet_its_targets_is_refused_before_the_run(tmp_path, body, field, problem):
    # `scenario validate` said valid; the run refused it in its cluster stage, naming a perf-model field
    p = tmp_path / "s.yaml"
    p.write_text(TAMPA + SERVICE.format(body), encoding="utf-8")
    with pytest.raises(InputError, match=problem) as e:
        check_runnable(load_scenario(p), str(p))
    assert e.value.field == f"workload.inference[mistral-large-2].{field}" and e.value.file == str(p)


def test_the_inference_shortfall_kpi_does_not_wrap_around():
    # 10^16 GPUs short per hour-step for 4 steps x 3600 s overflowed int64 into a negative GPU-second total
    import datetime as dt

    import numpy as np

    from dctwin.cluster import simulate_cluster
    from dctwin.config.cluster import SchedulerConfig
    from dctwin.timeline import Timeline
    from dctwin.workload.schema import empty_jobs

    tl = Timeline(dt.date(2027, 1, 1), 3600, 4)
    r = simulate_cluster(SchedulerConfig(), tl, np.full(4, 72), get_platform("vr-nvl72"), empty_jobs(),
                         np.full(4, 1e16), 0)
    assert r.stats["inference_shortfall_gpu_s"] == pytest.approx(4 * (1e16 - 72) * 3600, rel=1e-12)


@pytest.mark.parametrize("value", [".nan", "0", "1.5", "true"])
def test_a_bad_layout_size_is_one_line_naming_its_field(tmp_path, value):
    # the union 'auto' | {tp, pp, dp, ...} named a member class in the path and added a second line from the
    # other member: "field '...layout.<key that is not a field name>': Input should be 'auto'"
    from dctwin.errors import ScenarioError

    p = tmp_path / "s.yaml"
    p.write_text(HEAD + PT.format(f"gpus: 4096, layout: {{tp: {value}, pp: 8, dp: 512}}"), encoding="utf-8")
    with pytest.raises(ScenarioError) as e:
        load_scenario(p)
    text = str(e.value)
    assert "\n" not in text and "field 'workload.training.pretrain.layout.tp'" in text, text
    assert "ParallelLayoutConfig" not in text and "not a field name" not in text


@pytest.mark.parametrize("value", ["1", "0", "1.0", "'yes'", "'true'", "'1'"])
def test_a_switch_is_written_true_or_false(tmp_path, value):
    # cuda_graphs: 1, 'yes' or '1' was read as true (pydantic's lax booleans), 0 as false
    from dctwin.errors import ScenarioError

    p = tmp_path / "s.yaml"
    p.write_text(HEAD + PT.format(f"cuda_graphs: {value}"), encoding="utf-8")
    with pytest.raises(ScenarioError, match="cuda_graphs': expected true or false"):
        load_scenario(p)
