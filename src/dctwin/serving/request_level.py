"""Request-level discrete-event simulation of LLM serving with continuous batching.

Each replica runs engine iterations back to back while it holds work. At
every iteration boundary it retires the sequences that emitted their last
token, then admits waiting requests first come first served while it has a
batch slot, KV-cache room for the request's prompt and output (the whole
reservation is taken at admission, so nothing is ever pre-empted) and room
in the step's prefill token budget (``Deployment.max_prefill_tokens``, as
TensorRT-LLM's ``max_num_tokens`` or vLLM's ``max_num_batched_tokens``; a
prompt longer than the budget is admitted alone). In an
iteration every running sequence emits one token and every newly admitted
prompt is prefilled and emits its first token; the iteration lasts
:meth:`StepCost.step_time_s` of that mix.

Routing: one shared FCFS queue. A request arriving while a replica is idle
starts it at once (lowest index first); otherwise the first busy replica to
reach an iteration boundary with room takes it.

Speed: between events (an arrival a replica could take, a sequence
finishing) the batch is fixed and each iteration's context grows by the
batch size, so the step time is affine in the iteration index and a run of
iterations is advanced in closed form. One trace hour replays in about a
second.

Outputs per request: ``ttft_s`` (arrival to first token), ``tpot_s``
((last token - first token) / (output tokens - 1), NaN for one-token
outputs), ``e2e_s``; per replica: busy time and the time integral of the
KV tokens reserved.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dctwin.errors import InputError
from dctwin.serving.deployment import Deployment

__all__ = ["RequestLevelResult", "simulate_requests"]


@dataclass(frozen=True)
class RequestLevelResult:
    """Output of :func:`simulate_requests`."""

    # t_s, input_tokens, output_tokens, admit_s, first_token_s, finish_s, ttft_s, tpot_s, e2e_s
    requests: pd.DataFrame
    span_s: float                 # first arrival to last finish [s]
    busy_fraction: float          # replica-time spent in iterations / (replicas x span) [-]
    kv_utilisation: float         # time-mean KV tokens reserved / KV capacity of all replicas [-]
    mean_in_flight: float         # time-mean sequences in flight per replica [-]
    iterations: int               # engine iterations run, all replicas [-]

    def percentile(self, column: str, q: float) -> float:
        """The ``q``-th percentile (0-100) of a per-request column, NaNs ignored."""
        return float(np.nanpercentile(self.requests[column].to_numpy(dtype=float), q))


def _iterations_to_reach(dt_s: float, a_s: float, b_s: float, c0: float, n: int) -> int:
    """Smallest m >= 1 with m*a + b*(m*c0 + n*m*(m-1)/2) >= dt (iterations of a fixed batch)."""
    if dt_s <= a_s + b_s * c0:
        return 1
    qa, qb = b_s * n / 2.0, a_s + b_s * c0 - b_s * n / 2.0
    if qa <= 0:
        m = math.ceil(dt_s / qb)
    else:
        m = math.ceil((-qb + math.sqrt(qb * qb + 4.0 * qa * dt_s)) / (2.0 * qa))
    m = max(m, 1)
    while m > 1 and (m - 1) * a_s + b_s * ((m - 1) * c0 + n * (m - 1) * (m - 2) / 2.0) >= dt_s:
        m -= 1
    while m * a_s + b_s * (m * c0 + n * m * (m - 1) / 2.0) < dt_s:
        m += 1
    return m


def simulate_requests(deployment: Deployment, arrival_t_s, input_tokens, output_tokens) -> RequestLevelResult:
    """Replay requests (arrival [s], prompt and output tokens) through ``deployment``, one by one.

    Outputs of zero tokens count as one (the first token ends the request).
    A request whose prompt plus output exceeds one replica's KV cache is an InputError.
    """
    t_arr = np.asarray(arrival_t_s, dtype=float)
    inp = np.asarray(input_tokens, dtype=np.int64)
    out = np.maximum(np.asarray(output_tokens, dtype=np.int64), 1)
    if not (t_arr.shape == inp.shape == out.shape) or t_arr.ndim != 1:
        raise InputError("arrival_t_s, input_tokens and output_tokens must be 1-D arrays of one length",
                         field="arrival_t_s", value=(t_arr.shape, inp.shape, out.shape))
    if t_arr.size and (np.any(np.diff(t_arr) < 0) or not np.all(np.isfinite(t_arr))):
        raise InputError("arrival times must be finite and sorted", field="arrival_t_s")
    if np.any(inp < 0):
        raise InputError("input tokens must be >= 0", field="input_tokens", value=int(inp.min()))
    cost = deployment.cost
    need = inp + out
    if need.size and need.max() > cost.kv_capacity_tokens:
        i = int(np.argmax(need))
        raise InputError("request larger than the KV cache of one replica", field="input_tokens+output_tokens",
                         value=int(need[i]), allowed=f"<= {cost.kv_capacity_tokens} on {deployment.label()}")

    n_req, n_rep = t_arr.size, deployment.replicas
    admit = np.full(n_req, np.nan)
    first = np.full(n_req, np.nan)
    finish = np.full(n_req, np.nan)
    inp_l, out_l, need_l, arr_l = inp.tolist(), out.tolist(), need.tolist(), t_arr.tolist()

    wr, gs, bs = cost.weights_read_s, cost.gemm_s_per_seq, cost.attn_s_per_ctx_token   # wr: MoE reads routed experts
    ps, pa2 = cost.prefill_s_per_token, cost.prefill_attn_s_per_token2
    cts, cps = cost.comm_s_per_token, cost.comm_s_per_pass
    kv_cap, max_batch = cost.kv_capacity_tokens, cost.max_batch
    budget = deployment.max_prefill_tokens

    it = [0] * n_rep                          # iterations completed
    n_run = [0] * n_rep                       # decoding sequences
    ctx = [0] * n_rep                         # KV tokens held by them
    kv_res = [0] * n_rep                      # KV tokens reserved by everything in flight
    fin: list[list[tuple[int, int]]] = [[] for _ in range(n_rep)]   # (last iteration, request) per replica
    busy = [0.0] * n_rep
    kv_area = 0.0
    flight_area = 0.0
    iterations = 0
    queue: deque[int] = deque()
    idle = list(range(n_rep))                 # heap of idle replica ids
    events: list[tuple[float, int]] = []      # (next boundary time, replica)
    nxt = 0                                   # next arrival index

    def boundary(r: int, t: float) -> None:
        nonlocal kv_area, flight_area, iterations
        f = fin[r]
        done = it[r] - 1
        while f and f[0][0] <= done:          # retire sequences whose last token was emitted
            _, j = heapq.heappop(f)
            finish[j] = t
            n_run[r] -= 1
            ctx[r] -= need_l[j]
            kv_res[r] -= need_l[j]
        new_tok = new_sq = 0
        new = []
        while (queue and n_run[r] + len(new) < max_batch and kv_res[r] + need_l[queue[0]] <= kv_cap
               and (not new or new_tok + inp_l[queue[0]] <= budget)):
            j = queue.popleft()
            new.append(j)
            kv_res[r] += need_l[j]
            new_tok += inp_l[j]
            new_sq += inp_l[j] * inp_l[j]
        n = n_run[r]
        if not new and n == 0:
            heapq.heappush(idle, r)
            return
        if new:                               # one iteration: decode the batch, prefill the new prompts
            pre = new_tok * ps
            ws = wr(n + new_tok)
            gemm = max(ws, n * gs) + pre if n else max(ws, pre)
            dt = (gemm + bs * ctx[r] + pa2 * new_sq + cts * (n + new_tok) + cps * ((n > 0) + (new_tok > 0)))
            m = 1
            for j in new:
                admit[j] = t
                first[j] = t + dt
                heapq.heappush(f, (it[r] + out_l[j] - 1, j))
            ctx[r] += n + new_tok + len(new)      # one token per decoding sequence; prompt + first token per new one
            n_run[r] = n + len(new)
            kv_area += kv_res[r] * dt
            flight_area += n_run[r] * dt
        else:                                 # decode only: run up to the next event in closed form
            a = max(wr(n), n * gs) + cts * n + cps
            m = f[0][0] - it[r] + 1
            room = n < max_batch and not queue
            if room and nxt < n_req:
                m = min(m, _iterations_to_reach(max(arr_l[nxt] - t, 0.0), a, bs, ctx[r], n))
            dt = m * a + bs * (m * ctx[r] + n * m * (m - 1) / 2.0)
            ctx[r] += n * m
            kv_area += kv_res[r] * dt
            flight_area += n * dt
        it[r] += m
        iterations += m
        busy[r] += dt
        heapq.heappush(events, (t + dt, r))

    while nxt < n_req or events:
        t_next = arr_l[nxt] if nxt < n_req else math.inf
        if events and events[0][0] <= t_next:
            t, r = heapq.heappop(events)
            boundary(r, t)
        else:
            queue.append(nxt)
            nxt += 1
            if idle:
                boundary(heapq.heappop(idle), t_next)
    if queue:                                  # cannot happen: every request fits an empty replica
        raise RuntimeError(f"{len(queue)} requests left unserved")

    ttft = first - t_arr
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(out > 1, (finish - first) / (out - 1), np.nan)
    df = pd.DataFrame({"t_s": t_arr, "input_tokens": inp, "output_tokens": out, "admit_s": admit,
                       "first_token_s": first, "finish_s": finish, "ttft_s": ttft, "tpot_s": tpot,
                       "e2e_s": finish - t_arr})
    span = float(finish.max() - t_arr.min()) if n_req else 0.0
    denom = n_rep * span if span > 0 else math.nan
    return RequestLevelResult(requests=df, span_s=span, busy_fraction=sum(busy) / denom,
                              kv_utilisation=kv_area / (kv_cap * denom), mean_in_flight=flight_area / denom,
                              iterations=iterations)
