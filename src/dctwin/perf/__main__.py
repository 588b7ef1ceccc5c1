"""Print the calibration report: ``python -m dctwin.perf``."""

from dctwin.perf.reference import calibration_report, fit_constants, format_report

print(format_report(calibration_report()))
print("\nconstants a fresh fit gives:", {k: round(v, 4) for k, v in fit_constants().items()})
