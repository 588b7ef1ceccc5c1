"""Review of this session's perf-model fields (issue 15): each is refused when invalid and does what it says.

Before: ``training_perf`` read its switches with ``bool()``, so ``fp8_params='false'`` or ``cuda_graphs='no'`` turned
them on, and ``packed_sample_tokens='abc'`` raised a bare ValueError; a LoRA run's ``grad_precision: bf16`` left
its adapters' gradient buffer in FP32.
"""

from __future__ import annotations

import pytest

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.perf import Layout, TrainingJob, get_model, training_perf
from dctwin.perf.memory import training_memory
from dctwin.perf.params import packaged_perf_params

RUN = {"model": "llama-2-7b", "n_gpus": 8, "precision": "fp8", "tp": 1, "pp": 1, "dp": 8}


@pytest.mark.parametrize("field", ["cuda_graphs", "fp8_params", "fp8_activation_store"])
@pytest.mark.parametrize("value", ["false", "no", 2, None])
def test_a_switch_given_to_the_api_is_true_or_false(field, value):
    with pytest.raises(InputError, match=f"'{field}': expected true or false"):
        training_perf(get_platform("hgx-h100"), **RUN, **{field: value})


@pytest.mark.parametrize("value", ["258", True, [258]])
def test_packed_sample_tokens_given_to_the_api_is_a_number(value):
    with pytest.raises(InputError, match="'packed_sample_tokens': expected a number of tokens"):
        training_perf(get_platform("hgx-h100"), **RUN, packed_sample_tokens=value)


def test_valid_switches_still_run():
    r = training_perf(get_platform("hgx-h100"), **RUN, cuda_graphs=True, fp8_params=True,
                      fp8_activation_store=False, packed_sample_tokens=258)
    assert r.layout.cuda_graphs and r.step_time_s > 0


def test_lora_gradient_precision_sets_the_adapters_gradient_buffer():
    c = packaged_perf_params().training
    model = get_model("llama-2-70b")
    lay = Layout(tp=1, pp=1, dp=8)
    states = {g: training_memory(TrainingJob(model, "lora", "fp8", 8 * 4096.0, 4096, grad_precision=g), lay, c)
              .grads_and_optimizer_gb for g in ("fp32", "bf16")}
    # adapters hold 2 B weights + gradient + 12 B / 8 sharded states: 7.5 B (FP32 gradient) vs 5.5 B (BF16)
    assert states["bf16"] == pytest.approx(states["fp32"] * 5.5 / 7.5, rel=1e-12)


@pytest.mark.parametrize(("grad_precision", "grad_bytes"), [("fp32", 4.0), ("bf16", 2.0)])
def test_the_gradient_reduce_scatter_carries_the_gradient_buffer_width(grad_precision, grad_bytes):
    # The buffer is FP32 by default (Megatron grad_reduce_in_fp32) and is reduce-scattered in place: 4 B per
    # parameter; it was charged 2 B (the former grad_comm_bytes) whatever the buffer held.
    from dctwin.perf.collectives import group_link, reduce_scatter_s
    from dctwin.perf.memory import params_per_gpu
    from dctwin.perf.training import _dp_and_optimizer_s, _step_sync_s

    c = packaged_perf_params().training
    platform, model = get_platform("hgx-h100"), get_model("llama-2-70b")
    job = TrainingJob(model, "pretrain", "bf16", 64 * 4096.0, 4096, grad_precision=grad_precision)
    lay = Layout(tp=8, pp=1, dp=8)
    no_overlap = {"f": 1e9, "b": 0.0, "w": 0.0}   # nothing hides the reduce-scatter; the all-gather is hidden
    exposed_s, _ = _dp_and_optimizer_s(platform, job, lay, no_overlap, c)
    per_gpu = params_per_gpu(model, 1, 1, 1) / lay.tp
    expected_s = reduce_scatter_s(per_gpu * grad_bytes, lay.dp, group_link(platform, lay.tp * lay.dp, c))
    assert exposed_s - _step_sync_s(platform, job, lay, c) == pytest.approx(expected_s, rel=1e-12)


def test_fp8_activation_store_is_refused_for_a_gelu_mlp():
    # Megatron-core hands activation_func_fp8_input_store to its fused SwiGLU kernels only; GPT-3's GeLU MLP
    # kept its activation input in 16 bit whatever the flag said, and the model halved it.
    with pytest.raises(InputError, match="'fp8_activation_store'.*gated"):
        training_perf(get_platform("hgx-h100"), "gpt-3-175b", 512, "fp8", fp8_activation_store=True)
    r = training_perf(get_platform("hgx-h100"), **RUN, fp8_activation_store=True)   # Llama: SwiGLU
    assert r.step_time_s > 0


def test_a_scenario_asking_for_an_fp8_activation_store_on_gelu_is_refused_before_the_run(tmp_path):
    from dctwin.config import load_scenario
    from dctwin.config.runnable import check_runnable

    p = tmp_path / "s.yaml"
    p.write_text("extends: borlange-2027\nname: p\nsimulation: {duration_days: 2, step_s: 3600}\n"
                 "workload: {training: {pretrain: {mfu: null, model: gpt-3-175b, precision: fp8, "
                 "fp8_activation_store: true}}}\n", encoding="utf-8")
    with pytest.raises(InputError, match="fp8_activation_store") as e:
        check_runnable(load_scenario(p), str(p))
    assert e.value.file == str(p)
