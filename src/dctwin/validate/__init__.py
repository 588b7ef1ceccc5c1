"""dctwin.validate: built-in validation cases (published figure, source, tolerance) and ``dctwin validate``."""

from dctwin.validate import measures  # noqa: F401  (registers the measures)
from dctwin.validate.cases import MEASURES, Case, CaseResult, load_cases, measure, run_case
from dctwin.validate.report import markdown_table, run_cases, select_cases, validate_command

__all__ = ["MEASURES", "Case", "CaseResult", "load_cases", "markdown_table", "measure", "run_case", "run_cases",
           "select_cases", "validate_command"]
