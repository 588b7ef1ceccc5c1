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
length and sum(l^2)/sum(l) in tokens. Not part of the package: the figure it printed is in the validate cases.
"""

from __future__ import annotations

import argparse
import json
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("squad_json", type=Path)
    ap.add_argument("--chars-per-token", type=float, default=3.17)
    args = ap.parse_args(argv)
    chars = sample_chars(json.loads(args.squad_json.read_text(encoding="utf-8")))
    if not chars:
        print(f"{args.squad_json}: no answerable question", file=sys.stderr)
        return 2
    mean, span = packed_span_tokens(chars, args.chars_per_token)
    print(f"{len(chars)} samples, mean {mean:.0f} tokens, sum(l^2)/sum(l) {span:.0f} tokens "
          f"at {args.chars_per_token} characters per token")
    return 0


if __name__ == "__main__":
    sys.exit(main())
