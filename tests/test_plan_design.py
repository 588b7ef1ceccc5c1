"""Planner: feasible designs respect every constraint; infeasible problems name the binding one."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from dctwin.config import load_scenario
from dctwin.errors import InputError
from dctwin.plan import PlanConstraints, pareto_front, solve_design
from dctwin.plan.cli import plan_app
from dctwin.plan.model import crf, platform_coefs
from dctwin.plan.pareto import nondominated
from dctwin.plan.site_model import build_site_model

PLATFORMS = ["vr-nvl72", "gb300-nvl72", "rubin-ultra-nvl576"]


@pytest.fixture(scope="module")
def base():
    return load_scenario()


def _cons(**kw):
    kw.setdefault("platforms", PLATFORMS)
    kw.setdefault("min_redundancy", "N+1")
    return PlanConstraints(**kw)


def test_crf_textbook():
    # 8% over 20 years: 0.10185 (standard annuity table); zero rate: straight line
    assert crf(0.08, 20) == pytest.approx(0.101852, rel=1e-4)
    assert crf(0.0, 5) == pytest.approx(0.2)


def test_site_model_from_the_twin(base):
    site = build_site_model(base)
    assert site.hours_m.sum() == 8760
    assert 1.0 < 1 + site.overhead_by_lf[1.0][0] < 1.15        # DLC PUE 1.05-1.15 (dossier §4), no heat reuse
    assert site.overhead_by_lf[0.0][0] > site.overhead_by_lf[1.0][0]  # air cooling costs more
    assert site.heat_cap_mwh_m[0] > site.heat_cap_mwh_m[6]      # DH takes more heat in January than July
    assert np.all(site.cop_m > 1)


def test_feasible_design_respects_every_constraint(base):
    cons = _cons(min_training_pflops=15_000, budget_eur=1.2e9, grid_connection_mw=30, floor_space_m2=400,
                 carbon_cap_t_per_year=500)
    d = solve_design(base, cons)
    assert d.training_pflops >= 15_000 - 1e-6
    assert d.capex_eur <= 1.2e9 * (1 + 1e-9)
    assert d.grid_peak_mw <= 30 + 1e-9
    assert d.floor_m2 <= 400 + 1e-9
    assert d.carbon_t_per_year <= 500 + 1e-6
    assert d.redundancy in ("N+1", "2N")
    assert sum(d.racks.values()) > 0
    # the chosen platform cannot be one that ships after the phase opens (Rubin Ultra: H2 2027)
    assert all(n == 0 for (ph, pid), n in d.racks.items() if pid == "rubin-ultra-nvl576")


def test_target_met_at_least_cost_among_single_platform_designs(base):
    """The MILP's cost is no worse than filling the target with any one platform alone."""
    cons = _cons(min_training_pflops=10_000)
    d = solve_design(base, cons)
    for pid in ("vr-nvl72", "gb300-nvl72"):
        alone = solve_design(base, _cons(min_training_pflops=10_000, platforms=[pid]))
        assert d.cost_eur_per_year <= alone.cost_eur_per_year + 1e-6


def test_carbon_cap_buys_ppa(base):
    loose = solve_design(base, _cons(min_training_pflops=10_000, max_ppa_share=0.5))
    tight = solve_design(base, _cons(min_training_pflops=10_000, max_ppa_share=1.0,
                                     carbon_cap_t_per_year=0.2 * loose.carbon_t_per_year))
    assert tight.carbon_t_per_year <= 0.2 * loose.carbon_t_per_year + 1e-6
    assert tight.ppa_share > loose.ppa_share - 1e-9


def test_infeasible_grid_names_the_binding_constraint(base):
    cons = _cons(min_training_pflops=200_000, grid_connection_mw=30)
    with pytest.raises(InputError) as err:
        solve_design(base, cons)
    msg = str(err.value)
    assert "grid_connection_mw" in msg and "binds" in msg
    assert "budget_eur" not in msg


def test_infeasible_budget_names_the_budget(base):
    cons = _cons(min_training_pflops=10_000, budget_eur=1e8, grid_connection_mw=500)
    with pytest.raises(InputError, match="budget_eur"):
        solve_design(base, cons)


def test_constraints_need_a_target():
    with pytest.raises(ValueError, match="target"):
        PlanConstraints(budget_eur=1e9)


def test_token_target_uses_the_perf_model(base):
    site = build_site_model(base)
    coefs = {c.id: c for c in platform_coefs(base, _cons(min_tokens_per_day=1e11), site)}
    assert coefs["vr-nvl72"].tokens_per_day > coefs["gb300-nvl72"].tokens_per_day > 0
    d = solve_design(base, _cons(min_tokens_per_day=5e11))
    assert d.tokens_per_day >= 5e11 * (1 - 1e-9)


def test_nondominated_filter():
    df = pd.DataFrame({"cost_eur_per_year": [1, 2, 2, 3], "compute": [1, 2, 1, 2], "carbon_t_per_year": [0, 0, 0, 1]})
    out = nondominated(df, "compute")
    assert list(out["cost_eur_per_year"]) == [1, 2]


def test_pareto_front_is_nondominated_and_contains_the_choice(base):
    chosen, front, designs = pareto_front(base, _cons(min_training_pflops=10_000, grid_connection_mw=30))
    assert len(designs) == len(front) and any(d is chosen for d in designs)
    assert front["chosen"].sum() == 1
    assert len(front) >= 2
    assert (front["grid_peak_mw"] <= 30 + 1e-9).all()
    # more compute never costs less along the front (sorted by compute)
    assert np.all(np.diff(front["cost_eur_per_year"].to_numpy()) >= -1e-6) or (front["carbon_t_per_year"].nunique() > 1)


def test_cli_writes_a_loadable_scenario_and_the_front(tmp_path):
    out = tmp_path / "plan"
    r = CliRunner().invoke(plan_app, ["--min-training-pflops", "10000", "--grid-mw", "30", "--out", str(out)])
    assert r.exit_code == 0, r.output
    sc = load_scenario(out / "design.yaml")
    assert sc.phases[0].racks and sc.site.grid_connection_mw == 30
    front = pd.read_csv(out / "pareto.csv")
    assert {"cost_eur_per_year", "compute", "carbon_t_per_year", "racks"} <= set(front.columns)
    assert (out / "pareto.png").stat().st_size > 1000


def test_cli_infeasible_exits_2_with_the_reason(tmp_path):
    r = CliRunner().invoke(plan_app, ["--min-training-pflops", "500000", "--grid-mw", "30", "--out", str(tmp_path)])
    assert r.exit_code == 2
    assert "grid_connection_mw" in r.output


def test_winners_are_confirmed_by_the_full_twin(base, tmp_path, monkeypatch):
    """--simulate runs dctwin.orchestrator.simulate on each winner (stubbed here: the real run takes minutes)."""
    import dctwin.orchestrator
    from dctwin.plan.cli import plan

    seen = []

    def fake_simulate(scenario, progress=None):
        seen.append(scenario)
        from types import SimpleNamespace
        return SimpleNamespace(kpis={"grid_energy_mwh": 1.0, "capex_eur": 2.0, "tco_eur": 3.0, "pue": 1.1,
                                     "emissions_market_t": 0.0})

    monkeypatch.setattr(dctwin.orchestrator, "simulate", fake_simulate)
    paths = plan("borlange-2027", _cons(min_training_pflops=10_000, grid_connection_mw=30), tmp_path,
                 simulate=True, top=2, confirm_days=7)
    conf = pd.read_csv(paths["paths"]["confirm_csv"])
    assert len(conf) == len(seen) == 2
    assert all(s.simulation.duration_days == 7 for s in seen)
    assert seen[0].phases[0].racks  # the chosen design, as a validated scenario


def test_heat_pumps_pay_only_when_heat_is_worth_more_than_their_power(base):
    """At EUR 22/MWh heat does not cover ~EUR 95/MWh power / COP ~4 plus capex; at EUR 80/MWh it does."""
    cheap = solve_design(base, _cons(min_training_pflops=10_000))
    assert cheap.heat_pump_mw == pytest.approx(0.0, abs=1e-6)
    dear_base = base.model_copy(update={"economics": base.economics.model_copy(
        update={"heat_price_eur_per_mwh": 80.0})})
    dear = solve_design(dear_base, _cons(min_training_pflops=10_000))
    site = build_site_model(base)
    assert dear.heat_pump_mw > 0
    assert dear.heat_sold_mwh_per_year <= site.heat_cap_mwh_m.sum() + 1e-6   # never more than the network takes
    assert dear.cost_eur_per_year < cheap.cost_eur_per_year                  # selling heat lowers the annual cost


@pytest.mark.parametrize("text,problem", [
    ("min_training_pflops: 1\nbudget_eur: 1\nbudget_eur: 2\n", "duplicate key 'budget_eur'"),
    (b"min_training_pflops: 1 # caf\xe9\n", "not UTF-8"),
    ("min_training_pflops: 1\nbudget_eur: 2027-02-30\n", "is not a valid date"),
    ("min_training_pflops: 1\nbudget_eur: 0700\n", "ambiguous number"),
])
def test_a_constraints_file_is_read_exactly_or_refused(tmp_path, text, problem):
    from dctwin.plan.constraints import load_constraints

    p = tmp_path / "c.yaml"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(InputError, match=problem):
        load_constraints(p)


def test_a_constraints_error_does_not_echo_another_files_line(tmp_path):
    from dctwin.plan.constraints import load_constraints

    p = tmp_path / "shadow"
    p.write_text("root:x:0:0: s3cr3t-hash\n")
    with pytest.raises(InputError) as exc:
        load_constraints(p)
    assert "s3cr3t" not in str(exc.value) and "x:0:0" not in str(exc.value)
