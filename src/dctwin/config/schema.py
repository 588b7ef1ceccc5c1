"""The scenario JSON Schema and the Markdown scenario reference generated from it."""

from __future__ import annotations

from typing import Any

from dctwin.config.scenario import Scenario

__all__ = ["scenario_json_schema", "scenario_reference_markdown"]


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of a scenario file (``extends`` included)."""
    schema = Scenario.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "dctwin scenario"
    schema.setdefault("properties", {})["extends"] = {
        "type": "string",
        "description": "Base scenario (packaged name or path) whose fields this file overrides.",
    }
    return schema


def _type_of(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "enum" in prop:
        return " | ".join(repr(v) for v in prop["enum"])
    if "const" in prop:
        return repr(prop["const"])
    if "anyOf" in prop:
        return " or ".join(_type_of(p) for p in prop["anyOf"])
    if prop.get("type") == "array":
        return f"list of {_type_of(prop.get('items', {}))}"
    return str(prop.get("type", "any"))


def _bounds(prop: dict[str, Any]) -> str:
    parts = []
    for key, sym in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if key in prop:
            parts.append(f"{sym} {prop[key]}")
    return ", ".join(parts)


def scenario_reference_markdown() -> str:
    """Every section and field of a scenario: type, default, bounds, meaning."""
    schema = scenario_json_schema()
    defs = schema.get("$defs", {})
    lines = [
        "# Scenario reference",
        "",
        "Generated from the schema by `scripts/gen_docs.py`; do not edit by hand.",
        "Run `dctwin scenario schema --out scenario.schema.json` for the JSON Schema, and",
        "`dctwin scenario show` for the default scenario with every value filled in.",
        "",
    ]

    def section(title: str, node: dict[str, Any]) -> None:
        lines.extend([f"## {title}", "", node.get("description", "").strip(), "",
                      "| field | type | default | allowed | meaning |", "|---|---|---|---|---|"])
        required = set(node.get("required", []))
        for name, prop in node.get("properties", {}).items():
            default = "required" if name in required else repr(prop.get("default", ""))
            desc = prop.get("description", "").replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{name}` | {_type_of(prop)} | {default} | {_bounds(prop)} | {desc} |")
        lines.append("")

    section("Scenario (top level)", schema)
    for name in sorted(defs):
        section(name, defs[name])
    return "\n".join(lines)
