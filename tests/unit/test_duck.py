"""Every DuckDB connection the package opens has DuckDB's terminal progress bar off: DuckDB prints it on standard
output for a query over two seconds, into a command's JSON or CSV (a loaded machine made an ESG ingest's
``--format json`` unparseable that way)."""

from __future__ import annotations

import ast
from pathlib import Path

from marketwire.store import duck

SRC = Path(__file__).resolve().parents[2] / "src" / "marketwire"


def test_connections_have_the_progress_bar_off(tmp_path: Path) -> None:
    for con in (duck.connect(), duck.connect(str(tmp_path / "x.duckdb"), config={"threads": 1})):
        try:
            assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone() == (False,)
            assert con.cursor().execute("SELECT current_setting('enable_progress_bar')").fetchone() == (False,)
        finally:
            con.close()


def test_no_module_connects_to_duckdb_but_through_store_duck() -> None:
    direct = []
    for path in SRC.rglob("*.py"):
        if path == SRC / "store" / "duck.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Attribute) and node.attr in ("connect", "sql", "query", "execute")
                    and isinstance(node.value, ast.Name) and node.value.id == "duckdb"):
                direct.append(f"{path.relative_to(SRC)}:{node.lineno}: duckdb.{node.attr}")
    assert not direct, "open DuckDB through marketwire.store.duck.connect:\n" + "\n".join(direct)
