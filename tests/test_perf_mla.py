"""Multi-head latent attention (Mistral Large 3, DeepSeek-V3's attention): its attention FLOPs.

Prefill and training score 192-wide query/key heads (128 + 64 RoPE) and sum 128-wide values; decode runs
absorbed over the cached 576-value latent (scores over 512 + 64, values over 512). Sources: FlashMLA's README
(MQA mode 576 / 512 for decode, MHA mode 192 / 128 for prefill) and DeepSeek-V3's config (perf/data/models.yaml).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.perf import load_models, read_models_file
from dctwin.perf.hardware import hbm_bytes_per_s
from dctwin.perf.models import get_model
from dctwin.perf.params import packaged_perf_params
from dctwin.perf.roofline import step_cost
from dctwin.perf.training import model_flops_per_token

ML3 = get_model("mistral-large-3")
# the same model charged as before: one 128-wide head for query/key and value in prefill and decode
ML3_PLAIN = dataclasses.replace(ML3, qk_head_dim=128, v_head_dim=128, decode_qk_head_dim=128, decode_v_head_dim=128)


def test_mla_widths_come_from_the_data_file():
    assert (ML3.qk_head_dim, ML3.v_head_dim) == (192, 128)                       # 128 + 64 RoPE; value 128
    assert (ML3.decode_qk_head_dim, ML3.decode_v_head_dim) == (576, 512)         # latent 512 + 64 RoPE; 512
    assert ML3.decode_qk_head_dim == ML3.kv_dim_per_layer                        # decode scores the cached latent
    assert "FlashMLA" in ML3.sources["decode_qk_head_dim"]


def test_prefill_and_training_attention_is_1_25x_a_128_wide_heads():
    for ctx in (1.0, 4096.0, 131072.0):
        assert ML3.attention_flops_per_token(ctx) / ML3_PLAIN.attention_flops_per_token(ctx) == pytest.approx(1.25)
    assert ML3.attention_flops_per_token(1.0) == 2 * 61 * 128 * (192 + 128)
    for mode in ("pretrain", "lora"):
        (lin, attn), (lin0, attn0) = (model_flops_per_token(m, 8192, mode) for m in (ML3, ML3_PLAIN))
        assert lin == lin0 and attn / attn0 == pytest.approx(1.25)


def test_absorbed_decode_attention_per_cached_token():
    assert ML3.decode_attention_flops_per_ctx_token() == 2 * 61 * 128 * (576 + 512)
    assert ML3.decode_attention_flops_per_ctx_token() / ML3_PLAIN.decode_attention_flops_per_ctx_token() == \
        pytest.approx(1088 / 256)                                                # 4.25x
    # decode works over the latent, prefill over the up-projected heads: different per-token counts
    assert ML3.decode_attention_flops_per_ctx_token() > ML3.attention_flops_per_token(1.0)


def _decode_terms(platform: str, tp: int, pp: int):
    """(step cost, its 128-wide twin's, the latent read and the absorbed compute per cached token) [s]."""
    plat, c = get_platform(platform), packaged_perf_params().inference
    cost, plain = step_cost(plat, ML3, tp, "fp8", pp=pp), step_cost(plat, ML3_PLAIN, tp, "fp8", pp=pp)
    attn_peak = ML3.attention_flops_per_token(1.0) / (2 * cost.prefill_attn_s_per_token2)  # the replica's rate
    read_s = cost.kv_bytes_per_token / hbm_bytes_per_s(plat, c, tp)
    return cost, plain, read_s, ML3.decode_attention_flops_per_ctx_token() / attn_peak


def test_the_roofline_charges_absorbed_decode_where_it_binds():
    # one GPU per stage (TP1 PP8 on H200): the latent is read once per 128 heads, so computing over it binds
    cost, plain, read_s, compute_s = _decode_terms("hgx-h200", 1, 8)
    assert cost.prefill_attn_s_per_token2 / plain.prefill_attn_s_per_token2 == pytest.approx(1.25)
    assert compute_s > read_s and cost.attn_s_per_ctx_token == pytest.approx(compute_s)
    assert cost.attn_s_per_ctx_token / plain.attn_s_per_ctx_token > 1.5    # the 128-wide count was read-bound
    assert (cost.gemm_s_per_seq, cost.kv_capacity_tokens, cost.weights_s) == \
        (plain.gemm_s_per_seq, plain.kv_capacity_tokens, plain.weights_s)  # the rest of the step is unchanged


def test_at_tp8_every_rank_reads_the_whole_latent_and_the_read_binds():
    cost, plain, read_s, compute_s = _decode_terms("hgx-h100", 8, 2)
    assert cost.prefill_attn_s_per_token2 / plain.prefill_attn_s_per_token2 == pytest.approx(1.25)
    assert read_s > compute_s and cost.attn_s_per_ctx_token == pytest.approx(read_s) == plain.attn_s_per_ctx_token


def test_every_other_packaged_model_is_charged_as_before():
    for m in load_models().values():
        if m.id == "mistral-large-3":
            continue
        assert (m.qk_head_dim, m.v_head_dim, m.decode_qk_head_dim, m.decode_v_head_dim) == (m.head_dim,) * 4, m.id
        for ctx in (1.0, 4096.0, 1234.5):                                       # the former count, bit for bit
            assert m.attention_flops_per_token(ctx) == 4.0 * m.layers * m.attention_heads * m.head_dim * ctx, m.id
        assert m.decode_attention_flops_per_ctx_token() == m.attention_flops_per_token(1.0), m.id


def _write(tmp_path: Path, extra: str) -> Path:
    values = {"params_total": 7.0e9, "params_active": 7.0e9, "layers": 32, "hidden_size": 4096,
              "ffn_hidden_size": 11008, "mlp_matrices": 3, "attention_heads": 32, "kv_heads": 32, "head_dim": 128,
              "kv_dim_per_layer": 8192, "vocab_size": 32000, "context_tokens": 4096, "train_seq_tokens": 4096,
              "train_batch_tokens": 4.0e6, "experts": 1, "experts_per_token": 1}
    lines = ["sources: {s: 'a test source'}", "models:", "  - id: m", "    name: M", "    values:"]
    lines += [f"      {k}: {{value: {v!r}, source: s}}" for k, v in values.items()] + [extra]
    path = tmp_path / "models.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_decode_width_given_alone_changes_decode_only(tmp_path):
    m = read_models_file(_write(tmp_path, "      decode_v_head_dim: {value: 256, source: s}"))["m"]
    assert (m.qk_head_dim, m.v_head_dim, m.decode_qk_head_dim, m.decode_v_head_dim) == (128, 128, 128, 256)
    assert m.decode_attention_flops_per_ctx_token() == 2 * 32 * 32 * (128 + 256)
    assert m.attention_flops_per_token(1.0) == 4 * 32 * 32 * 128
    assert m.sources["decode_v_head_dim"] == "a test source"


@pytest.mark.parametrize("bad", ["0", "-64", "'wide'"])
def test_a_bad_width_is_refused_with_its_field(tmp_path, bad):
    path = _write(tmp_path, f"      qk_head_dim: {{value: {bad}, source: s}}")
    with pytest.raises(InputError) as err:
        read_models_file(path)
    msg = str(err.value)
    assert str(path) in msg and "models[0].values.qk_head_dim" in msg


@pytest.mark.parametrize("extra,field", [("      decode_qk_dim: {value: 576, source: s}", "decode_qk_dim"),
                                         ("      v_head_dim: {value: 127.5, source: s}", "v_head_dim")])
def test_a_misspelt_width_or_a_fraction_of_one_is_refused(tmp_path, extra, field):
    """A misspelt optional width would leave the model charged at head_dim without a word; int() would cut 127.5."""
    path = _write(tmp_path, extra)
    with pytest.raises(InputError) as err:
        read_models_file(path)
    msg = str(err.value)
    assert str(path) in msg and f"models[0].values.{field}" in msg
    assert "decode_qk_head_dim" in msg if field == "decode_qk_dim" else "whole number" in msg
