"""Read the hardware catalog: one YAML file per platform in ``catalog/data``.

Every number in a data file is ``{value: X, source: KEY}`` (optionally with a
``note``), and KEY names an entry of the file's ``sources`` mapping, so no
figure enters the model without its source.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from dctwin.catalog.platform import Platform, PowerPart
from dctwin.errors import InputError

__all__ = ["load_catalog", "read_platform_file", "get_platform", "NUMERIC_FIELDS"]

NUMERIC_FIELDS = (
    "year", "gpus_per_unit", "cpus_per_unit", "scale_up_domain_gpus", "scale_up_bandwidth_gb_s",
    "scale_out_bandwidth_gb_s", "fp4_dense_tflops", "fp8_dense_tflops", "bf16_dense_tflops", "hbm_gb",
    "hbm_bandwidth_tb_s", "gpu_idle_w", "gpu_max_w", "unit_idle_kw", "unit_max_kw", "liquid_cooled_fraction",
    "coolant_inlet_temp_c", "price_usd",
)
_INT_FIELDS = {"year", "gpus_per_unit", "cpus_per_unit", "scale_up_domain_gpus"}
_OPTIONAL = {"fp4_dense_tflops"}


def _sourced(entry: Any, where: str, sources: dict[str, str], file: str) -> tuple[float | None, str]:
    if not isinstance(entry, dict) or "value" not in entry or "source" not in entry:
        raise InputError("each number needs {value: ..., source: KEY}", file=file, field=where, value=entry)
    key = entry["source"]
    if key not in sources:
        raise InputError("source key not in the file's 'sources'", file=file, field=f"{where}.source", value=key,
                         allowed=", ".join(sources))
    value = entry["value"]
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise InputError("value must be a number", file=file, field=f"{where}.value", value=value)
    return value, sources[key]


def read_platform_file(path: Path) -> Platform:
    """Parse one catalog data file into a Platform, checking every number's source."""
    file = str(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read catalog file: {exc}", file=file) from None
    if not isinstance(doc, dict):
        raise InputError("catalog file must be a mapping", file=file)
    sources = doc.get("sources") or {}
    values: dict[str, Any] = {}
    cited: dict[str, str] = {}
    for name in NUMERIC_FIELDS:
        if name not in doc.get("values", {}):
            raise InputError("missing field", file=file, field=f"values.{name}")
        v, src = _sourced(doc["values"][name], f"values.{name}", sources, file)
        if v is None and name not in _OPTIONAL:
            raise InputError("value may not be null", file=file, field=f"values.{name}.value")
        values[name] = int(v) if name in _INT_FIELDS and v is not None else (None if v is None else float(v))
        cited[name] = src
    parts = []
    for i, part in enumerate(doc.get("parts", [])):
        where = f"parts[{i}]"
        count, _ = _sourced(part.get("count"), f"{where}.count", sources, file)
        idle, src_idle = _sourced(part.get("idle_w"), f"{where}.idle_w", sources, file)
        peak, src_max = _sourced(part.get("max_w"), f"{where}.max_w", sources, file)
        parts.append(PowerPart(name=str(part["name"]), count=int(count), idle_w=float(idle), max_w=float(peak)))
        cited[f"parts.{part['name']}"] = f"{src_idle} | {src_max}"
    return Platform(
        id=str(doc["id"]), name=str(doc["name"]), kind=str(doc["kind"]), gpu_name=str(doc["gpu_name"]),
        aliases=tuple(doc.get("aliases", ())), parts=tuple(parts), sources=cited, **values,
    )


@lru_cache(maxsize=1)
def load_catalog() -> dict[str, Platform]:
    """All platforms shipped with the package, by id (aliases map to the same object)."""
    root = resources.files("dctwin.catalog") / "data"
    catalog: dict[str, Platform] = {}
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            platform = read_platform_file(Path(str(entry)))
            for key in (platform.id, *platform.aliases):
                catalog[key] = platform
    return catalog


def get_platform(platform_id: str) -> Platform:
    """The platform with this id or alias; an unknown id lists the valid ones."""
    catalog = load_catalog()
    if platform_id not in catalog:
        raise InputError("unknown catalog id", field="platform", value=platform_id,
                         allowed=", ".join(sorted(catalog)))
    return catalog[platform_id]
