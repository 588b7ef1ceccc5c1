"""Write docs/glossary.md: every column of a run's tables and every KPI, with unit and meaning.

The names come from a real run (``borlange-2027`` for 3 days, in memory), so
the glossary lists exactly what a run writes; labels, units and meanings
come from the one results schema, ``src/dctwin/results/schema.yaml``. Per-service names (``<svc>__output_tokens_per_s``,
``eur_per_mtok__<svc>``) are listed once with ``<svc>`` standing for each
inference service of the scenario.

A name without a schema entry makes this script (and ``tests/test_docs.py``)
fail, so the glossary stays complete when a column is added.

Usage: ``python scripts/gen_glossary.py [--out DIR]`` (default ``docs/``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dctwin.results.schema import lookup, schema

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TABLES = ("timeseries", "monthly", "jobs", "failures", "placements", "cost_lines", "cash_flows", "cash_flows_monthly",
          "investor")
SECTIONS = (*TABLES, "kpis")
SVC = "<svc>"

def template(name: str, services: set[str]) -> str:
    """The glossary name of a column: a per-service part replaced by ``<svc>``."""
    if "__" not in name:
        return name
    parts = name.split("__")
    return "__".join(SVC if p in services else p for p in parts)


def unit_of(name: str) -> str:
    """The stored unit of a glossary name, from the results schema; ``-`` when it has no entry."""
    f = lookup(name)
    return f.unit if f else "-"


def describe(section: str, name: str) -> str | None:
    """The meaning of ``name`` in ``section`` (a table or ``kpis``) from the results schema, or None."""
    f = lookup(name, section)
    return f.desc if f else None


def label_of(section: str, name: str) -> str:
    f = lookup(name, section)
    return f.label if f else ""


def optional_names(names: dict[str, list[str]]) -> list[str]:
    """KPIs in the schema that only some scenario settings write (not in the sample run)."""
    seen = {n for ns in names.values() for n in ns}
    return [k for k, f in schema().items() if f.optional and k not in seen]


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
    "placements": "One row per change of the GPUs a holder has in one scale-up domain (`placements.parquet`); "
                  "the running sum per platform, domain and holder is what it holds at that time "
                  "(`dctwin.cluster.placement.log.domain_held_per_step` gives step means per domain).",
    "cost_lines": "One row per cost line over the finance horizon (`cost_lines.parquet`); they sum to `tco_eur`.",
    "cash_flows_monthly": "The yearly cash flows by month (`cash_flows_monthly.parquet`), undiscounted: capital at "
                          "month 12k, tax at each year's last month, energy and heat by the run's seasonal shape, "
                          "the rest 1/12 a month; each year's months sum to its row of `cash_flows`.",
    "investor": "One row per investor figure (`investor.parquet`): the run's value and its P10/P50/P90 over "
                "`economics.finance.band_samples` draws of the finance inputs with a sourced range (accounting only).",
    "cash_flows": "One row per period of the finance horizon (`cash_flows.parquet`), money in positive: "
                  "`pv_project_eur` sums to `npv_eur`; the capital, operating-cost, heat and residual columns "
                  "plus `cost_of_capital_eur` sum to minus `tco_eur`.",
    "kpis": "The flat headline figures (`kpis.json`, `RunResult.kpis`). Run figures cover the simulated span; "
            "horizon figures (TCO, NPV, unit costs) cover `economics.finance.horizon_years`, each year being "
            "the run scaled to 8,760 h.",
}


def render(names: dict[str, list[str]], services: set[str]) -> str:
    """The whole of docs/glossary.md."""
    missing = missing_descriptions(names)
    if missing:
        raise SystemExit("no schema entry for: " + ", ".join(missing) + " (add them to "
                         "src/dctwin/results/schema.yaml)")
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
        out += [f"## {title}", "", INTRO[section], "", "| name | label | unit | meaning |", "|---|---|---|---|"]
        for n in names[section]:
            f = lookup(n, section)
            out.append(f"| `{n}` | {f.label} | {f.unit} | {f.desc} |")
        if section == "kpis":
            for n in optional_names(names):
                f = lookup(n, section)
                out.append(f"| `{n}` | {f.label} | {f.unit} | {f.desc} Only with some scenario settings. |")
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
