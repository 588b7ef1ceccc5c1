"""Load on loopback: N concurrent cold requests to one run page; peak server memory and latency percentiles.

    python benchmarks/dashboard_cold_load.py RUNS_DIR RUN_NAME [--requests 200]

Starts ``dctwin serve`` on a free 127.0.0.1 port in a child process, fires the requests at once (one
connection each), and prints the server's peak resident memory [MB] (VmHWM), p50/p99 latency [s] and the
CPU time [s] the server spent on each burst (user + system, /proc/PID/stat): ``healthz`` (no page), ``cold``
(the page not yet built) and ``warm`` (the same page again, built and rendered). CPU time does not grow with
the machine's load the way latency does: ``cold_cpu_s - warm_cpu_s`` is what building the page cost.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _vm_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _cpu_s(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far [s] (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _burst(port: int, path: str, n: int, timeout_s: float) -> list[tuple[int, float]]:
    """``n`` GETs of ``path`` at once, one plain connection each; (status, seconds) per request."""
    import http.client
    import threading

    start = threading.Barrier(n)

    def hit(_: int) -> tuple[int, float]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
        start.wait()
        t0 = time.perf_counter()
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            return r.status, time.perf_counter() - t0
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(hit, range(n)))


def _pcts(label: str, results: list[tuple[int, float]]) -> dict[str, float]:
    lat = np.array([t for _, t in results])
    return {f"{label}_p50_s": round(float(np.percentile(lat, 50)), 2),
            f"{label}_p99_s": round(float(np.percentile(lat, 99)), 2)}


def measure(runs_dir: Path, run_name: str, n_requests: int = 200, timeout_s: float = 120.0) -> dict:
    """Serve ``runs_dir``, hit ``/runs/<run_name>`` ``n_requests`` times at once; return the figures."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "dctwin", "serve", "--runs", str(runs_dir), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/healthz", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("dashboard did not start") from None
                time.sleep(0.2)
        rss_before_mb = _vm_kb(proc.pid, "VmRSS") / 1024

        bursts, cpu = {}, {}
        for label, path in (("healthz", "/healthz"), ("cold", f"/runs/{run_name}"), ("warm", f"/runs/{run_name}")):
            c0 = _cpu_s(proc.pid)
            bursts[label] = _burst(port, path, n_requests, timeout_s)
            cpu[f"{label}_cpu_s"] = round(_cpu_s(proc.pid) - c0, 2)
        cold = bursts["cold"]
        return {"requests": n_requests, "ok": sum(s == 200 for s, _ in cold), "statuses": sorted({s for s, _ in cold}),
                "warm_ok": sum(s == 200 for s, _ in bursts["warm"]),
                "rss_before_mb": round(rss_before_mb, 1), "peak_rss_mb": round(_vm_kb(proc.pid, "VmHWM") / 1024, 1),
                **{k: v for label, b in bursts.items() for k, v in _pcts(label, b).items()}, **cpu}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs_dir", type=Path)
    ap.add_argument("run_name")
    ap.add_argument("--requests", type=int, default=200)
    a = ap.parse_args()
    print(json.dumps(measure(a.runs_dir, a.run_name, a.requests)))


if __name__ == "__main__":
    main()
