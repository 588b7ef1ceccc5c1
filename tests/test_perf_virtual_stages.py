"""Interleaving depth on uneven pipeline stages follows Megatron-LM's split (perf.layout.virtual_stages).

Megatron-LM (megatron/training/arguments.py, core/transformer/transformer_config.py, commit d98e8a6) gives each
model chunk of a rank the same number of layers; with account_for_embedding/loss_in_pipeline_split the embedding
and the loss take a layer's slot each, so Llama 3's 126 layers fill 16 stages with 8 slots each.
"""

import math
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from dctwin.catalog import get_platform
from dctwin.perf.layout import stage_layers, virtual_stages
from dctwin.perf.models import get_model
from dctwin.perf.search import training_perf

L405, GPT3, L13 = get_model("llama-3-405b"), get_model("gpt-3-175b"), get_model("llama-2-13b")


def test_uneven_stages_interleave_by_the_fullest_stage():
    # 126 + embedding + loss = 128 slots: 8 per stage on PP16 and 16 on PP8 (floor(126 / pp) gave 7 and 15 -> 5)
    assert stage_layers(L405, 16) == 8 and virtual_stages(L405, 16, 8) == 8
    assert virtual_stages(L405, 8, 8) == 8          # NVIDIA's MLPerf v5.0 405B config runs interleaved x8 on PP8
    assert virtual_stages(L405, 12, 8) == 1          # 11 layers per middle stage, 16 on the first and last two
    assert virtual_stages(GPT3, 5, 8) == 4           # 20 per middle stage, 36 on the first and last: both / 4
    assert virtual_stages(L13, 3, 8) == 7            # 40 + 2 slots over 3 stages: 14 each


def test_even_stages_keep_the_divisor_rule():
    assert virtual_stages(GPT3, 8, 8) == 6           # 12 per stage (MLPerf v4.1 GPT-3: interleaved x6)
    assert virtual_stages(L13, 4, 8) == 5            # 10 per stage, at most 8 chunks


@given(layers=st.integers(2, 200), pp=st.integers(1, 64), v_max=st.integers(1, 12))
def test_depth_divides_the_fullest_stage(layers, pp, v_max):
    model = SimpleNamespace(layers=layers)
    full = math.ceil(layers / pp)
    v = virtual_stages(model, pp, v_max)
    assert 1 <= v <= v_max and full % v == 0
    if layers % pp == 0:                             # even split: the deepest divisor of layers / pp
        assert v == max(d for d in range(1, v_max + 1) if full % d == 0)


def test_the_search_runs_nvidias_depth():
    h100 = get_platform("hgx-h100")
    r = training_perf(h100, L405, 512, "fp8", global_batch_tokens=9437184, seq_tokens=8192, tp=8, pp=8, dp=4,
                      cp=2, micro_batch=1, schedule="interleaved")
    assert r.layout.virtual_stages == 8

