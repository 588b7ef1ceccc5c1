"""The allocation audit of the core (``engine_audit.audit``): every GPU of every domain is free, held by one
holder, or down. Slow (a pass over every running job); run after each batch only when a test asks for it."""

from __future__ import annotations

import numba as nb
import numpy as np

from dctwin.cluster.core.layout import ALEN, AOFF, BUSY, CUR_LIMIT, GPUS, INF, RNXT
from dctwin.cluster.placement import kernels as kn


@nb.njit
def audit(c):
    nd = c.st[1]
    free, cap = kn.HEADER, kn.HEADER + nd
    held_inf = kn.HEADER + 2 * nd + 2 * (c.st[0] + 1) + 2 * (c.st[0] + 1) * nd
    held = c.down_dom.copy() + c.st[held_inf:held_inf + nd]
    busy = 0
    for p in range(c.rh.size):
        j = c.rh[p]
        while j >= 0:
            k = 0
            for i in range(c.ji[j, ALEN]):
                held[c.pool[c.ji[j, AOFF] + 2 * i]] += c.pool[c.ji[j, AOFF] + 2 * i + 1]
                k += c.pool[c.ji[j, AOFF] + 2 * i + 1]
            if k != c.ji[j, GPUS]:
                raise AssertionError("a job holds a different number of GPUs than it needs")
            busy += k
            j = c.ji[j, RNXT]
    if np.any(held + c.st[free:free + nd] != c.st[cap:cap + nd]):
        raise AssertionError("a domain's held and free GPUs do not add up to its GPUs")
    if busy != c.s[BUSY] or c.st[held_inf:held_inf + nd].sum() != c.s[INF]:
        raise AssertionError("busy counters disagree with allocations")
    if c.s[BUSY] + c.s[INF] > c.s[CUR_LIMIT]:
        raise AssertionError("more GPUs busy than the limit")
