"""One implementation per formula of the performance model (the code standard; issue #15 review, rv7).

Each formula below was written out in two or three modules (found by i15k, consolidated by rv7); a copy drifts
when only one side is refitted or fixed. Each must appear once under perf/ and serving/, in the function named.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "dctwin"
# formula text -> the module that holds its one implementation (the function is named in the comment)
ONE_HOME = {
    "(model.params_total - model.params_active) * e / (e - k)": "perf/models.py",   # expert_params
    "hbm_bandwidth_tb_s * 1e12": "perf/hardware.py",                                 # hbm_bytes_per_s
    "/ 2 * 1e9": "perf/hardware.py",                                                 # link_bytes_per_s_one_way
    "batch_seqs // (": "perf/layout.py",                                             # micro_batches
    "micro_batch * job.seq_tokens / lay.cp": "perf/layout.py",                       # micro_batch_tokens
    "layers * stage_fraction(": "perf/layout.py",                                    # stage_layers
}


def _sources() -> dict[str, str]:
    return {p.relative_to(SRC).as_posix(): p.read_text(encoding="utf-8")
            for folder in ("perf", "serving") for p in sorted((SRC / folder).rglob("*.py"))}


@pytest.mark.parametrize("formula", sorted(ONE_HOME))
def test_each_formula_is_written_once(formula):
    found = {name: text.count(formula) for name, text in _sources().items() if formula in text}
    assert found == {ONE_HOME[formula]: 1}, found
