"""Run a sweep's scenarios: a local process pool by default, or tasks on a Ray cluster.

Both engines call the same function on the same validated scenario, so the
same seeds give the same KPIs whichever engine runs them.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from dctwin.errors import DctwinError, InputError
from dctwin.sweep.spec import SweepRun
from dctwin.sweep.store import SweepStore

__all__ = ["run_one", "run_local", "run_on_ray"]

OnDone = Callable[[SweepRun, bool], None]


def _finite(kpis: dict[str, Any]) -> dict[str, Any]:
    """KPIs safe for JSON: NaN/inf become None."""
    out = {}
    for k, v in kpis.items():
        if isinstance(v, float) and not math.isfinite(v):
            v = None
        out[k] = v
    return out


def run_one(scenario_json: dict[str, Any], cache_dir: str | None = None) -> tuple[dict[str, Any], float]:
    """Simulate one scenario (as its JSON dump) in this process; return its KPIs and wall time [s].

    ``cache_dir``: the sweep's stage cache, so runs that differ only downstream (economics, facility)
    reuse the stages they share."""
    from dctwin.config import scenario_from_dict
    from dctwin.orchestrator import simulate

    t0 = time.perf_counter()
    result = simulate(scenario_from_dict(scenario_json, source="<sweep run>"), cache=cache_dir)
    return _finite(result.kpis), time.perf_counter() - t0


def stage_cache_dir(store: SweepStore) -> str:
    """The sweep's stage cache: ``<sweep folder>/stage-cache`` (safe to delete)."""
    return str((store.root / "stage-cache").resolve())


def run_local(runs: Iterable[SweepRun], store: SweepStore, workers: int, on_done: OnDone) -> None:
    """Run on a pool of ``workers`` processes, recording each run as it finishes."""
    pending = list(runs)
    workers = min(workers, len(pending))  # a worker with no run to do is not started
    if workers <= 1:
        for run in pending:
            _record(store, run, lambda r=run: run_one(r.scenario.model_dump(mode="json"), stage_cache_dir(store)),
                    on_done)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_exit_with_parent, initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(run_one, r.scenario.model_dump(mode="json"), stage_cache_dir(store)): r
                   for r in pending}
        while futures:
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            for fut in done:
                run = futures.pop(fut)
                _record(store, run, fut.result, on_done)


def _record(store: SweepStore, run: SweepRun, get: Callable[[], tuple[dict, float]], on_done: OnDone) -> None:
    try:
        kpis, wall_s = get()
    except DctwinError as exc:
        store.record_failed(run, str(exc))
        on_done(run, False)
        return
    except Exception as exc:  # a crashed worker: record it, the sweep goes on, resume reruns it
        store.record_failed(run, f"{type(exc).__name__}: {exc}")
        on_done(run, False)
        return
    store.record_done(run, kpis, wall_s)
    on_done(run, True)


def _exit_with_parent(parent_pid: int, poll_s: float = 0.5) -> None:
    """Pool-worker initializer: a watcher thread ends the worker when the sweep process is gone (SIGKILL
    leaves no chance to shut the pool down), so no orphan keeps its memory."""
    import threading

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="dctwin-parent-watch").start()


def _reachable(address: str, timeout_s: float = 5.0) -> None:
    """Refuse a Ray address nothing listens on, instead of waiting forever inside ``ray.init``."""
    import socket

    if address in ("auto", "local"):
        return
    hostport = address.removeprefix("ray://").rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise InputError("not a Ray address", field="--ray", value=address, allowed="HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except (OSError, ValueError, OverflowError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"cannot reach a Ray cluster there ({reason})", field="--ray", value=address,
                         allowed="the address of a running Ray head (`ray start --head` prints it)") from None


def run_on_ray(runs: Iterable[SweepRun], store: SweepStore, address: str, on_done: OnDone) -> None:
    """Run one Ray task per scenario on the cluster at ``address``; gather results as they finish."""
    from dctwin.extras import require

    ray = require("ray", "sweeps on a Ray cluster (dctwin sweep --ray)")

    _reachable(address)
    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False, include_dashboard=False)
    try:
        remote = ray.remote(max_retries=3, retry_exceptions=False)(run_one)
        refs = {remote.remote(r.scenario.model_dump(mode="json"), stage_cache_dir(store)): r for r in runs}
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                run = refs.pop(ref)
                _record(store, run, lambda ref=ref: ray.get(ref), on_done)
    finally:
        ray.shutdown()
