"""DuckDB connections as marketwire opens them: without DuckDB's terminal progress bar, which it prints on standard
output for any query over two seconds (into a command's JSON or CSV output, or a server's log). Long work shows the
platform's own progress on standard error instead. Every DuckDB connection in the package is opened here; importing
this module does not import DuckDB."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb


def connect(database: str = ":memory:", *, read_only: bool = False,
            config: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` with the progress bar off (and ``config`` added)."""
    import duckdb

    con = duckdb.connect(database, read_only=read_only, config=config or {})
    con.execute("SET enable_progress_bar = false")  # a session setting (cursors of ``con`` share it)
    return con
