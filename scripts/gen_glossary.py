"""Write docs/glossary.md: every column of a run's tables and every KPI, with unit and meaning.

The names come from a real run (``borlange-2027`` for 3 days, in memory), so
the glossary lists exactly what a run writes; the meanings come from the
``DESCRIPTIONS`` table below and the units from the name's suffix (``_kw``,
``_mwh``, ``_eur``, ``_c``, ``_s``, ``_frac``, ...) or from ``UNITS`` where the
name carries none. Per-service names (``<svc>__output_tokens_per_s``,
``eur_per_mtok__<svc>``) are listed once with ``<svc>`` standing for each
inference service of the scenario.

A name with no description makes this script (and ``tests/test_docs.py``)
fail, so the glossary stays complete when a column is added.

Usage: ``python scripts/gen_glossary.py [--out DIR]`` (default ``docs/``).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TABLES = ("timeseries", "monthly", "jobs", "failures", "cost_lines")
SECTIONS = (*TABLES, "kpis")
SVC = "<svc>"

# Unit from the end (or start) of a name; the first rule that matches wins.
SUFFIX_UNITS: tuple[tuple[str, str], ...] = (
    (r"_eur_per_mwh$", "EUR/MWh"),
    (r"eur_per_gpu_hour", "EUR/GPU-h"),
    (r"^eur_per_pflop_hour$", "EUR/PFLOP-h"),
    (r"^eur_per_mtok", "EUR per million tokens"),
    (r"^gco2_per_mtok", "gCO2 per million tokens"),
    (r"_g_per_kwh$", "gCO2/kWh"),
    (r"_kg_per_kwh$", "kgCO2/kWh"),
    (r"_l_per_kwh$", "L/kWh"),
    (r"_l_per_h$", "L/h"),
    (r"tokens(_served)?_per_s$", "tokens/s"),
    (r"requests_per_s$", "requests/s"),
    (r"gpu_s$", "GPU-s"),
    (r"pflop_hours", "PFLOP-h"),
    (r"gpu_hours", "GPU-h"),
    (r"_kw$", "kW"),
    (r"_mw$", "MW"),
    (r"_mwh(_acct)?$", "MWh"),
    (r"_eur$", "EUR"),
    (r"_c$", "°C"),
    (r"_k$", "K"),
    (r"_s$", "s"),
    (r"_frac$", "0-1"),
    (r"_pct$", "%"),
    (r"_m3$", "m³"),
    (r"_t$", "tCO2"),
    (r"_hours$", "h"),
    (r"_years$", "years"),
    (r"^gpus_", "GPUs"),
)

# Units of names without a unit suffix.
UNITS: dict[str, str] = {
    "timestamp": "local time", "month_start": "local time", "month": "YYYY-MM",
    "pue": "-", "pue_incl_heat_pump": "-", "ppue_cooling": "-", "ppue_power": "-", "erf": "-", "ref": "-",
    "utilisation": "0-1", "mean_utilisation": "0-1", "heat_pump_cop": "-", "interruptions": "count",
    "chiller_on": "bool", "adiabatic_on": "bool", "defer_ok": "bool", "deferrable": "bool",
    "gpu_cap": "GPUs", "gpu_cut": "GPUs", "gpus": "GPUs", "gpus_installed": "GPUs", "racks_installed": "racks",
    "power_cap_frac": "0-1", "throughput_factor": "0-1", "economiser_fraction": "0-1",
    "job_id": "id", "kind": "text", "tenant": "text", "priority": "rank", "model": "text", "state": "text",
    "restarts": "count", "preemptions": "count", "placement_domains": "count", "first_domain": "index",
    "platform": "catalog id", "component": "text", "line": "text", "category": "text", "eur": "EUR",
    "jobs_submitted": "count", "jobs_completed": "count", "jobs_failed": "count", "jobs_cancelled": "count",
    "jobs_running_at_end": "count", "jobs_never_started": "count", "jobs": "count", "events_processed": "count",
    "preemptions_for_capacity": "count", "tokens_served__<svc>": "tokens", "water_m3": "m³",
}

# What each name means. A name that is not here fails the glossary.
DESCRIPTIONS: dict[str, str] = {
    # --- time
    "t_s": "Seconds since the scenario start at the beginning of the step.",
    "timestamp": "Beginning of the step, naive local (site standard) time.",
    # --- site series (dctwin.site)
    "dry_bulb_c": "Outdoor dry-bulb air temperature (synthetic climate or weather file).",
    "rel_humidity_pct": "Outdoor relative humidity.",
    "wet_bulb_c": "Outdoor wet-bulb temperature (Stull 2011 from dry bulb and humidity).",
    "price_eur_per_mwh": "Day-ahead spot electricity price of the grid zone (before tax and fees).",
    "carbon_g_per_kwh": "Location-based carbon intensity of grid electricity.",
    "heat_demand_mw": "Heat the district-heating network could take from the site (capped at the offtake limit).",
    "dh_supply_temp_c": "District-heating supply temperature the network needs (control curve in outdoor temperature).",
    # --- cluster series (dctwin.cluster), time-weighted means over the step
    "gpus_online": "GPUs installed and powered (build-out phases online), mean over the step.",
    "gpus_busy_training": "GPUs running training-side jobs (pre-training, fine-tuning, eval, batch), mean over the "
                          "step.",
    "gpus_busy_inference": "GPUs serving inference replicas, mean over the step.",
    "gpus_down": "GPUs out of service after a node failure, awaiting repair, mean over the step.",
    "gpus_idle": "GPUs online and neither busy nor down.",
    "gpus_inference_shortfall": "Inference GPUs needed for the demand but not granted (cluster full or capped).",
    "interruptions": "Job interruptions (failures) in the step.",
    "utilisation": "Busy GPUs (training + inference) / GPUs online.",
    # --- facility series (dctwin.facility)
    "cooling_withheld_gpus": "GPUs kept idle because heat rejection could not hold their power this step (overload "
                             "rule 'throttle').",
    "cooling_capacity_kw": "Liquid-loop heat the plant can reject at this step's weather (dry coolers, reuse, "
                           "allowed chillers).",
    "it_demand_kw": "IT power the workload asks for (racks' power model at this utilisation and power cap).",
    "it_power_kw": "IT power actually drawn after any throttling, rack power shelves included (ISO/IEC 30134-2 IT "
                   "energy).",
    "throttled_it_kw": "IT power removed by power capping for lack of cooling.",
    "power_shelf_loss_kw": "Part of it_power_kw lost in the racks' AC-to-DC power shelves (not added again to the "
                           "grid power).",
    "utility_transformer_loss_kw": "Loss in the HV/MV utility transformer.",
    "transformer_loss_kw": "Loss in the MV/LV transformers.",
    "switchgear_loss_kw": "Loss in switchgear, busbars and MV cables.",
    "ups_loss_kw": "Loss in the UPS (double conversion or eco mode).",
    "distribution_loss_kw": "Loss in the LV busways and rack PDUs.",
    "cdu_pump_kw": "Pump power of the coolant distribution units (secondary, technology cooling loop).",
    "facility_pump_kw": "Pump power of the primary facility-water loop.",
    "dry_cooler_fan_kw": "Fan power of the dry coolers (or cooling towers).",
    "adiabatic_kw": "Spray and recirculation pumps of adiabatic pre-cooling.",
    "liquid_chiller_kw": "Electricity of chillers trimming the liquid loop.",
    "air_chiller_kw": "Electricity of the air-side chillers.",
    "chiller_kw": "All chiller electricity: liquid_chiller_kw + air_chiller_kw.",
    "crah_fan_kw": "Fan power of the computer-room air handlers (air-cooled share of the IT heat).",
    "ancillary_kw": "Lighting, security, BMS and offices.",
    "heat_pump_kw": "Electricity of the heat pumps lifting waste heat to the district-heating temperature.",
    "grid_power_kw": "Power drawn from the grid: IT + power-chain losses + cooling + ancillary + heat pumps.",
    "liquid_heat_kw": "Heat into the facility-water loop.",
    "air_heat_kw": "Heat into room air, fans included.",
    "heat_recovered_kw": "Heat taken from the facility water for district heating.",
    "heat_delivered_kw": "Heat sent to district heating, heat-pump electricity included.",
    "heat_rejected_kw": "Heat released to the ambient air (grid_power_kw = heat_rejected_kw + heat_delivered_kw).",
    "heat_pump_cop": "Heating COP the heat pumps would have at this step's temperatures (unused when heat goes "
                     "direct).",
    "heat_over_capacity_kw": "Liquid heat beyond free cooling and reuse, before the overload rule applies.",
    "cooling_shortfall_kw": "Liquid heat beyond everything the overload rule allows; removed by throttling.",
    "water_l_per_h": "Site water use rate (adiabatic pads, cooling towers).",
    "economiser_fraction": "Share of the air-side heat carried by the economiser (free cooling).",
    "chiller_on": "Any chiller running in the step.",
    "adiabatic_on": "Adiabatic pads wetted in the step.",
    "pue": "Step PUE: (grid power - heat-pump power) / IT power (empty when no IT load).",
    # --- inference service series (dctwin.workload.inference, dctwin.cluster.inference)
    "<svc>__requests_per_s": "Inference requests demanded from service <svc>.",
    "<svc>__input_tokens_per_s": "Input (prompt) tokens demanded from service <svc>.",
    "<svc>__output_tokens_per_s": "Output (generated) tokens demanded from service <svc>.",
    "<svc>__output_tokens_served_per_s": "Output tokens of <svc> actually served (demand capped by granted capacity).",
    "<svc>__input_tokens_served_per_s": "Input tokens of <svc> actually served.",
    "<svc>__capacity_output_tokens_per_s": "Output tokens/s the GPUs granted to <svc> could serve at full replica "
                                           "load.",
    "<svc>__gpus_busy": "GPUs serving <svc>, mean over the step.",
    # --- operation plan (dctwin.operation)
    "power_cap_frac": "GPU power cap set by the operation policies (1 = no cap).",
    "gpu_cap": "Most GPUs that may be busy in the step (operation policies; all installed GPUs when none).",
    "gpu_cut": "GPUs to shed below the run's own baseline in the step (demand-response events; 0 otherwise).",
    "defer_ok": "Deferrable (training and batch) jobs may start in the step.",
    "throughput_factor": "Work rate of a GPU under the power cap, relative to uncapped.",
    # --- per-step accounting (dctwin.accounting.energy_flows); in the step, like the monthly and run totals
    "energy_mwh": "Energy drawn from the grid in the step.",
    "spot_mwh": "Grid energy bought at the spot price in the step.",
    "ppa_matched_mwh": "Grid energy matched by the renewable PPA in the step.",
    "spot_cost_eur": "Spot-market cost of spot_mwh.",
    "ppa_cost_eur": "PPA energy paid at the strike price (matched + surplus).",
    "ppa_surplus_credit_eur": "PPA surplus sold back at spot (negative: a credit).",
    "energy_tax_eur": "Electricity tax on the step's grid energy.",
    "grid_fee_eur": "Grid transmission fee on the step's grid energy.",
    "water_cost_eur": "Cost of the step's site water.",
    # --- monthly (dctwin.facility.monthly_kpis + dctwin.accounting)
    "month_start": "First instant of the calendar month.",
    "month": "Calendar month.",
    "pue_incl_heat_pump": "Grid energy / IT energy, heat-pump electricity kept in.",
    "ppue_cooling": "Partial PUE of cooling: (IT + cooling energy) / IT energy.",
    "ppue_power": "Partial PUE of the power chain: (IT + power-chain losses) / IT energy.",
    "wue_l_per_kwh": "Water usage effectiveness (ISO/IEC 30134-9): site water / IT energy.",
    "erf": "Energy reuse factor (ISO/IEC 30134-6): heat delivered / grid energy.",
    "ref": "Renewable energy factor (ISO/IEC 30134-3): renewable (PPA) energy / grid energy.",
    "cue_kg_per_kwh": "Carbon usage effectiveness (ISO/IEC 30134-8): CO2 of the datacentre's grid energy (heat pump "
                      "excluded) / IT energy.",
    "it_energy_mwh": "IT energy.",
    "grid_energy_mwh": "Energy drawn from the grid, heat pumps included.",
    "grid_energy_mwh_acct": "Grid energy as counted by the accounting (equals grid_energy_mwh).",
    "cooling_energy_mwh": "Electricity of the cooling plant (pumps, fans, adiabatic, chillers, CRAHs).",
    "power_loss_energy_mwh": "Power-chain losses outside the racks (transformers, switchgear, UPS, distribution).",
    "heat_pump_energy_mwh": "Heat-pump electricity.",
    "heat_delivered_mwh": "Heat delivered to district heating.",
    "heat_delivered_mwh_acct": "Heat delivered as counted by the accounting (equals heat_delivered_mwh).",
    "heat_rejected_mwh": "Heat released to the ambient.",
    "water_m3": "Site water use.",
    "co2_t": "Location-based CO2 of the whole site's grid energy (heat pumps included).",
    "throttled_it_mwh": "IT energy not drawn because of cooling-driven throttling.",
    "chiller_hours": "Hours with any chiller running.",
    "economiser_hours": "Hours on full free cooling (economiser fraction 1).",
    "adiabatic_hours": "Hours with adiabatic pads wetted.",
    "cooling_shortfall_hours": "Hours with liquid heat beyond what the plant may reject.",
    "over_capacity_hours": "Hours with liquid heat beyond free cooling and reuse.",
    "energy_cost_eur": "Electricity cost: spot + PPA + energy tax + grid fees, less PPA surplus sold.",
    "heat_revenue_eur": "Revenue from heat sold to district heating.",
    "emissions_location_t": "Location-based scope 2 emissions (grid carbon intensity x grid energy).",
    "emissions_market_t": "Market-based scope 2 emissions (PPA-matched energy at the PPA intensity, the rest at the "
                          "residual mix).",
    "mean_utilisation": "Mean of busy GPUs / GPUs online.",
    # --- jobs (dctwin.cluster.simulate; input columns: docs/job-schema.md)
    "job_id": "Job number, 0..n-1 in submission order.",
    "kind": "pretrain, finetune, eval or batch.",
    "tenant": "Team or customer that submitted the job.",
    "submit_s": "Submission time, seconds since the scenario start.",
    "gpus": "GPUs the job holds while running.",
    "duration_s": "Run time at full speed without failures or restarts.",
    "priority": "Scheduling priority; higher runs first.",
    "deferrable": "The job may wait for cheap or low-carbon hours.",
    "model": "Model trained or evaluated (empty when none).",
    "max_wait_s": "Longest acceptable queue wait; the job is cancelled after it (inf = no limit).",
    "start_s": "First start, seconds since the scenario start (empty if it never started).",
    "end_s": "Completion, failure or cancellation time (empty if still running at the end).",
    "state": "Final state: completed, failed, cancelled, running_at_end or never_started.",
    "restarts": "Restarts after interruptions.",
    "preemptions": "Times the job was preempted (by higher priority or inference).",
    "gpu_s": "GPU-seconds allocated to the job.",
    "useful_gpu_s": "GPU-seconds of work kept (allocated less lost work, checkpoints and restarts).",
    "lost_gpu_s": "GPU-seconds of work lost since the last checkpoint at interruptions, and spent restarting.",
    "checkpoint_gpu_s": "GPU-seconds spent writing checkpoints.",
    "wait_s": "Queue wait from submission to first start (or to the end of the run).",
    "effective_training_time_frac": "Useful GPU-seconds / GPU-seconds held from first start to end (Meta's "
                                    "effective training time).",
    "placement_domains": "Most scale-up (NVLink) domains the job spanned.",
    "first_domain": "Index of the first scale-up domain the job was placed in.",
    "platform": "Catalog id of the rack type (pool) the job or failure ran on.",
    # --- failures
    "job_id@failures": "Job interrupted.",
    "t_s@failures": "Time of the interruption, seconds since the scenario start.",
    "component": "Component that failed (gpu, hbm, nvlink_switch, network, host, software).",
    # --- cost lines (dctwin.accounting.account)
    "line": "Cost line: capex__<item>[__refresh], residual_value__<item>, cost_of_capital, energy_*, grid_fees, "
            "heat_sold, water, staff, insurance, maintenance_*.",
    "category": "capex, capex_refresh, residual_value, financing, energy, heat or opex.",
    "eur": "Amount over the whole finance horizon (credits negative); the lines sum to tco_eur.",
    # --- KPIs: build-out and climate
    "gpus_installed": "GPUs installed by the end of the build-out.",
    "racks_installed": "Racks (or servers) installed by the end of the build-out.",
    "installed_it_mw": "Installed IT capacity at rack maximum power.",
    "mean_dry_bulb_c": "Mean outdoor dry-bulb temperature over the run.",
    # --- KPIs: cluster
    "jobs_submitted": "Jobs submitted during the run.",
    "jobs_completed": "Jobs completed.",
    "jobs_failed": "Jobs that failed for good.",
    "jobs_cancelled": "Jobs cancelled after waiting longer than max_wait_s.",
    "jobs_running_at_end": "Jobs still running when the run ends.",
    "jobs_never_started": "Jobs still queued when the run ends.",
    "queue_wait_p50_s": "Median queue wait of the jobs that started.",
    "queue_wait_p90_s": "90th percentile queue wait of the jobs that started.",
    "events_processed": "Discrete events the cluster engine processed.",
    "jobs": "Jobs in the job table.",
    "interruptions@kpis": "Job interruptions (failures) over the run.",
    "allocated_gpu_s": "GPU-seconds allocated to jobs.",
    "useful_gpu_s@kpis": "GPU-seconds of work kept, all jobs.",
    "lost_gpu_s@kpis": "GPU-seconds lost to interruptions (work since the last checkpoint, restarts), all jobs.",
    "checkpoint_gpu_s@kpis": "GPU-seconds spent writing checkpoints, all jobs.",
    "goodput_frac": "Useful / allocated GPU-seconds.",
    "effective_training_time_frac@kpis": "Useful GPU-seconds / GPU-seconds held from first start to end, all jobs.",
    "preemptions@kpis": "Preemptions of jobs.",
    "preemptions_for_capacity": "Preemptions to give GPUs to inference or to respect a GPU cap.",
    "preemption_lost_gpu_s": "GPU-seconds of work lost to preemptions.",
    "mean_wait_s": "Mean queue wait of the jobs that started.",
    "inference_shortfall_gpu_s": "Inference GPU-seconds needed but not granted.",
    "mean_utilisation@kpis": "Busy GPU-seconds / online GPU-seconds over the run.",
    # --- KPIs: facility
    "peak_grid_power_mw": "Highest step-mean grid power.",
    "cooling_limited_hours": "Hours in which cooling kept some GPUs idle (cooling_withheld_gpus > 0).",
    "cooling_withheld_gpu_hours": "GPU-hours kept idle by the cooling limit.",
    "max_cooling_shortfall_mw": "Largest cooling shortfall of any step.",
    # --- KPIs: accounting (run figures cover the simulated span; horizon figures the finance horizon)
    "run_hours": "Length of the simulated span.",
    "horizon_years": "Finance horizon (economics.finance.horizon_years); each year repeats the run scaled to 8,760 h.",
    "spot_energy_mwh": "Grid energy bought at the spot price.",
    "ppa_energy_mwh": "Grid energy matched by the renewable PPA.",
    "ppa_surplus_mwh": "PPA energy beyond the site's use, sold back.",
    "energy_cost_eur_per_mwh": "Mean all-in electricity cost: energy_cost_eur / grid_energy_mwh.",
    "capex_eur": "Initial capital cost: facility + IT.",
    "capex_facility_eur": "Facility capital cost (construction, soft costs, heat pumps).",
    "capex_it_eur": "IT capital cost (racks, network and storage), first purchase.",
    "opex_year_eur": "Mean yearly operating cost over the horizon (energy, staff, insurance, maintenance, water, "
                     "less heat sold).",
    "tco_eur": "Total cost of ownership over the horizon: the sum of cost_lines.",
    "pv_cost_eur": "Present value of all costs at the WACC (capex + opex - residual value).",
    "npv_eur": "Net present value: revenue from used GPU-hours at economics.finance.revenue_eur_per_gpu_hour less "
               "pv_cost_eur.",
    "gpu_hours_available": "GPU-hours online during the run.",
    "gpu_hours_used": "GPU-hours busy (training + inference) during the run.",
    "effective_gpu_hours_used": "Busy GPU-hours weighted by the power-cap throughput factor.",
    "gpu_hours_available_horizon": "GPU-hours online over the horizon.",
    "gpu_hours_used_horizon": "GPU-hours busy over the horizon.",
    "pflop_hours_fp8_horizon": "Dense FP8 PFLOP-hours available over the horizon.",
    "unit_cost_base_eur": "Cost base the unit costs divide (= tco_eur).",
    "eur_per_gpu_hour_available": "TCO per available GPU-hour over the horizon.",
    "eur_per_gpu_hour_used": "TCO per used GPU-hour over the horizon.",
    "eur_per_pflop_hour": "TCO per available dense-FP8 PFLOP-hour.",
    "lcoc_eur_per_gpu_hour": "Levelised cost of compute: pv_cost_eur / present value of available GPU-hours.",
    "inference_cost_base_eur": "Share of the TCO allocated to inference (its share of used GPU-hours).",
    "tokens_served__<svc>": "Tokens (input + output) served by <svc> during the run.",
    "inference_cost_eur__<svc>": "Inference cost allocated to <svc> over the horizon (by its GPU-hours).",
    "eur_per_mtok__<svc>": "Cost per million tokens (input + output) of <svc>.",
    "gco2_per_mtok__<svc>": "Location-based CO2 per million tokens of <svc>.",
    "gco2_per_mtok_market__<svc>": "Market-based CO2 per million tokens of <svc>.",
    "inference_served_frac__<svc>": "Output tokens of <svc> served / demanded over the run.",
}

# Names present only with some scenario settings (not in the default run); listed in the glossary too.
OPTIONAL: dict[str, dict[str, str]] = {
    "kpis": {
        "backlog_gpu_hours_end": "Deferred work still waiting at the end of the run (with a backlog-aware policy) "
                                 "[GPU-h].",
        "operation_power_cap_steps": "Steps with the power_cap policy active.",
        "operation_load_shift_closed_steps": "Steps in which the load_shift policy held back deferrable starts.",
        "operation_heat_led_closed_steps": "Steps in which the heat_led policy held back deferrable starts.",
        "operation_demand_response_events": "Demand-response events of the demand_response policy.",
    },
}
OPTIONAL_UNITS = {"operation_power_cap_steps": "steps", "operation_load_shift_closed_steps": "steps",
                  "operation_heat_led_closed_steps": "steps", "operation_demand_response_events": "count",
                  "backlog_gpu_hours_end": "GPU-h"}


def template(name: str, services: set[str]) -> str:
    """The glossary name of a column: a per-service part replaced by ``<svc>``."""
    if "__" not in name:
        return name
    parts = name.split("__")
    return "__".join(SVC if p in services else p for p in parts)


def unit_of(name: str) -> str:
    """The unit of a glossary name: ``UNITS``, else the suffix rules; ``-`` when none applies."""
    if name in UNITS:
        return UNITS[name]
    if name in OPTIONAL_UNITS:
        return OPTIONAL_UNITS[name]
    base = name.replace(f"__{SVC}", "").replace(f"{SVC}__", "")
    if base in UNITS:
        return UNITS[base]
    for pattern, unit in SUFFIX_UNITS:
        if re.search(pattern, base):
            return unit
    return "-"


def describe(section: str, name: str) -> str | None:
    """The description of ``name`` in ``section`` (a table or ``kpis``), or None."""
    return DESCRIPTIONS.get(f"{name}@{section}", DESCRIPTIONS.get(name))


def sample_run():
    """A short real run: ``borlange-2027`` for 3 days, in memory."""
    import dctwin
    from dctwin.config import load_scenario, scenario_from_dict

    data = load_scenario().model_dump(mode="json")
    data["simulation"]["duration_days"] = 3
    return dctwin.simulate(scenario_from_dict(data))


def run_names(result) -> tuple[dict[str, list[str]], set[str]]:
    """Glossary names per section of a run (first-seen order) and the run's service names."""
    services = {str(c).split("__", 1)[0] for c in result.tables["timeseries"].columns
                if str(c).endswith("__requests_per_s")}
    names: dict[str, list[str]] = {}
    for section in SECTIONS:
        cols = list(result.kpis) if section == "kpis" else [str(c) for c in result.tables[section].columns]
        seen: list[str] = []
        for c in cols:
            t = template(c, services)
            if t not in seen:
                seen.append(t)
        names[section] = seen
    return names, services


def missing_descriptions(names: dict[str, list[str]]) -> list[str]:
    """``section.name`` of every name without a description."""
    return [f"{s}.{n}" for s, ns in names.items() for n in ns if describe(s, n) is None]


INTRO = {
    "timeseries": "One row per step (`timeseries.parquet`); powers and GPU counts are step means, energies, "
                  "money and emissions are the step's amounts (they sum to the run totals).",
    "monthly": "One row per calendar month of the run (`monthly.parquet`): energies and hours are sums, ratios "
               "are of the month's sums.",
    "jobs": "One row per training-side job (`jobs.parquet`). The input columns (up to `max_wait_s`) follow "
            "[the job schema](job-schema.md).",
    "failures": "One row per job interruption (`failures.parquet`).",
    "cost_lines": "One row per cost line over the finance horizon (`cost_lines.parquet`); they sum to `tco_eur`.",
    "kpis": "The flat headline figures (`kpis.json`, `RunResult.kpis`). Run figures cover the simulated span; "
            "horizon figures (TCO, NPV, unit costs) cover `economics.finance.horizon_years`, each year being "
            "the run scaled to 8,760 h.",
}


def render(names: dict[str, list[str]], services: set[str]) -> str:
    """The whole of docs/glossary.md."""
    missing = missing_descriptions(names)
    if missing:
        raise SystemExit("no description for: " + ", ".join(missing) + " (add them to DESCRIPTIONS in "
                         "scripts/gen_glossary.py)")
    out = [
        "# Glossary: what a run writes",
        "",
        "<!-- generated by scripts/gen_glossary.py from a 3-day run of borlange-2027; do not edit by hand -->",
        "",
        "Every column of a run's tables and every key of `kpis.json`, with its unit and meaning. Names carry",
        "their unit: `_kw` kW, `_mw` MW, `_mwh` MWh, `_eur` EUR, `_c` °C, `_k` K, `_s` seconds, `_frac` a",
        "fraction 0-1, `_pct` per cent, `_l_per_h` litres per hour, `_m3` cubic metres, `_t` tonnes of CO2,",
        "`_gpu_s` GPU-seconds, `gpu_hours` GPU-hours, `_per_s` per second. Times `t_s`, `submit_s`, `start_s`,",
        "`end_s` count seconds from the scenario start (local midnight of `simulation.start`).",
        "",
        (f"`{SVC}` stands for each inference service of the scenario (in `borlange-2027`: "
         + ", ".join(f"`{s}`" for s in sorted(services)) + "); a run has one such column or key per service."),
        "",
        ("Read the tables with `dctwin.open_run(path).table(name)` (pandas) or "
         "`dctwin query RUN_DIR \"SELECT ... FROM name\"` (DuckDB)."),
        "",
    ]
    for section in SECTIONS:
        title = "`kpis.json`" if section == "kpis" else f"`{section}`"
        out += [f"## {title}", "", INTRO[section], "", "| name | unit | meaning |", "|---|---|---|"]
        for n in names[section]:
            out.append(f"| `{n}` | {unit_of(n)} | {describe(section, n)} |")
        for n, text in OPTIONAL.get(section, {}).items():
            if n not in names[section]:
                out.append(f"| `{n}` | {unit_of(n)} | {text} Only with some scenario settings. |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="folder to write glossary.md into")
    args = parser.parse_args(argv)
    names, services = run_names(sample_run())
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "glossary.md"
    target.write_text(render(names, services), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
