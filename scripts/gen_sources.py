"""Write docs/sources.md: every source cited by the package's data files.

Gathered from the files themselves, so the page cannot drift from the data:

* every ``src/dctwin/**/data/**/*.yaml``: its ``sources:`` map (key -> full
  text) and every ``source:`` value in it, counted per key; a ``source:`` that
  names no key of the map (free text, a ``{title, url}`` mapping, or a bare
  word such as ``derived``) is listed as an inline source;
* the packaged scenarios (``src/dctwin/scenarios/*.yaml``): the comments that
  name the source beside each value;
* the shipped third-party data (weather files, traces): every non-YAML file
  under a ``data/`` folder with its size, and the README beside it that gives
  its source and licence.

Usage: ``python scripts/gen_sources.py [--out DIR]`` (default ``docs/``).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "src" / "dctwin"
DOCS = ROOT / "docs"


def _is_configuration(path: Path) -> bool:
    """A scenario (``extends``/``phases``) or a telemetry mapping (``step_s`` and ``series``) shipped beside data:
    settings described by the README beside it, not sourced values."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return isinstance(doc, dict) and ({"extends", "phases"} & doc.keys() or {"step_s", "series"} <= doc.keys())


def data_yaml_files(pkg: Path = PKG) -> list[Path]:
    """Every YAML data file below a ``data/`` folder of the package (scenarios and mappings excepted), by path."""
    return sorted(p for p in pkg.rglob("*.yaml") if "data" in p.relative_to(pkg).parts[:-1]
                  and not _is_configuration(p))


def _source_maps(node: Any) -> dict[str, str]:
    """Every ``sources:`` mapping of str -> str anywhere in ``node``, merged."""
    found: dict[str, str] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "sources" and isinstance(value, dict):
                found.update({str(k): str(v) for k, v in value.items() if isinstance(v, (str, int, float))})
            else:
                found.update(_source_maps(value))
    elif isinstance(node, list):
        for item in node:
            found.update(_source_maps(item))
    return found


def _inline_text(value: Any) -> str:
    """One line of text for a ``source:`` value that is not a key of the map."""
    if isinstance(value, dict):
        parts = [str(value[k]) for k in ("title", "url") if value.get(k)]
        parts += [f"{k}: {v}" for k, v in value.items() if k not in ("title", "url")]
        return ", ".join(parts)
    return " ".join(str(value).split())


def _citations(node: Any, keys: dict[str, str], counts: Counter, inline: Counter, notes: Counter) -> None:
    """Count every ``source:`` value under ``node``: map keys in ``counts``, the rest in ``inline``.

    ``notes`` counts the notes (``note:`` texts) that name a key of the map as a word.
    """
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "sources" and isinstance(value, dict):
                continue
            if key == "note" and isinstance(value, str):
                for name in keys:
                    if re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", value):
                        notes[name] += 1
            elif key == "source":
                for one in value if isinstance(value, list) else [value]:
                    if isinstance(one, str) and one in keys:
                        counts[one] += 1
                    elif one is not None:
                        inline[_inline_text(one)] += 1
            else:
                _citations(value, keys, counts, inline, notes)
    elif isinstance(node, list):
        for item in node:
            _citations(item, keys, counts, inline, notes)


def file_sources(path: Path) -> tuple[dict[str, str], Counter, Counter, Counter]:
    """``(sources map, citations per key, inline sources with counts, notes naming each key)`` of one file."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    keys = _source_maps(doc)
    counts: Counter = Counter()
    inline: Counter = Counter()
    notes: Counter = Counter()
    _citations(doc, keys, counts, inline, notes)
    return keys, counts, inline, notes


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


_URL = re.compile(r"(?<![<(])(https?://[^\s,;)\]]+[^\s,;.)\]'\"])")


def _link(text: str) -> str:
    """Make bare URLs clickable in Markdown."""
    return _URL.sub(r"<\1>", text)


def summary_table(pkg: Path = PKG) -> list[str]:
    """One row per data file: its sources, the values citing them, and sources no value cites."""
    rows = ["| data file | sources | citations | keys no `source:` field cites (named in notes or code) |",
            "|---|---:|---:|---:|"]
    for path in data_yaml_files(pkg):
        keys, counts, inline, _ = file_sources(path)
        if not keys and not inline:
            continue
        rel = path.relative_to(pkg.parent).as_posix()
        uncited = sum(1 for k in keys if counts[k] == 0)
        rows.append(f"| [`{rel}`](#{_anchor(rel)}) | {len(keys) + len(inline)} | "
                    f"{sum(counts.values()) + sum(inline.values())} | {uncited} |")
    return rows + [""]


def _anchor(rel: str) -> str:
    """GitHub's heading anchor of ``### `rel` ``."""
    return re.sub(r"[^a-z0-9 _-]", "", rel.lower()).replace(" ", "-")


def data_section(pkg: Path = PKG) -> tuple[list[str], int, int]:
    """Markdown for the data files, the number of distinct sources and of citations."""
    lines: list[str] = []
    n_sources = n_cites = 0
    for path in data_yaml_files(pkg):
        keys, counts, inline, notes = file_sources(path)
        if not keys and not inline:
            continue
        rel = path.relative_to(pkg.parent).as_posix()
        total = sum(counts.values()) + sum(inline.values())
        lines += [f"### `{rel}`", "", f"{len(keys) + len(inline)} sources, {total} citations.", ""]
        lines += ["| key | values citing it | notes naming it | source |", "|---|---:|---:|---|"]
        for key in sorted(keys, key=lambda k: (-counts[k], -notes[k], k)):
            lines.append(f"| `{key}` | {counts[key]} | {notes[key]} | {_link(_cell(keys[key]))} |")
        for text in sorted(inline, key=lambda t: (-inline[t], t)):
            lines.append(f"| (inline) | {inline[text]} | | {_link(_cell(text))} |")
        lines.append("")
        n_sources += len(keys) + len(inline)
        n_cites += total
    return lines, n_sources, n_cites


def scenario_section(pkg: Path = PKG) -> list[str]:
    """The source comments of every packaged scenario, one table per file."""
    lines: list[str] = []
    for path in sorted((pkg / "scenarios").glob("*.yaml")):
        rel = path.relative_to(pkg.parent).as_posix()
        header: list[str] = []
        rows: list[str] = []
        stack: list[tuple[int, str]] = []
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code, _, comment = raw.partition(" #") if not raw.lstrip().startswith("#") else ("", "", raw.lstrip()[1:])
            code = code.rstrip()
            comment = comment.strip()
            if code.strip():
                indent = len(code) - len(code.lstrip(" -"))
                key = code.strip(" -").split(":", 1)[0]
                while stack and stack[-1][0] >= indent:
                    stack.pop()
                stack.append((indent, key))
            if not comment:
                continue
            if not code.strip():
                if not rows:
                    header.append(comment)
                continue
            field = ".".join(k for _, k in stack)
            value = code.split(":", 1)[1].strip() if ":" in code else ""
            rows.append(f"| {number} | `{field}` | `{_cell(value)}` | {_link(_cell(comment))} |")
        lines += [f"### `{rel}`", ""]
        if header:
            lines += [" ".join(header), ""]
        if rows:
            lines += ["| line | field | value | source or note |", "|---:|---|---|---|", *rows]
        lines.append("")
    return lines


def _human_size(n: int) -> str:
    for unit in ("B", "kB", "MB"):
        if n < 1000 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def third_party_section(pkg: Path = PKG) -> list[str]:
    """Shipped non-YAML data files and the README beside them (source and licence)."""
    lines: list[str] = []
    folders = sorted({p.parent for p in pkg.rglob("*") if p.is_file() and "data" in p.relative_to(pkg).parts[:-1]
                      and p.suffix not in (".yaml", ".md", ".py", ".pyc")})
    for folder in folders:
        rel = folder.relative_to(pkg.parent).as_posix()
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix not in (".yaml", ".md", ".py", ".pyc"))
        lines += [f"### `{rel}/`", "", "| file | size |", "|---|---:|"]
        lines += [f"| `{p.name}` | {_human_size(p.stat().st_size)} |" for p in files]
        lines.append("")
        readme = folder / "README.md"
        if readme.exists():
            lines += [f"From `{rel}/README.md` (verbatim, headings demoted):", ""]
            for raw in readme.read_text(encoding="utf-8").splitlines():
                lines.append("###" + raw if raw.startswith("#") else raw)
            lines.append("")
        else:
            lines += ["**No README with source and licence beside these files.**", ""]
    return lines


def render(pkg: Path = PKG) -> str:
    """The whole of docs/sources.md."""
    data_lines, n_sources, n_cites = data_section(pkg)
    out = [
        "# Sources",
        "",
        "<!-- generated by scripts/gen_sources.py from the package's data files; do not edit by hand -->",
        "",
        "Every published number in dctwin lives in a data file beside the code that uses it, with the key",
        "of its source. This page gathers those sources from the files themselves: for each data file, each",
        "source key, how many values cite it (their `source:` field), how many notes name it (a derived",
        "value's note names the sources of its inputs), and the full text (title and URL). Sources written inline",
        "(free text, or the words `derived`, `assumed`, `dctwin` for dctwin's own arithmetic or",
        "assumption, explained in the value's note) are listed as `(inline)`.",
        "",
        "References of the form \"dossier §x\" or \"dctwin facts dossier §x\" point to the sections of the",
        "[facts dossier](facts-dossier.md), which gives each figure with its source and confidence.",
        "",
        f"In total: {n_sources} sources, {n_cites} values citing them.",
        "",
        "## Data files",
        "",
        *summary_table(pkg),
        *data_lines,
        "## Packaged scenarios",
        "",
        "The scenario files name the source of each value in a comment beside it.",
        "",
        *scenario_section(pkg),
        "## Shipped third-party data",
        "",
        "Copies of public data files shipped with the package, with their source and licence.",
        "",
        *third_party_section(pkg),
    ]
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="folder to write sources.md into")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "sources.md"
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
