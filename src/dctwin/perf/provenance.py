"""Which inputs of an answer are dctwin's own estimates rather than published figures.

A comparison of GPU generations rests on the catalog's peaks, memory and links, and on the model's
architecture. Most are published; some are dctwin's derivations or estimates (a Rubin BF16 peak taken as half
its FP8 peak, a scale-out rate assumed equal to the previous rack's), and some models' sizes are assumptions
(Mistral Medium 3). The data files say so in each value's source; :func:`estimated_inputs` lists, for one
answer, those it read, so that a figure resting on them says so (``TrainingPerf.estimated_inputs``,
``InferencePerf.estimated_inputs``, ``DisaggregatedPerf.estimated_inputs``).
"""

from __future__ import annotations

from dctwin.catalog.platform import Platform
from dctwin.perf.hardware import ATTENTION_PRECISION
from dctwin.perf.models import LLM

__all__ = ["estimated_inputs"]

# Source texts of values that are dctwin's own: the catalog's 'derived' key, the models file's 'assumed' key.
_OWN_CATALOG = "dctwin derivation or engineering estimate"
_OWN_MODEL = "dctwin ASSUMPTION"
# Catalog fields every answer of the performance model reads, besides the peak at its precisions.
_READ = ("hbm_gb", "hbm_bandwidth_tb_s", "scale_up_domain_gpus", "scale_up_bandwidth_gb_s", "scale_out_bandwidth_gb_s")


def estimated_inputs(platform: Platform, model: LLM, precision: str, training: bool) -> tuple[str, ...]:
    """The inputs an answer for ``model`` at ``precision`` on ``platform`` read whose source is a dctwin
    derivation, estimate or assumption, one line each with its note ('' entries never) [-].

    Peaks read: the precision's, and attention's (BF16 in training, ``ATTENTION_PRECISION`` in serving).
    """
    attention = "bf16" if training else ATTENTION_PRECISION[precision]
    fields = [f"{p}_dense_tflops" for p in dict.fromkeys((precision, attention))] + list(_READ)
    out = []
    for name in fields:
        text = platform.sources.get(name, "")
        if text.startswith(_OWN_CATALOG):
            note = text.split(" | note: ", 1)[1] if " | note: " in text else "no note"
            out.append(f"{platform.id} {name} = {getattr(platform, name):g}: derived by dctwin ({note})")
    assumed = [name for name, text in model.sources.items() if text.startswith(_OWN_MODEL)]
    if assumed:
        out.append(f"{model.id} {', '.join(assumed)}: assumed by dctwin, not published "
                   "(perf/data/models.yaml gives the reasoning)")
    return tuple(out)
