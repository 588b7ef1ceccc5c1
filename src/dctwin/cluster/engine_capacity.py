"""The engine's work at each step edge: online GPUs, the GPU limit and the inference GPUs it needs."""

from __future__ import annotations

import bisect

import numpy as np

from dctwin.cluster.placement.domains import Domains
from dctwin.cluster.placement.inference import grant_inference, return_inference
from dctwin.cluster.placement.log import INFERENCE

__all__ = ["shed", "step_capacity", "step_changes"]


def step_changes(online, limit, inf_need, n_steps: int) -> list[bool]:
    """True at the steps where capacity, the GPU limit or the inference need differs from the step before."""
    if n_steps == 0:
        return []
    cols = [np.asarray(a, dtype=np.int64)[:n_steps] for a in (online, limit, inf_need)]
    out = np.zeros(n_steps, dtype=bool)
    out[0] = True
    for c in cols:
        out[1:] |= c[1:] != c[:-1]
    return out.tolist()


def step_capacity(eng, k: int, now: float) -> None:
    """Apply step ``k``'s capacity, GPU limit and inference need: grow, grant or shed inference GPUs."""
    dom = eng.dom
    if eng.online[k] > dom.total_gpus:
        dom.grow_to(eng.online[k])
        eng._released = True
    eng.spare = int(eng.spare_fraction * eng.online[k])
    old_limit = eng.cur_limit
    eng.cur_limit = lim = eng.limit[k]
    if lim > old_limit:
        eng._released = True
    target = min(eng.inf_need[k], lim, dom.total_gpus - eng.down)
    if target > eng.inf:
        x = target - eng.inf

        def room() -> int:  # GPUs inference may take now: free beyond the spares, and under the limit
            return min(dom.total_free - eng.spare, eng.cur_limit - eng.busy - eng.inf)

        if eng.inference_preempts and x > room():
            shed(eng, now, lambda: x - room())
        x = max(0, min(x, room()))
        if x:
            if eng.path == "compiled":
                dom.grant_inference(eng.plog, now, x)
            elif type(dom) is Domains:
                grant_inference(dom, eng.inf_pieces, eng.plog, now, x)
            else:
                taken = dom.take_packed(x)
                eng.plog.add(now, INFERENCE, taken, 1)
                for d, c in taken:
                    eng.inf_pieces[d] = eng.inf_pieces.get(d, 0) + c
            eng.inf += x
            eng.in_t.append(now)
            eng.in_d.append(x)
    elif target < eng.inf:
        y = eng.inf - target
        eng.inf -= y
        eng.in_t.append(now)
        eng.in_d.append(-y)
        if eng.path == "compiled":
            dom.return_inference(eng.plog, now, y)
        else:
            return_inference(dom, eng.inf_pieces, eng.plog, now, y)
        eng._released = True
    eng.shortfall[k] = eng.inf_need[k] - eng.inf
    if eng.busy + eng.inf > lim:
        shed(eng, now, lambda: eng.busy + eng.inf - eng.cur_limit)


def shed(eng, now: float, short) -> None:
    """Preempt training until ``short()`` (GPUs still missing) is <= 0.

    Order: deferrable jobs before the others, then lowest priority first;
    within that set the smallest job that covers the shortfall (latest
    started on ties), else the largest, so a small need does not stop a large job.
    """
    need = short()
    if need <= 0:
        return
    for only_deferrable in (True, False):
        for p in sorted(eng.running_by_prio):
            need = _shed_set(eng, now, short, need, eng.running_by_prio[p], only_deferrable)
            if need <= 0:
                return


def _shed_set(eng, now: float, short, need: int, running, only_deferrable: bool) -> int:
    """Preempt from one priority's ``running`` jobs by ``shed``'s rule; returns the GPUs still missing.

    The jobs are grouped by size once, each group in start order, so one pick is a
    search over the sizes (the last job of the chosen size is the latest started), not
    a scan of every running job: a large inference ramp on a large cluster sheds many
    jobs in one step.
    """
    gpus, deferrable = eng.gpus, eng.deferrable
    by_size: dict[int, list[int]] = {}
    for v in running:
        if not only_deferrable or deferrable[v]:
            g = gpus[v]
            grp = by_size.get(g)
            if grp is None:
                by_size[g] = [v]
            else:
                grp.append(v)
    sizes = sorted(by_size)
    while sizes:
        i = bisect.bisect_left(sizes, need)      # smallest size that covers the need, else the largest
        g = sizes[i] if i < len(sizes) else sizes[-1]
        grp = by_size[g]
        best = grp.pop()
        if not grp:
            sizes.remove(g)
        eng.preempt(best, now)
        eng.preemptions_for_capacity += 1
        need = short()
        if need <= 0:
            break
    return need
