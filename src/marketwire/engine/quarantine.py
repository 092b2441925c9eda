"""The quarantine stage: every record a rule or a source refused, kept with the rule, the field, the raw value, the
file, the line and the raw record. Nothing refused is dropped; a refusal seen again (same source, dataset, record
and rule) is not stored twice."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import polars as pl

from marketwire.datasets.reference import QUARANTINE
from marketwire.sources.base import Refusal

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





def read_quarantine(lake: Any, *, source: str | None = None, rule: str | None = None, dataset: str | None = None,
                    limit: int | None = None) -> list[dict[str, Any]]:
    """Quarantined records, filtered, in (source, file, line, rule) order."""
    if not lake.exists(QUARANTINE):
        return []
    conds, params = [], []
    for col, val in (("dataset", dataset), ("source", source), ("rule", rule)):
        if val:
            conds.append(f"{col} = ?")
            params.append(val)
    t = lake.read(QUARANTINE, where=" AND ".join(conds) or None, params=params,
                  columns=["source", "dataset", "rule", "field", "value", "message", "file", "line", "raw",
                           "knowledge_time", "ingest_id"])
    rows = t.to_pylist()
    rows.sort(key=lambda r: (r["source"], r["file"] or "", r["line"] or 0, r["rule"]))
    return rows[:limit] if limit else rows
__all__ = ["COLUMNS", "QUARANTINE", "empty", "raw_text", "read_quarantine", "refusals_frame"]
