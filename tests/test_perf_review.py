"""Review of this session's perf-model fields (issue 15): each is refused when invalid and does what it says.

Before: ``training_perf`` read its switches with ``bool()``, so ``fp8_params='false'`` or ``cuda_graphs='no'`` turned
them on, and ``packed_sample_tokens='abc'`` raised a bare ValueError.
"""

from __future__ import annotations

import pytest

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.perf import training_perf

RUN = {"model": "llama-2-7b", "n_gpus": 8, "precision": "fp8", "tp": 1, "pp": 1, "dp": 8}


@pytest.mark.parametrize("field", ["cuda_graphs", "fp8_params", "fp8_activation_store"])
@pytest.mark.parametrize("value", ["false", "no", 2, None])
def test_a_switch_given_to_the_api_is_true_or_false(field, value):
    with pytest.raises(InputError, match=f"'{field}': expected true or false"):
        training_perf(get_platform("hgx-h100"), **RUN, **{field: value})


@pytest.mark.parametrize("value", ["258", True, [258]])
def test_packed_sample_tokens_given_to_the_api_is_a_number(value):
    with pytest.raises(InputError, match="'packed_sample_tokens': expected a number of tokens"):
        training_perf(get_platform("hgx-h100"), **RUN, packed_sample_tokens=value)


def test_valid_switches_still_run():
    r = training_perf(get_platform("hgx-h100"), **RUN, cuda_graphs=True, fp8_params=True,
                      fp8_activation_store=False, packed_sample_tokens=258)
    assert r.layout.cuda_graphs and r.step_time_s > 0
