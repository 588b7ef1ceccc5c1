"""Sub-window arrival bursts and decode stalls of the fluid serving model, against arrival-process algebra and
the request-level replay."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dctwin.errors import InputError
from dctwin.rng import stream
from dctwin.serving import Deployment
from dctwin.serving.compare import compare_models
from dctwin.serving.fluid import fluid_serving, interval_rates, token_profile
from dctwin.serving.fluid_bursts import dispersion_columns, dispersion_curve, exposure_rates
from dctwin.serving.fluid_steps import decode_s_with_stalls
from dctwin.workload.traces import packaged_trace, read_azure_llm_trace


def _clustered(rng, n_clusters: int, span_s: float, size: int, spread_s: float):
    """Clusters of ``size`` arrivals within ``spread_s`` at Poisson cluster times over ``span_s`` [s]."""
    c = np.sort(rng.uniform(0.0, span_s, n_clusters))
    return np.sort((c[:, None] + rng.uniform(0.0, spread_s, (n_clusters, size))).ravel())


def test_dispersion_is_one_for_poisson_and_the_cluster_size_for_simultaneous_clusters():
    """Index of dispersion of counts: 1 for a Poisson stream at every scale; for clusters of B arrivals at once
    (compound Poisson) E[B^2] / E[B] = B at every scale (within sampling error)."""
    rng = stream(5, "test.serving")
    t = np.sort(rng.uniform(0.0, 600.0, 6000))
    for scale_s in (0.05, 0.5, 5.0):
        d = dispersion_curve(t, 60.0, 10, 600.0, scale_s)
        assert np.mean(d) == pytest.approx(1.0, abs=0.15), scale_s
    tc = _clustered(rng, 15000, 6000.0, 4, 1e-4)
    for scale_s in (0.05, 0.5, 5.0):        # the variance over a 60 s interval's bins: (n - 1) / n of it
        n_bin = 60.0 / scale_s
        d = np.mean(dispersion_curve(tc, 60.0, 100, 6000.0, scale_s))
        assert d == pytest.approx(4.0 * (n_bin - 1) / n_bin, rel=0.1), scale_s


def test_exposure_rate_is_the_windows_when_the_curve_is_the_windows_line():
    """A rate held over the window gives D(E) = 1 + (D_w - 1) E / w: nothing is left for sub-window bursts."""
    rng = stream(6, "test.serving")
    cols = dispersion_columns(5.0)
    scales = np.array([s for _, s in cols])
    d_w = np.array([9.0])
    curve = (1.0 + (d_w[:, None] - 1.0) * scales[None, :] / 5.0)
    lam = np.full((1, 1000), 4.0)
    e = np.full((1, 1000), 0.3)
    np.testing.assert_allclose(exposure_rates(rng, lam, e, curve, scales, d_w, 5.0), lam)
    assert exposure_rates(rng, lam, e, None, None, d_w, 5.0) is lam


def test_exposure_rate_mean_is_the_palm_count_after_an_arrival():
    """Clusters of 4 arrivals at once, Poisson otherwise (D = 4 at every scale): the arrivals expected in the E
    after an arrival exceed rate x E by (D - 1 + E dD/dE) / 2 = 1.5, the cluster mates behind it."""
    rng = stream(7, "test.serving")
    cols = dispersion_columns(5.0)
    scales = np.array([s for _, s in cols])
    curve, d_w = np.full((1, scales.size), 4.0), np.array([4.0])
    lam = np.full((1, 20000), 2.0)
    for e_s in (0.05, 0.3, 1.0):
        e = np.full((1, 20000), e_s)
        rate = exposure_rates(rng, lam, e, curve, scales, d_w, 5.0)
        excess_window = (d_w[0] - 1.0) * e_s / 5.0 * 2.0 / 2.0     # what the held window rate already counts
        assert float(rate.mean() * e_s - 2.0 * e_s) == pytest.approx(1.5 - excess_window, rel=0.05), e_s


def test_interval_rates_carry_the_sub_window_curve():
    rng = stream(8, "test.serving")
    t = _clustered(rng, 600, 600.0, 5, 0.01)
    r = interval_rates(t, np.full(t.size, 100), np.full(t.size, 10), 60.0)
    names = [c for c, _ in dispersion_columns(5.0)]
    assert set(names) <= set(r.columns)
    assert (r[names[-1]] > 3.0).all()            # clusters of 5 inside 10 ms: well above Poisson (1) at 39 ms


def test_decode_stalls_follow_the_branching_mean():
    """Steady decode of s steps at window rate lam: each landed prompt stretches the decode by its work, during
    which more land, so the mean stall is lam s t_dec p / (1 - lam p) (p the mean prefill work), not lam s t_dec p."""
    dep = Deployment("hgx-h100", "llama-2-70b", 1, 2)
    rng = stream(9, "test.serving")
    n = 40000
    shape = np.ones(4)
    mean_in = np.array([1000.0])
    from dctwin.serving.fluid_steps import prefill_s
    p = float(prefill_s(dep.cost, 1000.0))
    lam = 0.6 / p                                             # prefill load 0.6
    it = {"steady": np.ones((1, n), bool), "full_s": np.full((1, 1), 1e9), "t_dec": np.full((1, n), 0.02),
          "pre_mean": np.full((1, 1), p)}
    steps = np.full((1, n), 50.0)
    lam_a = np.full((1, n), lam)
    d = decode_s_with_stalls(rng, dep.cost, shape, mean_in, (lam_a, lam_a), steps, np.zeros((1, n)),
                             np.zeros((1, n)), it)
    stall = float((d - 50 * 0.02).mean())
    assert stall == pytest.approx(lam * 50 * 0.02 * p / (1 - 0.6), rel=0.03)


def test_backlog_stalls_only_with_what_queues_behind():
    """In a backlog the prompts that stall a decode are those queued behind it: a request arriving late in the
    burst (little of it left) is stalled less than one arriving at its start."""
    dep = Deployment("hgx-h100", "llama-2-70b", 1, 2)
    rng = stream(10, "test.serving")
    n = 4000
    it = {"steady": np.zeros((1, n), bool), "full_s": np.full((1, 1), 0.4), "t_dec": np.full((1, n), 0.02),
          "pre_mean": np.full((1, 1), 0.15)}
    lam = np.full((1, n), 100.0)
    args = (rng, dep.cost, np.ones(4), np.array([1000.0]), (lam, lam), np.full((1, n), 30.0), np.zeros((1, n)))
    early = decode_s_with_stalls(*args, np.full((1, n), 5.0), it).mean()
    late = decode_s_with_stalls(*args, np.full((1, n), 0.2), it).mean()
    assert early == pytest.approx(30 * (0.02 + 0.4))         # every step carries a full step's prompts
    assert late < 0.5 * early


def test_sub_second_bursts_raise_the_tail_the_5s_window_cannot_see():
    """Two logs with the same counts per 5 s window: one Poisson inside each window, one in clusters of 8 within
    0.1 s. The 5 s dispersion cannot tell them apart; the replay's TPOT p90 is higher for the clustered one, and
    so is the fluid model's (with the old window-only model both fluid figures were the same)."""
    rng = stream(11, "test.serving")
    n_win, w = 240, 5.0
    counts = rng.poisson(24.0, n_win) // 8 * 8
    t_clu = np.concatenate([np.sort((k * w + rng.uniform(0, w, c // 8)[:, None]
                                     + rng.uniform(0, 0.1, (c // 8, 8))).ravel()) for k, c in enumerate(counts)])
    t_poi = np.concatenate([np.sort(k * w + rng.uniform(0, w, c)) for k, c in enumerate(counts)])
    dep = Deployment("hgx-h100", "llama-2-70b", 4, 2)
    p90 = {}
    for name, t in (("clustered", np.sort(t_clu)), ("poisson", t_poi)):
        n = t.size
        inp, out = np.full(n, 2000), np.full(n, 30)
        c = compare_models(dep, t, inp, out)
        p90[name] = (c.request_level["tpot_p90_s"], c.fluid["tpot_p90_s"])
    assert p90["clustered"][0] > 1.2 * p90["poisson"][0], p90
    assert p90["clustered"][1] > 1.2 * p90["poisson"][1], p90


def test_code_trace_4xtp2_tail_and_kv_agree_with_request_level():
    """The bursty code trace on 4 x TP2: TPOT p95 within ±25% and KV use within ±10% of the replay (they were
    +28.6% and +10.5% while the fluid model held each 5 s window's rate and stalled every step of a backlog)."""
    d = read_azure_llm_trace(packaged_trace("AzureLLMInferenceTrace_code.csv.gz"))
    c = compare_models(Deployment("hgx-h100", "llama-2-70b", 4, 2), d["t_s"], d["input_tokens"],
                       d["output_tokens"])
    assert abs(c.error("tpot_p95_s")) <= 0.25, (c.request_level["tpot_p95_s"], c.fluid["tpot_p95_s"])
    assert abs(c.error("kv_utilisation")) <= 0.10, (c.request_level["kv_utilisation"], c.fluid["kv_utilisation"])


def test_rates_without_the_curve_keep_the_window_model():
    """A rates frame without sub-window columns (e.g. from a demand profile) runs the window-only model."""
    prof = token_profile(np.full(10, 1000.0), np.full(10, 50.0))
    rates = pd.DataFrame({"request_rate_per_s": [4.0], "input_tokens_per_s": [4000.0],
                          "output_tokens_per_s": [200.0], "arrival_dispersion": [3.0]})
    dep = Deployment("hgx-h100", "llama-2-70b", 2, 2)
    window_only = fluid_serving(dep, rates, prof).percentile("ttft_s", 90)
    # the same window with a measured sub-window curve: burstier arrivals, later first tokens; without the curve
    # no burst beyond the window's held rate is charged, so it reads no later than the calmest curve
    with_curve = [fluid_serving(dep, rates.assign(**{name: d for name, _ in dispersion_columns(5.0)}), prof)
                  .percentile("ttft_s", 90) for d in (1.0, 1.5, 3.0)]
    assert np.isfinite(window_only) and window_only <= with_curve[0] < with_curve[1] < with_curve[2]


def _trace_rates(window_s: float):
    rng = stream(12, "test.serving")
    t = np.sort(rng.uniform(0.0, 300.0, 600))
    return interval_rates(t, np.full(t.size, 1000), np.full(t.size, 50), window_s=window_s), token_profile(
        np.full(10, 1000.0), np.full(10, 50.0))


def test_rates_measured_for_another_window_are_refused_not_read_at_the_wrong_scales():
    """Rates from a 10 s window share six column names with a 5 s window's (2500 ms ... 78 ms): read at 5 s they
    were taken as that window's curve at half its scales. Refused, naming the column that does not belong."""
    rates, prof = _trace_rates(10.0)
    dep = Deployment("hgx-h100", "llama-2-70b", 2, 2)
    with pytest.raises(InputError) as exc:
        fluid_serving(dep, rates, prof, window_s=5.0)
    assert exc.value.field == "arrival_dispersion_5000ms"
    assert np.isfinite(fluid_serving(dep, rates, prof, window_s=10.0).percentile("tpot_s", 90))
    partial = rates.drop(columns=[dispersion_columns(10.0)[-1][0]])   # one scale missing: refused, not skipped
    with pytest.raises(InputError):
        fluid_serving(dep, partial, prof, window_s=10.0)


@pytest.mark.parametrize("bad", [0.5, -2.0, float("nan"), "x"])
def test_a_dispersion_below_one_or_not_a_number_is_refused_with_its_column_and_value(bad):
    """Values below 1 were raised to 1 and text raised a ValueError traceback: both refused by column and value."""
    rates, prof = _trace_rates(5.0)
    for column in ("arrival_dispersion", "arrival_dispersion_625ms"):
        wrong = rates.astype({column: object})
        wrong.loc[0, column] = bad
        with pytest.raises(InputError) as exc:
            fluid_serving(Deployment("hgx-h100", "llama-2-70b", 2, 2), wrong, prof)
        assert exc.value.field == column
        assert str(exc.value.value) == str(bad)
