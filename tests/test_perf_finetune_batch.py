"""A fine-tuning run without a given batch takes the fine-tuning batch (perf/data/calibration.yaml
finetune_batch_tokens, NeMo's 32 x 4,096 tokens), not the model's multi-million-token pre-training batch, which would
hide the pipeline bubble and per-step costs such a run pays."""

import pytest

from dctwin.catalog import get_platform
from dctwin.perf import training_perf
from dctwin.perf.params import packaged_perf_params

H100 = get_platform("hgx-h100")
FINETUNE_TOKENS = packaged_perf_params().training["finetune_batch_tokens"]


@pytest.mark.parametrize("mode", ["lora", "full-finetune"])
def test_fine_tuning_defaults_to_the_fine_tuning_batch(mode):
    default = training_perf(H100, "llama-2-7b", 8, "bf16", mode=mode)
    given = training_perf(H100, "llama-2-7b", 8, "bf16", mode=mode, global_batch_tokens=FINETUNE_TOKENS)
    assert FINETUNE_TOKENS == 131_072
    assert default.global_batch_tokens == given.global_batch_tokens == 131_072
    assert default.step_time_s == given.step_time_s


def test_pre_training_keeps_the_published_batch():
    perf = training_perf(H100, "llama-2-7b", 8, "bf16")
    assert perf.global_batch_tokens == 4_194_304      # Llama 2's 4M tokens as 1,024 sequences of 4,096


def test_a_sequence_longer_than_the_batch_is_one_sequence():
    perf = training_perf(H100, "llama-2-7b", 8, "bf16", mode="lora", seq_tokens=262_144, cp=8, tp=1, pp=1, dp=1)
    assert perf.global_batch_tokens == 262_144


def test_the_small_batch_does_not_flatter_a_pipelined_70b_lora_run():
    """At 131,072 tokens a 70B LoRA step on one server carries a pipeline bubble; at the 4M pre-training batch the
    same run would read faster per GPU."""
    small = training_perf(H100, "llama-2-70b", 8, "bf16", mode="lora")
    large = training_perf(H100, "llama-2-70b", 8, "bf16", mode="lora", global_batch_tokens=4_194_304)
    assert small.tflops_per_gpu < large.tflops_per_gpu and small.bubble_fraction > large.bubble_fraction
