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
from dctwin.safeio import read_input, read_once

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
    from dctwin.telemetry.readers import MAX_FILE_BYTES, read_telemetry_file

    tmap = mapping if isinstance(mapping, TelemetryMap) else read_mapping(mapping)
    raws, sources = [], []
    with read_once():  # each file opened once: its SHA-256 is of the bytes parsed
        for path in paths:
            raws.extend(read_telemetry_file(path, naive_timezone=tmap.naive_timezone, epoch_unit=tmap.epoch_unit))
            src = read_input(path, MAX_FILE_BYTES, what="telemetry file")
            sources.append({"file": str(Path(path)), "sha256": src.sha256, "bytes": len(src.data)})
    return align(raws, tmap, tuple(sources))
