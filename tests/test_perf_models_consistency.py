"""Model data that cannot be true is refused at load: routed experts above the whole model, or stated
parameter counts far from their recount from the architecture fields."""

from pathlib import Path

import pytest

from dctwin.errors import InputError
from dctwin.perf import load_models, read_models_file
from dctwin.perf.models import RECOUNT_TOLERANCE, recount_params

# The Mistral Large 3 entry as shipped before this check: 128 experts of width 2048, 8 per token.
OLD_LARGE3 = {"params_total": 675.0e9, "params_active": 41.0e9, "layers": 61, "hidden_size": 7168,
              "ffn_hidden_size": 2048, "mlp_matrices": 3, "attention_heads": 128, "kv_heads": 1, "head_dim": 128,
              "kv_dim_per_layer": 576, "vocab_size": 129280, "context_tokens": 262144, "train_seq_tokens": 8192,
              "train_batch_tokens": 16.0e6, "experts": 128, "experts_per_token": 8}
# Llama 2 70B's published architecture (config.json) and its 68.98B recount.
LLAMA2_70B = {"params_total": 68.98e9, "params_active": 68.98e9, "layers": 80, "hidden_size": 8192,
              "ffn_hidden_size": 28672, "mlp_matrices": 3, "attention_heads": 64, "kv_heads": 8, "head_dim": 128,
              "kv_dim_per_layer": 2048, "vocab_size": 32000, "context_tokens": 4096, "train_seq_tokens": 4096,
              "train_batch_tokens": 4.0e6, "experts": 1, "experts_per_token": 1}


def _write(tmp_path: Path, values: dict, model_id: str = "m") -> Path:
    lines = ["sources: {s: 'a test source'}", "models:", f"  - id: {model_id}", "    name: M", "    values:"]
    lines += [f"      {k}: {{value: {v!r}, source: s}}" for k, v in values.items()]
    path = tmp_path / "models.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_packaged_model_recounts_within_tolerance():
    for m in load_models().values():
        total, active = recount_params(m)
        assert abs(total / m.params_total - 1) <= RECOUNT_TOLERANCE, m.id
        assert abs(active / m.params_active - 1) <= RECOUNT_TOLERANCE, m.id
        if m.is_moe:
            routed = (m.params_total - m.params_active) * m.experts / (m.experts - m.experts_per_token)
            assert routed < m.params_total, m.id


def test_old_mistral_large3_entry_is_refused_with_both_figures(tmp_path: Path):
    path = _write(tmp_path, OLD_LARGE3, "mistral-large-3")
    with pytest.raises(InputError) as err:
        read_models_file(path)
    msg = str(err.value)
    # (675 - 41) x 128 / (128 - 8) = 676.3B of routed experts against a 675B model
    assert str(path) in msg and "mistral-large-3" in msg and "experts_per_token" in msg
    assert "6.763e+11" in msg and "6.75e+11" in msg and "allowed" in msg


def test_recount_far_from_stated_total_is_refused(tmp_path: Path):
    # the old entry with a routed share that fits (4 per token) still recounts to 360B, -47 % of 675B
    path = _write(tmp_path, {**OLD_LARGE3, "experts_per_token": 4})
    with pytest.raises(InputError, match=r"params_total.*recount.*3\.60\d*e\+11.*-46\.6%"):
        read_models_file(path)


def test_dense_model_with_wrong_layer_count_is_refused(tmp_path: Path):
    assert read_models_file(_write(tmp_path, LLAMA2_70B))["m"].layers == 80
    with pytest.raises(InputError, match=r"params_total.*allowed: within \+-10%"):
        read_models_file(_write(tmp_path, {**LLAMA2_70B, "layers": 96}))   # 82.6B recount, +19.7 %


def test_every_expert_per_token_is_refused(tmp_path: Path):
    with pytest.raises(InputError, match=r"experts_per_token.*fewer than the 8 experts"):
        read_models_file(_write(tmp_path, {**LLAMA2_70B, "experts": 8, "experts_per_token": 8}))


def test_mistral_large3_routed_share_matches_its_expert_recount():
    # Mistral AI: 128 experts of width 4096; DeepSeek-V3's stack has 58 MoE layers (3 of 61 dense).
    m = load_models()["mistral-large-3"]
    routed = (m.params_total - m.params_active) * m.experts / (m.experts - m.experts_per_token)
    assert routed == pytest.approx(58 * m.experts * 3 * m.hidden_size * m.ffn_hidden_size, rel=0.01)
    assert routed < m.params_total
