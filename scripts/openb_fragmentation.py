"""Queue waits of the Alibaba openb pods with and without the gang placement rule, against the trace's record.

Each of the trace's nodes is one scale-up domain; rule 'domain' (``scheduler.gang_rule``) keeps a pod inside
one node, rule 'none' lets it take free GPUs anywhere. Both runs use the scheduler attempt model fitted to the
even-numbered pods' recorded waits; the waits compared are the odd-numbered pods' (held out).

1. The log as recorded on its own 1,523 nodes (6,212 GPUs): its pods never hold more than 70 GPUs at once,
   so the rule cannot bind and both runs must give the same waits.
2. The same pods on every k-th node only (the same node-size mix, fewer GPUs; k = --stride): a what-if at a
   load where pods compete, EASY backfill; the rule's waits and the share of queue wait caused by fragmentation.

Usage: python scripts/openb_fragmentation.py [--stride 100] [--out openb-fragmentation]
Prints a table and writes waits.png (empirical CDFs of the queue wait) to --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def _row(label: str, w: np.ndarray, frac: float | None) -> str:
    p50, p90, p99 = np.nanpercentile(w, [50, 90, 99])
    share = "-" if frac is None else f"{100 * frac:.1f} %"
    return f"| {label} | {p50:,.0f} | {p90:,.0f} | {p99:,.0f} | {np.nanmean(w):,.0f} | {share} |"


def runs(stride: int) -> dict[str, tuple[np.ndarray, float | None]]:
    """Held-out queue waits [s] (and the fragmentation share of all queue wait) of each case."""
    from dctwin.validate.measures import _trace_waits, alibaba_replay

    out: dict[str, tuple[np.ndarray, float | None]] = {"recorded (trace)": (_trace_waits()[1::2], None)}
    for policy, k in (("fifo", 1), ("easy_backfill", stride)):
        for gang in ("none", "domain"):
            _, res, gpus, _ = alibaba_replay(policy, "held_out", gang, k)
            name = f"{gpus:,} GPUs, {policy}, rule {gang}"
            out[name] = (res.jobs["wait_s"].to_numpy(dtype=float)[1::2], res.stats.get("fragmentation_wait_frac"))
    return out


def draw(cases: dict[str, tuple[np.ndarray, float | None]], path: Path, stride: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(cases)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    panels = ((axes[0], names[:3], "As recorded: its own 6,212 GPUs"),
              (axes[1], [names[0], *names[3:]], f"What-if: every {stride}th node only (pods compete)"))
    for ax, keys, title in panels:
        for key, style in zip(keys, ("k-", "C0--", "C3:"), strict=True):
            w = np.sort(np.maximum(cases[key][0][np.isfinite(cases[key][0])], 0.5))
            ax.plot(w, np.arange(1, w.size + 1) / w.size, style, label=key, lw=1.6)
        ax.set_xscale("log")
        ax.set_xlabel("queue wait [s] (held-out pods; 0 s drawn at 0.5 s)")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of pods waiting at most this long [-]")
    fig.suptitle("Alibaba openb pods: queue wait with and without the gang rule (pod inside one node)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stride", type=int, default=100, help="keep every k-th node in the what-if (default 100)")
    parser.add_argument("--out", type=Path, default=Path("openb-fragmentation"), help="directory for waits.png")
    args = parser.parse_args(argv)
    if args.stride < 1:
        parser.error(f"--stride must be >= 1 (got {args.stride})")
    cases = runs(args.stride)
    print("| case | p50 [s] | p90 [s] | p99 [s] | mean [s] | queue wait from fragmentation |")
    print("|---|---|---|---|---|---|")
    for name, (w, frac) in cases.items():
        print(_row(name, w, frac))
    args.out.mkdir(parents=True, exist_ok=True)
    draw(cases, args.out / "waits.png", args.stride)
    print(f"wrote {args.out / 'waits.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
