"""The layout of one serving replica: tensor-parallel size ``tp`` x pipeline stages ``pp``, set or searched.

A service's replica is ``tp`` x ``pp`` GPUs (:func:`dctwin.perf.roofline.check_layout`: inside one NVLink
domain, or whole domains with the stage-to-stage sends between them on the scale-out network), and replicas tile
the domains (``tp`` x ``pp`` divides the domain's GPUs or is a multiple of them) so that none straddles two.
Its capacity is :func:`dctwin.perf.inference_perf` of that one replica at the service's request shape and
latency targets.

``layout='auto'`` takes the fastest feasible replica: the most output tokens per second *per GPU* at the
targets (replicas are added to meet demand, so tokens per GPU is what sizes the fleet). Layouts are compared
smallest first (fewer GPUs, then fewer stages), and a larger one replaces the best so far only when it is faster
per GPU by more than one sequence of the best's batch (1 / batch): the batch is searched in whole sequences, so a
smaller gain is that search's resolution (e.g. a TPOT-bound TP4 at 80 sequences against TP4 PP2 at 161, two
micro-batches of 80.5), not a faster layout. The search covers every ``tp`` dividing the domain and the heads and
every ``pp`` up to the layers (stages as even as the layers allow), for replicas inside one domain or, for a
model whose weights one domain does not hold, filling up to the fewest whole domains that do
(:func:`candidate_layouts`); a replica spanning more domains can be set explicitly. Each question is answered
once per process (keyed on every value of platform, model and
constants, as ``perf.search`` does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dctwin.catalog.platform import Platform
from dctwin.errors import InputError
from dctwin.perf.hardware import WEIGHT_BYTES
from dctwin.perf.inference import InferencePerf, inference_perf, replica_tokens_per_s_bound
from dctwin.perf.models import LLM, get_model, tensor_parallel_problem
from dctwin.perf.params import PerfParams, packaged_perf_params
from dctwin.perf.roofline import check_replica, usable_bytes_per_gpu

__all__ = ["ServingLayout", "candidate_layouts", "replica_perf", "serving_layout_perf"]


@dataclass(frozen=True)
class ServingLayout:
    """A replica of ``tp`` (tensor-parallel) x ``pp`` (pipeline stages) GPUs."""

    tp: int
    pp: int = 1

    @property
    def gpus(self) -> int:
        """GPUs of one replica [-]."""
        return self.tp * self.pp

    def label(self) -> str:
        """e.g. 'TP8 PP2 (16 GPUs per replica)'."""
        return f"TP{self.tp} PP{self.pp} ({self.gpus} GPU{'s' if self.gpus > 1 else ''} per replica)"


def _tiles(domain: int, gpus: int) -> bool:
    """Whether replicas of ``gpus`` GPUs fill NVLink domains of ``domain`` GPUs without straddling two."""
    return domain % gpus == 0 or gpus % domain == 0


def _weights_domains(platform: Platform, model: LLM, precision: str, params: PerfParams) -> int:
    """Fewest whole NVLink domains whose usable memory exceeds the weights [-] (>= 1)."""
    domain_b = platform.scale_up_domain_gpus * usable_bytes_per_gpu(platform, params.inference)
    return max(1, math.floor(model.params_total * WEIGHT_BYTES[precision] / domain_b) + 1)


def candidate_layouts(platform: Platform, model: LLM, precision: str = "fp8",
                      params: PerfParams | None = None) -> list[ServingLayout]:
    """The layouts ``layout='auto'`` compares (module docstring), fewest GPUs first, then fewest stages."""
    params = params or packaged_perf_params()
    domain = platform.scale_up_domain_gpus
    max_gpus = domain * _weights_domains(platform, model, precision, params)
    out = []
    for tp in (t for t in range(1, domain + 1)
               if domain % t == 0 and tensor_parallel_problem(model, t, training=False) is None):
        for pp in range(1, min(max_gpus // tp, model.layers) + 1):
            if _tiles(domain, tp * pp):
                out.append(ServingLayout(tp, pp))
    return sorted(out, key=lambda x: (x.gpus, x.pp))


def replica_perf(platform: Platform, model: LLM, layout: ServingLayout, precision: str, input_tokens: float,
                 output_tokens: float, ttft_target_s: float | None, tpot_target_s: float | None,
                 params: PerfParams) -> InferencePerf:
    """:func:`inference_perf` of one replica of ``layout`` (InputError if it does not fit or meet the targets)."""
    return inference_perf(platform, model, layout.gpus, precision, input_tokens, output_tokens, ttft_target_s,
                          tpot_target_s, gpus_per_replica=layout.tp, params=params, pp=layout.pp)


_CACHE: dict[tuple, tuple[ServingLayout, InferencePerf] | InputError] = {}


def serving_layout_perf(platform: Platform, model: LLM | str, precision: str, input_tokens: float,
                        output_tokens: float, ttft_target_s: float | None = None, tpot_target_s: float | None = None,
                        layout: ServingLayout | str = "auto",
                        params: PerfParams | None = None) -> tuple[ServingLayout, InferencePerf]:
    """(layout, one replica's :class:`InferencePerf`) of ``model`` served on ``platform`` at the targets [s].

    ``layout``: a :class:`ServingLayout`, checked (InputError naming the memory it needs and the smallest layout
    that holds it, or the targets it misses), or 'auto': the fastest feasible one (module docstring).
    """
    model = get_model(model) if isinstance(model, str) else model
    params = params or packaged_perf_params()
    key = (platform, model, params.digest("inference"), precision, float(input_tokens), float(output_tokens),
           ttft_target_s, tpot_target_s, layout)
    if key not in _CACHE:
        try:
            _CACHE[key] = _answer(platform, model, precision, float(input_tokens), float(output_tokens),
                                  ttft_target_s, tpot_target_s, layout, params)
        except InputError as exc:
            _CACHE[key] = exc
    hit = _CACHE[key]
    if isinstance(hit, InputError):
        raise InputError(hit.problem, file=hit.file, field=hit.field, value=hit.value, allowed=hit.allowed)
    return hit


def _answer(platform: Platform, model: LLM, precision: str, in_tok: float, out_tok: float, ttft_s: float | None,
            tpot_s: float | None, layout: ServingLayout | str, params: PerfParams):
    if layout != "auto":
        return layout, _fixed(platform, model, layout, precision, in_tok, out_tok, ttft_s, tpot_s, params)
    best: tuple[float, ServingLayout, InferencePerf] | None = None
    fits: ServingLayout | None = None
    cands = candidate_layouts(platform, model, precision, params)
    for lay in cands:
        if best is not None:   # skip a layout whose rate at its largest batch cannot beat the best: same answer
            bound = replica_tokens_per_s_bound(platform, model, lay.tp, precision, in_tok, out_tok, params, lay.pp)
            if bound / lay.gpus <= best[0] * (1.0 + 1.0 / best[2].batch_size):
                continue
        try:
            perf = replica_perf(platform, model, lay, precision, in_tok, out_tok, ttft_s, tpot_s, params)
        except InputError as exc:
            if exc.field == "ttft_target_s/tpot_target_s":
                fits = fits or lay
            continue
        per_gpu = perf.tokens_per_s / lay.gpus
        if best is None or per_gpu > best[0] * (1.0 + 1.0 / best[2].batch_size):
            best = (per_gpu, lay, perf)
    if best is None:
        if fits is not None:
            raise InputError(f"no batch size meets the latency targets on any layout (the smallest that holds "
                             f"{model.id} at {precision} is {fits.label()})", field="ttft_target_s/tpot_target_s",
                             value=(ttft_s, tpot_s), allowed="looser targets or a lower precision")
        raise _no_fit(platform, model, precision, cands[-1] if cands else ServingLayout(1), params, None)
    return best[1], best[2]


def _fixed(platform: Platform, model: LLM, lay: ServingLayout, precision: str, in_tok: float, out_tok: float,
           ttft_s: float | None, tpot_s: float | None, params: PerfParams) -> InferencePerf:
    """One replica of the given layout, or an InputError saying what is wrong and what would do."""
    check_replica(platform, model, lay.tp, lay.pp)
    domain = platform.scale_up_domain_gpus
    if not _tiles(domain, lay.gpus):
        raise InputError(f"a replica of {lay.label()} does not tile the NVLink domains of {domain} GPUs (replicas "
                         "would straddle two domains)", field="layout", value=f"tp {lay.tp}, pp {lay.pp}",
                         allowed=f"tp x pp dividing {domain} or a multiple of it")
    try:
        return replica_perf(platform, model, lay, precision, in_tok, out_tok, ttft_s, tpot_s, params)
    except InputError as exc:
        if exc.field == "ttft_target_s/tpot_target_s":
            raise InputError(f"a replica of {lay.label()} meets no batch within the latency targets",
                             field=exc.field, value=(ttft_s, tpot_s),
                             allowed="looser targets, another layout or layout 'auto'") from None
        if exc.field not in ("n_gpus", "gpus_per_replica"):
            raise
    smallest = next((c for c in candidate_layouts(platform, model, precision, params)
                     if _holds(platform, model, c, precision, in_tok, out_tok, params)), None)
    raise _no_fit(platform, model, precision, lay, params, smallest)


def _holds(platform: Platform, model: LLM, lay: ServingLayout, precision: str, in_tok: float, out_tok: float,
           params: PerfParams) -> bool:
    """Whether one replica of ``lay`` holds the weights and the KV cache of one request."""
    try:
        replica_perf(platform, model, lay, precision, in_tok, out_tok, None, None, params)
    except InputError:
        return False
    return True


def _no_fit(platform: Platform, model: LLM, precision: str, lay: ServingLayout, params: PerfParams,
            smallest: ServingLayout | None) -> InputError:
    need_gb = model.params_total * WEIGHT_BYTES[precision] / 1e9
    usable_gb = lay.gpus * usable_bytes_per_gpu(platform, params.inference) / 1e9
    why = ("too little is left for the KV cache of one request" if need_gb < usable_gb
           else "the weights alone do not fit")
    fix = f"{smallest.label()} is the smallest layout that holds it" if smallest else "more GPUs per replica"
    return InputError(f"{model.id} at {precision} does not fit a replica of {lay.label()} on {platform.gpu_name}: "
                      f"weights {need_gb:.0f} GB, the replica has {usable_gb:.0f} GB usable (GB = 1e9 B; "
                      f"{platform.hbm_gb:g} GiB per GPU less the runtime reserve); {why}",
                      field="layout", value=f"tp {lay.tp}, pp {lay.pp}",
                      allowed=f"{fix}, or a lower precision")
