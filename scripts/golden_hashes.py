"""Record or check the SHA-256 of every packaged scenario's Parquet tables.

A pure refactor must leave these bytes unchanged. After an *intended* model change, re-record:

    python scripts/golden_hashes.py --record            # short spans, the ones tests/test_golden.py checks
    python scripts/golden_hashes.py --record --full     # full years (slow: the 600 MW campus takes ~1 min)

and say in the commit message which model change moved which hashes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
SHORT_FILE = HERE / "tests" / "data" / "golden_hashes_short.json"
FULL_FILE = HERE / "tests" / "data" / "golden_hashes_full.json"
SHORT_DAYS = 14.0


def scenario_for(name: str, days: float | None):
    """The packaged scenario ``name``, its span cut to ``days`` when given."""
    from dctwin.config import load_scenario
    from dctwin.config.load import scenario_from_dict

    scenario = load_scenario(name)
    if days is None:
        return scenario
    data = scenario.model_dump(mode="json")
    data["simulation"]["duration_days"] = days
    return scenario_from_dict(data, source=f"{name} ({days} days)")


def table_hashes(tables: dict) -> dict[str, str]:
    """SHA-256 of each table written exactly as a run directory writes it."""
    from dctwin.results.run_dir import write_table

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key in sorted(tables):
            path = Path(tmp) / f"{key}.parquet"
            write_table(tables[key], path)
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def kpi_hash(kpis: dict) -> str:
    text = json.dumps(kpis, indent=2, sort_keys=True, allow_nan=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def scenario_hashes(name: str, days: float | None) -> dict[str, str]:
    from dctwin.orchestrator import simulate

    result = simulate(scenario_for(name, days))
    return {**table_hashes(result.tables), "kpis.json": kpi_hash(result.kpis)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--record", action="store_true", help="write the hashes instead of checking them")
    parser.add_argument("--full", action="store_true", help="full spans instead of the short test spans")
    parser.add_argument("names", nargs="*", help="scenarios (default: every packaged one)")
    args = parser.parse_args(argv)
    from dctwin.config.load import packaged_scenarios

    file, days = (FULL_FILE, None) if args.full else (SHORT_FILE, SHORT_DAYS)
    known = json.loads(file.read_text()) if file.exists() else {"scenarios": {}}
    names = args.names or packaged_scenarios()
    bad = 0
    for name in names:
        got = scenario_hashes(name, days)
        if args.record:
            known["scenarios"][name] = got
            print(f"recorded {name}")
            continue
        want = known["scenarios"].get(name, {})
        diff = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
        bad += bool(diff)
        print(f"{name}: {'ok' if not diff else 'CHANGED ' + ', '.join(diff)}")
    if args.record:
        known["span_days"] = days if days is not None else "scenario's own span"
        file.write_text(json.dumps(known, indent=1, sort_keys=True) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
