"""One reading of a GPU's memory size (#15): the catalog's hbm_gb are GiB, for training and inference alike."""

import pytest

from dctwin.catalog import get_platform
from dctwin.errors import InputError
from dctwin.perf import get_model, inference_perf
from dctwin.perf.hardware import hbm_bytes_per_gpu
from dctwin.perf.params import packaged_perf_params
from dctwin.perf.roofline import step_cost, usable_bytes_per_gpu
from dctwin.perf.search import memory_budget_gb

H100 = get_platform("hgx-h100")
P = packaged_perf_params()


def test_h100_reads_as_what_nvidia_smi_shows():
    # nvidia-smi on an "H100 80GB HBM3": 81,559 MiB (calibration.yaml source hbm_visible); the 80 GiB stack
    # is 85.9e9 B, of which the driver shows all but ~0.5 GiB. Decimal GB (80e9 B) would be 6.5 % short.
    shown_b = 81_559 * 2**20
    assert hbm_bytes_per_gpu(H100) == pytest.approx(shown_b, rel=0.01)
    assert abs(hbm_bytes_per_gpu(H100) - 80e9) > 0.05 * shown_b


def test_training_and_inference_start_from_the_same_bytes():
    c_inf, c_tr = P.inference, P.training
    assert memory_budget_gb(H100, c_tr) * 1e9 == pytest.approx(hbm_bytes_per_gpu(H100) * c_tr["hbm_usable_fraction"])
    assert usable_bytes_per_gpu(H100, c_inf) == pytest.approx(
        hbm_bytes_per_gpu(H100) - c_inf["runtime_reserve_gb_per_gpu"] * 1e9)


@pytest.mark.parametrize("platform_id, g", [("hgx-h100", 2), ("hgx-h200", 1), ("hgx-b200", 1)])
def test_kv_cache_fills_the_gib_reading(platform_id, g):
    """The KV cache holds what the GiB reading leaves after the reserve and the weights (within one token);
    the decimal reading gives a cache 7-14 % smaller, which this test refuses."""
    platform, model, c = get_platform(platform_id), get_model("llama-2-70b"), P.inference
    cost = step_cost(platform, model, g, "fp8")
    kv_tok_b = model.kv_bytes_per_token(c["kv_bytes_per_value"])
    free_b = g * (platform.hbm_gb * 2**30 - c["runtime_reserve_gb_per_gpu"] * 1e9) - model.params_total
    assert cost.kv_capacity_tokens == pytest.approx(free_b * c["kv_free_fraction"] / kv_tok_b, abs=1.0)
    decimal_b = g * (platform.hbm_gb - c["runtime_reserve_gb_per_gpu"]) * 1e9 - model.params_total
    assert cost.kv_capacity_tokens > 1.05 * decimal_b * c["kv_free_fraction"] / kv_tok_b


def test_no_fit_message_names_its_units():
    with pytest.raises(InputError) as e:
        inference_perf(H100, "llama-3-405b", 4, "bf16")
    msg = str(e.value)
    assert "GB = 1e9 B" in msg and "80 GiB per GPU" in msg
    # 4 x (80 GiB - 4 GB) = 327.6 GB usable, printed in decimal GB
    assert f"{4 * (80 * 2**30 / 1e9 - 4):.0f} GB usable" in msg
