"""The shared reader of sourced YAML data files (dctwin.datafile)."""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import pytest
import yaml

from dctwin.datafile import is_sourced, read_data_yaml, read_sources, sourced_value, unwrap_sourced
from dctwin.errors import InputError

SOURCES = {"nv": "NVIDIA, 'Vera Rubin NVL72', https://www.nvidia.com/en-us/data-center/vera-rubin-nvl72/",
           "calc": "dctwin: derived from the other values"}
FILE = "some/file.yaml"

GOOD = """\
sources:
  nv: "NVIDIA, 'Vera Rubin NVL72', https://www.nvidia.com/en-us/data-center/vera-rubin-nvl72/"
  calc: "dctwin: derived from the other values"
values:
  gpu_max_w: {value: 1800, source: nv, note: "per GPU"}
  capex: {value: 11.7e6, unit: USD, source: nv}
  curve: {value: [0.5, 0.75, 1.0], source: nv}
  area: {value: 2.5, source: calc, note: "1.6 m x 1.5 m"}
"""


def _write(tmp_path: Path, text: str | bytes, name: str = "data.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_good_file_reads_and_every_value_comes_back_with_its_source(tmp_path):
    path = _write(tmp_path, GOOD)
    doc = read_data_yaml(path, "test file")
    sources = read_sources(doc, str(path), traceable=True)
    assert sources == SOURCES
    got = {k: sourced_value(e, f"values.{k}", sources, str(path), shape="numbers") for k, e in doc["values"].items()}
    assert got["gpu_max_w"] == (1800, SOURCES["nv"] + " | note: per GPU")
    assert got["capex"][0] == pytest.approx(11.7e6)  # YAML 1.1 reads '11.7e6' as text; it comes back a number
    assert isinstance(got["capex"][0], float)
    assert got["curve"] == ([0.5, 0.75, 1.0], SOURCES["nv"])
    assert got["area"][1].endswith("note: 1.6 m x 1.5 m")
    value, text = sourced_value(doc["values"]["gpu_max_w"], "x", sources, FILE, with_note=False)
    assert (value, text) == (1800, SOURCES["nv"])


BAD_ENTRIES = [
    ("missing source", {"value": 1.0}, "values.x", "source: KEY"),
    ("bare number", 1.0, "values.x", "source: KEY"),
    ("unknown source key", {"value": 1.0, "source": "blog"}, "values.x.source", "source key"),
    ("unknown entry key", {"value": 1.0, "source": "nv", "remark": "?"}, "values.x", "unknown key"),
    ("non-number", {"value": "lots", "source": "nv"}, "values.x.value", "finite number"),
    ("bool", {"value": True, "source": "nv"}, "values.x.value", "finite number"),
    ("NaN", {"value": math.nan, "source": "nv"}, "values.x.value", "finite number"),
    ("infinity", {"value": math.inf, "source": "nv"}, "values.x.value", "finite number"),
    ("NaN as text", {"value": "nan", "source": "nv"}, "values.x.value", "finite number"),
    ("null", {"value": None, "source": "nv"}, "values.x.value", "finite number"),
    ("list where one number", {"value": [1.0, 2.0], "source": "nv"}, "values.x.value", "finite number"),
    ("note not text", {"value": 1.0, "source": "nv", "note": 3}, "values.x.note", "note"),
    ("derived without note", {"value": 1.0, "source": "calc"}, "values.x.note", "derived"),
]


@pytest.mark.parametrize("case, entry, field, fragment", BAD_ENTRIES, ids=[b[0] for b in BAD_ENTRIES])
def test_bad_entry_names_file_field_and_problem(case, entry, field, fragment):
    with pytest.raises(InputError) as err:
        sourced_value(entry, "values.x", SOURCES, FILE)
    assert err.value.file == FILE and err.value.field == field, f"{case}: {err.value}"
    assert fragment in str(err.value) and FILE in str(err.value) and field in str(err.value)


def test_unknown_source_key_lists_the_allowed_keys():
    with pytest.raises(InputError) as err:
        sourced_value({"value": 1, "source": "blog"}, "x", SOURCES, FILE)
    assert err.value.value == "blog" and err.value.allowed == "nv, calc"


def test_options_positive_null_and_shape():
    entry = {"value": 0, "source": "nv"}
    assert sourced_value(entry, "x", SOURCES, FILE)[0] == 0
    with pytest.raises(InputError, match="positive"):
        sourced_value(entry, "x", SOURCES, FILE, positive=True)
    with pytest.raises(InputError, match="positive"):
        sourced_value({"value": [1.0, -2.0], "source": "nv"}, "x", SOURCES, FILE, positive=True, shape="numbers")
    with pytest.raises(InputError, match="list values"):
        sourced_value({"value": [1.0, "a"], "source": "nv"}, "x", SOURCES, FILE, shape="numbers")
    assert sourced_value({"value": None, "source": "nv"}, "x", SOURCES, FILE, allow_null=True)[0] is None
    with pytest.raises(InputError, match="null"):
        sourced_value({"value": None, "source": "nv"}, "x", SOURCES, FILE, shape="any")
    anything = {"N": 0.85, "2N": 1.3}
    assert sourced_value({"value": anything, "source": "nv"}, "x", SOURCES, FILE, shape="any")[0] == anything


def test_unreadable_files_name_the_file(tmp_path):
    cases = {
        "not UTF-8": _write(tmp_path, "sources: {a: 'caf\xe9'}\n".encode("latin-1"), "latin1.yaml"),
        "broken YAML": _write(tmp_path, "values: [unclosed\n", "broken.yaml"),
        "missing": tmp_path / "absent.yaml",
    }
    for case, path in cases.items():
        with pytest.raises(InputError, match="cannot read widget file") as err:
            read_data_yaml(path, "widget file")
        assert err.value.file == str(path), case


@pytest.mark.parametrize("text", ["- a\n- list\n", "just text\n", "", "42\n"])
def test_a_file_that_is_not_a_mapping_is_refused(tmp_path, text):
    path = _write(tmp_path, text)
    with pytest.raises(InputError, match="widget file must be a mapping") as err:
        read_data_yaml(path, "widget file")
    assert err.value.file == str(path)


def test_yaml_tags_that_build_objects_are_refused(tmp_path):
    path = _write(tmp_path, "x: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(InputError, match="cannot read"):
        read_data_yaml(path)


@pytest.mark.parametrize("sources, field, traceable", [
    (None, "sources", False),
    ({}, "sources", False),
    (["nv"], "sources", False),
    ({"nv": "  "}, "sources.nv", False),
    ({"nv": 3}, "sources.nv", False),
    ({"nv": "a book I read"}, "sources.nv", True),
])
def test_bad_sources_mapping_is_refused(sources, field, traceable):
    with pytest.raises(InputError) as err:
        read_sources({"sources": sources}, FILE, traceable=traceable)
    assert err.value.field == field and err.value.file == FILE


def test_untraceable_source_is_allowed_unless_asked():
    assert read_sources({"sources": {"a": "a book I read"}}, FILE) == {"a": "a book I read"}


def test_unwrap_sourced_turns_a_tree_into_plain_numbers():
    tree = {
        "pump": {"eff": {"value": 0.7, "source": "nv"}, "curve": {"value": [1, 2], "source": "nv"}},
        "modes": ["eco", "max"],
        "n": {"value": 3, "source": "nv"},
    }
    got = unwrap_sourced(tree, "", SOURCES, FILE)
    assert got == {"pump": {"eff": 0.7, "curve": (1.0, 2.0)}, "modes": ["eco", "max"], "n": 3.0}
    assert isinstance(got["n"], float)
    with pytest.raises(InputError) as err:
        unwrap_sourced({"pump": {"eff": 0.7}}, "", SOURCES, FILE)
    assert err.value.field == "pump.eff"
    with pytest.raises(InputError) as err:
        unwrap_sourced({"pump": {"eff": {"value": 0.7, "source": "blog"}}}, "cooling", SOURCES, FILE)
    assert err.value.field == "cooling.pump.eff.source"


def _walk(node, where, sources, file):
    if is_sourced(node):
        sourced_value(node, where, sources, file, shape="any", allow_null=True)  # null: no FP4 on Hopper
        return 1
    if isinstance(node, dict):
        return sum(_walk(v, f"{where}.{k}", sources, file) for k, v in node.items())
    if isinstance(node, list):
        return sum(_walk(v, f"{where}[{i}]", sources, file) for i, v in enumerate(node))
    return 0


def test_every_shipped_data_file_with_sources_passes_the_shared_checks():
    root = Path(str(resources.files("dctwin")))
    checked = 0
    for path in sorted(root.glob("*/data/**/*.yaml")):
        if not isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict):
            continue  # a list of cases (validate/data/cases.yaml), not a sourced-values file
        doc = read_data_yaml(path)
        if "sources" not in doc:
            continue  # fitted parameters (workload), each with its own source text
        sources = read_sources(doc, str(path))
        checked += _walk({k: v for k, v in doc.items() if k != "sources"}, "", sources, str(path))
    assert checked > 300  # catalog, facility, perf, site, plan, cost norms, failure rates
