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
