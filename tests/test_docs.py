"""The generated docs are complete and up to date; the guides link to files that exist.

The glossary must describe every column of a run's tables and every KPI: a
new column without a description fails here. ``docs/sources.md`` and
``docs/glossary.md`` must equal a fresh regeneration (run
``python scripts/gen_sources.py && python scripts/gen_glossary.py``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
PKG = REPO / "src" / "dctwin"
GUIDES = ("quickstart.md", "scenarios.md", "models.md", "architecture.md", "operating-twin.md")
# Written by scripts/gen_docs.py (`make docs`); a fresh clone may not have run it yet.
GEN_DOCS_OUTPUTS = {"scenario-reference.md", "scenario.schema.json"}


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def glossary():
    return _script("gen_glossary")


@pytest.fixture(scope="module")
def sources():
    return _script("gen_sources")


@pytest.fixture(scope="module")
def run_names(glossary):
    return glossary.run_names(glossary.sample_run())


def test_every_column_and_kpi_has_a_description(glossary, run_names):
    names, services = run_names
    assert services, "the sample run has no inference service"
    for section in glossary.SECTIONS:
        assert names[section], f"the sample run wrote no {section}"
    assert glossary.missing_descriptions(names) == [], "add these to src/dctwin/results/schema.yaml"


def test_a_name_without_description_is_caught(glossary, run_names):
    names, _ = run_names
    extended = {**names, "timeseries": [*names["timeseries"], "brand_new_column_kw"]}
    assert glossary.missing_descriptions(extended) == ["timeseries.brand_new_column_kw"]
    with pytest.raises(SystemExit):
        glossary.render(extended, {"svc-a"})


def test_units_follow_the_name_suffix(glossary):
    assert glossary.unit_of("it_power_kw") == "kW"
    assert glossary.unit_of("grid_energy_mwh") == "MWh"
    assert glossary.unit_of("price_eur_per_mwh") == "EUR/MWh"
    assert glossary.unit_of("tco_eur") == "EUR"
    assert glossary.unit_of("dry_bulb_c") == "°C"
    assert glossary.unit_of("queue_wait_p50_s") == "s"
    assert glossary.unit_of("goodput_frac") == "0-1"
    assert glossary.unit_of("water_l_per_h") == "L/h"
    assert glossary.unit_of("<svc>__output_tokens_per_s") == "tokens/s"
    assert glossary.unit_of("eur_per_mtok__<svc>") == "EUR per million tokens"
    assert glossary.template("eur_per_mtok__mixtral-8x22b", {"mixtral-8x22b"}) == "eur_per_mtok__<svc>"
    assert glossary.template("mixtral-8x22b__gpus_busy", {"mixtral-8x22b"}) == "<svc>__gpus_busy"


def test_glossary_is_up_to_date(glossary, run_names, tmp_path):
    fresh = glossary.render(*run_names)
    assert (DOCS / "glossary.md").read_text(encoding="utf-8") == fresh, \
        "docs/glossary.md is stale: run `python scripts/gen_glossary.py`"


def test_sources_are_up_to_date(sources, tmp_path):
    sources.main(["--out", str(tmp_path)])
    assert (DOCS / "sources.md").read_text(encoding="utf-8") == (tmp_path / "sources.md").read_text(encoding="utf-8"), \
        "docs/sources.md is stale: run `python scripts/gen_sources.py`"


def test_every_data_file_names_its_sources(sources):
    files = sources.data_yaml_files()
    assert len(files) >= 10
    for path in files:
        keys, counts, inline, _ = sources.file_sources(path)
        assert keys or inline, f"{path} cites no source"
        assert sum(counts.values()) + sum(inline.values()) > 0, f"{path}: no value cites a source"


def test_source_counting_on_a_known_file(sources, tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("sources:\n  a: 'Title A, https://a.example'\n  b: 'Title B'\n"
                 "values:\n  v1: {value: 1, source: a}\n  v2: {value: 2, source: a, note: 'from (b)'}\n"
                 "  v3: {value: 3, source: {title: T, url: 'https://t.example'}}\n", encoding="utf-8")
    keys, counts, inline, notes = sources.file_sources(f)
    assert keys == {"a": "Title A, https://a.example", "b": "Title B"}
    assert counts == {"a": 2}
    assert notes == {"b": 1}
    assert inline == {"T, https://t.example": 1}


def test_shipped_third_party_data_has_source_and_licence():
    data_files = [p for p in PKG.rglob("*") if p.is_file() and "data" in p.relative_to(PKG).parts[:-1]
                  and p.suffix not in (".yaml", ".md", ".py", ".pyc")]
    assert data_files
    for folder in {p.parent for p in data_files}:
        readme = folder / "README.md"
        assert readme.exists(), f"{folder} ships data without a README"
        text = readme.read_text(encoding="utf-8").lower()
        assert "licen" in text and "source" in text, f"{readme} gives no source or licence"
        for p in data_files:
            if p.parent == folder:
                assert p.name in readme.read_text(encoding="utf-8"), f"{p.name} is not described in {readme}"


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_links_resolve(guide):
    path = DOCS / guide
    assert path.exists(), f"docs/{guide} missing"
    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target or target in GEN_DOCS_OUTPUTS:
            continue
        assert (path.parent / target).exists(), f"docs/{guide} links to missing {target}"
    for rel in re.findall(r"`((?:src/dctwin|scripts|tests|docs)/[\w./-]+\.(?:py|yaml|md|json))`", text):
        assert (REPO / rel).exists(), f"docs/{guide} names missing file {rel}"


def test_guides_name_only_real_commands():
    helped = subprocess.run([sys.executable, "-m", "dctwin", "--help"], capture_output=True, text=True,
                            env={"COLUMNS": "200", "PATH": ""}, timeout=60, check=False)
    assert helped.returncode == 0, helped.stderr
    commands = set(re.findall(r"^(?:│ |  )(\w+) +\S", helped.stdout, flags=re.MULTILINE))
    assert {"run", "compare", "query"} <= commands
    for guide in GUIDES:
        text = (DOCS / guide).read_text(encoding="utf-8")
        code = "\n".join([body for _, body in _fenced_blocks(text)] + re.findall(r"`([^`\n]+)`", text))
        for cmd in re.findall(r"(?:^|\s)dctwin ([a-z]+)", code, flags=re.MULTILINE):
            assert cmd in commands, f"docs/{guide}: `dctwin {cmd}` is not a command"


def _fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, body)`` of every fenced code block of a Markdown text."""
    blocks, lang, body = [], None, []
    for line in text.splitlines():
        if line.startswith("```"):
            if lang is None:
                lang, body = line[3:].strip(), []
            else:
                blocks.append((lang, "\n".join(body) + "\n"))
                lang = None
        elif lang is not None:
            body.append(line)
    return blocks


def _quickstart_parts() -> tuple[dict[str, str], list[str], str]:
    """The quickstart's scenario files (by the name it saves them as), its `dctwin` commands and its Python."""
    text = (DOCS / "quickstart.md").read_text(encoding="utf-8")
    files = dict(re.findall(r"as\s+`([\w.-]+\.yaml)`[^`]*?```yaml\n(.*?)```", text, flags=re.DOTALL))
    blocks = _fenced_blocks(text)
    commands = [line.split("  #")[0].strip() for lang, body in blocks if lang == ""
                for line in body.splitlines() if line.startswith("dctwin ")]
    python = "\n".join(body for lang, body in blocks if lang == "python")
    return files, commands, python


@pytest.mark.slow
def test_quickstart_examples_run(tmp_path, monkeypatch):
    """Every command and Python block of docs/quickstart.md works on short spans (the full year is skipped)."""
    import shlex

    files, commands, python = _quickstart_parts()
    assert {"week.yaml", "loop40.yaml"} <= set(files)
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    skip = ("dctwin run --out", "dctwin serve")
    ran = 0
    for cmd in commands:
        args = shlex.split(cmd)
        if cmd.startswith(skip) or args == ["dctwin", "run"] or "borlange-2027" in args or "my-site.yaml" in args:
            continue  # a full year, a server, or a placeholder file
        done = subprocess.run([sys.executable, "-m", "dctwin", *args[1:]], cwd=tmp_path, capture_output=True,
                              text=True, timeout=600, env={**os.environ, "COLUMNS": "200"}, check=False)
        assert done.returncode == 0, f"{cmd}\n{done.stdout}\n{done.stderr}"
        ran += 1
    assert ran >= 8
    monkeypatch.chdir(tmp_path)
    exec(compile(python, "docs/quickstart.md", "exec"), {})  # noqa: S102 - the doc's own example code


def test_no_description_of_a_name_a_run_no_longer_writes(glossary, run_names):
    names, _ = run_names
    written = {n for ns in names.values() for n in ns} | {f"{n}@{s}" for s, ns in names.items() for n in ns}
    stale = sorted(k for k, f in glossary.schema().items() if k not in written and not f.optional)
    assert stale == [], "remove these from src/dctwin/results/schema.yaml (or mark them optional: true)"
