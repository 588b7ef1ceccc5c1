"""Compiled (numba) kernels of the domain bookkeeping: the same rules as ``domains.py``, ``topology.py`` and
``inference.py``, on one int64 state array, so one call does a whole placement or a whole inference grant.

Imported only on the compiled engine path (``compiled.py`` and the engine core ``cluster/core``; see
``dctwin.cluster.engine_path``). ``cache=True`` keeps the machine code in ``__pycache__`` so later runs
only load it.

State layout (``st``, int64), ``L = size + 1`` levels, ``nd`` domains at most:
``[size, nd, inf_head, inf_tail, 0...]`` (``HEADER`` words), then ``free[nd]``, ``cap[nd]``, ``count[L]``,
``hlen[L]`` (heap lengths), ``heap[L * nd]`` (min-heap of domain indices per level, lazy deletion),
``queued[L * nd]`` (1: the domain has an entry in that level's heap), ``held[nd]`` (inference GPUs per
domain), ``nxt[nd]`` and ``prv[nd]`` (the inference pieces in order of arrival, a linked list; -1 ends).
Kernels return -1 - d on an impossible request at domain d (the caller raises), or -1 for too few GPUs.
``fast`` gives the Python side (``compiled.py``) each kernel compiled for its one signature, callable
without numba's per-call type dispatch (~1 us a call saved).
"""

from __future__ import annotations

import numba as nb

HEADER = 8
_INF_HOLDER = -1.0      # placement log holder code of inference (log.INFERENCE)


def state_words(size: int, nd: int) -> int:
    """Length of the state array for domains of at most ``size`` GPUs, ``nd`` domains."""
    levels = size + 1
    return HEADER + 2 * nd + 2 * levels + 2 * levels * nd + 3 * nd


@nb.njit(cache=True, inline="always")
def _offsets(st):
    nd = st[1]
    levels = st[0] + 1
    free = HEADER
    cap = free + nd
    cnt = cap + nd
    hlen = cnt + levels
    heap = hlen + levels
    q = heap + levels * nd
    held = q + levels * nd
    return free, cap, cnt, hlen, heap, q, held, held + nd, held + 2 * nd


@nb.njit(cache=True)
def _push(st, base, n, d):
    """Push ``d`` on the heap at ``st[base : base + n]`` (which then has ``n + 1`` entries)."""
    i = n
    while i > 0:
        parent = (i - 1) >> 1
        p = st[base + parent]
        if p <= d:
            break
        st[base + i] = p
        i = parent
    st[base + i] = d


@nb.njit(cache=True)
def _pop(st, base, n):
    """Drop the top of the heap at ``st[base : base + n]`` (``n`` >= 1 entries)."""
    n -= 1
    last = st[base + n]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and st[base + c + 1] < st[base + c]:
            c += 1
        if st[base + c] >= last:
            break
        st[base + i] = st[base + c]
        i = c
    if n > 0:
        st[base + i] = last


@nb.njit(cache=True)
def first(st, level):
    """Lowest-index domain with exactly ``level`` free GPUs (``count[level]`` > 0)."""
    free, _, _, hlen, heap, q, _, _, _ = _offsets(st)
    nd = st[1]
    base = heap + level * nd
    while True:
        d = st[base]
        if st[free + d] == level:
            return d
        _pop(st, base, st[hlen + level])
        st[hlen + level] -= 1
        st[q + level * nd + d] = 0


@nb.njit(cache=True)
def _enter(st, d, level):
    _, _, cnt, hlen, heap, q, _, _, _ = _offsets(st)
    nd = st[1]
    st[cnt + level] += 1
    if st[q + level * nd + d] == 0:
        st[q + level * nd + d] = 1
        _push(st, heap + level * nd, st[hlen + level], d)
        st[hlen + level] += 1


@nb.njit(cache=True)
def take(st, d, n):
    """``Domains.take``; 0, or -1 - d when fewer than ``n`` are free."""
    free, _, cnt, _, _, _, _, _, _ = _offsets(st)
    f = st[free + d]
    if n > f:
        return -1 - d
    if f:
        st[cnt + f] -= 1
    f -= n
    st[free + d] = f
    if f:
        _enter(st, d, f)
    return 0


@nb.njit(cache=True)
def give(st, d, n):
    """``Domains.give``; 0, or -1 - d when that would free more than the domain holds."""
    free, cap, cnt, _, _, _, _, _, _ = _offsets(st)
    f = st[free + d]
    if f + n > st[cap + d]:
        return -1 - d
    if f:
        st[cnt + f] -= 1
    st[free + d] = f + n
    _enter(st, d, f + n)
    return 0


@nb.njit(cache=True)
def release(st, flat, n):
    """Give back pieces ``flat = [d0, k0, d1, k1, ...]`` (``n`` pieces); GPUs given back, or -1 - d."""
    back = 0
    for i in range(n):
        r = give(st, flat[2 * i], flat[2 * i + 1])
        if r < 0:
            return r
        back += flat[2 * i + 1]
    return back


@nb.njit(cache=True)
def place(st, gpus, out):
    """``topology.place``: pieces into ``out`` as ``[d, k, ...]``; their number, or -1 (too few free)."""
    _, _, cnt, _, _, _, _, _, _ = _offsets(st)
    size = st[0]
    need = gpus
    m = 0
    while need > 0:
        if need <= size:
            for level in range(need, size + 1):
                if st[cnt + level]:
                    d = first(st, level)
                    take(st, d, need)
                    out[2 * m] = d
                    out[2 * m + 1] = need
                    return m + 1
        level = size if need > size else need - 1
        while st[cnt + level] == 0:
            level -= 1
            if level == 0:
                return -1
        d = first(st, level)
        take(st, d, level)
        out[2 * m] = d
        out[2 * m + 1] = level
        m += 1
        need -= level
    return m


@nb.njit(cache=True)
def grant(st, n, now, rows):
    """``grant_inference``: take ``n`` GPUs packed, add them to the inference pieces (a domain keeps its place
    in their order), log rows ``(now, INFERENCE, d, k)`` into ``rows``; the number of rows."""
    free, _, cnt, _, _, _, held, nxt, prv = _offsets(st)
    level = 1
    m = 0
    while n > 0:
        while st[cnt + level] == 0:
            level += 1
        d = first(st, level)
        k = level if level < n else n
        st[cnt + level] -= 1
        f = level - k
        st[free + d] = f
        if f:
            _enter(st, d, f)
        rows[4 * m] = now
        rows[4 * m + 1] = _INF_HOLDER
        rows[4 * m + 2] = d
        rows[4 * m + 3] = k
        m += 1
        if st[held + d] == 0:                      # a new piece goes to the end of the order
            tail = st[3]
            st[prv + d] = tail
            st[nxt + d] = -1
            if tail >= 0:
                st[nxt + tail] = d
            else:
                st[2] = d
            st[3] = d
        st[held + d] += k
        n -= k
    return m


@nb.njit(cache=True)
def give_back(st, y, now, rows):
    """``return_inference``: give back ``y`` inference GPUs, oldest pieces first; rows ``(now, INFERENCE, d,
    -r)``; the number of rows, or -1 - d (double free)."""
    _, _, _, _, _, _, held, nxt, prv = _offsets(st)
    m = 0
    d = st[2]
    while y > 0 and d >= 0:
        c = st[held + d]
        r = c if c < y else y
        e = give(st, d, r)
        if e < 0:
            return e
        rows[4 * m] = now
        rows[4 * m + 1] = _INF_HOLDER
        rows[4 * m + 2] = d
        rows[4 * m + 3] = -r
        m += 1
        y -= r
        nx = st[nxt + d]
        st[held + d] = c - r
        if c == r:                                 # the piece is gone: unlink it (it is the head)
            st[2] = nx
            if nx >= 0:
                st[prv + nx] = -1
            else:
                st[3] = -1
        d = nx
    return m


SIGNATURES = {  # the one type signature each kernel is called with
    "first": "int64(int64[::1], int64)",
    "take": "int64(int64[::1], int64, int64)",
    "give": "int64(int64[::1], int64, int64)",
    "release": "int64(int64[::1], int64[::1], int64)",
    "place": "int64(int64[::1], int64, int64[::1])",
    "grant": "int64(int64[::1], int64, float64, float64[::1])",
    "give_back": "int64(int64[::1], int64, float64, float64[::1])",
}


def fast(kernel):
    """The machine-code entry of ``kernel`` compiled (or loaded from the cache) for its one signature in
    ``SIGNATURES``: called from Python it skips the dispatcher's type resolution (its arguments are still
    converted and checked, a wrong type raises TypeError). Compiled code (the engine core) calls the kernels
    directly, so importing this module compiles or loads nothing."""
    return kernel.compile(SIGNATURES[kernel.py_func.__name__])
