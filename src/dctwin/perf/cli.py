"""``dctwin perf ...``: ask the performance model from the command line.

``train`` and ``serve`` call :func:`dctwin.perf.training_perf`, :func:`dctwin.perf.inference_perf` and
:func:`dctwin.perf.disaggregated_perf` and print their answers (:mod:`dctwin.perf.answers`) as one table with a
column per platform (``--platform hgx-h100,hgx-h200`` compares GPU generations), or as JSON (``--json``).
``models`` lists the LLMs with their sources; ``calibration`` prints the calibration report
(``python -m dctwin.perf``). The model is imported when a command runs, so ``dctwin --help`` stays fast.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dctwin.errors import InputError

app = typer.Typer(help="Ask the performance model: training step time and memory, serving throughput and latency.",
                  no_args_is_help=True)
out = Console()  # the terminal's width; piped: COLUMNS, else 80 (every table folds to fit)
err = Console(stderr=True)

PLATFORM = typer.Option(..., "--platform", "-p", help="Catalog id (dctwin catalog list); several separated by "
                        "commas are compared side by side, e.g. hgx-h100,hgx-h200,hgx-b200.")
MODEL = typer.Option(..., "--model", "-m", help="LLM id (dctwin perf models), e.g. llama-2-70b.")
JSON_OUT = typer.Option(False, "--json", help="Machine-readable output: one object per platform, every number "
                        "with its unit in its key.")
TP = typer.Option(None, "--tp", min=1, help="Tensor-parallel size [-]; default: searched.")
PP = typer.Option(None, "--pp", min=1, help="Pipeline stages [-]; default: searched.")


def parse_platforms(text: str) -> list:
    """The catalog platforms named in ``text`` (comma-separated ids or aliases, each checked; one platform once)."""
    from dctwin.catalog import get_platform

    ids = list(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    if not ids:
        raise InputError("no platform given", field="--platform", value=text,
                         allowed="a catalog id, or several separated by commas (dctwin catalog list)")
    return list({p.id: p for p in map(get_platform, ids)}.values())


# the perf API's field names -> this command's options (a refusal names what the user typed)
_OPTION_OF = {"n_gpus": "--gpus", "gpus_per_replica": "--tp", "layout": "--tp/--pp/--dp", "tp/pp/dp": "--tp/--pp/--dp",
              "tp/pp/dp/cp": "--tp/--pp/--dp/--cp", "micro_batch": "--micro-batch", "serving_software":
              "--serving-software", "input_tokens/output_tokens": "--input-tokens/--output-tokens",
              "input_tokens+output_tokens": "--input-tokens + --output-tokens",
              "prefill_gpus/decode_gpus": "--prefill-gpus/--decode-gpus"}


def _in_options(exc: InputError) -> InputError:
    """``exc`` with its field named as this command's option (a latency target's value in ms, as typed)."""
    field, value = exc.field, exc.value
    if field == "ttft_target_s/tpot_target_s":
        field, value = "--ttft-ms/--tpot-ms", tuple(None if v is None else round(1e3 * v, 6) for v in value)
    elif field is not None and not field.startswith("--"):
        field = _OPTION_OF.get(field, "--" + field.replace("_", "-"))
    return InputError(exc.problem, file=exc.file, field=field, value=value, allowed=exc.allowed)


@contextmanager
def _as_options():
    """A refusal raised inside names this command's options (:func:`_in_options`)."""
    try:
        yield
    except InputError as exc:
        raise _in_options(exc) from None


def _ask(platforms: list, answer) -> list:
    """``answer(platform)`` -> Answer for each platform. One platform: its refusal is the command's (exit 2);
    several: a refused platform shows its reason in the comparison and the others still answer."""
    from dctwin.perf.answers import Answer

    answers = []
    for p in platforms:
        try:
            answers.append(answer(p))
        except InputError as exc:
            if len(platforms) == 1:
                raise
            answers.append(Answer(p.id, error=str(_in_options(exc))))
    return answers


def _emit(title: str, question: dict, answers: list, as_json: bool) -> None:
    """Print the answers as one table (a column per platform) or as JSON; exit 2 when every platform refused."""
    if as_json:
        typer.echo(json.dumps({**question, "platforms": [a.as_dict() for a in answers]}, indent=2))
    else:
        out.print(Text(title))  # above the table, not its title: a title wraps to the table's width
        table = Table()
        table.add_column("quantity", overflow="fold")
        for a in answers:
            table.add_column(a.platform, justify="right", overflow="fold")
        keys = next((a.rows for a in answers if a.error is None), ())
        for i, row in enumerate(keys):
            cells = ["refused" if a.error is not None and i == 0 else "" if a.error is not None
                     else _cell(a, row.key) for a in answers]
            table.add_row(Text(row.label), *(Text(c) for c in cells))
        if keys:
            out.print(table)
        for a in answers:
            if a.error is not None and len(answers) > 1:
                err.print(Text(f"{a.platform} refused: {a.error}"))
        estimated = list(dict.fromkeys(line for a in answers for line in a.estimated_inputs))
        if estimated:
            err.print(Text("note: these inputs are dctwin's own derivations or estimates, not published figures:"))
            for line in estimated:
                err.print(Text(f"  - {line}"))
    if all(a.error is not None for a in answers):
        raise typer.Exit(2)


def _cell(answer, key: str) -> str:
    return next((r.text() for r in answer.rows if r.key == key), "-")


# ---------------------------------------------------------------- train
def _fixed_layout(layout: str, sizes: dict) -> dict:
    """The layout fields the user fixed, checked: --layout is 'auto' (the default) or left out when --tp/--pp/--dp
    fix it, and those three come together."""
    if layout != "auto":
        raise InputError("unknown layout", field="--layout", value=layout,
                         allowed="auto (the fastest layout that fits), or fix it with --tp, --pp and --dp")
    given = {k: v for k, v in sizes.items() if v is not None}
    trio = [k for k in ("tp", "pp", "dp") if k in given]
    if trio and len(trio) < 3:
        raise InputError("--tp, --pp and --dp fix the layout together: give all three or none",
                         field="--" + "/--".join(("tp", "pp", "dp")), value=tuple(sizes[k] for k in ("tp", "pp", "dp")),
                         allowed="all of --tp, --pp, --dp (their product x --cp = --gpus), or none (automatic)")
    return given


@app.command("train")
@_as_options()
def train(
    platform: str = PLATFORM, model: str = MODEL,
    gpus: int = typer.Option(..., "--gpus", "-g", min=1, help="GPUs of the job [-]."),
    mode: str = typer.Option("pretrain", "--mode", help="pretrain, full-finetune or lora."),
    precision: str = typer.Option("bf16", "--precision", help="Linear layers: bf16, fp8 or fp4 (Blackwell on)."),
    layout: str = typer.Option("auto", "--layout", help="auto: the fastest layout that fits (or fix it with --tp, "
                               "--pp and --dp together; --cp, --ep, --micro-batch, --schedule, --recompute alone)."),
    tp: int | None = TP, pp: int | None = PP, dp: int | None = typer.Option(None, "--dp", min=1,
                                                                            help="Data-parallel size [-]."),
    cp: int | None = typer.Option(None, "--cp", min=1, help="Context-parallel size [-]."),
    ep: int | None = typer.Option(None, "--ep", min=1, help="Expert-parallel size (MoE) [-]."),
    global_batch_tokens: float | None = typer.Option(None, "--global-batch-tokens", min=1, help="Tokens per "
                                                     "optimizer step [token]; default: the model's published batch "
                                                     "(pretrain), 131,072 (full-finetune, lora)."),
    seq_tokens: int | None = typer.Option(None, "--seq-tokens", min=1, help="Tokens per sequence [token]."),
    micro_batch: int | None = typer.Option(None, "--micro-batch", min=1, help="Sequences per micro-batch [-]."),
    schedule: str | None = typer.Option(None, "--schedule", help="Pipeline schedule: 1f1b, interleaved, "
                                        "zero-bubble."),
    recompute: str | None = typer.Option(None, "--recompute", help="none or full (default: the fewest layers that "
                                         "make it fit)."),
    lora_rank: int = typer.Option(16, "--lora-rank", min=1, help="LoRA adapter rank (--mode lora) [-]."),
    attention_precision: str = typer.Option("bf16", "--attention-precision", help="bf16, or fp8 (FP8/FP4 "
                                            "training only)."),
    cuda_graphs: bool = typer.Option(False, "--cuda-graphs", help="Replay each layer as a CUDA graph."),
    fp8_params: bool = typer.Option(False, "--fp8-params", help="Hold the weights in FP8 (FP8/FP4 training)."),
    grad_precision: str = typer.Option("fp32", "--grad-precision", help="Gradient buffer: fp32 or bf16."),
    distributed_optimizer: bool = typer.Option(True, "--distributed-optimizer/--no-distributed-optimizer",
                                               help="Shard the optimizer states over data-parallel ranks."),
    fp8_activation_store: bool = typer.Option(False, "--fp8-activation-store", help="Keep the MLP activation "
                                              "input in FP8 (SwiGLU models)."),
    packed_sample_tokens: float | None = typer.Option(None, "--packed-sample-tokens", min=1, help="Packed samples' "
                                                      "length-weighted mean length sum(l^2)/sum(l) [token]."),
    as_json: bool = JSON_OUT,
) -> None:
    """Step time and its parts, tokens/s, MFU and memory per GPU of a training or fine-tuning job."""
    from dctwin.perf.answers import Answer, train_rows
    from dctwin.perf.models import get_model
    from dctwin.perf.params import packaged_perf_params
    from dctwin.perf.search import training_perf

    platforms, llm, params = parse_platforms(platform), get_model(model), packaged_perf_params()
    fixed = _fixed_layout(layout, {"tp": tp, "pp": pp, "dp": dp, "cp": cp, "ep": ep})
    kwargs = dict(global_batch_tokens=global_batch_tokens, seq_tokens=seq_tokens, micro_batch=micro_batch,
                  schedule=schedule, recompute=recompute, mode=mode, lora_rank=lora_rank,
                  attention_precision=attention_precision, cuda_graphs=cuda_graphs, fp8_params=fp8_params,
                  grad_precision=grad_precision, distributed_optimizer=distributed_optimizer,
                  fp8_activation_store=fp8_activation_store, packed_sample_tokens=packed_sample_tokens, **fixed)

    def answer(p) -> Answer:
        perf = training_perf(p, llm, gpus, precision, params=params, **kwargs)
        if perf.gpus_used < gpus and not as_json:  # JSON carries gpus_used
            err.print(Text(f"note: on {p.id} the fastest layout uses {perf.gpus_used} of the {gpus} GPUs (no faster "
                           "layout splits them all)"))
        return Answer(p.id, train_rows(p, perf, params), estimated_inputs=perf.estimated_inputs)

    answers = _ask(platforms, answer)
    question = {"command": "train", "model": llm.id, "mode": mode, "precision": precision, "gpus": gpus,
                "layout": "auto" if not fixed else fixed}
    _emit(f"Training {llm.id} ({mode}, {precision}) on {gpus} GPUs", question, answers, as_json)
    _batch_note(llm, mode, global_batch_tokens, params.training["finetune_batch_tokens"], as_json)


def _batch_note(llm, mode: str, global_batch_tokens: float | None, finetune_batch_tokens: float,
                as_json: bool) -> None:
    """Say where the batch came from when the user gave none (the table shows the batch; JSON has it as a key)."""
    if global_batch_tokens is not None or as_json:
        return
    if mode == "pretrain":
        origin = (f"{llm.id}'s published pre-training batch ({llm.train_batch_tokens:,.0f} tokens) rounded to 2^k "
                  "or 3 x 2^k sequences")
    else:
        origin = (f"the fine-tuning batch (calibration.yaml finetune_batch_tokens, {finetune_batch_tokens:,.0f} "
                  "tokens) in whole sequences")
    err.print(Text(f"note: no --global-batch-tokens: {origin}, as shown"))


# ---------------------------------------------------------------- serve
def _targets(ttft_ms: float | None, tpot_ms: float | None) -> dict[str, float | None]:
    """{'TTFT': [s] or None, 'TPOT': [s] or None}; a target must be above zero."""
    for name, v in (("--ttft-ms", ttft_ms), ("--tpot-ms", tpot_ms)):
        if v is not None and not v > 0:
            raise InputError("a latency target must be above zero", field=name, value=v, allowed="> 0 [ms]")
    return {"TTFT": None if ttft_ms is None else ttft_ms / 1e3, "TPOT": None if tpot_ms is None else tpot_ms / 1e3}


def _serve_gpus(gpus: int | None, prefill: int | None, decode: int | None, tp: int | None, pp: int | None,
                ttft_ms: float | None) -> int:
    """The GPUs served on, the options checked against each other: --gpus alone, or --prefill-gpus with
    --decode-gpus (disaggregated; --gpus, if given, their sum; no --tp, --pp or --ttft-ms, which
    disaggregated_perf does not take)."""
    if (prefill is None) != (decode is None):
        raise InputError("disaggregated serving needs both pools", field="--prefill-gpus/--decode-gpus",
                         value=(prefill, decode), allowed="both, or neither (one pool of --gpus)")
    if prefill is None:
        if gpus is None:
            raise InputError("missing GPU count", field="--gpus", allowed="--gpus N, or --prefill-gpus and "
                             "--decode-gpus for disaggregated serving")
        if pp is not None and tp is None:
            raise InputError("--pp needs --tp: a replica is tp x pp GPUs", field="--pp", value=pp,
                             allowed="--tp with --pp, or no --pp (one stage)")
        return gpus
    extra = [name for name, v in (("--tp", tp), ("--pp", pp), ("--ttft-ms", ttft_ms)) if v is not None]
    if extra:
        raise InputError("disaggregated serving chooses each pool's replica size and takes a TPOT target only",
                         field=extra[0], value={"--tp": tp, "--pp": pp, "--ttft-ms": ttft_ms}[extra[0]],
                         allowed="leave it out with --prefill-gpus/--decode-gpus")
    if gpus is not None and gpus != prefill + decode:
        raise InputError("--gpus must equal --prefill-gpus + --decode-gpus", field="--gpus", value=gpus,
                         allowed=f"{prefill + decode}, or leave --gpus out")
    return prefill + decode


@app.command("serve")
@_as_options()
def serve(
    platform: str = PLATFORM, model: str = MODEL,
    gpus: int | None = typer.Option(None, "--gpus", "-g", min=1, help="GPUs serving the model [-]."),
    precision: str = typer.Option("fp8", "--precision", help="Weights: bf16, fp8 or fp4 (Blackwell on)."),
    input_tokens: float = typer.Option(1024, "--input-tokens", min=1, help="Mean prompt length [token]."),
    output_tokens: float = typer.Option(256, "--output-tokens", min=1, help="Mean generated tokens [token]."),
    ttft_ms: float | None = typer.Option(None, "--ttft-ms", help="Time-to-first-token target [ms]."),
    tpot_ms: float | None = typer.Option(None, "--tpot-ms", help="Time-per-output-token target [ms]."),
    tp: int | None = TP, pp: int | None = PP,
    software: str = typer.Option("2024", "--serving-software", help="Serving stack's measured efficiency: 2024 "
                                 "(MLPerf Inference v4.0, the slower) or 2025 (v5.1)."),
    prefill_gpus: int | None = typer.Option(None, "--prefill-gpus", min=1, help="Disaggregated: prefill GPUs [-]."),
    decode_gpus: int | None = typer.Option(None, "--decode-gpus", min=1, help="Disaggregated: decode GPUs [-]."),
    as_json: bool = JSON_OUT,
) -> None:
    """Throughput, replicas, batch, TTFT/TPOT reached and what binds of serving a model (or disaggregated)."""
    from dctwin.perf.models import get_model
    from dctwin.perf.params import packaged_perf_params

    platforms, llm = parse_platforms(platform), get_model(model)
    targets = _targets(ttft_ms, tpot_ms)
    n = _serve_gpus(gpus, prefill_gpus, decode_gpus, tp, pp, ttft_ms)
    params = packaged_perf_params().for_serving_software(software)
    request = dict(input_tokens=input_tokens, output_tokens=output_tokens)
    if prefill_gpus is None:
        answer = _one_pool(llm, n, precision, request, targets, tp, pp, params)
        title = f"Serving {llm.id} ({precision}) on {n} GPUs"
    else:
        answer = _two_pools(llm, prefill_gpus, decode_gpus, precision, request, targets["TPOT"], params)
        title = f"Serving {llm.id} ({precision}), disaggregated: {prefill_gpus} prefill + {decode_gpus} decode GPUs"
    question = {"command": "serve", "model": llm.id, "precision": precision, "gpus": n, **{
        f"{k}_per_request": v for k, v in request.items()}, "ttft_target_ms": ttft_ms, "tpot_target_ms": tpot_ms,
        "serving_software": software, "disaggregated": prefill_gpus is not None}
    _emit(title, question, _ask(platforms, answer), as_json)


def _one_pool(llm, n: int, precision: str, request: dict, targets: dict, tp: int | None, pp: int | None, params):
    """platform -> Answer of :func:`inference_perf` on ``n`` GPUs, the replica given (--tp, --pp) or chosen
    (:func:`_auto_replica`)."""
    from dctwin.perf.answers import Answer, Row, batch_limit, serve_rows
    from dctwin.perf.inference import inference_perf
    from dctwin.perf.roofline import check_replica, step_cost

    def answer(p) -> Answer:
        if tp is not None:  # a size the heads, KV heads or NVLink domain refuse, named as such (not "does not fit")
            check_replica(p, llm, tp, pp or 1)
            size, choice = (tp, pp or 1), "given"
        else:
            size, choice = _auto_replica(p, llm, n, precision, request, targets, params)
        perf = inference_perf(p, llm, n, precision, **request, ttft_target_s=targets["TTFT"],
                              tpot_target_s=targets["TPOT"], gpus_per_replica=size[0], params=params, pp=size[1])
        offline = None
        if any(targets.values()):  # the same replica without targets: does a target hold the batch back?
            offline = inference_perf(p, llm, n, precision, **request, gpus_per_replica=perf.gpus_per_replica,
                                     params=params, pp=perf.pp)
        cost = step_cost(p, llm, perf.gpus_per_replica, precision, params=params, pp=perf.pp)
        limit = batch_limit(perf, offline, cost.max_batch, targets)
        return Answer(p.id, (Row("replica_choice", "replica chosen", choice), *serve_rows(perf, cost, limit, targets)),
                      estimated_inputs=perf.estimated_inputs)
    return answer


def _auto_replica(p, llm, n: int, precision: str, request: dict, targets: dict, params) -> tuple[tuple, str]:
    """((tp, pp), how chosen): the replica a scenario's ``layout: auto`` takes (the most tokens/s per GPU over
    tp x pp, :func:`dctwin.perf.serving_layout.serving_layout_perf`) when it divides ``n``; else (None, 1):
    :func:`inference_perf`'s own choice of tp dividing ``n`` at pp = 1, with a note."""
    from dctwin.perf.serving_layout import serving_layout_perf

    try:
        lay, _ = serving_layout_perf(p, llm, precision, request["input_tokens"], request["output_tokens"],
                                     targets["TTFT"], targets["TPOT"], "auto", params)
    except InputError:  # no replica fits or meets the targets: inference_perf refuses with its own figures
        return (None, 1), "auto: TP at PP1"
    if n % lay.gpus == 0:
        return (lay.tp, lay.pp), "auto: TP x PP"
    err.print(Text(f"note: on {p.id} the fastest replica per GPU, {lay.label()}, does not divide {n} GPUs: shown is "
                   f"the best tensor-parallel size dividing {n} at one stage"))
    return (None, 1), "auto: TP at PP1"


def _two_pools(llm, prefill: int, decode: int, precision: str, request: dict, tpot_s: float | None, params):
    """platform -> Answer of :func:`disaggregated_perf`."""
    from dctwin.perf.answers import Answer, disagg_rows
    from dctwin.perf.disagg import disaggregated_perf

    def answer(p) -> Answer:
        perf = disaggregated_perf(p, llm, prefill, decode, precision, **request, tpot_target_s=tpot_s,
                                  params=params)
        return Answer(p.id, disagg_rows(perf, prefill, decode), estimated_inputs=perf.estimated_inputs)
    return answer


# ---------------------------------------------------------------- models, calibration
@app.command("models")
def models(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """The LLMs the model knows: parameters, layers, experts, context and the source of each figure."""
    from dctwin.perf.models import load_models

    catalog = load_models()
    if as_json:
        typer.echo(json.dumps([_model_dict(m) for m in catalog.values()], indent=2))
        return
    table = Table()
    for col in ("id", "params [1e9]", "active [1e9]", "layers", "experts [-]", "context [tokens]", "sources"):
        table.add_column(col, justify="left" if col == "id" else "right", no_wrap=col == "id", overflow="fold")
    texts = list(dict.fromkeys(t for m in catalog.values() for t in m.sources.values()))  # numbered once
    for m in catalog.values():
        cited = sorted({texts.index(t) + 1 for t in m.sources.values()})
        table.add_row(m.id, f"{m.params_total / 1e9:,.1f}", f"{m.params_active / 1e9:,.1f}" if m.is_moe else "-",
                      str(m.layers), f"{m.experts_per_token}/{m.experts}" if m.is_moe else "-",
                      f"{m.context_tokens:,}", ",".join(map(str, cited)))
    out.print(Text("LLMs (perf/data/models.yaml); active: parameters one token uses, experts: routed per token / "
                   "all (MoE); sources: numbered below"))
    out.print(table)
    for i, text in enumerate(texts, start=1):
        out.print(Text(f"[{i}] {text}"))


def _model_dict(m) -> dict:
    return {"id": m.id, "name": m.name, "params_total": m.params_total, "params_active": m.params_active,
            "layers": m.layers, "hidden_size": m.hidden_size, "attention_heads": m.attention_heads,
            "kv_heads": m.kv_heads, "experts": m.experts, "experts_per_token": m.experts_per_token,
            "context_tokens": m.context_tokens, "train_seq_tokens": m.train_seq_tokens,
            "train_batch_tokens": m.train_batch_tokens, "assumption": m.assumption, "sources": dict(m.sources)}


@app.command("calibration")
def calibration() -> None:
    """The calibration report: each fit point, published vs modelled, and the constants a fresh fit gives (what
    python -m dctwin.perf prints; a few seconds)."""
    from dctwin.perf.reference import calibration_text

    typer.echo(calibration_text())
