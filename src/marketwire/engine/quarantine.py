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
from marketwire.store import duck
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
    so a page costs the same on a 4M-row quarantine as on a small one. ``offset`` <= MAX_OFFSET; REST also holds
    ``limit`` to MAX_PAGE (the SDK and the CLI may ask for more)."""
    if limit is not None and limit < 1:
        raise InvalidInput(f"`limit`: {limit} is below 1", param="limit", value=str(limit))
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
    filters = {c: v for c, v in (("dataset", dataset), ("source", source), ("rule", rule)) if v}
    return _page(lake, filters, limit or MAX_PAGE, offset)


_FILES: dict[str, tuple[int | None, list[dict[str, Any]]]] = {}


def _data_files(lake: Any) -> list[dict[str, Any]] | None:
    """The quarantine's Parquet files in the order they were added, each with its row count and the min / max of
    the filter columns (cached per table version); None for a lake that is not a local folder (read through the
    Delta dataset instead)."""
    root = str(lake.root)
    if "://" in root and not root.startswith("file://"):
        return None
    version = lake.version(QUARANTINE)
    hit = _FILES.get(root)
    if hit is not None and hit[0] == version:
        return hit[1]
    import os
    from urllib.parse import unquote

    adds = lake.files(QUARANTINE).to_pylist()
    base = root.removeprefix("file://") + "/" + QUARANTINE.name
    adds.sort(key=lambda a: (a.get("modification_time") or 0, a["path"]))
    files = [{"path": a["path"] if os.path.isabs(a["path"]) else f"{base}/{unquote(a['path'])}",
              "rows": a.get("num_records"),
              **{f"{m}.{c}": a.get(f"{m}.{c}") for m in ("min", "max") for c in ("dataset", "source", "rule")}}
             for a in adds]
    _FILES[root] = (version, files)
    return files


def _pick(files: list[dict[str, Any]], filters: dict[str, str], limit: int, offset: int
          ) -> tuple[list[str], int]:
    """The files a page can come from, and the offset within them: files whose min/max exclude a filter value are
    skipped; without filters, whole files before the offset are skipped and none after the page is needed."""
    keep = [f for f in files if all(f.get(f"min.{c}") is None or f.get(f"max.{c}") is None
                                    or f[f"min.{c}"] <= v <= f[f"max.{c}"] for c, v in filters.items())]
    if filters or any(f["rows"] is None for f in keep):
        return [f["path"] for f in keep], offset
    out: list[str] = []
    seen = 0
    for f in keep:
        if not out and offset >= f["rows"]:
            offset -= f["rows"]
            continue
        out.append(f["path"])
        seen += f["rows"]
        if seen >= offset + limit:
            break
    return out, offset


_CON: Any = None


def _cursor() -> Any:
    """A cursor on the one DuckDB connection of the process (a new connection costs more than a page) that caches
    Parquet footers between pages."""
    global _CON
    if _CON is None:
        con = duck.connect()
        con.execute("SET parquet_metadata_cache = true")
        _CON = con
    return _CON.cursor()


def _page(lake: Any, filters: dict[str, str], limit: int, offset: int) -> list[dict[str, Any]]:
    where = (" WHERE " + " AND ".join(f'"{c}" = ?' for c in filters)) if filters else ""
    params: list[Any] = list(filters.values())
    cols = ", ".join(f'"{c}"' for c in _COLS)
    cur = _cursor()
    try:
        files = _data_files(lake)
        if files is None:
            cur.register("q", lake.dataset(QUARANTINE))
            src = "q"
        else:
            paths, offset = _pick(files, filters, limit, offset)
            if not paths:
                return []
            src = "read_parquet(?, union_by_name = true)"
            params = [paths, *params]
        t = arrow_of(cur.execute(f"SELECT {cols} FROM {src}{where} LIMIT {int(limit)} OFFSET {int(offset)}", params))
    finally:
        cur.close()
    return t.to_pylist()


__all__ = ["COLUMNS", "MAX_OFFSET", "MAX_PAGE", "QUARANTINE", "empty", "raw_text", "read_quarantine", "refusals_frame"]
