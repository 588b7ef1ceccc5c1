"""A job failure: segment closed, node down and repaired later, relaunch or final failure."""

from __future__ import annotations

from dctwin.cluster.engine import EV_REPAIR, EV_RESUME, FAILED, QUEUED, RESTARTING
from dctwin.cluster.placement.log import DOWN

__all__ = ["fail"]


def fail(eng, j: int, now: float) -> None:
    """Job ``j`` fails at ``now``: its segment closes; a node fault takes GPUs down (a free spare replaces
    them, else the job waits); the job relaunches after detection, or fails for good past its restart limit."""
    eng._close(j, now)
    eng.restarts[j] += 1
    comp = eng._draw_comp()
    eng.fail_log.append((now, j, comp))
    eng.epoch[j] += 1
    eng.resume_wall(j)
    if eng.fm.node_down[comp]:
        pieces = eng.alloc[j]
        p = pieces[0]
        d = p[0]
        k = min(eng.fm.node_gpus, p[1])
        p[1] -= k
        if p[1] == 0:
            pieces.pop(0)
        eng.plog.one(now, j, d, -k)
        eng.plog.one(now, DOWN, d, k)
        eng._busy_add(j, -k, now)
        eng.down += k
        eng.down_by_domain[d] = eng.down_by_domain.get(d, 0) + k
        eng.dn_t.append(now)
        eng.dn_d.append(k)
        eng._push(now + eng.fm.repair_s, EV_REPAIR, d, k)
        dom = eng.dom_of(j)          # the job's GPU type, if it asked for one
        if dom.total_free >= k and eng.cur_limit - eng.busy - eng.inf >= k:   # spares may be used
            new = eng.place(dom, k)
            pieces.extend(new)
            eng.plog.add(now, j, new, 1)
            eng._busy_add(j, k, now)
        else:
            _release_short(eng, j, now)
            return
    if eng.restarts[j] > eng.max_restarts:
        eng._release(j, now)
        eng.state[j] = FAILED
        eng.end_s[j] = now
        return
    eng.state[j] = RESTARTING
    eng.fail_t[j] = now
    eng._push(now + eng.fm.detect_s, EV_RESUME, j, eng.epoch[j])


def _release_short(eng, j: int, now: float) -> None:
    """Job ``j`` lost GPUs to a down node and no spare is free: release the rest, queue it."""
    pieces = eng.alloc[j]
    eng.alloc[j] = None
    eng.plog.add(now, j, pieces, -1)
    k = 0
    for d, c in pieces:
        eng.dom.give(d, c)
        k += c
    eng._busy_add(j, -k, now)
    eng.gpu_s[j] += eng.gpus[j] * (now - eng.since[j])
    del eng.running_by_prio[eng.prio[j]][j]
    eng._released = True
    if eng.restarts[j] > eng.max_restarts:
        eng.state[j] = FAILED
        eng.end_s[j] = now
        return
    eng.state[j] = QUEUED
    eng.policy.requeue(j)
