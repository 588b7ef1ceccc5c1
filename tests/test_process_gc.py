"""A dctwin command's collector settings (dctwin.process): a finished command leaves the objects still alive to
reference counting, not to the shutdown's full collections, on success and on an error exit alike; a run
freezes what its imports made and collects young objects less often, with the same results."""

from __future__ import annotations

import subprocess
import sys

import pytest

CODE = """
import gc, sys
sys.argv = ['dctwin', *sys.argv[1:]]
from dctwin.cli import main
before = gc.get_freeze_count()
try:
    main()
except SystemExit as exc:
    print('EXIT', exc.code, 'FROZEN', before == 0 and gc.get_freeze_count() > 0, file=sys.stderr)
"""


@pytest.mark.parametrize(("args", "code"), [(["--help"], 0), (["scenario", "show", "no-such-scenario"], 2)])
def test_the_command_freezes_the_live_objects_when_it_ends(args, code):
    done = subprocess.run([sys.executable, "-c", CODE, *args], capture_output=True, text=True, timeout=120)
    assert f"EXIT {code} FROZEN True" in done.stderr, done.stderr[-800:]


def test_settle_after_imports_freezes_and_raises_only_the_young_threshold():
    code = ("import gc; from dctwin.process import settle_after_imports, YOUNG_COLLECTION_OBJECTS\n"
            "before = gc.get_threshold(); settle_after_imports(); after = gc.get_threshold()\n"
            "print(gc.get_freeze_count() > 0, after == (YOUNG_COLLECTION_OBJECTS, *before[1:]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["True", "True"], done.stderr[-800:]
