"""Planner serving capacity: each rack option's tokens/day come from the replica the scenario run uses
(perf.serving_layout.serving_layout_perf at the service's shape and targets, or its fixed layout)."""

import pytest

from dctwin.catalog import get_platform
from dctwin.cluster.inference import service_layouts
from dctwin.config import load_scenario
from dctwin.config.load import scenario_from_dict
from dctwin.errors import InputError
from dctwin.perf.inference import inference_perf
from dctwin.perf.params import packaged_perf_params
from dctwin.perf.serving_layout import ServingLayout, serving_layout_perf
from dctwin.plan import PlanConstraints, solve_design
from dctwin.plan.model import platform_coefs
from dctwin.plan.output import design_rows
from dctwin.plan.site_model import build_site_model
from dctwin.workload.inference import services

RACKS = ["vr-nvl72", "gb200-nvl72", "gb300-nvl72"]


@pytest.fixture(scope="module")
def base():
    return load_scenario()


@pytest.fixture(scope="module")
def site(base):
    return build_site_model(base)


def _with_services(base, inference: list[dict]):
    doc = base.model_dump(mode="json")
    return scenario_from_dict({**doc, "workload": {**doc["workload"], "inference": inference}})


def _expected_per_day(scenario, platform_id: str, layout="auto") -> tuple[float, ServingLayout]:
    """(1 - training share) x a rack's GPUs x serving_layout_perf's tokens/s per GPU x 86,400 s."""
    row = services(scenario.workload).iloc[0]
    p = get_platform(platform_id)
    params = packaged_perf_params().for_serving_software(scenario.workload.serving_software)
    lay, perf = serving_layout_perf(p, row["model"], "fp8", row["mean_input_tokens"], row["mean_output_tokens"],
                                    row["ttft_ms"] / 1e3, row["tpot_ms"] / 1e3, layout, params)
    share = 1 - scenario.workload.training.share_of_gpus
    return share * p.gpus_per_unit * perf.tokens_per_s / lay.gpus * 86400, lay


def test_tokens_per_rack_are_the_runs_replica_choice(base, site):
    coefs = platform_coefs(base, PlanConstraints(min_tokens_per_day=1e11, platforms=RACKS), site)
    assert [c.id for c in coefs] == RACKS
    params = packaged_perf_params().for_serving_software(base.workload.serving_software)
    svcs = services(base.workload)
    for c in coefs:
        want, lay = _expected_per_day(base, c.id)
        assert c.tokens_per_day == pytest.approx(want, rel=1e-12) and c.tokens_per_day > 0
        # the layout the run reports for the service on that pool (cluster.inference) is the one planned with
        assert c.serving == lay.label() == service_layouts(svcs, get_platform(c.id), params=params)[svcs.index[0]]


def test_a_fixed_layout_in_the_base_scenario_is_what_the_plan_sizes(base, site):
    svc = {"model": "mistral-large-2", "peak_requests_per_s": 100.0, "layout": {"tp": 4, "pp": 2}}
    sc = _with_services(base, [svc])
    c = platform_coefs(sc, PlanConstraints(min_tokens_per_day=1e11, platforms=["vr-nvl72"]), site)[0]
    want, lay = _expected_per_day(sc, "vr-nvl72", ServingLayout(4, 2))
    auto, auto_lay = _expected_per_day(sc, "vr-nvl72")
    assert c.tokens_per_day == pytest.approx(want, rel=1e-12) and c.serving == "TP4 PP2 (8 GPUs per replica)"
    assert auto_lay != lay and auto > want   # the fixed layout is slower per GPU than the automatic one


def test_pipeline_stages_let_a_large_model_be_planned_on_small_gpus(base, site):
    """Mistral Large 3 at FP8 does not fit one 8 x H100 server: the TP-only choice gave the server no capacity
    (a token target on H100 was infeasible); TP8 PP2 across two servers serves it, and the plan meets the target."""
    h100 = get_platform("hgx-h100")
    sc = _with_services(base, [{"model": "mistral-large-3", "peak_requests_per_s": 10.0}])
    with pytest.raises(InputError, match="does not fit"):
        inference_perf(h100, "mistral-large-3", h100.gpus_per_unit)   # before: pp = 1 only, capacity 0
    cons = PlanConstraints(min_tokens_per_day=2e9, platforms=["hgx-h100"])
    c = platform_coefs(sc, cons, site)[0]
    want, lay = _expected_per_day(sc, "hgx-h100")
    assert lay.pp > 1 and c.serving == lay.label() == "TP8 PP2 (16 GPUs per replica)"
    assert c.tokens_per_day == pytest.approx(want, rel=1e-12) and c.tokens_per_day > 0
    d = solve_design(sc, cons, site=site)
    assert d.tokens_per_day >= 2e9 * (1 - 1e-9)
    racks = sum(d.racks.values())
    assert d.tokens_per_day == pytest.approx(racks * c.tokens_per_day, rel=1e-9)
    assert ("Serving replica on hgx-h100 (token capacity sized with)", lay.label(), "layout") in design_rows(d)


def test_a_rack_option_with_no_layout_at_the_targets_is_reported(base, site):
    sc = _with_services(base, [{"model": "mistral-large-2", "peak_requests_per_s": 10.0, "tpot_ms": 0.5}])
    cons = PlanConstraints(min_training_pflops=1000, platforms=["vr-nvl72", "gb200-nvl72"])
    coefs = platform_coefs(sc, cons, site)
    assert all(c.tokens_per_day == 0 and c.serving.startswith("none: ") for c in coefs)
    assert all("latency targets" in c.serving for c in coefs)
    d = solve_design(sc, cons, site=site, coefs=coefs)
    assert ("Rack options with no serving layout at the targets", "gb200-nvl72, vr-nvl72", "rack types") \
        in design_rows(d)
    with pytest.raises(InputError, match="no rack option serves mistral-large-2 at its targets") as exc:
        platform_coefs(sc, PlanConstraints(min_tokens_per_day=1e9, platforms=["vr-nvl72"]), site)
    assert exc.value.field == "min_tokens_per_day" and "vr-nvl72: none: " in str(exc.value)
