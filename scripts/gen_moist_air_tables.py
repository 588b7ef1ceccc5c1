"""Write src/dctwin/facility/data/moist_air_tables.npz: psychrolib evaluated on the moist-air grid.

A run loads these tables instead of calling psychrolib some 11,000 times at start-up;
tests/test_facility_moist_air_tables.py checks that the shipped file equals a fresh computation.
    .venv/bin/python scripts/gen_moist_air_tables.py
"""

from __future__ import annotations

import numpy as np

from dctwin.facility.moist_air import SHIPPED_TABLES, compute_tables

if __name__ == "__main__":
    np.savez_compressed(SHIPPED_TABLES, **compute_tables())
    print(f"wrote {SHIPPED_TABLES}")
