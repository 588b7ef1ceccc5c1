"""A bounded load test on loopback: 200 concurrent API requests, none may fail."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from dctwin.web import create_app
from run_fixture import ServerThread, fake_runner, make_run

N_REQUESTS = 200


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("load")
    for i in range(5):
        make_run(root, f"run-{i}", seed=i, days=3)
    with ServerThread(create_app(root, None, runner=fake_runner())) as srv:
        yield srv


def test_200_concurrent_api_requests_all_succeed(server):
    paths = ["/api/runs", "/api/runs/run-1", "/api/jobs", "/healthz"]

    def hit(i: int) -> tuple[int, int]:
        # One connection per request, so all 200 are open at the same time.
        with httpx.Client(base_url=server.url, timeout=30.0) as c:
            r = c.get(paths[i % len(paths)])
            return r.status_code, len(r.content)

    with ThreadPoolExecutor(max_workers=N_REQUESTS) as pool:
        results = list(pool.map(hit, range(N_REQUESTS)))
    statuses = [s for s, _ in results]
    assert statuses.count(200) == N_REQUESTS, {s: statuses.count(s) for s in set(statuses)}
    assert all(n > 0 for _, n in results)
    # The server is still healthy after the burst.
    assert httpx.get(server.url + "/api/runs", timeout=10).json()[0]["name"].startswith("run-")


def test_200_concurrent_cold_requests_to_one_run_page_stay_small_and_build_it_once(tmp_path):
    """Issue 21: 200 cold requests to a run page not yet cached took the dashboard to 4.6 GB, p99 33 s: every
    request built the page.

    Every page is now built once (single flight) and rendered once. Checked without a wall-clock threshold (a
    busy 2-core machine missed the former "p99 < 5 s or twice one build" at random): the server's peak memory
    stays under 1 GB, and the CPU time it spends on the cold burst exceeds what it spends serving the same 200
    requests warm by less than 10 builds' CPU time (measured here on the same run). One build and one render
    measured 0.41 s against a 0.49 s build (6 Dec 2026, load 2.8); a build per request would be ~200 builds.
    CPU time stretches far less than latency with other processes' load, but not nothing: in a full suite at load ~4 the
    cold burst cost 3.2 builds (0.83 s, bound 0.78 s); 10 leaves room for that and still fails the regressions it
    guards (without single flight: 11.3 s, ~24 builds). The latencies stay in the message, and in the benchmark
    (benchmarks/dashboard_cold_load.py, BENCHMARKS.md section 9), measured on a quiet machine.
    """
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from dashboard_cold_load import measure

    from dctwin.report.build import report_context
    from dctwin.report.data import load_run

    make_run(tmp_path, "year", seed=3, days=365)
    c0 = time.process_time()
    report_context(load_run(tmp_path / "year"))
    build_cpu_s = time.process_time() - c0
    figures = measure(tmp_path, "year", N_REQUESTS)
    assert figures["ok"] == N_REQUESTS and figures["warm_ok"] == N_REQUESTS, figures
    assert figures["peak_rss_mb"] < 1024, figures
    assert figures["cold_cpu_s"] - figures["warm_cpu_s"] < 10 * build_cpu_s, (figures, build_cpu_s)
