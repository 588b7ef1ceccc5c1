"""Results people look at: the run report, comparisons, SQL queries and progress bars.

Public API::

    write_report(run_dir, png=False) -> Path # report.html (+ figures/*.png) in the run dir
    write_comparison(run_dirs, out) -> Path  # one HTML file comparing runs
    query(run_dir, sql) -> pandas.DataFrame  # DuckDB over the run's Parquet tables
    connect(run_dir) -> duckdb connection    # for notebooks
    load_run(run_dir) -> RunData             # manifest, KPIs and tables, tolerant of gaps
"""

from dctwin.lazy import lazy_exports

__getattr__ = lazy_exports(__name__, {
    **dict.fromkeys(("comparison_html", "report_html", "write_comparison", "write_report"), "dctwin.report.build"),
    **dict.fromkeys(("Missing", "RunData", "load_run"), "dctwin.report.data"),
    **dict.fromkeys(("connect", "query", "tables"), "dctwin.report.query"),
})

__all__ = [
           "Missing",
           "RunData",
           "comparison_html",
           "connect",
           "load_run",
           "query",
           "report_html",
           "tables",
           "write_comparison",
           "write_report",
]
