"""The design MILP: racks per phase and platform, dry coolers, chillers, heat pumps, PPA, redundancy.

Minimises the equivalent annual cost (capex x capital recovery factor, plus
insurance, maintenance, staff and energy, minus heat sold) subject to the
budget, the grid connection, the floor space, a compute target and a carbon
cap. Redundancy is chosen by solving once per allowed level. Coefficients
come from the catalog, the performance model (``dctwin.perf``) and the
facility physics over the site's own year (``site_model``).

If no design is feasible, an elastic copy (every limit gets a penalised
slack, targets a much dearer one) names the constraints that bind and by how
much each would have to give.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dctwin.accounting.accounts import heat_price_by_month_eur_per_mwh
from dctwin.catalog import Platform, load_catalog
from dctwin.config import Scenario
from dctwin.errors import InputError
from dctwin.plan.constraints import REDUNDANCY_ORDER, PlanConstraints
from dctwin.plan.lp import Model
from dctwin.plan.serving import serving_by_option
from dctwin.plan.site_model import SiteModel, build_site_model, planner_params

__all__ = ["LIMITS", "TARGETS", "Design", "PlatformCoef", "crf", "platform_coefs", "solve_design"]

LIMITS = ("budget_eur", "grid_connection_mw", "floor_space_m2", "carbon_cap_t_per_year")
TARGETS = ("min_training_pflops", "min_tokens_per_day")


def crf(rate: float, life_years: float) -> float:
    """Capital recovery factor: the annuity that repays 1 over ``life_years`` at ``rate`` [1/year]."""
    if rate <= 0:
        return 1.0 / life_years
    return rate / (1.0 - (1.0 + rate) ** (-life_years))


@dataclass(frozen=True)
class PlatformCoef:
    """Per-rack figures of one platform."""

    id: str
    max_mw: float             # IT power at full load [MW]
    avg_mw: float             # IT power at the workload's mean load [MW]
    liquid_frac: float        # [-]
    overhead_mean: float      # facility kW per IT kW, year mean [-]
    overhead_peak: float      # facility kW per IT kW, worst hour at full load [-]
    capex_it_eur: float       # rack + network/storage [EUR]
    train_pflops: float       # training capacity per rack [PFLOP/s]
    tokens_per_day: float     # inference capacity per rack [tokens/day]
    gpus: int
    year: int                 # first year the platform ships [-]
    serving: str = ""         # one serving replica of the token model, or why none meets its targets


def _tokens_per_s(p: Platform, model: str, serving_software: str) -> float:
    """Output tokens/s of one rack of ``p`` serving ``model`` at a default service's shape and targets
    (:func:`dctwin.plan.serving.rack_serving`) on the ``serving_software`` stack [token/s]."""
    from dctwin.config.workload import InferenceServiceConfig, WorkloadConfig
    from dctwin.perf.params import packaged_perf_params
    from dctwin.plan.serving import rack_serving
    from dctwin.workload.inference import services

    row = services(WorkloadConfig(inference=[InferenceServiceConfig(model=model, peak_requests_per_s=1.0)])).iloc[0]
    return rack_serving(p, row, packaged_perf_params().for_serving_software(serving_software)).tokens_per_s


def platform_coefs(scenario: Scenario, cons: PlanConstraints, site: SiteModel) -> list[PlatformCoef]:
    """Coefficients of every platform the planner may choose."""
    cat = load_catalog()
    ids = cons.platforms or sorted({p.id for p in cat.values() if p.kind == "rack"})
    bad = [i for i in ids if i not in cat]
    if bad:
        raise InputError("unknown catalog id", field="platforms", value=bad[0], allowed=", ".join(sorted(cat)))
    wl = scenario.workload
    s = wl.training.share_of_gpus
    load = s * wl.training.mean_utilisation + (1 - s) * planner_params()["inference_load_frac"]
    serving = serving_by_option(scenario, cons, [cat[i] for i in ids])
    econ = scenario.economics
    lf_keys = np.array(sorted(site.overhead_by_lf))
    out = []
    for pid in ids:
        p = cat[pid]
        o_mean = float(np.interp(p.liquid_cooled_fraction, lf_keys, [site.overhead_by_lf[k][0] for k in lf_keys]))
        o_peak = float(np.interp(p.liquid_cooled_fraction, lf_keys, [site.overhead_by_lf[k][1] for k in lf_keys]))
        price = econ.capex.rack_price_usd.get(pid, p.price_usd) * econ.usd_to_eur
        out.append(PlatformCoef(
            id=pid, max_mw=p.unit_max_kw / 1000,
            avg_mw=(p.unit_idle_kw + load * (p.unit_max_kw - p.unit_idle_kw)) / 1000,
            liquid_frac=p.liquid_cooled_fraction, overhead_mean=o_mean, overhead_peak=o_peak,
            capex_it_eur=price * (1 + econ.capex.network_storage_frac_of_it),
            train_pflops=s * p.gpus_per_unit * p.fp8_dense_tflops * planner_params()["training_mfu"] / 1000,
            tokens_per_day=(1 - s) * serving[pid].tokens_per_s * 86400, gpus=p.gpus_per_unit,
            year=p.year, serving=serving[pid].layout))
    return out


@dataclass
class Design:
    """One solution of the design model."""

    redundancy: str
    racks: dict[tuple[str, str], int]          # (phase, platform) -> racks
    dry_cooler_mw: float
    chiller_mw: float
    heat_pump_mw: float
    ppa_share: float
    capex_eur: float
    cost_eur_per_year: float
    energy_mwh_per_year: float
    heat_sold_mwh_per_year: float
    carbon_t_per_year: float                   # market-based (PPA and residual mix) [t/year]
    carbon_location_t_per_year: float          # location-based (the grid's monthly mean intensity) [t/year]
    training_pflops: float
    tokens_per_day: float
    grid_peak_mw: float
    floor_m2: float
    it_mw: float
    binding: list[str] = field(default_factory=list)
    gpus: int = 0                              # GPUs in the chosen racks
    it_mean_mw: float = 0.0                    # IT power at the workload's mean load [MW]
    serving: dict[str, str] = field(default_factory=dict)   # rack option -> serving replica, or why none

    def as_row(self) -> dict:
        row = {k: v for k, v in self.__dict__.items() if k not in ("racks", "binding", "serving")}
        row["racks"] = ";".join(f"{ph}:{pl}={n}" for (ph, pl), n in sorted(self.racks.items()) if n)
        row["binding"] = ",".join(self.binding)
        return row


def _limits(scenario: Scenario, cons: PlanConstraints) -> dict[str, float | None]:
    return {
        "budget_eur": cons.budget_eur,
        "grid_connection_mw": cons.grid_connection_mw or scenario.site.grid_connection_mw,
        "floor_space_m2": cons.floor_space_m2 or scenario.site.floor_space_m2,
        "carbon_cap_t_per_year": cons.carbon_cap_t_per_year,
        "min_training_pflops": cons.min_training_pflops,
        "min_tokens_per_day": cons.min_tokens_per_day,
    }


@dataclass
class _Terms:
    """Each model variable's coefficient in every sum the design model needs, by variable name."""

    capex: dict[str, float] = field(default_factory=dict)          # [EUR]
    eac: dict[str, float] = field(default_factory=dict)            # equivalent annual cost [EUR/year]
    energy: dict[str, float] = field(default_factory=dict)         # [MWh/year]
    spot: dict[str, float] = field(default_factory=dict)           # spot energy cost [EUR/year]
    itpeak_heat: dict[str, float] = field(default_factory=dict)    # liquid heat at full load [MW]
    itavg_liquid: dict[str, float] = field(default_factory=dict)   # liquid IT power at mean load [MW]
    grid_peak: dict[str, float] = field(default_factory=dict)      # [MW]
    floor: dict[str, float] = field(default_factory=dict)          # [m2]
    train: dict[str, float] = field(default_factory=dict)          # [PFLOP/s]
    tok: dict[str, float] = field(default_factory=dict)            # [tokens/day]
    heat_rev: dict[str, float] = field(default_factory=dict)       # heat sold [EUR/MWh]


def _rates(scenario: Scenario, red: str) -> dict[str, float]:
    """Cost rates of one redundancy level: capex per MW [EUR/MW], annuity and fixed-cost factors [1/year]."""
    econ = scenario.economics
    cap, opx, fin = econ.capex, econ.opex, econ.finance
    pp = planner_params()
    fx = econ.usd_to_eur
    return {
        "cop_ch": pp["chiller_cop"],
        "crf_it": crf(fin.wacc, fin.it_life_years), "crf_fac": crf(fin.wacc, fin.facility_life_years),
        "fixed_it": opx.insurance_frac_per_year + opx.it_maintenance_frac_per_year,
        "fixed_fac": opx.insurance_frac_per_year + opx.facility_maintenance_frac_per_year,
        "fac": cap.facility_capex_usd_per_mw * fx * pp["redundancy_capex_factor"][red] * (1 + cap.soft_cost_frac),
        "dry": cap.dry_cooler_capex_usd_per_mw * fx, "ch": cap.chiller_capex_usd_per_mw * fx,
        "hp": cap.heat_pump_capex_eur_per_mw,
    }


def _add_racks(m: Model, t: _Terms, scenario: Scenario, cons: PlanConstraints, site: SiteModel,
               coefs: list[PlatformCoef], r: dict[str, float]) -> None:
    """One integer rack count per phase and platform."""
    # a platform can fill a phase that starts from 1 July of its ship year (the catalog's ship
    # dates are "H2 <year>" targets), so Rubin Ultra (H2 2027) cannot open a 2027-01-01 phase
    starts = {ph.name: (ph.start.year, ph.start.month) for ph in scenario.phases}
    floor_m2_per_rack = planner_params_floor()
    for k, ph in enumerate(ph.name for ph in scenario.phases):
        for c in coefs:
            available = (c.year, 7) <= starts[ph]
            v = m.var(f"n__{ph}__{c.id}", 0, cons.max_racks if available else 0, integer=True)
            fac_eur = c.max_mw * (r["fac"] - r["dry"])
            t.capex[v] = c.capex_it_eur + fac_eur
            t.eac[v] = (c.capex_it_eur * (r["crf_it"] + r["fixed_it"]) + fac_eur * (r["crf_fac"] + r["fixed_fac"])
                        + 1e-3 * k)
            t.energy[v] = c.avg_mw * (1 + c.overhead_mean) * 8760
            t.spot[v] = float((c.avg_mw * (1 + c.overhead_mean) * site.hours_m * site.price_m).sum())
            t.itpeak_heat[v] = c.max_mw * c.liquid_frac * (1 + site.pump_heat_frac)
            t.itavg_liquid[v] = c.avg_mw * c.liquid_frac
            t.grid_peak[v] = c.max_mw * (1 + c.overhead_peak)
            t.floor[v] = floor_m2_per_rack
            t.train[v] = c.train_pflops
            t.tok[v] = c.tokens_per_day


def _add_cooling(m: Model, t: _Terms, site: SiteModel, r: dict[str, float], dry: str, ch: str) -> None:
    """Chiller load per dry-bulb bin (what the dry coolers cannot reject at the mean load) and the design row."""
    cop_ch = r["cop_ch"]
    for b, (hrs, cf) in enumerate(zip(site.bin_hours, site.bin_cf, strict=True)):
        lb = m.var(f"chiller_load__{b}")
        m.row(f"cooling_bin__{b}", {lb: 1.0, dry: cf, **{v: -a * (1 + site.pump_heat_frac)
                                                        for v, a in t.itavg_liquid.items()}}, lb=0.0)
        t.energy[lb] = hrs / cop_ch
        t.spot[lb] = hrs / cop_ch * site.price_mean
    hot = int(np.argmin(site.bin_cf))
    m.row("cooling_design", {dry: float(site.bin_cf[hot]), ch: 1.0, **{v: -a for v, a in t.itpeak_heat.items()}},
          lb=0.0)
    t.grid_peak[ch] = 1.0 / cop_ch


def _add_heat(m: Model, t: _Terms, site: SiteModel, hp: str, heat_price) -> None:
    """Heat sold by month, bounded by the heat pumps' capacity and the liquid loop's heat."""
    for mo in range(12):
        q = m.var(f"heat_mwh__{mo}", 0, float(site.heat_cap_mwh_m[mo]))
        cop = float(site.cop_m[mo])
        m.row(f"heat_pump_cap__{mo}", {q: 1.0, hp: -float(site.hours_m[mo])}, ub=0.0)
        m.row(f"heat_source__{mo}", {q: 1.0, **{v: -a * site.hours_m[mo] * cop / (cop - 1)
                                               for v, a in t.itavg_liquid.items()}}, ub=0.0)
        t.energy[q] = 1.0 / cop
        t.spot[q] = float(site.price_m[mo]) / cop
        t.heat_rev[q] = float(heat_price[mo])
    t.grid_peak[hp] = 1.0 / float(site.cop_m.min())


def _objective(t: _Terms, scenario: Scenario, ppa: str) -> tuple[dict[str, float], dict[str, float]]:
    """(carbon [t/year], equivalent annual cost [EUR/year]) per variable."""
    econ = scenario.economics
    tax_fee = econ.energy_tax_eur_per_mwh + econ.grid_fee_eur_per_mwh
    carbon = {v: e * econ.residual_mix_g_per_kwh / 1000 for v, e in t.energy.items()}
    carbon[ppa] = (econ.ppa_carbon_g_per_kwh - econ.residual_mix_g_per_kwh) / 1000
    energy_cost = {v: t.spot.get(v, 0.0) + tax_fee * t.energy.get(v, 0.0) for v in set(t.spot) | set(t.energy)}
    energy_cost[ppa] = energy_cost.get(ppa, 0.0) + econ.ppa_price_eur_per_mwh
    for q, price in t.heat_rev.items():
        energy_cost[q] = energy_cost.get(q, 0.0) - price
    obj = dict(t.eac)
    for v, c in energy_cost.items():
        obj[v] = obj.get(v, 0.0) + c
    return carbon, obj


def _add_limits(m: Model, exprs: dict[str, dict], limits: dict, elastic: bool) -> dict[str, str]:
    """One row per given limit or target; elastic: each with a penalised slack (returned by limit name)."""
    slacks = {}
    for name, expr in exprs.items():
        limit = limits.get(name)
        if limit is None:
            continue
        row = dict(expr)
        scale = max(abs(float(limit)), 1.0)
        if elastic:
            s = m.var(f"slack__{name}")
            slacks[name] = s
            weight = (1e3 if name in TARGETS else 1.0) / scale
            m.add_cost({s: weight})
            row[s] = 1.0 if name in TARGETS else -1.0
        if name in TARGETS:
            m.row(name, row, lb=float(limit))
        else:
            m.row(name, row, ub=float(limit))
    if elastic:  # feasibility only: drop the economic objective
        m.cost = [0.0 if not n.startswith("slack__") else c for n, c in zip(m.names, m.cost, strict=True)]
    return slacks


def _build(scenario: Scenario, cons: PlanConstraints, site: SiteModel, coefs: list[PlatformCoef], red: str,
           limits: dict, elastic: bool) -> tuple[Model, dict]:
    r = _rates(scenario, red)
    m, t = Model(), _Terms()
    _add_racks(m, t, scenario, cons, site, coefs, r)
    dry, ch, hp, ppa = (m.var(n) for n in ("dry_cooler_mw", "chiller_mw", "heat_pump_mw", "ppa_mwh"))
    t.capex.update({dry: r["dry"], ch: r["ch"], hp: r["hp"]})
    fac_factor = r["crf_fac"] + r["fixed_fac"]
    t.eac.update({dry: r["dry"] * fac_factor, ch: r["ch"] * fac_factor, hp: r["hp"] * fac_factor})
    _add_cooling(m, t, site, r, dry, ch)
    _add_heat(m, t, site, hp, heat_price_by_month_eur_per_mwh(scenario))
    # PPA volume bounded by the offer
    m.row("ppa_offer", {ppa: 1.0, **{v: -cons.max_ppa_share * e for v, e in t.energy.items()}}, ub=0.0)
    t.spot[ppa] = -site.price_mean
    carbon, obj = _objective(t, scenario, ppa)
    m.add_cost(obj)
    exprs = {"budget_eur": t.capex, "grid_connection_mw": t.grid_peak, "floor_space_m2": t.floor,
             "carbon_cap_t_per_year": carbon, "min_training_pflops": t.train, "min_tokens_per_day": t.tok}
    slacks = _add_limits(m, exprs, limits, elastic)
    return m, {"exprs": exprs, "capex": t.capex, "energy": t.energy, "obj": obj, "heat": t.heat_rev, "slacks": slacks}


def planner_params_floor() -> float:
    from dctwin.config.economics import cost_norms

    return float(cost_norms()["values"]["floor_m2_per_rack"]["value"])


def _design(sol, info: dict, red: str, limits: dict, phases: list[str], coefs: list[PlatformCoef],
            site: SiteModel) -> Design:
    x = sol.values

    def ev(expr):
        return float(sum(c * x.get(v, 0.0) for v, c in expr.items()))

    racks = {(ph, c.id): round(x[f"n__{ph}__{c.id}"]) for ph in phases for c in coefs}
    e = ev(info["energy"])
    binding = []
    for name, expr in info["exprs"].items():
        lim = limits.get(name)
        if lim is not None and abs(ev(expr) - lim) <= 1e-3 * max(abs(lim), 1.0) + 1e-9:
            binding.append(name)
    return Design(
        redundancy=red, racks=racks, dry_cooler_mw=x["dry_cooler_mw"], chiller_mw=x["chiller_mw"],
        heat_pump_mw=x["heat_pump_mw"], ppa_share=(x["ppa_mwh"] / e if e > 0 else 0.0),
        capex_eur=ev(info["capex"]), cost_eur_per_year=ev(info["obj"]), energy_mwh_per_year=e,
        heat_sold_mwh_per_year=sum(x[q] for q in info["heat"]),
        carbon_t_per_year=max(ev(info["exprs"]["carbon_cap_t_per_year"]), 0.0),
        carbon_location_t_per_year=e * float((site.hours_m * site.carbon_m).sum() / site.hours_m.sum()) / 1000,
        training_pflops=ev(info["exprs"]["min_training_pflops"]),
        tokens_per_day=ev(info["exprs"]["min_tokens_per_day"]),
        grid_peak_mw=ev(info["exprs"]["grid_connection_mw"]), floor_m2=ev(info["exprs"]["floor_space_m2"]),
        it_mw=sum(n * c.max_mw for (ph, pid), n in racks.items() for c in coefs if c.id == pid), binding=binding,
        gpus=sum(n * c.gpus for (ph, pid), n in racks.items() for c in coefs if c.id == pid),
        it_mean_mw=sum(n * c.avg_mw for (ph, pid), n in racks.items() for c in coefs if c.id == pid),
        serving={c.id: c.serving for c in coefs})


def _explain(scenario, cons, site, coefs, levels, limits) -> InputError:
    best = None
    for red in levels:
        m, info = _build(scenario, cons, site, coefs, red, limits, elastic=True)
        sol = m.solve()
        if sol.ok and (best is None or sol.objective < best[0].objective):
            best = (sol, info)
    if best is None:
        return InputError("the design model could not be solved", field="constraints")
    sol, info = best
    parts, names = [], []
    for name, s in info["slacks"].items():
        amount = sol.values.get(s, 0.0)
        if amount > 1e-6 * max(abs(limits[name]), 1.0):
            need = limits[name] + amount if name not in TARGETS else limits[name] - amount
            word = "needs at least" if name not in TARGETS else "reaches at most"
            names.append(name)
            parts.append(f"'{name}' binds: the cheapest way to meet the others {word} {need:,.4g} "
                         f"(limit {limits[name]:,.4g})")
    text = "; ".join(parts) if parts else "the constraints contradict each other"
    return InputError(f"no design meets every constraint: {text}", field=", ".join(names) or "constraints",
                      allowed="relax the named constraint")


def solve_design(scenario: Scenario, cons: PlanConstraints, *, site: SiteModel | None = None,
                 coefs: list[PlatformCoef] | None = None, overrides: dict | None = None) -> Design:
    """Cheapest design meeting ``cons`` (with ``overrides`` of its limits, for Pareto sweeps).

    Raises InputError naming the binding constraint when none is feasible.
    """
    site = site or build_site_model(scenario)
    coefs = coefs or platform_coefs(scenario, cons, site)
    limits = _limits(scenario, cons)
    limits.update(overrides or {})
    levels = REDUNDANCY_ORDER[REDUNDANCY_ORDER.index(cons.min_redundancy):]
    phases = [ph.name for ph in scenario.phases]
    best: Design | None = None
    for red in levels:
        m, info = _build(scenario, cons, site, coefs, red, limits, elastic=False)
        sol = m.solve()
        if sol.ok:
            d = _design(sol, info, red, limits, phases, coefs, site)
            if best is None or d.cost_eur_per_year < best.cost_eur_per_year - 1e-6:
                best = d
    if best is None:
        raise _explain(scenario, cons, site, coefs, levels, limits)
    return best
