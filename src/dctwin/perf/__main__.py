"""Print the calibration report: ``python -m dctwin.perf`` (also ``dctwin perf calibration``)."""

from dctwin.perf.reference import calibration_text

print(calibration_text())
