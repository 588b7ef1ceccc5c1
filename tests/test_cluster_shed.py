"""Shedding training for inference: the grouped pick equals the plain rule, job for job."""

from __future__ import annotations

import random

import pytest

from dctwin.cluster.engine_capacity import shed


class _Eng:
    """The engine state ``shed`` reads: running jobs by priority, sizes, deferrable flags, preempt()."""

    def __init__(self, rng: random.Random, n: int) -> None:
        self.gpus = [rng.choice([1, 1, 2, 4, 8, 8, 16, 64, 72, 512]) for _ in range(n)]
        self.deferrable = [rng.random() < 0.3 for _ in range(n)]
        self.running_by_prio: dict[int, dict[int, None]] = {}
        for j in rng.sample(range(n), n):          # start order differs from job order
            self.running_by_prio.setdefault(rng.choice([0, 1, 5]), {})[j] = None
        self.freed = 0
        self.order: list[int] = []
        self.preemptions_for_capacity = 0

    def preempt(self, j: int, now: float) -> None:
        for jobs in self.running_by_prio.values():
            jobs.pop(j, None)
        self.freed += self.gpus[j]
        self.order.append(j)


def _plain_rule(eng: _Eng, need0: int) -> list[int]:
    """The rule as written out: scan every candidate for each pick (smallest covering, else largest;
    the latest started on ties), deferrable jobs first, lowest priority first."""
    order: list[int] = []
    need = need0
    gone: set[int] = set()
    for only_deferrable in (True, False):
        for p in sorted(eng.running_by_prio):
            cands = [v for v in eng.running_by_prio[p] if v not in gone and (not only_deferrable or eng.deferrable[v])]
            while cands and need > 0:
                best, best_g = -1, 0
                for v in reversed(cands):
                    g = eng.gpus[v]
                    if g >= need and (best < 0 or best_g < need or g < best_g):
                        best, best_g = v, g
                    elif best_g < need and g > best_g:
                        best, best_g = v, g
                cands.remove(best)
                gone.add(best)
                order.append(best)
                need -= eng.gpus[best]
    return order


@pytest.mark.parametrize("seed", range(40))
def test_shed_picks_the_same_jobs_in_the_same_order(seed):
    rng = random.Random(seed)
    n = rng.choice([1, 5, 50, 400])
    need0 = rng.choice([1, 3, 8, 70, 300, 2000, 10**6])
    want = _plain_rule(_Eng(random.Random(1000 + seed), n), need0)
    eng = _Eng(random.Random(1000 + seed), n)       # the same jobs, fresh
    shed(eng, 0.0, lambda: need0 - eng.freed)
    assert eng.order == want
    assert eng.preemptions_for_capacity == len(want)
    assert want, "every case sheds at least one job"
