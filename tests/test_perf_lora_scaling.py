"""Data-parallel gradients without the distributed optimizer (``distributed_optimizer`` false).

MLPerf Training v4.0's Llama 2 70B LoRA runs (NVIDIA, NeMo v2.0.0.rc0.beta) use ``optim: fused_adam`` with
megatron_amp_O2: no distributed optimizer. Every rank then holds the whole FP32 master weights and moments, and
NeMo all-reduces the FP32 gradient buffer; under sequence or pipeline parallelism it turns the asynchronous
all-reduce off (MegatronBaseModel.configure_optimizers) and all-reduces after the backward
(MegatronGPTModel.training_step, allreduce_main_grads), exposed. Before, every run was charged as if its states
were sharded and its gradients reduce-scattered behind the backward.
"""

from __future__ import annotations

import pytest

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.perf import Layout, TrainingJob, get_model, training_perf
from dctwin.perf.collectives import all_reduce_s, group_link
from dctwin.perf.layout import lora_params
from dctwin.perf.memory import params_per_gpu, training_memory
from dctwin.perf.params import packaged_perf_params
from dctwin.perf.training import _dp_and_optimizer_s, _step_sync_s

C = packaged_perf_params().training
H100 = get_platform("hgx-h100")
V40_64 = dict(model="llama-2-70b", n_gpus=64, precision="fp8", global_batch_tokens=65536, seq_tokens=8192,
              mode="lora", tp=4, pp=1, dp=8, cp=2, attention_precision="bf16")   # eos_n8_ngc24.04_nemo


def _dp_exposed_s(job: TrainingJob, lay: Layout, st: dict) -> float:
    return _dp_and_optimizer_s(H100, job, lay, st, C)[0] - _step_sync_s(H100, job, lay, C)


def test_without_the_distributed_optimizer_the_lora_gradients_are_all_reduced_after_the_backward():
    on = training_perf(H100, **V40_64)
    off = training_perf(H100, **V40_64, distributed_optimizer=False)
    # the adapters' FP32 gradient buffer of one GPU, all-reduced over the 8 x 2 data x context ranks across nodes
    buffer_b = lora_params(get_model("llama-2-70b"), 16) / 4 * C["grad_bytes_per_param_fp32"]
    expected_s = all_reduce_s(buffer_b, 16, group_link(H100, 64, C))
    assert off.comm_exposed_s - on.comm_exposed_s == pytest.approx(expected_s, rel=1e-9)
    assert 2e-3 < expected_s < 5e-3                        # 65 MB over 400G InfiniBand: a few ms
    assert off.step_time_s > on.step_time_s


def test_the_all_reduce_hides_behind_the_backward_without_sequence_or_pipeline_parallelism():
    model = get_model("llama-2-7b")
    lay = Layout(tp=1, pp=1, dp=8)
    job = TrainingJob(model, "full-finetune", "bf16", 8 * 4096.0, 4096, distributed_optimizer=False)
    buffer_b = params_per_gpu(model, 1, 1, 1) * C["grad_bytes_per_param_fp32"]
    t_ar = all_reduce_s(buffer_b, 8, group_link(H100, 8, C))
    assert _dp_exposed_s(job, lay, {"f": 0.0, "b": 2 * t_ar, "w": 0.0}) == 0.0          # fits behind the backward
    assert _dp_exposed_s(job, lay, {"f": 0.0, "b": 0.25 * t_ar, "w": 0.25 * t_ar}) == pytest.approx(0.5 * t_ar)
    # with tensor (hence sequence) parallelism NeMo all-reduces after the backward: nothing hides it
    lay_tp = Layout(tp=2, pp=1, dp=4)
    t_tp = all_reduce_s(buffer_b / 2, 4, group_link(H100, 8, C))
    assert _dp_exposed_s(job, lay_tp, {"f": 0.0, "b": 10 * t_tp, "w": 0.0}) == pytest.approx(t_tp, rel=1e-12)


def test_without_the_distributed_optimizer_every_rank_holds_the_whole_states():
    model = get_model("llama-2-7b")
    lay = Layout(tp=1, pp=1, dp=8)
    held = {d: training_memory(TrainingJob(model, "full-finetune", "bf16", 8 * 4096.0, 4096,
                                           distributed_optimizer=d), lay, C).grads_and_optimizer_gb
            for d in (True, False)}
    # FP32 master and two moments, 12 B per parameter, on each of the 8 ranks instead of 1/8 of them
    extra_gb = params_per_gpu(model, 1, 1, 1) * C["state_bytes_per_param_sharded"] * (1 - 1 / 8) / 1e9
    assert held[False] - held[True] == pytest.approx(extra_gb, rel=1e-12)


def test_the_optimizer_update_is_not_divided_over_the_ranks_without_sharding():
    model = get_model("llama-2-7b")
    lay = Layout(tp=1, pp=1, dp=8)
    st = {"f": 1.0, "b": 1.0, "w": 1.0}
    t = {d: _dp_and_optimizer_s(H100, TrainingJob(model, "full-finetune", "bf16", 8 * 4096.0, 4096,
                                                  distributed_optimizer=d), lay, st, C)[1] for d in (True, False)}
    assert t[False] == pytest.approx(8 * t[True], rel=1e-12)


@pytest.mark.parametrize("value", ["false", 0, 1, None])
def test_the_switch_given_to_the_api_is_true_or_false(value):
    with pytest.raises(InputError) as e:
        training_perf(H100, **V40_64, distributed_optimizer=value)
    assert e.value.field == "distributed_optimizer"


def test_a_scenario_with_a_flat_mfu_refuses_the_switch(tmp_path):
    from dctwin.config import load_scenario
    from dctwin.errors import ScenarioError

    p = tmp_path / "s.yaml"
    p.write_text("extends: borlange-2027\nname: p\nsimulation: {duration_days: 2, step_s: 3600}\n"
                 "workload: {training: {pretrain: {mfu: 0.4, distributed_optimizer: false}}}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="distributed_optimizer"):
        load_scenario(p)


def test_a_scenario_passes_the_switch_to_the_perf_model(tmp_path):
    from dctwin.config import load_scenario
    from dctwin.workload.jobs import pretrain_perf

    runs = {}
    for flag in ("true", "false"):
        p = tmp_path / f"s_{flag}.yaml"
        p.write_text("extends: borlange-2027\nname: p\nsimulation: {duration_days: 2, step_s: 3600}\n"
                     "workload: {training: {pretrain: {mfu: null, gpus: 64, model: llama-2-7b, precision: bf16, "
                     f"layout: {{tp: 8, pp: 1, dp: 8}}, distributed_optimizer: {flag}}}}}}}\n", encoding="utf-8")
        cfg = load_scenario(p).workload.training.pretrain
        runs[flag] = pretrain_perf(H100, cfg, 64)
    assert runs["false"].memory.grads_and_optimizer_gb > runs["true"].memory.grads_and_optimizer_gb
    assert runs["false"].comm_exposed_s > runs["true"].comm_exposed_s
