"""LLM descriptions for the performance model, read from ``perf/data/models.yaml``.

Every number in the data file is ``{value: X, source: KEY}``; the loader
checks that KEY names an entry of the file's ``sources`` so that no figure
enters the model without its source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from dctwin.datafile import read_data_yaml, read_sources, sourced_value
from dctwin.errors import InputError

__all__ = ["LLM", "MoEActivation", "RECOUNT_TOLERANCE", "check_consistency", "elementwise_bytes", "expert_params",
           "get_model", "kv_head_replicas", "layer_activation_bytes", "load_models", "moe_activation",
           "read_models_file", "recount_params", "tensor_parallel_problem"]

ACTIVATION_VALUE_BYTES = 2.0   # activations between the GEMMs are 16-bit values [B]
STREAM_PASSES = 2.0            # an activation is written by one kernel and read once by the next [-]
# Allowed gap between a model's stated parameter counts and their recount from its architecture fields [-].
# The fields describe a uniform stack of identical layers; parts outside it (norms, biases, a shared expert,
# leading dense layers, low-rank latent attention, a vision encoder) are not recounted. In the packaged models
# they stay below 0.5 % for every dense model and Mixtral, and reach -7.8 % for Mistral Large 3's active count
# (shared expert 5.1B + vision encoder 2.5B missing, latent-attention projections 3.0B overcounted). A wrong
# expert count or width moves the recount by tens of percent (the old Mistral Large 3 entry: -47 %).
RECOUNT_TOLERANCE = 0.10

_INT_FIELDS = ("layers", "hidden_size", "ffn_hidden_size", "mlp_matrices", "attention_heads", "kv_heads",
               "head_dim", "kv_dim_per_layer", "vocab_size", "context_tokens", "train_seq_tokens", "experts",
               "experts_per_token")
# Optional per-head attention widths (multi-head latent attention); absent: head_dim, as every non-MLA model.
_OPT_INT_FIELDS = ("qk_head_dim", "v_head_dim", "decode_qk_head_dim", "decode_v_head_dim")
_FLOAT_FIELDS = ("params_total", "params_active", "train_batch_tokens")


@dataclass(frozen=True)
class LLM:
    """A transformer language model: sizes in parameters, tokens and cached values.

    ``params_active`` is the parameter count used per token (equal to
    ``params_total`` for dense models; the routed subset for MoE).
    """

    id: str
    name: str
    params_total: float
    params_active: float
    layers: int
    hidden_size: int
    ffn_hidden_size: int           # MLP intermediate width (of one expert for MoE) [-]
    mlp_matrices: int              # weight matrices of the MLP: 3 gated (SwiGLU gate, up, down), 2 plain (GeLU) [-]
    attention_heads: int
    kv_heads: int
    head_dim: int
    kv_dim_per_layer: int          # cached values per token per layer [-]
    vocab_size: int
    context_tokens: int
    train_seq_tokens: int
    train_batch_tokens: float
    experts: int = 1
    experts_per_token: int = 1
    # Per-head widths of the attention products [-]. Prefill and training: query.key over qk_head_dim, probabilities
    # times values over v_head_dim (MLA: 128 + 64 RoPE and 128). Decode per cached token: decode_qk_head_dim and
    # decode_v_head_dim (MLA run absorbed over the cached latent: 512 + 64 and 512). None: head_dim, resp. the
    # prefill widths (plain and grouped-query attention).
    qk_head_dim: int | None = None
    v_head_dim: int | None = None
    decode_qk_head_dim: int | None = None
    decode_v_head_dim: int | None = None
    assumption: str = ""
    sources: Mapping[str, str] = field(default_factory=dict, hash=False)  # provenance: left out of the hash

    def __post_init__(self) -> None:
        for name, default in (("qk_head_dim", self.head_dim), ("v_head_dim", self.head_dim),
                              ("decode_qk_head_dim", self.qk_head_dim or self.head_dim),
                              ("decode_v_head_dim", self.v_head_dim or self.head_dim)):
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)

    @property
    def is_moe(self) -> bool:
        """True for a mixture-of-experts model."""
        return self.experts > 1

    def kv_bytes_per_token(self, kv_bytes_per_value: float) -> float:
        """KV-cache size of one token over all layers [B]."""
        return self.layers * self.kv_dim_per_layer * kv_bytes_per_value

    def attention_flops_per_token(self, context_tokens: float) -> float:
        """Forward attention score/value FLOPs per token at a mean context, as prefill and training run them
        (every head's query.key and probabilities x values, 2 FLOP per multiply-add) [FLOP]."""
        return 2.0 * self.layers * self.attention_heads * (self.qk_head_dim + self.v_head_dim) * context_tokens

    def decode_attention_flops_per_ctx_token(self) -> float:
        """Attention FLOPs of one decoded token per cached context token, over all layers [FLOP]. Multi-head
        latent attention decodes absorbed: the key and value up-projections are folded into the query and the
        output, so every head scores and sums the cached latent itself (decode_*_head_dim)."""
        return 2.0 * self.layers * self.attention_heads * (self.decode_qk_head_dim + self.decode_v_head_dim)

    @property
    def latent_kv(self) -> bool:
        """Multi-head latent attention: one compressed latent per token and layer is cached, not K and V per KV
        head (``kv_dim_per_layer`` differs from 2 x kv_heads x head_dim)."""
        return self.kv_dim_per_layer != 2 * self.kv_heads * self.head_dim


def kv_head_replicas(model: LLM, tp: int) -> int:
    """Tensor-parallel ranks that each hold a copy of one cached K/V head [-].

    When tp divides the KV heads each rank holds kv_heads / tp of them (1 copy); when tp is a multiple of them
    each rank holds one, copied on tp / kv_heads ranks (vLLM's QKVParallelLinear, num_kv_head_replicas,
    vllm/model_executor/layers/linear.py). A latent-attention model caches one latent per token (kv_heads 1),
    so every rank holds it whole (tp copies; Modular MAX TensorParallelLatentAttentionWithRope: with tensor
    parallelism the MLA KV cache is duplicated across all devices). :func:`tensor_parallel_problem` refuses
    any other tp.
    """
    return max(1, int(tp) // model.kv_heads)


def tensor_parallel_problem(model: LLM, tp: int, training: bool) -> str | None:
    """Why ``model`` cannot be split over ``tp`` tensor-parallel ranks (what tp is allowed), or None if it can.

    Every stack splits the attention heads and the MLP (or expert) width evenly (Megatron-core's and vLLM's
    ``divide``). The K/V heads: Megatron-core training splits the query groups evenly (transformer/attention.py,
    num_query_groups_per_partition = divide(num_query_groups, tp)); serving engines also accept a multiple of
    the KV heads and copy each head (:func:`kv_head_replicas`). A latent-attention cache is not split by head.
    """
    tp, kv = int(tp), model.kv_heads
    if model.attention_heads % tp:
        return f"a divisor of its {model.attention_heads} attention heads"
    if not (model.latent_kv or kv % tp == 0 or (not training and tp % kv == 0)):
        return f"a divisor of its {kv} KV heads" if training else f"a divisor or a multiple of its {kv} KV heads"
    if model.ffn_hidden_size % tp:
        return f"a divisor of its MLP width {model.ffn_hidden_size}"
    return None


@dataclass(frozen=True)
class MoEActivation:
    """Activations one token leaves in one MoE layer's expert block, written between its kernels [B].

    ``stored``: all of them; ``gemm_inputs``: the expert GEMMs' inputs (FP8 training keeps their 8-bit
    casts); ``weight_grad_only``: those kept only for weight gradients (dropped when the weights are frozen).
    """

    stored: float
    gemm_inputs: float
    weight_grad_only: float


def moe_activation(model: LLM, value_bytes: float = ACTIVATION_VALUE_BYTES) -> MoEActivation:
    """What one token writes in one MoE layer with k of E SwiGLU experts of width f, hidden size h [B].

    * the block's input (normed hidden state), read by the router and by the permute: h values;
    * router logits in FP32 (E x 4 B) and the top-k weights and indices (k x (4 + 4) B);
    * the permute: one copy of the input per routed expert, the expert GEMMs' input: k h values;
    * per copy, the gate and up projections (2 f) and the SwiGLU output, the down projection's input (f);
    * the experts' outputs before the weighted combine, kept for the routing weights' gradient: k h.

    A dense GeLU MLP of width 4h writes 19 h bytes in Korthikanti et al.'s count; Mixtral 8x7B's block
    writes 52 h. Zero for a dense model.
    """
    if not model.is_moe:
        return MoEActivation(0.0, 0.0, 0.0)
    h, f, k, e = model.hidden_size, model.ffn_hidden_size, model.experts_per_token, model.experts
    copies = k * value_bytes * (h + f)                    # permuted inputs + SwiGLU outputs (GEMM inputs)
    stored = value_bytes * h + 4.0 * e + 8.0 * k + copies + k * value_bytes * 2 * f + k * value_bytes * h
    return MoEActivation(stored=stored, gemm_inputs=copies, weight_grad_only=value_bytes * h + copies)


def layer_activation_bytes(model: LLM, dense_bytes_per_h: float, dense_mlp_bytes_per_h: float,
                           moe_bytes: float) -> float:
    """Bytes one token writes (or streams) in one layer [B].

    Dense: ``dense_bytes_per_h`` h (the Korthikanti count). MoE: the dense MLP's share
    ``dense_mlp_bytes_per_h`` h replaced by the expert block's own ``moe_bytes`` (from
    :func:`moe_activation`, scaled as the caller's count is: stored, or streamed).
    """
    h = model.hidden_size
    if not model.is_moe:
        return dense_bytes_per_h * h
    return (dense_bytes_per_h - dense_mlp_bytes_per_h) * h + moe_bytes


def elementwise_bytes(model: LLM, bytes_per_h: float, mlp_bytes_per_h: float) -> float:
    """Bytes one token streams through HBM between the GEMMs of one forward layer [B]: each activation
    written once and read once (``bytes_per_h`` h for a dense layer, of which ``mlp_bytes_per_h`` h in
    the MLP; a MoE layer's expert block streams its own count instead)."""
    return layer_activation_bytes(model, bytes_per_h, mlp_bytes_per_h, STREAM_PASSES * moe_activation(model).stored)


def recount_params(model: LLM) -> tuple[float, float]:
    """(total, active) parameters recounted from the architecture fields [-].

    Embeddings in and out 2 V h, plus per layer the attention projections h d (2 n_q + 2 n_kv) (Q and
    output over all query heads, K and V over the KV heads) and the MLP, m h f per expert: E of them in
    the total, k in the active count (1 and 1 for a dense model).
    """
    h = model.hidden_size
    attention = h * model.head_dim * 2.0 * (model.attention_heads + model.kv_heads)
    expert = model.mlp_matrices * h * model.ffn_hidden_size
    base = 2.0 * model.vocab_size * h + model.layers * attention
    return (base + model.layers * model.experts * expert,
            base + model.layers * model.experts_per_token * expert)


def expert_params(model: LLM) -> float:
    """Parameters in routed experts (0 for a dense model) [-].

    From total = shared + experts and active = shared + experts k / E:
    experts = (total - active) E / (E - k).
    """
    if not model.is_moe:
        return 0.0
    k, e = model.experts_per_token, model.experts
    return (model.params_total - model.params_active) * e / (e - k)


def check_consistency(model: LLM, file: str, where: str) -> None:
    """Refuse a model whose sizes cannot all be true: the routed experts the performance model derives,
    (total - active) E / (E - k), must be below the total, and both stated counts must match their
    recount from the architecture within RECOUNT_TOLERANCE."""
    k, e = model.experts_per_token, model.experts
    if k > e or (e > 1 and k == e):
        raise InputError(f"model '{model.id}': {k} experts per token of {e}", file=file,
                         field=f"{where}.values.experts_per_token", value=k,
                         allowed=f"fewer than the {e} experts" if e > 1 else "1 for a dense model")
    if model.is_moe:
        routed = expert_params(model)  # k < e checked above
        if routed >= model.params_total:
            raise InputError(
                f"model '{model.id}': routed expert parameters (params_total - params_active) x {e} / ({e} - {k}) "
                f"= {routed:.4g} are not below params_total {model.params_total:.4g} (no room for attention "
                "and embeddings)", file=file, field=f"{where}.values.experts_per_token", value=k,
                allowed="a routed share below params_total: check experts, experts_per_token and both counts")
    for name, recount in zip(("params_total", "params_active"), recount_params(model), strict=True):
        stated = getattr(model, name)
        if abs(recount / stated - 1.0) > RECOUNT_TOLERANCE:
            raise InputError(
                f"model '{model.id}': {name} {stated:.4g} does not match its recount from the architecture "
                f"{recount:.4g} ({recount / stated - 1.0:+.1%}; embeddings 2 V h + layers x (attention + "
                "mlp_matrices h f per expert))", file=file, field=f"{where}.values.{name}", value=stated,
                allowed=f"within +-{RECOUNT_TOLERANCE:.0%} of {recount:.4g}, or fix the architecture fields")


def _read_values(values: Mapping[str, Any], where: str, sources: Mapping[str, str],
                 file: str) -> tuple[dict[str, Any], dict[str, str]]:
    """One model's sourced numbers (LLM keyword arguments) and their sources' texts. A missing required field,
    an unknown one (a misspelt optional width would silently leave head_dim) or a count that is not a whole
    number is refused."""
    allowed = _INT_FIELDS + _FLOAT_FIELDS + _OPT_INT_FIELDS
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise InputError("unknown model field", file=file, field=f"{where}.values.{unknown[0]}", value=unknown[0],
                         allowed=", ".join(allowed))
    kwargs: dict[str, Any] = {}
    cited: dict[str, str] = {}
    for name in allowed:
        if name not in values:
            if name in _OPT_INT_FIELDS:
                continue
            raise InputError("missing field", file=file, field=f"{where}.values.{name}")
        v, cited[name] = sourced_value(values[name], f"{where}.values.{name}", sources, file, positive=True,
                                       with_note=False)
        if name in _FLOAT_FIELDS:
            kwargs[name] = float(v)
        elif float(v) != int(v):
            raise InputError("a count must be a whole number", file=file, field=f"{where}.values.{name}", value=v)
        else:
            kwargs[name] = int(v)
    return kwargs, cited


def read_models_file(path: Path) -> dict[str, LLM]:
    """Parse a models data file into LLM objects by id, checking every source."""
    file = str(path)
    doc = read_data_yaml(path, "models file")
    if not isinstance(doc.get("models"), list):
        raise InputError("models file must be a mapping with a 'models' list", file=file, field="models")
    sources = read_sources(doc, file)
    out: dict[str, LLM] = {}
    for i, item in enumerate(doc["models"]):
        where = f"models[{i}]"
        kwargs, cited = _read_values(item.get("values") or {}, where, sources, file)
        if kwargs["params_active"] > kwargs["params_total"]:
            raise InputError("params_active may not exceed params_total", file=file,
                             field=f"{where}.values.params_active", value=kwargs["params_active"])
        model = LLM(id=str(item["id"]), name=str(item["name"]), assumption=str(item.get("assumption", "")).strip(),
                    sources=cited, **kwargs)
        check_consistency(model, file, where)
        out[model.id] = model
    return out


@lru_cache(maxsize=1)
def load_models() -> dict[str, LLM]:
    """All LLMs shipped with the package, by id."""
    path = Path(str(resources.files("dctwin.perf") / "data" / "models.yaml"))
    return read_models_file(path)


def get_model(model_id: str) -> LLM:
    """The model with this id; an unknown id lists the valid ones."""
    models = load_models()
    if model_id not in models:
        raise InputError("unknown model id", field="model", value=model_id, allowed=", ".join(sorted(models)))
    return models[model_id]
