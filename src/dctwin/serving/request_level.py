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
outputs), ``e2e_s``, ``replica`` (index of the replica that served it);
per replica: busy time and the time integral of the KV tokens reserved.
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

    # t_s, input_tokens, output_tokens, admit_s, first_token_s, finish_s, ttft_s, tpot_s, e2e_s, replica
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


def _check_requests(arrival_t_s, input_tokens, output_tokens):
    """(arrivals [s], prompt tokens, output tokens >= 1) as arrays; InputError on a bad log."""
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
    return t_arr, inp, out


class _Replay:
    """State of one replay: per replica, iterations, running sequences, KV reserved; the shared queue."""

    def __init__(self, deployment: Deployment, t_arr, inp, out, prefilled: bool):
        cost = deployment.cost
        self.cost, self.prefilled = cost, prefilled
        self.n_req, n_rep = t_arr.size, deployment.replicas
        self.admit = np.full(self.n_req, np.nan)
        self.first = np.full(self.n_req, np.nan)
        self.finish = np.full(self.n_req, np.nan)
        self.replica = np.full(self.n_req, -1, dtype=np.int64)
        self.inp_l, self.out_l, self.need_l, self.arr_l = inp.tolist(), out.tolist(), (inp + out).tolist(), \
            t_arr.tolist()
        self.budget = deployment.max_prefill_tokens
        self.it = [0] * n_rep                          # iterations completed
        self.n_run = [0] * n_rep                       # decoding sequences
        self.ctx = [0] * n_rep                         # KV tokens held by them
        self.kv_res = [0] * n_rep                      # KV tokens reserved by everything in flight
        self.fin: list[list[tuple[int, int]]] = [[] for _ in range(n_rep)]   # (last iteration, request)
        self.busy = [0.0] * n_rep
        self.kv_area = self.flight_area = 0.0
        self.iterations = 0
        self.queue: deque[int] = deque()
        self.idle = list(range(n_rep))                 # heap of idle replica ids
        self.events: list[tuple[float, int]] = []      # (next boundary time, replica)
        self.nxt = 0                                   # next arrival index

    def _retire(self, r: int, t: float) -> None:
        """Finish the sequences of replica ``r`` whose last token was emitted by iteration ``it - 1``."""
        f, done, need_l = self.fin[r], self.it[r] - 1, self.need_l
        while f and f[0][0] <= done:
            _, j = heapq.heappop(f)
            self.finish[j] = t
            self.n_run[r] -= 1
            self.ctx[r] -= need_l[j]
            self.kv_res[r] -= need_l[j]

    def _admit(self, r: int) -> tuple[list[int], int, int]:
        """Take waiting requests FCFS while batch, KV and prefill budget allow: (requests, prompt tokens, sum p^2)."""
        queue, need_l, inp_l = self.queue, self.need_l, self.inp_l
        cost, kv_res, n = self.cost, self.kv_res, self.n_run[r]
        budget = math.inf if self.prefilled else self.budget
        new_tok = new_sq = 0
        new: list[int] = []
        while (queue and n + len(new) < cost.max_batch and kv_res[r] + need_l[queue[0]] <= cost.kv_capacity_tokens
               and (not new or new_tok + inp_l[queue[0]] <= budget)):
            j = queue.popleft()
            new.append(j)
            kv_res[r] += need_l[j]
            new_tok += inp_l[j]
            new_sq += inp_l[j] * inp_l[j]
        return new, new_tok, new_sq

    def _admission_step(self, r: int, t: float, new: list[int], new_tok: int, new_sq: int) -> tuple[float, int]:
        """One iteration decoding the batch and prefilling the new prompts: (duration [s], iterations = 1).

        With ``prefilled`` the prompts' KV cache arrived from a prefill pool: the new
        sequences join the batch as decoders (their prompt is context, not work).
        """
        c, n = self.cost, self.n_run[r]
        if self.prefilled:
            dec, pre_tok, pre_sq, ctx_in = n + len(new), 0, 0, self.ctx[r] + new_tok
        else:
            dec, pre_tok, pre_sq, ctx_in = n, new_tok, new_sq, self.ctx[r]
        if c.pp > 1:   # micro-batches through the stages and the sends between them
            dt = c.step_time_s(dec, ctx_in, pre_tok, pre_sq)
        else:          # StepCost.step_time_s on scalars, without numpy's per-call cost
            dt = (c.gemm_s(dec, pre_tok) + c.attn_s_per_ctx_token * ctx_in + c.prefill_attn_s_per_token2 * pre_sq
                  + c.token_s * (dec + pre_tok) + c.comm_s_per_pass * ((dec > 0) + (pre_tok > 0)))
        f = self.fin[r]
        for j in new:
            self.admit[j] = t
            self.replica[j] = r
            self.first[j] = t + dt
            heapq.heappush(f, (self.it[r] + self.out_l[j] - 1, j))
        self.ctx[r] += n + new_tok + len(new)      # one token per decoding sequence; prompt + first token per new one
        self.n_run[r] = n + len(new)
        self.kv_area += self.kv_res[r] * dt
        self.flight_area += self.n_run[r] * dt
        return dt, 1

    def _decode_run(self, r: int, t: float) -> tuple[float, int]:
        """Decode-only iterations up to the next event, in closed form: (duration [s], iterations)."""
        c, n = self.cost, self.n_run[r]
        a, bs = c.decode_step_coeffs(n)
        m = self.fin[r][0][0] - self.it[r] + 1
        room = n < c.max_batch and not self.queue
        if room and self.nxt < self.n_req:
            m = min(m, _iterations_to_reach(max(self.arr_l[self.nxt] - t, 0.0), a, bs, self.ctx[r], n))
        dt = m * a + bs * (m * self.ctx[r] + n * m * (m - 1) / 2.0)
        self.ctx[r] += n * m
        self.kv_area += self.kv_res[r] * dt
        self.flight_area += n * dt
        return dt, m

    def boundary(self, r: int, t: float) -> None:
        """Replica ``r`` at an iteration boundary at ``t``: retire, admit, run the next iteration(s)."""
        self._retire(r, t)
        new, new_tok, new_sq = self._admit(r)
        if not new and self.n_run[r] == 0:
            heapq.heappush(self.idle, r)
            return
        dt, m = self._admission_step(r, t, new, new_tok, new_sq) if new else self._decode_run(r, t)
        self.it[r] += m
        self.iterations += m
        self.busy[r] += dt
        heapq.heappush(self.events, (t + dt, r))

    def run(self) -> None:
        """Process arrivals and iteration boundaries in time order until every request finished."""
        events, arr_l, n_req = self.events, self.arr_l, self.n_req
        while self.nxt < n_req or events:
            t_next = arr_l[self.nxt] if self.nxt < n_req else math.inf
            if events and events[0][0] <= t_next:
                t, r = heapq.heappop(events)
                self.boundary(r, t)
            else:
                self.queue.append(self.nxt)
                self.nxt += 1
                if self.idle:
                    self.boundary(heapq.heappop(self.idle), t_next)
        if self.queue:                                  # cannot happen: every request fits an empty replica
            raise RuntimeError(f"{len(self.queue)} requests left unserved")


def simulate_requests(deployment: Deployment, arrival_t_s, input_tokens, output_tokens,
                      prefilled: bool = False) -> RequestLevelResult:
    """Replay requests (arrival [s], prompt and output tokens) through ``deployment``, one by one.

    Outputs of zero tokens count as one (the first token ends the request).
    A request whose prompt plus output exceeds one replica's KV cache is an InputError.
    ``prefilled``: the prompts' KV caches arrive ready (the decode pool of a
    disaggregated service, :func:`dctwin.serving.simulate_disaggregated`); no prefill work is charged.
    """
    t_arr, inp, out = _check_requests(arrival_t_s, input_tokens, output_tokens)
    cost = deployment.cost
    need = inp + out
    if need.size and need.max() > cost.kv_capacity_tokens:
        i = int(np.argmax(need))
        raise InputError("request larger than the KV cache of one replica", field="input_tokens+output_tokens",
                         value=int(need[i]), allowed=f"<= {cost.kv_capacity_tokens} on {deployment.label()}")
    rep = _Replay(deployment, t_arr, inp, out, bool(prefilled))
    rep.run()
    ttft = rep.first - t_arr
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(out > 1, (rep.finish - rep.first) / (out - 1), np.nan)
    df = pd.DataFrame({"t_s": t_arr, "input_tokens": inp, "output_tokens": out, "admit_s": rep.admit,
                       "first_token_s": rep.first, "finish_s": rep.finish, "ttft_s": ttft, "tpot_s": tpot,
                       "e2e_s": rep.finish - t_arr, "replica": rep.replica})
    span = float(rep.finish.max() - t_arr.min()) if t_arr.size else 0.0
    denom = deployment.replicas * span if span > 0 else math.nan
    return RequestLevelResult(requests=df, span_s=span, busy_fraction=sum(rep.busy) / denom,
                              kv_utilisation=rep.kv_area / (cost.kv_capacity_tokens * denom),
                              mean_in_flight=rep.flight_area / denom, iterations=rep.iterations)
