"""One way of reading dctwin's sourced YAML data files.

Every published number in a data file is ``{value: X, source: KEY}``
(optionally with ``note`` and ``unit``), and KEY names an entry of the file's
``sources`` mapping (key: full title + URL). The loaders of the catalog, the
facility, the performance model, the site, the planner and the cost norms
all read their files through these helpers, so a bad file gives the same
kind of ``InputError`` (file, field, value, allowed) wherever it is read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml

from dctwin.errors import InputError

__all__ = ["ENTRY_KEYS", "is_sourced", "load_yaml_text", "read_data_yaml", "read_sources", "sourced_value",
           "unwrap_sourced"]

ENTRY_KEYS = ("value", "source", "note", "unit", "range")  # range: [low, high] a value may take
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~10x faster, same safety

Shape = Literal["number", "numbers", "any"]


def load_yaml_text(text: str) -> Any:
    """Safe-load YAML text (libyaml's parser when installed; the same objects as ``yaml.safe_load``)."""
    return yaml.load(text, Loader=_YAML_LOADER)


def read_data_yaml(path: str | Path, what: str = "data file") -> dict[str, Any]:
    """Safe-load one UTF-8 YAML file that must hold a mapping.

    ``what`` names the file in messages ('catalog file', 'models file').
    Raises ``InputError`` naming the file when it cannot be read, is not
    UTF-8, is not valid YAML or is not a mapping.
    """
    file = str(path)
    try:
        doc = load_yaml_text(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read {what}: {exc}", file=file) from None
    if not isinstance(doc, dict):
        raise InputError(f"{what} must be a mapping", file=file, value=type(doc).__name__)
    return doc


def _traceable(text: str) -> bool:
    low = text.lower()
    return "http://" in low or "https://" in low or "derived" in low


def read_sources(doc: Mapping[str, Any], file: str, *, traceable: bool = False) -> dict[str, str]:
    """The file's ``sources`` mapping (key -> non-empty text), checked.

    With ``traceable`` every text must also hold a URL or say 'derived'.
    """
    sources = doc.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise InputError("data file needs a non-empty 'sources' mapping (key: full title + URL)", file=file,
                         field="sources")
    for key, text in sources.items():
        if not isinstance(text, str) or not text.strip():
            raise InputError("source text must be non-empty", file=file, field=f"sources.{key}", value=text)
        if traceable and not _traceable(text):
            raise InputError("source text must contain a URL or say 'derived'", file=file,
                             field=f"sources.{key}", value=text)
    return {str(k): v for k, v in sources.items()}


def is_sourced(node: Any) -> bool:
    """True if ``node`` looks like a ``{value, source}`` entry."""
    return isinstance(node, dict) and "value" in node and "source" in node


def _number(value: Any) -> Any:
    """``value`` as a number if it is one; YAML 1.1 reads '4.0e6' (no exponent sign) as text."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def sourced_value(entry: Any, where: str, sources: Mapping[str, str], file: str, *, positive: bool = False,
                  allow_null: bool = False, shape: Shape = "number",
                  with_note: bool = True) -> tuple[Any, str]:
    """Check one ``{value, source, note, unit}`` entry; return ``(value, source text)``.

    ``shape`` is what the value may be: 'number' (one finite number),
    'numbers' (a finite number or a list of them) or 'any' (not checked).
    ``positive`` requires every number > 0; ``allow_null`` lets the value be
    null (returned as None). The text is the source's, followed by
    ' | note: ...' when the entry has a note and ``with_note``. A source that
    says 'derived' needs a note saying how. Numbers come back as written
    (int stays int, list stays list); text such as '4.0e6' becomes a float.
    """
    if not is_sourced(entry):
        raise InputError("each number needs {value: ..., source: KEY}", file=file, field=where, value=entry)
    extra = set(entry) - set(ENTRY_KEYS)
    if extra:
        raise InputError("unknown key in a sourced number", file=file, field=where, value=sorted(extra),
                         allowed=", ".join(ENTRY_KEYS))
    key = entry["source"]
    if not isinstance(key, str) or key not in sources:
        raise InputError("source key not in the file's 'sources'", file=file, field=f"{where}.source", value=key,
                         allowed=", ".join(sources))
    value = entry["value"]
    if shape != "any" and not (value is None and allow_null):
        value = _check_numbers(value, f"{where}.value", file, positive=positive, many=shape == "numbers")
    elif value is None and not allow_null:
        raise InputError("value may not be null", file=file, field=f"{where}.value")
    if "range" in entry:
        _check_range(entry["range"], value, f"{where}.range", file)
    note = entry.get("note")
    if note is not None and not isinstance(note, str):
        raise InputError("note must be text", file=file, field=f"{where}.note", value=note)
    text = sources[key]
    if "derived" in text.lower() and not (note or "").strip():
        raise InputError("a derived value needs a note saying how it was derived", file=file,
                         field=f"{where}.note")
    return value, (f"{text} | note: {note}" if note and with_note else text)


def _check_range(rng: Any, value: Any, where: str, file: str) -> None:
    """A ``[low, high]`` pair of finite numbers that holds ``value`` (when it is one number)."""
    lo_hi = [_number(v) for v in rng] if isinstance(rng, list) else None
    if lo_hi is None or len(lo_hi) != 2 or not all(_is_finite_number(v) for v in lo_hi) or lo_hi[0] > lo_hi[1]:
        raise InputError("range must be [low, high], two finite numbers, low <= high", file=file, field=where,
                         value=rng)
    if _is_finite_number(value) and not lo_hi[0] <= value <= lo_hi[1]:
        raise InputError("value lies outside its range", file=file, field=where, value=value,
                         allowed=f"{lo_hi[0]} to {lo_hi[1]}")


def _check_numbers(value: Any, where: str, file: str, *, positive: bool, many: bool) -> Any:
    rule = "a positive number" if positive else "a finite number"
    if many and isinstance(value, list):
        items = [_number(v) for v in value]
        if not items or not all(_is_finite_number(v) and (v > 0 or not positive) for v in items):
            raise InputError(f"list values must each be {rule}", file=file, field=where, value=value)
        return items
    value = _number(value)
    if not _is_finite_number(value) or (positive and value <= 0):
        raise InputError(f"value must be {rule}", file=file, field=where, value=value,
                         allowed="a number or a list of numbers" if many else None)
    return value


def unwrap_sourced(node: Any, where: str, sources: Mapping[str, str], file: str) -> Any:
    """A tree of mappings whose leaves are sourced entries, with each leaf replaced by its value.

    Numbers come back as floats, lists of numbers as tuples of floats, and a
    list that is not an entry (a keyword list) as a list of text.
    """
    if is_sourced(node):
        value, _ = sourced_value(node, where, sources, file, shape="numbers")
        return tuple(float(v) for v in value) if isinstance(value, list) else float(value)
    if isinstance(node, dict):
        return {k: unwrap_sourced(v, f"{where}.{k}" if where else str(k), sources, file) for k, v in node.items()}
    if isinstance(node, list):
        return [str(v) for v in node]  # keyword lists
    raise InputError("each number needs {value: ..., source: KEY}", file=file, field=where, value=node)
