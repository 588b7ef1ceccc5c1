"""``python -m dctwin.validate [--all] [--case ID ...] [--markdown FILE]``: the same as ``dctwin validate``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dctwin.errors import InputError
from dctwin.validate.report import validate_command


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dctwin.validate", description=__doc__)
    p.add_argument("--all", action="store_true", help="include the slow cases")
    p.add_argument("--case", action="append", default=None, help="run only this case id (repeatable)")
    p.add_argument("--markdown", type=Path, default=None, help="also write the table as Markdown here")
    p.add_argument("--force", action="store_true", help="replace the Markdown file if it exists")
    a = p.parse_args(argv)
    try:
        return validate_command(fast_only=not a.all, case_ids=a.case, markdown_out=a.markdown, replace=a.force)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
