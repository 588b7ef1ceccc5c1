"""LLM data file: sourced sizes, lookups, and errors that name the bad value."""

from pathlib import Path

import pytest

from dctwin.errors import InputError
from dctwin.perf import get_model, load_models, read_models_file

EXPECTED = {"llama-2-70b", "llama-3-70b", "llama-3-405b", "gpt-3-175b", "mistral-large-2", "mixtral-8x22b",
            "mistral-medium-3", "mistral-large-3", "mistral-7b", "mixtral-8x7b"}


def test_all_required_models_present():
    assert EXPECTED <= set(load_models())


@pytest.mark.parametrize("model_id, total_b, active_b", [
    ("llama-2-70b", 70, 70),        # Llama 2 paper
    ("llama-3-405b", 405, 405),     # Llama 3 paper
    ("gpt-3-175b", 175, 175),       # GPT-3 paper
    ("mistral-large-2", 123, 123),  # dossier §6b
    ("mixtral-8x22b", 141, 39),     # dossier §6b
    ("mistral-7b", 7.24, 7.24),     # Mistral 7B paper's architecture (Jiang et al. 2023, Table 1)
    ("mistral-large-3", 675, 41),   # dossier §6b
])
def test_published_sizes(model_id, total_b, active_b):
    m = get_model(model_id)
    assert m.params_total / 1e9 == pytest.approx(total_b, rel=0.02)
    assert m.params_active / 1e9 == pytest.approx(active_b, rel=0.02)


def test_architecture_recount_matches_published_size():
    # 2*V*h embeddings + L * (attention + 3-matrix MLP) must give the published 70B of Llama 2
    m = get_model("llama-2-70b")
    ffn = 28672
    kv = m.kv_heads * m.head_dim
    per_layer = 2 * m.hidden_size * m.hidden_size + 2 * m.hidden_size * kv + 3 * m.hidden_size * ffn
    total = m.layers * per_layer + 2 * m.vocab_size * m.hidden_size
    assert total == pytest.approx(m.params_total, rel=0.005)


def test_moe_flags_and_kv_cache_size():
    assert get_model("mixtral-8x22b").is_moe and not get_model("llama-2-70b").is_moe
    # Llama 2 70B GQA: 80 layers x 2 x 8 heads x 128 = 163,840 values per token
    assert get_model("llama-2-70b").kv_bytes_per_token(1.0) == 163_840
    # GPT-3 has no GQA: 12x the cache per token of Llama 2 70B
    assert get_model("gpt-3-175b").kv_bytes_per_token(1.0) > 10 * get_model("llama-2-70b").kv_bytes_per_token(1.0)


def test_undisclosed_sizes_are_labelled_assumptions():
    medium = get_model("mistral-medium-3")
    assert "ASSUME" in medium.assumption
    assert "ASSUMPTION" in medium.sources["params_total"]
    assert "ASSUME" in get_model("mistral-large-3").assumption


def test_unknown_model_lists_valid_ids():
    with pytest.raises(InputError) as err:
        get_model("llama-9-1t")
    assert "llama-9-1t" in str(err.value) and "llama-2-70b" in str(err.value)


def test_value_without_source_is_rejected(tmp_path: Path):
    bad = tmp_path / "models.yaml"
    bad.write_text("sources: {a: 'x'}\nmodels:\n  - id: m\n    name: M\n    values:\n      layers: 80\n",
                   encoding="utf-8")
    with pytest.raises(InputError, match=r"layers.*source"):
        read_models_file(bad)
