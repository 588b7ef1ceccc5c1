"""Training memory as the stacks hold it: FP8 weights, 16-bit gradients, the per-layer activation count, the usable
share of HBM and recomputing only the layers that do not fit (issue 15)."""

from __future__ import annotations

import dataclasses

import pytest

from dctwin.catalog import get_platform
from dctwin.config.workload import PretrainConfig
from dctwin.errors import InputError
from dctwin.perf import Layout, TrainingJob, evaluate_layout, get_model, training_perf
from dctwin.perf.memory import layer_activation_stored, recompute_layers_needed, training_memory
from dctwin.perf.params import packaged_perf_params
from dctwin.perf.search import memory_budget_gb
from dctwin.workload.jobs import pretrain_perf

H100, B200 = get_platform("hgx-h100"), get_platform("hgx-b200")
C = packaged_perf_params().training
L405, L70, GPT3 = get_model("llama-3-405b"), get_model("llama-2-70b"), get_model("gpt-3-175b")
# NVIDIA's MLPerf Training v5.0 Llama 3.1 405B layout on 512 H100 (validate case mlperf-t5.0-llama31-405b-512xh100)
RUN_405B = dict(global_batch_tokens=9437184, seq_tokens=8192, tp=8, pp=8, dp=4, cp=2, micro_batch=1,
                schedule="interleaved")
# NVIDIA's MLPerf Training v5.0 Llama 2 70B LoRA on 8 B200 (TP1, FP8 attention)
RUN_LORA = dict(global_batch_tokens=65536, seq_tokens=8192, mode="lora", tp=1, pp=1, dp=8, cp=1,
                attention_precision="fp8")


def test_fp8_params_halve_the_weights_and_keep_the_sharded_master():
    lay = Layout(tp=8, pp=8, dp=4, cp=2, schedule="interleaved", virtual_stages=8)
    job = TrainingJob(L405, "pretrain", "fp8", 9437184, 8192)
    base, fp8w = (training_memory(j, lay, C) for j in (job, dataclasses.replace(job, fp8_params=True)))
    assert fp8w.weights_gb == pytest.approx(base.weights_gb / 2)
    assert fp8w.grads_and_optimizer_gb == base.grads_and_optimizer_gb      # FP32 grads, sharded master + moments
    lora = TrainingJob(L70, "lora", "fp8", 65536, 8192)
    one = Layout(tp=1, pp=1, dp=8)
    held = training_memory(dataclasses.replace(lora, fp8_params=True), one, C).weights_gb
    assert held == pytest.approx(training_memory(lora, one, C).weights_gb / 2)
    assert held == pytest.approx(L70.params_total / 1e9)                     # 1 B per frozen base parameter


def test_16_bit_gradients_save_two_bytes_per_held_parameter():
    lay = Layout(tp=8, pp=8, dp=4, cp=2, schedule="interleaved", virtual_stages=8)
    job = TrainingJob(L405, "pretrain", "fp8", 9437184, 8192)
    fp32, bf16 = (training_memory(j, lay, C) for j in (job, dataclasses.replace(job, grad_precision="bf16")))
    held = L405.params_total / 64 * 16 / 15.75                               # 16 of 126 layers on the fullest stage
    assert fp32.grads_and_optimizer_gb - bf16.grads_and_optimizer_gb == pytest.approx(2 * held / 1e9, rel=1e-9)


def test_fp8_params_need_fp8_training_and_grad_precision_is_checked():
    with pytest.raises(InputError) as err:
        training_perf(H100, "llama-2-70b", 64, "bf16", fp8_params=True)
    assert err.value.field == "fp8_params"
    with pytest.raises(InputError) as err:
        training_perf(H100, "llama-2-70b", 64, "fp8", grad_precision="fp16")
    assert err.value.field == "grad_precision"


def test_activation_count_is_korthikantis_without_dropout_or_scores():
    """GPT-3 in BF16: Korthikanti et al. count 34 h per token and layer with flash attention (no s^2 terms), of which
    2 h are dropout masks that the MLPerf stack (dropout 0) does not keep; plus the FP32 softmax statistics."""
    job = TrainingJob(GPT3, "pretrain", "bf16", 2048 * 1536, 2048)
    assert layer_activation_stored(job) == pytest.approx(32 * GPT3.hidden_size + 4 * GPT3.attention_heads)


def test_llama_count_follows_its_swiglu_width_and_grouped_kv():
    """Llama 2 70B in BF16: norms 2 x 2h, QKV input 2h, Q 2h + K, V 2 x 1024 x 2 B, output 2h, MLP input 2h,
    SwiGLU input 2 x 2f, down-projection input 2f (h 8,192, f 28,672), softmax statistics 64 x 4 B."""
    h, f = 8192, 28672
    expected = 2 * 2 * h + 2 * h + (2 * h + 2 * 2048) + 2 * h + 2 * h + 4 * f + 2 * f + 4 * 64
    assert layer_activation_stored(TrainingJob(L70, "pretrain", "bf16", 4 * 2**20, 4096)) == expected


def test_fp8_activation_store_keeps_the_swiglu_input_in_8_bit():
    job = TrainingJob(L70, "lora", "fp8", 65536, 8192, attention_precision="fp8")
    saved = layer_activation_stored(job) - layer_activation_stored(dataclasses.replace(job, fp8_activation_store=True))
    assert saved == 2 * L70.ffn_hidden_size                                  # 2 f values, 2 B -> 1 B


def test_budget_is_what_the_gpu_shows_less_the_reserve():
    """The catalog's 80 'GB' H100 shows 81,559 MiB = 85.5e9 B in nvidia-smi: the budget is 0.9 of the binary size,
    below what the GPU shows and above the 72e9 B that decimal gigabytes gave."""
    budget = memory_budget_gb(H100, C)
    assert 0.85 * 85.52 < budget < 85.52
    assert budget > 0.9 * H100.hbm_gb


def test_only_the_layers_that_do_not_fit_are_recomputed():
    job = TrainingJob(L405, "pretrain", "fp8", 9437184, 8192)
    lay = Layout(tp=8, pp=8, dp=4, cp=2, schedule="interleaved", virtual_stages=8)
    budget = memory_budget_gb(H100, C)
    k = recompute_layers_needed(job, lay, C, budget)
    assert 0 < k < 16
    fits = lambda n: training_memory(job, dataclasses.replace(lay, recompute="full", recompute_layers=n), C)  # noqa: E731
    assert fits(k).total_gb <= budget < fits(k - 1).total_gb
    r = training_perf(H100, L405, 512, "fp8", **RUN_405B)
    assert r.layout.recompute_layers == k and f"recompute {k} layers per stage" in r.layout.label()
    full = evaluate_layout(H100, job, dataclasses.replace(lay, recompute="full"), C)
    assert r.step_time_s < full.step_time_s                                  # less recompute, shorter step
    forced = training_perf(H100, L405, 512, "fp8", **RUN_405B, recompute="full")
    assert forced.layout.recompute_layers == 0 and forced.step_time_s == pytest.approx(full.step_time_s)


@pytest.mark.parametrize(("platform", "model", "gpus", "run", "flags"), [
    (H100, L405, 512, RUN_405B, {"fp8_params": True, "grad_precision": "bf16"}),
    (B200, L70, 8, RUN_LORA, {"fp8_params": True, "fp8_activation_store": True}),
])
def test_submitted_layouts_run_without_recompute_as_configured(platform, model, gpus, run, flags):
    """The MLPerf submissions ran these layouts without recompute; with the stacks' own storage settings they fit,
    without them the model recomputes."""
    assert training_perf(platform, model, gpus, "fp8", **run, **flags).layout.recompute == "none"
    assert training_perf(platform, model, gpus, "fp8", **run).layout.recompute == "full"


def test_scenario_fields_reach_the_perf_model():
    with pytest.raises(ValueError, match="fp8_params"):
        PretrainConfig(fp8_params=True)                                      # flat MFU: the field would do nothing
    base = PretrainConfig(mfu=None, model="llama-3-405b", precision="fp8", gpus=512, seq_tokens=8192,
                          global_batch_tokens=9437184, micro_batch=1, schedule="interleaved",
                          layout={"tp": 8, "pp": 8, "dp": 4, "cp": 2, "ep": 1})
    fp8w = base.model_copy(update={"fp8_params": True, "grad_precision": "bf16"})
    a, b = pretrain_perf(H100, base, 512), pretrain_perf(H100, fp8w, 512)
    assert b.memory.weights_gb == pytest.approx(a.memory.weights_gb / 2)
    assert a.layout.recompute == "full" and b.layout.recompute == "none" and b.step_time_s < a.step_time_s
