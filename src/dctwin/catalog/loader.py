"""Read the hardware catalog: one YAML file per platform in ``catalog/data``.

Every number in a data file is ``{value: X, source: KEY}`` (optionally with a
``note``), and KEY names an entry of the file's ``sources`` mapping, so no
figure enters the model without its source. A source text must hold a URL or
say ``derived``; a value whose source is a derivation must say how in its
``note``. The file name is the platform id (``vr-nvl72.yaml`` -> ``vr-nvl72``).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from dctwin.catalog.platform import PART_NAMES, Platform, PowerPart
from dctwin.datafile import read_data_yaml, read_sources, sourced_value
from dctwin.errors import InputError

__all__ = ["NUMERIC_FIELDS", "get_platform", "load_catalog", "read_platform_file"]

NUMERIC_FIELDS = (
    "year", "gpus_per_unit", "cpus_per_unit", "scale_up_domain_gpus", "scale_up_bandwidth_gb_s",
    "scale_out_bandwidth_gb_s", "fp4_dense_tflops", "fp8_dense_tflops", "bf16_dense_tflops", "hbm_gb",
    "hbm_bandwidth_tb_s", "gpu_idle_w", "gpu_max_w", "unit_idle_kw", "unit_max_kw", "liquid_cooled_fraction",
    "coolant_inlet_temp_c", "price_usd",
)
_INT_FIELDS = {"year", "gpus_per_unit", "cpus_per_unit", "scale_up_domain_gpus"}
_OPTIONAL = {"fp4_dense_tflops"}          # may be null (no FP4 on Hopper)
_TEXT_FIELDS = ("id", "name", "kind", "gpu_name")
_KINDS = ("server", "rack")
_PART_NUMBERS = ("count", "idle_w", "max_w")


def _sourced(entry: Any, where: str, sources: dict[str, str], file: str) -> tuple[float | None, str]:
    """Check one ``{value, source, note}`` entry; return the value (None allowed) and 'source text | note: ...'."""
    return sourced_value(entry, where, sources, file, allow_null=True)


def _read_parts(doc: dict, sources: dict[str, str], file: str) -> tuple[list[PowerPart], dict[str, str]]:
    raw = doc.get("parts")
    if not isinstance(raw, list):
        raise InputError("'parts' must be a list of power-drawing parts", file=file, field="parts",
                         allowed=", ".join(PART_NAMES))
    parts: list[PowerPart] = []
    cited: dict[str, str] = {}
    for i, part in enumerate(raw):
        where = f"parts[{i}]"
        if not isinstance(part, dict) or "name" not in part:
            raise InputError("each part needs a name", file=file, field=where, value=part,
                             allowed=", ".join(PART_NAMES))
        name = part["name"]
        if name not in PART_NAMES:
            raise InputError("unknown part name", file=file, field=f"{where}.name", value=name,
                             allowed=", ".join(PART_NAMES))
        if any(p.name == name for p in parts):
            raise InputError("part listed twice", file=file, field=f"{where}.name", value=name)
        got: dict[str, float] = {}
        texts: list[str] = []
        for key in _PART_NUMBERS:
            if key not in part:
                raise InputError("missing field", file=file, field=f"{where}.{key}")
            v, src = _sourced(part[key], f"{where}.{key}", sources, file)
            if v is None or v < 0:
                raise InputError("must be a number >= 0", file=file, field=f"{where}.{key}.value", value=v)
            got[key] = v
            texts.append(f"{key}: {src}")
        if got["count"] != int(got["count"]):
            raise InputError("count must be a whole number", file=file, field=f"{where}.count.value",
                             value=got["count"])
        if got["idle_w"] > got["max_w"]:
            raise InputError("idle_w may not exceed max_w", file=file, field=f"{where}.idle_w.value",
                             value=got["idle_w"], allowed=f"<= {got['max_w']}")
        parts.append(PowerPart(name=name, count=int(got["count"]), idle_w=float(got["idle_w"]),
                               max_w=float(got["max_w"]), description=str(part.get("description", ""))))
        cited[f"parts.{name}"] = " || ".join(texts)
    missing = [n for n in PART_NAMES if n not in {p.name for p in parts}]
    if missing:
        raise InputError("every part family must be listed (use count 0 if absent)", file=file, field="parts",
                         value=missing, allowed=", ".join(PART_NAMES))
    return parts, cited


def _check_ranges(values: dict[str, Any], file: str) -> None:
    def bad(name: str, rule: str) -> InputError:
        return InputError(rule, file=file, field=f"values.{name}.value", value=values[name])

    for name, v in values.items():
        if v is not None and v < 0:
            raise bad(name, "must be >= 0")
    for name in ("gpus_per_unit", "scale_up_domain_gpus", "gpu_max_w", "unit_max_kw", "fp8_dense_tflops"):
        if values[name] <= 0:
            raise bad(name, "must be > 0")
    if not 0.0 <= values["liquid_cooled_fraction"] <= 1.0:
        raise bad("liquid_cooled_fraction", "must be a share between 0 and 1")
    if values["gpu_idle_w"] > values["gpu_max_w"]:
        raise bad("gpu_idle_w", "idle may not exceed gpu_max_w")
    if values["unit_idle_kw"] > values["unit_max_kw"]:
        raise bad("unit_idle_kw", "idle may not exceed unit_max_kw")


def read_platform_file(path: Path) -> Platform:
    """Parse one catalog data file into a Platform, checking every number's source.

    Raises ``InputError`` naming the file and the field for anything missing,
    unsourced, non-numeric or out of range.
    """
    path = Path(path)
    file = str(path)
    doc = read_data_yaml(path, "catalog file")
    for name in _TEXT_FIELDS:
        if not isinstance(doc.get(name), str) or not doc[name].strip():
            raise InputError("missing text field", file=file, field=name)
    if doc["id"] != path.stem:
        raise InputError("id must equal the file name", file=file, field="id", value=doc["id"],
                         allowed=path.stem)
    if doc["kind"] not in _KINDS:
        raise InputError("unknown kind", file=file, field="kind", value=doc["kind"], allowed=", ".join(_KINDS))
    aliases = doc.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise InputError("aliases must be a list of ids", file=file, field="aliases", value=aliases)
    sources = read_sources(doc, file, traceable=True)
    raw_values = doc.get("values")
    if not isinstance(raw_values, dict):
        raise InputError("catalog file needs a 'values' mapping", file=file, field="values")
    unknown = set(raw_values) - set(NUMERIC_FIELDS)
    if unknown:
        raise InputError("unknown field", file=file, field=f"values.{min(unknown)}",
                         allowed=", ".join(NUMERIC_FIELDS))
    values: dict[str, Any] = {}
    cited: dict[str, str] = {}
    for name in NUMERIC_FIELDS:
        if name not in raw_values:
            raise InputError("missing field", file=file, field=f"values.{name}")
        v, src = _sourced(raw_values[name], f"values.{name}", sources, file)
        if v is None and name not in _OPTIONAL:
            raise InputError("value may not be null", file=file, field=f"values.{name}.value")
        if name in _INT_FIELDS and v != int(v):
            raise InputError("must be a whole number", file=file, field=f"values.{name}.value", value=v)
        values[name] = int(v) if name in _INT_FIELDS else (None if v is None else float(v))
        cited[name] = src
    _check_ranges(values, file)
    parts, part_sources = _read_parts(doc, sources, file)
    cited.update(part_sources)
    return Platform(
        id=doc["id"], name=doc["name"], kind=doc["kind"], gpu_name=doc["gpu_name"],
        aliases=tuple(aliases), parts=tuple(parts), sources=cited, **values,
    )


@lru_cache(maxsize=1)
def load_catalog() -> dict[str, Platform]:
    """All platforms shipped with the package, by id (aliases map to the same object). Cached."""
    root = resources.files("dctwin.catalog") / "data"
    catalog: dict[str, Platform] = {}
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            platform = read_platform_file(Path(str(entry)))
            for key in (platform.id, *platform.aliases):
                if key in catalog:
                    raise InputError("id or alias used by two catalog files", file=str(entry), field="aliases",
                                     value=key)
                catalog[key] = platform
    return catalog


def get_platform(platform_id: str) -> Platform:
    """The platform with this id or alias; an unknown id lists the valid ones."""
    catalog = load_catalog()
    if platform_id not in catalog:
        raise InputError("unknown catalog id", field="platform", value=platform_id,
                         allowed=", ".join(sorted(catalog)))
    return catalog[platform_id]
