"""Engine-step pieces of the fluid serving model (:mod:`dctwin.serving.fluid`): step times and admission limits.

* :func:`prefill_s`: work of prefilling one prompt inside a running step;
* :func:`iteration_s`: the iteration time a decoding request sees at a local
  arrival rate (fixed point of the roofline);
* :func:`full_step_prefill_s`: the prompt work of a step filled from a long
  queue under the prefill token budget, taking prompts in order while the
  next one fits, as the request-level replay admits them (a full step holds
  fewer tokens than the budget: ~6,400 of 8,192 on the Azure code trace);
* :func:`kv_turnover`: prompts a replica can admit per step while its KV cache
  (or batch) is full: only as many as finish, ``capacity / E[(x + y) y]`` by
  Little's law counted in steps;
* :func:`decode_s_with_stalls`: a decode's own steps plus the prefills of the
  prompts that land on its replica while it runs. Each one stretches the decode
  by its work, during which more land (a branching process: the replay's
  stalled decodes last ~1.5 times the fluid model's unstretched ones on the
  code trace, and collect prompts for that long); in a backlog, the prompts that
  queue behind the request (FCFS) until the window's burst ends;
* :func:`others_busy`: the chance that every other replica is busy when a
  prompt arrives. The router sends an arrival to an idle replica first, so the
  replicas fill together: all are busy once ``n`` requests are in flight on
  the deployment (in the replay a prompt never waits with fewer), and that
  count is Poisson (M/G/infinity), not ``n`` independent replicas.
"""

from __future__ import annotations

import numpy as np

from dctwin.serving.deployment import StepCost

__all__ = ["batch_mix", "decode_s_with_stalls", "full_step_prefill_s", "iteration_s", "kv_turnover", "others_busy",
           "pipeline_moments", "prefill_alone_s", "prefill_s", "prompt_pass_s"]

_GRID = 512       # points of the remaining-budget grid of the packing recursion (in mean prompts) [-]
_MAX_DRAWS = 64   # interfering prompts drawn one by one per sampled request and generation (then scaled)
_GENERATIONS = 16  # generations of a decode's stalls drawn one by one (then the branching's mean tail)
_PROBE_TOKENS = 1e-9   # a prompt small enough to cost only its step's pass (its own work < 1e-12 s) [token]


def prefill_s(cost: StepCost, x, batch=None, x_sq=None):
    """Work of prefilling a prompt of ``x`` tokens (prompts summing to ``x`` and their squares to ``x_sq``) inside a
    running step [s].

    Through a pipeline (pp > 1) it is what :meth:`StepCost.step_time_s` adds to a step decoding ``n`` sequences
    (the prompt rides with min(pp, n) micro-batches and is sent between stages) less the pass a step carrying
    prompts pays once (:func:`prompt_pass_s`, charged per step as at pp = 1), averaged over ``batch``: the
    chances (last axis) that the step decodes n = 1, ..., pp - 1 and pp or more sequences (:func:`batch_mix`;
    None: pp or more).
    """
    if cost.pp == 1:
        attn = cost.prefill_attn_s_per_token2 * x * x if x_sq is None else cost.prefill_attn_s_per_token2 * x_sq
        return x * (cost.prefill_s_per_token + cost.token_s) + attn
    x = np.asarray(x, dtype=float)
    sq = x * x if x_sq is None else x_sq
    if batch is None:
        batch = np.eye(cost.pp)[-1]
    work = sum(batch[..., j - 1] * (cost.step_time_s(float(j), 0.0, x, sq) - _probe_s(cost, float(j)))
               for j in range(1, cost.pp + 1))
    return np.where(x > 0, work, 0.0)


def batch_mix(cost: StepCost, others, itself: bool):
    """Chances that a step decodes n = 1, ..., pp - 1 and pp or more sequences [-] (last axis; a prompt's work
    depends only on min(pp, n)): ``itself`` plus a Poisson count of others with mean ``others`` (a decoding
    request's steps), or, without itself, that count given at least one (an arrival on a busy replica)."""
    lam = np.maximum(np.asarray(others, dtype=float), 1e-12)[..., None]
    k = np.arange(cost.pp + 1, dtype=float)                   # counts of others 0 ... pp
    pmf = np.exp(-lam) * np.cumprod(np.where(k > 0, lam / np.maximum(k, 1.0), 1.0), axis=-1)   # Poisson pmf
    pmf = pmf[..., :-1] if itself else pmf[..., 1:] / -np.expm1(-lam)
    pmf[..., -1] = np.maximum(1.0 - pmf[..., :-1].sum(-1), 0.0)
    return pmf


def _probe_s(cost: StepCost, n_decode):
    """A step decoding ``n_decode`` sequences carrying a vanishing prompt (``_PROBE_TOKENS``): its pass included [s]."""
    return cost.step_time_s(n_decode, 0.0, _PROBE_TOKENS, 0.0)


def prompt_pass_s(cost: StepCost, n_decode):
    """Fixed cost a step decoding ``n_decode`` sequences pays once for carrying prompts [s] (the all-reduce latency
    of the prompts' pass: ``comm_s_per_pass`` at pp = 1, through the pipeline's cycle at pp > 1)."""
    if cost.pp == 1:
        return cost.comm_s_per_pass
    return _probe_s(cost, n_decode) - cost.step_time_s(n_decode, 0.0, 0.0, 0.0)


def prefill_alone_s(cost: StepCost, x):
    """A step prefilling a prompt of ``x`` tokens on an idle replica [s] (:meth:`StepCost.step_time_s` with no
    decode; at pp = 1 in the form the fluid model has always summed it)."""
    if cost.pp == 1:
        return cost.gemm_pass_s(x) + cost.prefill_attn_s_per_token2 * x * x + cost.token_s * x + cost.comm_s_per_pass
    return cost.step_time_s(0.0, 0.0, x, x * x)


def iteration_s(cost: StepCost, lam, e_dec, ctx_per_seq, pre_mean, cap_s: float):
    """Iteration time seen by a decoding request at per-replica arrival rate ``lam`` [s]: T = f(T), vectorised.

    Returns (T, converged). ``f`` is increasing and convex in T, so iterating from
    T = f(0) climbs to the least fixed point; none below ``cap_s`` means overload.
    """
    def f(t):
        others = lam * e_dec * t
        if cost.pp > 1:   # the pipeline's step: StepCost.step_time_s of the decode, its prompts' pass and work
            n = 1.0 + others
            pre = pre_mean(n) if callable(pre_mean) else pre_mean
            return (cost.step_time_s(n, ctx_per_seq * n, 0.0, 0.0)
                    + prompt_pass_s(cost, n) * np.minimum(1.0, lam * t) + lam * t * pre)
        return (cost.gemm_pass_s(1.0 + others)
                + cost.attn_s_per_ctx_token * ctx_per_seq * (1.0 + others)
                + lam * t * pre_mean + cost.token_s * (1.0 + others)
                + cost.comm_s_per_pass * (1.0 + np.minimum(1.0, lam * t)))
    t = f(np.zeros_like(lam))
    for _ in range(500):
        t_new = np.minimum(f(t), cap_s)
        if np.allclose(t_new, t, rtol=1e-10, atol=0):
            break
        t = t_new
    pre_t = pre_mean(1.0 + lam * e_dec * t) if callable(pre_mean) else pre_mean
    ok = (np.abs(f(t) - t) <= 1e-6 * t) & (lam * pre_t < 1.0)
    return t, ok


def pipeline_moments(cost: StepCost, lam, moments, input_shape: np.ndarray, mean_in, budget_tokens: float,
                     turnover, cap_s: float):
    """The fluid model's step moments (E[decode steps], context per sequence, E[prompt work] [s], full step's prompt
    work [s]) for a pipeline-parallel replica, and the decode batches per sample (:func:`batch_mix`): ``batch_dec``,
    what a decoding request steps with, and ``batch_admit``, what an arriving prompt finds on a busy replica.

    A prompt's work depends on the step's decode batch ``n`` (it rides with min(pp, n) micro-batches), so the
    iteration time solves T = f(T) with the prompts charged over ``n`` = itself + the others decoding (Poisson,
    mean ``L = lam E[out - 1] T``), and the prompt work and full step are then taken over that batch. An arrival
    that finds its replica busy steps with the others only: their count given at least one.
    """
    e_dec, ctx_per_seq = moments[0], moments[1]
    m = np.asarray(mean_in, dtype=float)[:, None]
    q = np.asarray(input_shape, dtype=float)
    e1, e2 = m * q.mean(), m * m * (q * q).mean()     # mean prompt and mean square (the work is linear in both)

    def pre(n):
        return prefill_s(cost, e1, batch_mix(cost, n - 1.0, itself=True), e2)
    t, _ = iteration_s(cost, lam, e_dec, ctx_per_seq, pre, cap_s)
    others = lam * e_dec * t
    batches = {"batch_dec": batch_mix(cost, others, itself=True), "batch_admit": batch_mix(cost, others, itself=False)}
    pre_mean = prefill_s(cost, e1, batches["batch_dec"], e2)
    full = full_step_prefill_s(cost, q, mean_in, budget_tokens, batches["batch_dec"])
    return (e_dec, ctx_per_seq, pre_mean, np.minimum(full, turnover * pre_mean)), batches


def _packed_moments(shape: np.ndarray, b_max: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grid b, E[sum q], E[sum q^2]) of the prompts taken in order while the next fits a remaining budget b.

    Prompt sizes ``q`` in mean prompts, equally likely quantiles ``shape``; renewal recursion
    S(b) = mean over q <= b of (q + S(b - q)) on ``_GRID`` points up to ``b_max`` (a prompt takes
    its size rounded up to the grid, so it never overfills the budget).
    """
    b = np.linspace(0.0, b_max, _GRID)
    h = b[1] - b[0]
    back = np.ceil(shape / h - 1e-9).astype(np.int64)
    s1, s2 = np.zeros(_GRID), np.zeros(_GRID)
    for g in range(1, _GRID):
        fits = back <= g
        if fits.any():
            s1[g] = (shape[fits] + s1[g - back[fits]]).sum() / shape.size
            s2[g] = (shape[fits] ** 2 + s2[g - back[fits]]).sum() / shape.size
    return b, s1, s2


def full_step_prefill_s(cost: StepCost, input_shape: np.ndarray, mean_in, budget_tokens: float, batch=None):
    """Prompt work of a step that fills its token budget from a long queue [s], one column per interval.

    The first prompt is always taken (a longer one runs alone), then prompts in
    order while the next fits. ``input_shape``: prompt-length quantiles, mean 1;
    ``mean_in``: each interval's mean prompt [token] (0: no work). Beyond four of
    the longest prompts the unused rest of the budget no longer depends on the budget
    (renewal theorem), so the packed sums grow with slopes 1 and E[q^2] / E[q].
    """
    q = np.asarray(input_shape, dtype=float)
    m = np.asarray(mean_in, dtype=float)
    b_int = np.where(m > 0, budget_tokens / np.maximum(m, 1e-300), 0.0)    # the budget in mean prompts
    b_rec = 4.0 * float(q.max())
    b, s1, s2 = _packed_moments(q, b_rec)
    rest = b_int[:, None] - q[None, :]
    over = np.maximum(rest - b_rec, 0.0)
    in1 = np.interp(np.minimum(rest, b_rec), b, s1) + over
    in2 = np.interp(np.minimum(rest, b_rec), b, s2) + over * (q * q).mean() / q.mean()
    q1 = (q[None, :] + np.where(rest >= 0, in1, 0.0)).mean(1)
    q2 = (q[None, :] ** 2 + np.where(rest >= 0, in2, 0.0)).mean(1)
    if cost.pp > 1:   # over the decode batch of each sample (:func:`prefill_s`)
        return prefill_s(cost, (m * q1)[:, None], batch, (m * m * q2)[:, None])
    work = (cost.prefill_s_per_token + cost.token_s) * m * q1 + cost.prefill_attn_s_per_token2 * m * m * q2
    return np.where(m > 0, work, 0.0)[:, None]


def kv_turnover(cost: StepCost, e_in, e_y, e_y2):
    """Prompts a replica with a full KV cache or batch can admit per step [-] (column per interval).

    Sequences leave as they finish: in flight ``c`` each holding its steps ``y``, so
    ``c / E[y]`` per step; with the KV cache full ``c = capacity E[y] / E[(x + y) y]``
    (a sequence holds its prompt and output for its ``y`` steps), with the batch full ``c = max_batch``.
    ``e_in``: mean prompt, ``e_y`` and ``e_y2``: mean and mean square of output tokens (prompt and
    output drawn independently, as the fluid model pairs them).
    """
    by_kv = cost.kv_capacity_tokens / np.maximum(e_in * e_y + e_y2, 1e-9)
    return np.minimum(by_kv, cost.max_batch / np.maximum(e_y, 1.0))


def others_busy(n_rep: int, in_flight_deployment):
    """Chance that the other ``n_rep - 1`` replicas are all busy [-]: P(N >= n_rep - 1), N ~ Poisson(mean).

    ``in_flight_deployment``: mean requests in flight on the whole deployment at the local rate
    (M/G/infinity); arrivals go to idle replicas first, so the others are all busy once they hold
    ``n_rep - 1`` of them.
    """
    if n_rep <= 1:
        return np.ones_like(in_flight_deployment, dtype=float)
    from scipy.special import gammainc  # here, not at import: `dctwin run` never calls the fluid model
    return gammainc(n_rep - 1, in_flight_deployment)   # P(Poisson(mean) >= k) = P(k, mean), regularised


def _prompts_work_s(rng, cost: StepCost, input_shape: np.ndarray, k, mean_in, batch=None):
    """Prefill work of ``k`` prompts drawn from the prompt-length quantiles [s] (beyond ``_MAX_DRAWS``, scaled).

    ``k``: prompts per sample (rows: intervals); ``mean_in``: each interval's mean prompt [token].
    """
    drawn = np.minimum(k, _MAX_DRAWS).ravel()
    owner = np.repeat(np.arange(drawn.size), drawn)                 # one entry per drawn prompt
    picks = rng.integers(0, input_shape.size, size=owner.size)
    m = np.broadcast_to(np.asarray(mean_in, dtype=float)[:, None], k.shape).ravel()
    n_own = None if batch is None else np.broadcast_to(batch, k.shape + batch.shape[-1:]).reshape(-1, cost.pp)[owner]
    work = np.bincount(owner, weights=prefill_s(cost, m[owner] * input_shape[picks], n_own), minlength=drawn.size)
    return (work * np.where(drawn > 0, k.ravel() / np.maximum(drawn, 1), 0.0)).reshape(k.shape)


def decode_s_with_stalls(rng, cost: StepCost, input_shape: np.ndarray, mean_in, rates, steps, first_s, backlog_s,
                         it: dict):
    """Decode time [s]: own ``steps`` plus the prefills landing meanwhile, at most a full step's prompts each.

    ``rates``: (rate [1/s] of arrivals this busy replica takes right after the request, in its burst; the
    window's rate it takes later). In steady operation the decode is exposed for its own steps and the part
    ``first_s`` [s] of its admission step (those arrivals are prefilled in its first decode step), then for
    the work of what landed, at the window's rate, generation by generation (the mean tail after
    ``_GENERATIONS`` in closed form, ``rho / (1 - rho)`` of the last one). In a backlog (``it["steady"]``
    false) the prompts arriving over ``backlog_s`` [s] queue behind it and stall it.
    """
    lam_burst, lam_held = rates
    steady, cap = it["steady"], steps * it["full_s"]
    span = np.where(steps > 0, np.where(steady, steps * it["t_dec"], backlog_s) + first_s, 0.0)
    extra = np.zeros_like(steps)
    for g in range(_GENERATIONS):
        work = _prompts_work_s(rng, cost, input_shape, rng.poisson((lam_held if g else lam_burst) * span), mean_in,
                               it.get("batch_dec"))
        extra += work
        span = np.where(steady & (extra < cap), work, 0.0)
        if not span.any():
            break
    rho = lam_held * it["pre_mean"]
    tail = np.where(rho < 1.0, span * rho / np.maximum(1.0 - rho, 1e-12), np.inf)
    return steps * it["t_dec"] + np.minimum(extra + np.where(span > 0, tail, 0.0), cap)
