"""Regenerate the generated docs: the scenario reference and its JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

from dctwin.config.schema import scenario_json_schema, scenario_reference_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    (DOCS / "scenario-reference.md").write_text(scenario_reference_markdown() + "\n", encoding="utf-8")
    (DOCS / "scenario.schema.json").write_text(json.dumps(scenario_json_schema(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {DOCS / 'scenario-reference.md'} and {DOCS / 'scenario.schema.json'}")


if __name__ == "__main__":
    main()
