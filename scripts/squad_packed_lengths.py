"""Attention span of SQuAD samples packed for fine-tuning: sum(l^2) / sum(l) in Llama 2 tokens.

Each SQuAD question becomes one fine-tuning sample as NeMo's SQuAD data module writes it: the prompt
'Context: <paragraph> Question: <question> Answer:', a space, the first answer, plus the BOS and EOS tokens.
Packed into a sequence with attention inside each sample, a token attends over its own sample, so the mean
span per token is the length-weighted mean sample length sum(l^2) / sum(l) (``packed_sample_tokens``).

No Llama tokenizer ships on PyPI, so characters are turned into tokens with a published ratio: Meta reports
3.17 characters per token for the Llama 2 tokenizer on a sample of English text (The Llama 3 Herd of Models,
arXiv:2407.21783, section 3.2: 3.17 for Llama 2, 3.94 for Llama 3). Usage:

    python scripts/squad_packed_lengths.py SQUAD.json [--chars-per-token 3.17]

Reads a SQuAD v1.1/v2.0 JSON file (unanswerable v2.0 questions are skipped); prints the sample count, the mean
length and sum(l^2)/sum(l) in tokens. With ``--pack N`` it also packs N samples drawn (with replacement, seeded)
from the file into 4,096-token sequences the way NeMo 24.07's prepare_packed_ft_dataset does by default (shuffle,
then first fit: each sample into the first open sequence with room) and prints the samples per sequence, the
sequences' fill, the max_seqlen NeMo's collate passes to attention (the longest sample; the last sample of a pack
absorbs the pack's tail padding) and attention over the full 4,096^2 at two costs: per sample (sum l^2) and with
every sample's tiles run to max_seqlen (samples x max_seqlen^2). Not part of the package: the figures it printed
are in the validate cases.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

SPECIAL_TOKENS = 2  # BOS + EOS added around each sample


def sample_chars(squad: dict) -> list[int]:
    """Characters of every answerable question's fine-tuning sample [-]."""
    out = []
    for article in squad["data"]:
        for par in article["paragraphs"]:
            for qa in par["qas"]:
                if qa.get("is_impossible") or not qa["answers"]:
                    continue
                prompt = f"Context: {par['context']} Question: {qa['question']} Answer:"
                out.append(len(prompt) + 1 + len(qa["answers"][0]["text"]))
    return out


def packed_span_tokens(chars: list[int], chars_per_token: float) -> tuple[float, float]:
    """(mean sample length, length-weighted mean sum(l^2)/sum(l)) [token]."""
    tokens = [c / chars_per_token + SPECIAL_TOKENS for c in chars]
    total = sum(tokens)
    return total / len(tokens), sum(t * t for t in tokens) / total


def first_fit_packs(lengths: list[int], pack_tokens: int) -> list[list[int]]:
    """Samples in the given order, each into the first sequence that still has room, else a new one [token]."""
    packs: list[list[int]] = []
    room: list[int] = []
    for n in lengths:
        i = next((k for k, r in enumerate(room) if r >= n), None)
        if i is None:
            packs.append([n])
            room.append(pack_tokens - n)
        else:
            packs[i].append(n)
            room[i] -= n
    return packs


def pack_stats(packs: list[list[int]], pack_tokens: int) -> dict[str, float]:
    """Mean samples per pack, fill, max_seqlen (tail padding in the last sample) and attention shares [-, token]."""
    max_len = [max(p[:-1] + [p[-1] + pack_tokens - sum(p)]) for p in packs]
    full = float(pack_tokens) ** 2
    n = len(packs)
    return {"samples": sum(len(p) for p in packs) / n, "fill": sum(sum(p) for p in packs) / (n * pack_tokens),
            "max_seqlen": sum(max_len) / n, "max_seqlen_lo": min(max_len), "max_seqlen_hi": max(max_len),
            "per_sample": sum(sum(x * x for x in p) for p in packs) / (n * full),
            "to_max_seqlen": sum(len(p) * m * m for p, m in zip(packs, max_len, strict=True)) / (n * full)}


def _print_packing(tokens: list[float], n: int, pack_tokens: int = 4096) -> None:
    rng = random.Random(1)
    drawn = [round(rng.choice(tokens)) for _ in range(n)]
    packs = first_fit_packs(drawn, pack_tokens)[:-1]              # the last, unfilled pack left out
    s = pack_stats(packs, pack_tokens)
    print(f"{len(packs)} packs of {pack_tokens}: {s['samples']:.1f} samples, fill {s['fill']:.3f}, max_seqlen "
          f"{s['max_seqlen']:.0f} ({s['max_seqlen_lo']}-{s['max_seqlen_hi']}); attention over the full "
          f"{pack_tokens}^2: per sample {s['per_sample']:.3f}, tiles to max_seqlen {s['to_max_seqlen']:.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("squad_json", type=Path)
    ap.add_argument("--chars-per-token", type=float, default=3.17)
    ap.add_argument("--pack", type=int, default=0, help="also pack this many drawn samples (0: no)")
    args = ap.parse_args(argv)
    chars = sample_chars(json.loads(args.squad_json.read_text(encoding="utf-8")))
    if not chars:
        print(f"{args.squad_json}: no answerable question", file=sys.stderr)
        return 2
    mean, span = packed_span_tokens(chars, args.chars_per_token)
    print(f"{len(chars)} samples, mean {mean:.0f} tokens, sum(l^2)/sum(l) {span:.0f} tokens "
          f"at {args.chars_per_token} characters per token")
    if args.pack > 0:
        _print_packing([c / args.chars_per_token + SPECIAL_TOKENS for c in chars], args.pack)
    return 0


if __name__ == "__main__":
    sys.exit(main())
