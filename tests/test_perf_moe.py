"""Mixture-of-experts fidelity (issue 15): the expert block's activation traffic and memory, counted from the
architecture, one count shared by training (step time, memory) and inference (the step roofline); each
expert's GEMM compute- or memory-bound on its own."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import binom

from dctwin.catalog import get_platform
from dctwin.perf import get_model, step_cost
from dctwin.perf.layout import Layout, TrainingJob
from dctwin.perf.memory import training_memory
from dctwin.perf.models import elementwise_bytes, moe_activation
from dctwin.perf.params import packaged_perf_params
from dctwin.perf.roofline import expert_pass_s
from dctwin.perf.training import _stage_times

H100, H200 = get_platform("hgx-h100"), get_platform("hgx-h200")
MIX = get_model("mixtral-8x7b")


def test_expert_block_activations_follow_the_architecture():
    """Mixtral 8x7B (h 4,096, expert width 14,336, 2 of 8 experts), 16-bit values: input 2h, router logits
    8 x 4 B, top-2 weights and indices 2 x 8 B, per routed copy its permuted input 2h, gate and up outputs
    2 x 2f, SwiGLU output 2f and expert output 2h."""
    h, f = 4096, 14336
    a = moe_activation(MIX)
    assert a.stored == 2 * h + 8 * 4 + 2 * 8 + 2 * (2 * h + 4 * f + 2 * f + 2 * h)
    assert a.gemm_inputs == 2 * (2 * h + 2 * f)                          # expert GEMM inputs, FP8-cast in FP8 runs
    assert a.weight_grad_only == 2 * h + a.gemm_inputs                   # + the router's input
    assert a.stored / h == pytest.approx(52.0, abs=0.02)                 # vs 19 h of a dense GeLU MLP
    assert moe_activation(get_model("llama-2-70b")).stored == 0.0


def test_moe_layer_streams_its_expert_block_in_place_of_the_dense_mlp():
    c = packaged_perf_params().inference
    e, e_mlp = c["elementwise_bytes_per_token_hidden"], c["elementwise_mlp_bytes_per_token_hidden"]
    llama = get_model("llama-2-70b")
    assert elementwise_bytes(llama, e, e_mlp) == e * llama.hidden_size          # dense count unchanged
    got = elementwise_bytes(MIX, e, e_mlp)
    assert got == (e - e_mlp) * MIX.hidden_size + 2 * moe_activation(MIX).stored
    assert got > e * MIX.hidden_size
    top1 = replace(MIX, experts_per_token=1)
    wider = replace(MIX, ffn_hidden_size=2 * MIX.ffn_hidden_size)
    assert elementwise_bytes(top1, e, e_mlp) < got < elementwise_bytes(wider, e, e_mlp)


def test_training_and_inference_charge_the_same_moe_traffic():
    """The roofline's per-token elementwise time and the training forward pass's come from one count."""
    ci, ct = packaged_perf_params().inference, packaged_perf_params().training
    cost = step_cost(H100, MIX, 1, "fp8")
    bw_inf = H100.hbm_bandwidth_tb_s * 1e12 * ci["hbm_efficiency"]
    per_layer = elementwise_bytes(MIX, ci["elementwise_bytes_per_token_hidden"],
                                  ci["elementwise_mlp_bytes_per_token_hidden"])
    assert cost.elementwise_s_per_token * bw_inf == pytest.approx(per_layer * MIX.layers)
    job = TrainingJob(MIX, "pretrain", "bf16", 4096 * 64, 4096)
    lay = Layout(tp=1, pp=1, dp=8, ep=8)
    st = _stage_times(H100, job, lay, ct)
    bw_tr = H100.hbm_bandwidth_tb_s * 1e12 * ct["hbm_efficiency"]
    elem_train = per_layer * st["tokens"] * MIX.layers / bw_tr
    assert st["hbm"] == pytest.approx(3 * elem_train, rel=1e-12)         # compute-bound GEMMs: forward + 2x backward


@pytest.mark.parametrize(("mode", "precision"), [("pretrain", "bf16"), ("pretrain", "fp8"), ("lora", "bf16")])
def test_moe_training_memory_holds_the_expert_block(mode, precision):
    """Activation memory of a MoE layout = the dense count with the MLP's share replaced by the expert block's.

    The dense twin's gated MLP keeps (per token, f its width): the first GEMM's input h and the second's f (16-bit,
    FP8 casts in FP8 training, none for a frozen LoRA base) and the SwiGLU input 2f in 16 bit."""
    c = packaged_perf_params().training
    dense_twin = replace(MIX, experts=1, experts_per_token=1, params_active=MIX.params_total)
    lay = Layout(tp=2, pp=1, dp=4, ep=4)
    moe_job, dense_job = (TrainingJob(m, mode, precision, 4096 * 32, 4096) for m in (MIX, dense_twin))
    extra_gb = training_memory(moe_job, lay, c).activations_gb - training_memory(dense_job, lay, c).activations_gb
    a, h, f = moe_activation(MIX), MIX.hidden_size, MIX.ffn_hidden_size
    gemm_in = {"bf16": 2.0, "fp8": 1.0}[precision] if mode != "lora" else 0.0
    dense_mlp = gemm_in * (h + f) + 2.0 * 2 * f
    block = a.stored - (a.weight_grad_only if mode == "lora" else a.gemm_inputs / 2 if precision == "fp8" else 0.0)
    per_token = block - dense_mlp
    held = 1                                                             # pp 1: one micro-batch in flight
    assert per_token > 0
    assert extra_gb == pytest.approx(per_token * 4096 * MIX.layers / lay.tp * held / 1e9, rel=1e-9)


def test_moe_traffic_moves_the_h200_over_h100_ratio_up():
    """More bytes per token between the GEMMs: the GPU with more bandwidth gains more on a MoE model."""
    a, b = step_cost(H100, MIX, 1, "fp8"), step_cost(H200, MIX, 1, "fp8")
    dense_a = step_cost(H100, replace(MIX, experts=1, experts_per_token=1), 1, "fp8")
    assert a.elementwise_s_per_token > 1.9 * dense_a.elementwise_s_per_token
    assert a.elementwise_s_per_token / b.elementwise_s_per_token == pytest.approx(4.8 / 3.35)


def test_expert_pass_is_the_binomial_expectation_of_each_experts_roofline():
    """sum over experts of E[max(read if reached, its tokens' FLOPs)], against a direct sum over the binomial."""
    cost = step_cost(H100, MIX, 1, "fp8")
    e, q = MIX.experts, MIX.experts_per_token / MIX.experts
    read, flop = cost.expert_weights_s / e, cost.expert_s_per_token / MIX.experts_per_token
    tokens = np.array([1, 7, 120, 500, 761, 844, 3000])
    got = expert_pass_s(tokens, q, cost.expert_weights_s, cost.expert_s_per_token / q)
    for t, g in zip(tokens, got, strict=True):
        n = np.arange(t + 1)
        want = e * np.sum(binom.pmf(n, t, q) * np.maximum(read * (n > 0), n * flop))
        assert g == pytest.approx(want, rel=1e-9)
    few = expert_pass_s(3.0, q, cost.expert_weights_s, cost.expert_s_per_token / q)     # memory-bound: experts reached
    assert few == pytest.approx(cost.weights_read_s(3.0) - (cost.weights_s - cost.expert_weights_s), rel=1e-12)


def test_moe_pass_is_compute_bound_in_shared_layers_before_its_experts():
    """Shared weights see every token, each expert a quarter of them (top-2 of 8): between the two break-evens
    (~211 and ~845 tokens on H100 FP8) the shared GEMMs are compute-bound while the experts are still
    memory-bound, so the pass takes longer than one max over all weights; far outside, the two agree. The
    break-evens quoted are those of experts at the dense GEMM efficiency (expert_gemm_efficiency_vs_dense 1)."""
    params = packaged_perf_params().replaced("inference", expert_gemm_efficiency_vs_dense=1.0)
    cost = step_cost(H100, MIX, 1, "fp8", params=params)
    t = np.arange(1.0, 4000.0, 7.0)
    joint = np.maximum(cost.weights_read_s(t), t * cost.gemm_s_per_seq)
    per_expert = cost.gemm_pass_s(t)
    assert np.all(per_expert >= joint * (1 - 1e-12))
    mid = (t > 400) & (t < 800)
    assert np.all(per_expert[mid] > joint[mid] * 1.03) and np.max(per_expert / joint) > 1.08
    assert per_expert[-1] == pytest.approx(joint[-1], rel=1e-6) and per_expert[0] == pytest.approx(joint[0])


def test_dense_pass_keeps_one_roofline():
    cost = step_cost(H100, get_model("llama-2-70b"), 2, "fp8")
    t = np.array([1.0, 64.0, 4096.0])
    assert np.array_equal(cost.gemm_pass_s(t), np.maximum(cost.weights_s, t * cost.gemm_s_per_seq))
    assert cost.gemm_s(8, 500) == max(cost.weights_s, 8 * cost.gemm_s_per_seq) + 500 * cost.prefill_s_per_token
