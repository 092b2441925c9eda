"""The quarantine stage: every record a rule or a source refused, kept with the rule, the field, the raw value, the
file, the line and the raw record. Nothing refused is dropped; a refusal seen again (same source, dataset, record
and rule) is not stored twice."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import polars as pl

from marketwire.datasets.reference import QUARANTINE
from marketwire.errors import InvalidInput
from marketwire.sources.base import Refusal
from marketwire.store.lake import arrow_of

COLUMNS = {"dataset": pl.Utf8, "rule": pl.Utf8, "field": pl.Utf8, "value": pl.Utf8, "raw": pl.Utf8,
           "message": pl.Utf8, "file": pl.Utf8, "line": pl.Int64, "source": pl.Utf8, "record_hash": pl.Utf8}


def raw_text(raw: Any) -> str:
    return raw if isinstance(raw, str) else json.dumps(raw, default=str, ensure_ascii=False, sort_keys=True)


def refusals_frame(refusals: Iterable[Refusal], source: str | None = None) -> pl.DataFrame:
    """Refusals as quarantine rows (``source``: of the refusals that name none)."""
    rows = [{"dataset": r.dataset, "rule": r.rule, "field": r.field, "value": None if r.value is None else str(r.value),
             "raw": raw_text(r.raw), "message": r.message, "file": r.file, "line": r.line,
             "source": getattr(r, "source", None) or source, "record_hash": r.record_hash()} for r in refusals]
    return pl.DataFrame(rows, schema=COLUMNS)


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=COLUMNS)





#: the largest page a paged read returns, and the deepest offset it accepts (REST states both in its schema)
MAX_PAGE = 1000
MAX_OFFSET = 1_000_000
_COLS = ["source", "dataset", "rule", "field", "value", "message", "file", "line", "raw", "knowledge_time",
         "ingest_id"]


def read_quarantine(lake: Any, *, source: str | None = None, rule: str | None = None, dataset: str | None = None,
                    limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
    """Quarantined records, filtered.

    Without ``limit`` and ``offset``: every match, in (source, file, line, rule) order (the whole quarantine is
    read and sorted). With either: one page, in the order the records were stored (oldest delivery first, each
    delivery as it wrote them); the filter and the limit go into the scan, which stops once the page is full,
    so a page costs the same on a 4M-row quarantine as on a small one. ``limit`` <= MAX_PAGE, ``offset`` <=
    MAX_OFFSET."""
    if limit is not None and not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"`limit`: {limit} is not between 1 and {MAX_PAGE}", param="limit", value=str(limit))
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"`offset`: {offset} is not between 0 and {MAX_OFFSET}; narrow the query with source, "
                           "rule or dataset", param="offset", value=str(offset))
    if not lake.exists(QUARANTINE):
        return []
    conds, params = [], []
    for col, val in (("dataset", dataset), ("source", source), ("rule", rule)):
        if val:
            conds.append(f"{col} = ?")
            params.append(val)
    if limit is None and not offset:
        t = lake.read(QUARANTINE, where=" AND ".join(conds) or None, params=params, columns=_COLS)
        rows = t.to_pylist()
        rows.sort(key=lambda r: (r["source"], r["file"] or "", r["line"] or 0, r["rule"]))
        return rows
    return _page(lake, conds, params, limit or MAX_PAGE, offset)


_FILES: dict[str, tuple[int | None, list[str]]] = {}


def _data_files(lake: Any) -> list[str] | None:
    """The quarantine's Parquet files in the order they were added (cached per table version); None for a lake
    that is not a local folder (read through the Delta dataset instead)."""
    root = str(lake.root)
    if "://" in root and not root.startswith("file://"):
        return None
    version = lake.version(QUARANTINE)
    hit = _FILES.get(root)
    if hit is not None and hit[0] == version:
        return hit[1]
    import os
    from urllib.parse import unquote

    adds = lake.files(QUARANTINE)
    names = adds.column_names
    paths = adds.column("path").to_pylist()
    mtimes = adds.column("modification_time").to_pylist() if "modification_time" in names else [0] * len(paths)
    base = root.removeprefix("file://") + "/" + QUARANTINE.name
    ordered = [p for _, p in sorted(zip(mtimes, paths), key=lambda x: (x[0], x[1]))]
    files = [p if os.path.isabs(p) else f"{base}/{unquote(p)}" for p in ordered]
    _FILES[root] = (version, files)
    return files


_CON: Any = None


def _cursor() -> Any:
    """A cursor on the one DuckDB connection of the process (a new connection costs more than a page) that caches
    Parquet footers between pages."""
    global _CON
    if _CON is None:
        import duckdb

        con = duckdb.connect()
        con.execute("SET parquet_metadata_cache = true")
        _CON = con
    return _CON.cursor()


def _page(lake: Any, conds: list[str], params: list[Any], limit: int, offset: int) -> list[dict[str, Any]]:
    where = (" WHERE " + " AND ".join(conds)) if conds else ""
    cols = ", ".join(f'"{c}"' for c in _COLS)
    cur = _cursor()
    try:
        files = _data_files(lake)
        if files is None:
            cur.register("q", lake.dataset(QUARANTINE))
            src = "q"
        elif not files:
            return []
        else:
            src = "read_parquet(?, union_by_name = true)"
            params = [files, *params]
        t = arrow_of(cur.execute(f"SELECT {cols} FROM {src}{where} LIMIT {int(limit)} OFFSET {int(offset)}", params))
    finally:
        cur.close()
    return t.to_pylist()


__all__ = ["COLUMNS", "MAX_OFFSET", "MAX_PAGE", "QUARANTINE", "empty", "raw_text", "read_quarantine", "refusals_frame"]
