"""The operating twin: measured telemetry in, replayed against the model, calibrated, watched for drift.

``read_telemetry`` reads files as operators export them and aligns them with a
mapping file; ``dctwin.telemetry.replay`` drives the facility model with the
measured IT power and weather; ``dctwin.telemetry.calibrate`` fits facility
parameters to the measurements; ``dctwin.telemetry.drift`` flags where the site
departs from the calibrated model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dctwin.lazy import lazy_exports
from dctwin.safeio import file_sha256

if TYPE_CHECKING:
    from dctwin.telemetry.align import Telemetry
    from dctwin.telemetry.mapping import TelemetryMap

__getattr__ = lazy_exports(__name__, {"Telemetry": "dctwin.telemetry.align", "TelemetryMap": "dctwin.telemetry.mapping",
                                      "read_mapping": "dctwin.telemetry.mapping"})

__all__ = ["Telemetry", "TelemetryMap", "read_mapping", "read_telemetry"]



def read_telemetry(paths: list[str | Path], mapping: TelemetryMap | str | Path) -> Telemetry:
    """Read every file in ``paths`` and align the mapped series onto the mapping's grid."""
    from dctwin.telemetry.align import align
    from dctwin.telemetry.mapping import TelemetryMap, read_mapping
    from dctwin.telemetry.readers import read_telemetry_file

    tmap = mapping if isinstance(mapping, TelemetryMap) else read_mapping(mapping)
    raws, sources = [], []
    for path in paths:
        raws.extend(read_telemetry_file(path, naive_timezone=tmap.naive_timezone, epoch_unit=tmap.epoch_unit))
        p = Path(path)
        sources.append({"file": str(p), "sha256": file_sha256(p), "bytes": p.stat().st_size})
    return align(raws, tmap, tuple(sources))
