"""`dctwin plan`: choose a design under constraints and write it with its Pareto front."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from dctwin.errors import DctwinError, InputError

if TYPE_CHECKING:
    from dctwin.plan.constraints import PlanConstraints

__all__ = ["plan", "plan_app"]

plan_app = typer.Typer(help="Choose racks, cooling, heat pumps, PPA and redundancy under constraints.",
                       no_args_is_help=False)


def plan(scenario_ref: str, cons: PlanConstraints, out: Path, *, simulate: bool = False, top: int = 3,
         confirm_days: float = 28.0) -> dict:
    """Solve, write the outputs, optionally confirm the winners with full runs; returns the written paths.

    Winners: the chosen design and the next cheapest designs on the front (``top`` in all), each run
    by ``dctwin.orchestrator.simulate`` for ``confirm_days`` days from the scenario start.
    """
    from dctwin.config import load_scenario
    from dctwin.plan.model import _limits
    from dctwin.plan.output import confirm_by_simulation, write_outputs
    from dctwin.plan.pareto import pareto_front
    from dctwin.safeout import check_new_folder, staged_folder

    existed = out.exists()
    check_new_folder(out)  # a file, a folder inside a run or holding files is refused before the solve
    if not existed:
        out.rmdir()  # staged_folder makes it again with every file in it, or not at all
    base = load_scenario(scenario_ref)
    chosen, front, designs = pareto_front(base, cons)
    grid = cons.grid_connection_mw or base.site.grid_connection_mw
    confirm = None
    if simulate:
        order = front["cost_eur_per_year"].to_numpy().argsort()
        winners = [chosen] + [designs[i] for i in order if designs[i] is not chosen]
        confirm = confirm_by_simulation(winners[:top], base, scenario_ref, grid, days=confirm_days)
    with staged_folder(out) as stage:  # a stale confirm.csv of an earlier plan cannot sit beside a new design
        paths = {k: out / p.name for k, p in write_outputs(stage, chosen, front, base, scenario_ref, grid,
                                                            confirm).items()}
    return {"paths": paths, "design": chosen, "confirm": confirm, "front": front,
            "limits": _limits(base, cons)}


def constraints_help() -> str:
    """Every key of a constraints file with its meaning (shown under ``dctwin plan --help``)."""
    from dctwin.plan.constraints import PlanConstraints

    lines = ["Constraints file keys (YAML mapping; the options above override them):", "", "\b"]
    for name, f in PlanConstraints.model_fields.items():
        default = "" if f.default is None else f" Default: {f.default}."
        lines.append(f"  {name}: {f.description}{default}")
    lines += ["", "One of min_training_pflops or min_tokens_per_day is required. The planner picks the cheapest "
              "design (equivalent annual cost) that meets every constraint, then sweeps the target and the "
              "carbon cap for the Pareto front."]
    return "\n".join(lines)


def _print(result: dict) -> None:
    """The chosen design and its constraints as two short tables, then the files written."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from dctwin.plan.output import constraint_rows, design_rows

    console = Console(highlight=False)
    design = Table(title="Chosen design (cheapest meeting every constraint)")
    for col, justify in (("", "left"), ("value", "right"), ("unit", "left")):
        design.add_column(col, justify=justify)
    for row in design_rows(result["design"], result["confirm"]):
        design.add_row(*(escape(x) for x in row))
    console.print(design)
    cons = Table(title="Constraints")
    for col, justify in (("constraint", "left"), ("limit", "right"), ("design", "right"), ("unit", "left"),
                         ("", "left")):
        cons.add_column(col, justify=justify)
    for row in constraint_rows(result["design"], result["limits"]):
        cons.add_row(*(escape(x) for x in row))
    console.print(cons)
    console.print(f"{len(result['front'])} designs on the cost-compute-carbon front; files:", markup=False)
    for name, p in result["paths"].items():
        console.print(f"  {name}: {p}", markup=False)


@plan_app.callback(invoke_without_command=True)
def main(
    scenario: str = typer.Option("borlange-2027", "--scenario", "-s", help="Base scenario (name or file)."),
    constraints: Path = typer.Option(None, "--constraints", "-c", help="Constraints YAML; its keys are listed below."),
    budget_eur: float = typer.Option(None, help="Most capex [EUR]."),
    grid_mw: float = typer.Option(None, help="Grid connection [MW]."),
    floor_m2: float = typer.Option(None, help="White space [m2]."),
    min_training_pflops: float = typer.Option(None, help="Training target [PFLOP/s]."),
    min_tokens_per_day: float = typer.Option(None, help="Inference target [output tokens/day]."),
    carbon_cap_t: float = typer.Option(None, help="Market-based carbon cap [tCO2/year]."),
    out: Path = typer.Option(Path("plan-out"), "--out", "-o", help="Output folder."),
    simulate: bool = typer.Option(False, help="Confirm the chosen design with a full simulation."),
) -> None:
    """Choose the design and write design.yaml, pareto.csv and pareto.png."""
    from pydantic import ValidationError

    from dctwin.extras import require
    from dctwin.plan.constraints import PlanConstraints, load_constraints

    try:
        require("highspy", "the design planner (dctwin plan)")
        base = load_constraints(constraints).model_dump() if constraints else {}
        cli = {"budget_eur": budget_eur, "grid_connection_mw": grid_mw, "floor_space_m2": floor_m2,
               "min_training_pflops": min_training_pflops, "min_tokens_per_day": min_tokens_per_day,
               "carbon_cap_t_per_year": carbon_cap_t}
        base.update({k: v for k, v in cli.items() if v is not None})
        try:
            cons = PlanConstraints.model_validate(base)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            raise InputError(err["msg"].removeprefix("Value error, "), file=str(constraints) if constraints else None,
                             field=".".join(str(p) for p in err["loc"]) or None) from None
        paths = plan(scenario, cons, out, simulate=simulate)
    except DctwinError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    _print(paths)
