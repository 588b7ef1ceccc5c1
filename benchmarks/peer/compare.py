"""Side-by-side timing of dctwin's cluster simulator and the peer simulator hpcsim on the identical workload.

    .venv/bin/python benchmarks/peer/compare.py [--reps 5] [--duration-s 86400] [--seed 42]

Prints one table (medians over ``--reps`` repetitions, wall and CPU time):
interpreter start-up, imports, workload, simulation in-process, whole process
(hpcsim's CLI vs ``run_dctwin.py``), and dctwin on a 100x larger workload
(GPUs x span). Needs ``pip install hpcsim``. ``--json PATH`` also writes the
raw figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from fidelity import dctwin_overcommit, hpcsim_overcommit  # noqa: E402 - sibling modules, found through sys.path above
from hpcsim_jobs import HPCSIM_CLUSTER, generate_hpcsim_jobs, hpcsim_cluster_gpus, hpcsim_version, to_job_table  # noqa: E402 - sibling modules, found through sys.path above
from sims import run_dctwin, run_hpcsim, scale_job_table  # noqa: E402 - sibling modules, found through sys.path above

PY = sys.executable
HPCSIM_BIN = str(Path(PY).with_name("hpcsim"))
SCHEDULER = "gavel"
ARRIVAL_S = 30.0  # hpcsim's default mean inter-arrival time [s]
#: modules each tool's whole-process run imports (hpcsim's console script imports hpcsim.cli, whose package
#: __init__ pulls in the rest; run_dctwin.py imports pandas, pyarrow (parquet) and the cluster simulator).
IMPORTS = {
    "hpcsim": "import hpcsim.cli, hpcsim.simulator.engine, hpcsim.metrics.collector, tabulate",
    "dctwin": f"import sys; sys.path.insert(0, {str(HERE)!r}); import run_dctwin, pyarrow.parquet, "
              "dctwin.cluster, dctwin.catalog, dctwin.config.cluster",
}
#: (copies side by side, spans in a row): GPUs x span = 100 x the base run
SCALED = ((10, 10), (100, 1))


def machine() -> dict:
    cpu = ""
    try:
        cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name")), "")
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "os": platform.platform(), "hpcsim": hpcsim_version()}


def _child_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_process(cmd: list[str], cwd: str | None = None) -> dict:
    """Run ``cmd`` to completion; wall and CPU time [s] of the whole process, and its stdout."""
    c0, t0 = _child_cpu_s(), time.perf_counter()
    env = {"OPENBLAS_NUM_THREADS": "1", **os.environ, "COLUMNS": "120"}  # both tools: one BLAS thread, as dctwin's
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, check=False)  # command sets it
    t1, c1 = time.perf_counter(), _child_cpu_s()
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return {"wall_s": t1 - t0, "cpu_s": c1 - c0, "stdout": p.stdout}


def import_time_s(code: str) -> float:
    """Seconds a fresh interpreter spends on ``code`` (imports), measured inside it."""
    out = run_process([PY, "-c", f"import time; t=time.perf_counter(); {code}; print(time.perf_counter()-t)"])
    return float(out["stdout"].strip().splitlines()[-1])


def _reported(stdout: str, pattern: str) -> float:
    m = re.search(pattern, stdout)
    return float(m.group(1)) if m else float("nan")


def hpcsim_cli(duration_s: float, seed: int, arrival_s: float = 30.0) -> list[str]:
    """hpcsim's command line; ``--arrival-rate`` (its mean inter-arrival time [s]) only when not its default."""
    extra = [] if arrival_s == ARRIVAL_S else ["--arrival-rate", f"{arrival_s:g}"]
    return [HPCSIM_BIN, "simulate", "--scheduler", SCHEDULER, "--cluster", HPCSIM_CLUSTER,
            "--duration", f"{duration_s:g}", "--seed", str(seed), *extra]


def dctwin_cli(jobs_path: Path, gpus: int, span_s: float, copies: int = 1, days: int = 1) -> list[str]:
    return [PY, str(HERE / "run_dctwin.py"), str(jobs_path), "--gpus", str(gpus), "--span-s", f"{span_s:g}",
            "--copies", str(copies), "--days", str(days)]


def median(xs) -> float:
    return float(statistics.median(xs))


def compare(reps: int = 5, duration_s: float = 86_400.0, seed: int = 42, scaled: bool = True,
            whole_process: bool = True, hpcsim_spans: tuple[int, ...] = (), arrival_s: float = ARRIVAL_S,
            fresh_100x: bool = False, log=print) -> dict:
    """Run every measurement; return medians [s] and the run outputs of both tools."""
    out: dict = {"machine": machine(), "reps": reps, "duration_s": duration_s, "seed": seed, "arrival_s": arrival_s}
    gpus, nodes = hpcsim_cluster_gpus()
    t0 = time.perf_counter()
    hjobs = generate_hpcsim_jobs(duration_s, seed, arrival_s)
    t1 = time.perf_counter()
    table = to_job_table(hjobs)
    t2 = time.perf_counter()
    out["workload"] = {"jobs": len(table), "gpus": gpus, "gpu_nodes": nodes,
                       "hpcsim_generate_s": t1 - t0, "convert_s": t2 - t1,
                       "offered_gpu_h": float((table["gpus"] * table["duration_s"]).sum() / 3600.0),
                       "capacity_gpu_h": gpus * duration_s / 3600.0,
                       "by_kind": {k: int(v) for k, v in table["kind"].value_counts().items()}}
    log(f"workload: {len(table)} jobs on {gpus} GPUs ({nodes} nodes) over {duration_s / 3600:g} h")

    # start-up and imports (fresh interpreters)
    startup, imp = [], {"hpcsim": [], "dctwin": []}
    for _ in range(reps):
        startup.append(run_process([PY, "-c", "pass"])["wall_s"])
        for tool, code in IMPORTS.items():
            imp[tool].append(import_time_s(code))
    out["startup_s"] = median(startup)
    out["imports_s"] = {k: median(v) for k, v in imp.items()}
    log(f"start-up {out['startup_s']:.3f} s; imports {out['imports_s']}")

    # simulation alone, in this process (interleaved so both see the same machine load)
    sims = {"hpcsim": [], "dctwin": []}
    for i in range(reps):
        jobs_i = generate_hpcsim_jobs(duration_s, seed, arrival_s)  # hpcsim mutates its jobs: fresh ones per run
        h = run_hpcsim(jobs_i, duration_s, SCHEDULER, HPCSIM_CLUSTER)
        d = run_dctwin(table, gpus, duration_s, seed=seed)
        sims["hpcsim"].append(h)
        sims["dctwin"].append(d)
        log(f"  rep {i + 1}: hpcsim {h['sim_s']:.3f} s (cpu {h['cpu_s']:.3f}), "
            f"dctwin {d['sim_s']:.4f} s (cpu {d['cpu_s']:.4f})")
    out["sim"] = {k: {"wall_s": median([r["sim_s"] for r in v]), "cpu_s": median([r["cpu_s"] for r in v])}
                  for k, v in sims.items()}
    h, d = sims["hpcsim"][-1], sims["dctwin"][-1]
    st = d["stats"]
    out["physical"] = {"hpcsim": hpcsim_overcommit(jobs_i, table, gpus, duration_s),
                       "dctwin": dctwin_overcommit(d["result"], gpus, duration_s)}
    out["outputs"] = {
        "hpcsim": {k: h["summary"].get(k) for k in ("jobs_completed", "avg_gpu_util", "avg_queue_s", "avg_jct_s",
                                                    "preemptions", "total_energy_kwh")},
        "dctwin": {"jobs_by_state": st["jobs_by_state"], "mean_utilisation": st["mean_utilisation"],
                   "mean_wait_s": st["mean_wait_s"], "interruptions": st["interruptions"],
                   "goodput_frac": st["goodput_frac"], "events_processed": st["events_processed"]},
    }

    with tempfile.TemporaryDirectory(prefix="dctwin-peer-") as tmp:
        path = Path(tmp) / "hpcsim_jobs.parquet"
        table.to_parquet(path)
        if whole_process:
            proc = {"hpcsim": [], "dctwin": []}
            for i in range(reps):
                proc["hpcsim"].append(run_process(hpcsim_cli(duration_s, seed, arrival_s), cwd=tmp))
                proc["dctwin"].append(run_process(dctwin_cli(path, gpus, duration_s), cwd=tmp))
                log(f"  process rep {i + 1}: hpcsim {proc['hpcsim'][-1]['wall_s']:.2f} s, "
                    f"dctwin {proc['dctwin'][-1]['wall_s']:.2f} s")
            out["process"] = {k: {"wall_s": median([r["wall_s"] for r in v]),
                                  "cpu_s": median([r["cpu_s"] for r in v])} for k, v in proc.items()}
            out["reported_sim_s"] = {
                "hpcsim": median([_reported(r["stdout"], r"Wall-clock:\s*([0-9.]+)s") for r in proc["hpcsim"]]),
                "dctwin": median([_reported(r["stdout"], r"simulation:\s*([0-9.]+) s") for r in proc["dctwin"]]),
            }
        if scaled:
            out["scaled"] = []
            for copies, days in SCALED:
                big = scale_job_table(table, copies, duration_s, days)
                runs = [run_dctwin(big, gpus * copies, duration_s * days, seed=seed) for _ in range(max(1, reps // 2))]
                row = {"copies": copies, "days": days, "gpus": gpus * copies, "span_days": duration_s * days / 86400,
                       "jobs": len(big), "wall_s": median([r["sim_s"] for r in runs]),
                       "cpu_s": median([r["cpu_s"] for r in runs]),
                       "events": runs[-1]["stats"]["events_processed"],
                       "interruptions": runs[-1]["stats"]["interruptions"]}
                if whole_process:
                    row["process_wall_s"] = run_process(dctwin_cli(path, gpus, duration_s, copies, days))["wall_s"]
                out["scaled"].append(row)
                log(f"  x100 ({copies} copies x {days} spans): {len(big)} jobs, sim {row['wall_s']:.3f} s")
            if fresh_100x:  # not tiled: hpcsim's generator over 10x the span at 10x the arrival rate
                fresh = to_job_table(generate_hpcsim_jobs(duration_s * 10, seed, arrival_s / 10))
                runs = [run_dctwin(fresh, gpus * 10, duration_s * 10, seed=seed) for _ in range(max(1, reps // 2))]
                out["scaled"].append({"copies": 10, "days": 10, "fresh": True, "gpus": gpus * 10,
                                      "span_days": duration_s * 10 / 86400, "jobs": len(fresh),
                                      "wall_s": median([r["sim_s"] for r in runs]),
                                      "cpu_s": median([r["cpu_s"] for r in runs]),
                                      "events": runs[-1]["stats"]["events_processed"],
                                      "interruptions": runs[-1]["stats"]["interruptions"]})
                log(f"  x100 fresh draw: {len(fresh)} jobs, sim {out['scaled'][-1]['wall_s']:.3f} s")
    out["hpcsim_scaling"] = []
    for k in hpcsim_spans:  # how hpcsim's own time grows with the span (same cluster, same arrival rate)
        jobs_k = generate_hpcsim_jobs(duration_s * k, seed, arrival_s)
        h = run_hpcsim(jobs_k, duration_s * k, SCHEDULER, HPCSIM_CLUSTER)
        out["hpcsim_scaling"].append({"days": duration_s * k / 86400, "jobs": len(jobs_k), "gpus": gpus,
                                      "wall_s": h["sim_s"], "cpu_s": h["cpu_s"]})
        log(f"  hpcsim x{k} span: {len(jobs_k)} jobs, {h['sim_s']:.2f} s")
    return out


def table_text(r: dict) -> str:
    """The comparison as a Markdown table."""
    def ratio(a, b):
        if not b > 0:
            return "n/a"
        return f"{a / b:.0f}x" if a / b >= 10 else f"{a / b:.1f}x"

    w, s = r["workload"], r["sim"]
    lines = [
        (f"Workload: hpcsim `{SCHEDULER}` on `{HPCSIM_CLUSTER}`: {w['gpus']} H100 GPUs ({w['gpu_nodes']} nodes), "
        f"{r['duration_s'] / 3600:g} h, {w['jobs']} jobs (seed {r['seed']}, one per {r['arrival_s']:g} s); "
        f"offered {w['offered_gpu_h']:.0f} GPU-h vs capacity {w['capacity_gpu_h']:.0f} GPU-h. "
        f"Medians of {r['reps']} runs. hpcsim {r['machine']['hpcsim']}, "
        f"Python {r['machine']['python']}, {r['machine']['cpu']} ({r['machine']['cores']} cores)."),
        "",
        "| measure | hpcsim | dctwin | hpcsim / dctwin |",
        "|---|---:|---:|---:|",
        f"| interpreter start-up (`python -c pass`) [s] | {r['startup_s']:.3f} | {r['startup_s']:.3f} | 1x |",
        (f"| imports [s] | {r['imports_s']['hpcsim']:.3f} | {r['imports_s']['dctwin']:.3f} | "
        f"{ratio(r['imports_s']['hpcsim'], r['imports_s']['dctwin'])} |"),
        (f"| workload: generate (hpcsim) / convert to job table (dctwin) [s] | {w['hpcsim_generate_s']:.3f} | "
        f"{w['convert_s']:.3f} | |"),
        (f"| **simulation, in-process, wall [s]** | {s['hpcsim']['wall_s']:.3f} | {s['dctwin']['wall_s']:.4f} | "
        f"**{ratio(s['hpcsim']['wall_s'], s['dctwin']['wall_s'])}** |"),
        (f"| simulation, in-process, CPU [s] | {s['hpcsim']['cpu_s']:.3f} | {s['dctwin']['cpu_s']:.4f} | "
        f"{ratio(s['hpcsim']['cpu_s'], s['dctwin']['cpu_s'])} |"),
    ]
    if "process" in r:
        p, rep = r["process"], r["reported_sim_s"]
        lines += [
            (f"| simulation as each tool reports it [s] | {rep['hpcsim']:.2f} | {rep['dctwin']:.3f} | "
            f"{ratio(rep['hpcsim'], rep['dctwin'])} |"),
            (f"| whole process, wall [s] | {p['hpcsim']['wall_s']:.2f} | {p['dctwin']['wall_s']:.2f} | "
            f"{ratio(p['hpcsim']['wall_s'], p['dctwin']['wall_s'])} |"),
            (f"| whole process, CPU [s] | {p['hpcsim']['cpu_s']:.2f} | {p['dctwin']['cpu_s']:.2f} | "
            f"{ratio(p['hpcsim']['cpu_s'], p['dctwin']['cpu_s'])} |"),
        ]
    lines += _pace_rows(r)
    for row in r.get("scaled", []):
        lines.append(
            f"| dctwin at 100x GPUs x span ({row['gpus']} GPUs x {row['span_days']:g} d, {row['jobs']} jobs"
            f"{', fresh draw' if row.get('fresh') else ''}), "
            f"simulation wall [s] | {s['hpcsim']['wall_s']:.3f} (1x) | {row['wall_s']:.3f} | "
            f"{ratio(s['hpcsim']['wall_s'], row['wall_s'])} |")
        lines.append(f"| same, simulation CPU [s] | {s['hpcsim']['cpu_s']:.3f} (1x) | {row['cpu_s']:.3f} | "
                     f"{ratio(s['hpcsim']['cpu_s'], row['cpu_s'])} |")
        if "process_wall_s" in row and "process" in r:
            hp = r["process"]["hpcsim"]["wall_s"]
            lines.append(f"| same, whole process wall [s] | {hp:.2f} (1x) | {row['process_wall_s']:.2f} | "
                         f"{ratio(hp, row['process_wall_s'])} |")
    o = r["outputs"]
    ph = r["physical"]
    lines += ["", "Outputs of the last run:", f"- hpcsim: {json.dumps(o['hpcsim'], default=str)}",
              f"- dctwin: {json.dumps(o['dctwin'], default=str)}",
              "", "Physical consistency (a GPU runs one job; work <= GPUs x span):",
              f"- hpcsim: {json.dumps(ph['hpcsim'])}", f"- dctwin: {json.dumps(ph['dctwin'])}"]
    for row in r.get("hpcsim_scaling", []):
        lines.append(f"- hpcsim on {row['days']:g} d ({row['jobs']} jobs, {row['gpus']} GPUs): simulation "
                     f"{row['wall_s']:.2f} s wall, {row['cpu_s']:.2f} s CPU")
    return "\n".join(lines)


def _pace_rows(r: dict) -> list[str]:
    """Simulated seconds per wall second: the engine alone (in-process) and, if measured, the whole process."""
    span, s = r["duration_s"], r["sim"]
    rows = [("simulation alone", s["hpcsim"]["wall_s"], s["dctwin"]["wall_s"])]
    if "process" in r:
        rows.append(("whole process", r["process"]["hpcsim"]["wall_s"], r["process"]["dctwin"]["wall_s"]))
    return [f"| simulated s per wall s, {name} | {span / h:,.0f} | {span / d:,.0f} | |" for name, h, d in rows
            if h > 0 and d > 0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--duration-s", type=float, default=86_400.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--arrival-interval-s", type=float, default=ARRIVAL_S,
                    help="hpcsim's mean inter-arrival time [s] (its --arrival-rate); 30 is its default")
    ap.add_argument("--no-scaled", action="store_true", help="skip the 100x workload runs")
    ap.add_argument("--no-process", action="store_true", help="skip the whole-process runs")
    ap.add_argument("--fresh-100x", action="store_true",
                    help="also run dctwin on a freshly drawn hpcsim workload of 10x span at 10x rate on 10x GPUs")
    ap.add_argument("--hpcsim-spans", default="", help="also time hpcsim alone on these multiples of the span, "
                    "e.g. 2,4 (its time grows faster than linearly)")
    ap.add_argument("--json", type=Path, help="also write the raw figures here")
    a = ap.parse_args(argv)
    if hpcsim_version() is None:
        print("hpcsim is not installed: .venv/bin/pip install hpcsim", file=sys.stderr)
        return 2
    r = compare(a.reps, a.duration_s, a.seed, scaled=not a.no_scaled, whole_process=not a.no_process,
                hpcsim_spans=tuple(int(x) for x in a.hpcsim_spans.split(",") if x), arrival_s=a.arrival_interval_s,
                fresh_100x=a.fresh_100x, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(table_text(r))
    if a.json:
        a.json.write_text(json.dumps(r, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
