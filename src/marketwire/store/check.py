"""Checks of the lake itself: every table readable, and no duplicate records by each dataset's declaration.

A **duplicate** is a record the write stage would not have appended had it seen the records before it (two
writers comparing with the same stored state, before writers were serialised): by the dataset's write mode,

- ``insert`` and ``snapshot`` (a key is stored while it is live): a live record of a key whose previous record
  (in knowledge order: ``knowledge_time``, then ``ingested_at``) is live too;
- ``versioned`` and ``derived`` (a key gets a record when its content changed): a record whose content (the
  dataset's ``content`` columns, and ``retracted``) equals its key's previous record;
- ``append`` datasets are logs: nothing is a duplicate.

:func:`remove_duplicates` writes the table without them as a new Delta version: of each run of identical records
the first is kept, so every read ``as_of`` any time answers as before; the earlier versions of the table stay
readable by version (Delta time travel) until they are vacuumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from marketwire.datasets.base import Dataset
from marketwire.store import duck
from marketwire.store.lake import Lake, arrow_of


@dataclass
class TableReport:
    """One dataset's table: readable or not (``error``), its version and rows, and the duplicates found."""

    dataset: str
    version: int | None
    rows: int = 0
    duplicates: int = 0
    error: str | None = None
    removed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _dup_sql(ds: Dataset, columns: list[str]) -> str | None:
    """SQL over view ``t`` with a boolean column ``_dup`` per record (None: the mode has no duplicates)."""
    if not ds.key or ds.write_mode == "append":
        return None
    part = ", ".join(f'"{k}"' for k in ds.key)
    order = "knowledge_time, ingested_at, ingest_id"
    live = "NOT coalesce(retracted, false)" if "retracted" in columns else "true"
    if ds.write_mode in ("insert", "snapshot"):
        mark = f"({live}) AND coalesce(lag({live}) OVER w, false)"
    else:
        content = [c for c in ds.content if c in columns]
        if "retracted" in columns and "retracted" not in content:
            content.append("retracted")
        h = "hash(" + ", ".join(f'"{c}"' for c in content) + ")"
        mark = f"coalesce(lag({h}) OVER w = {h}, false)"
    return f"SELECT *, {mark} AS _dup FROM t WINDOW w AS (PARTITION BY {part} ORDER BY {order})"


def check_table(lake: Lake, ds: Dataset) -> TableReport:
    """Read ``ds``'s whole table (every version of every record) and count its duplicates."""
    rep = TableReport(ds.name, lake.version(ds))
    if rep.version is None:
        return rep
    try:
        src = lake.dataset(ds)
        con = duck.connect()
        try:
            con.register("t", src)
            rep.rows = int(con.execute("SELECT count(*) FROM t").fetchone()[0])  # type: ignore[index]
            sql = _dup_sql(ds, src.schema.names)
            if sql is not None:
                rep.duplicates = int(con.execute(f"SELECT count(*) FROM ({sql}) WHERE _dup").fetchone()[0])  # type: ignore[index]
        finally:
            con.close()
    except Exception as e:  # a table that cannot be read is what this check reports, whatever the cause
        rep.error = f"{type(e).__name__}: {e}"
    return rep


def remove_duplicates(lake: Lake, ds: Dataset) -> int:
    """Write ``ds``'s table without its duplicates as a new Delta version, under the dataset's writer lock (the
    table is read again inside it). Returns how many records were removed."""
    with lake.writing([ds.name]):
        stored = lake.unpinned()
        src = stored.dataset(ds)
        sql = None if src is None else _dup_sql(ds, src.schema.names)
        if sql is None:
            return 0
        con = duck.connect()
        try:
            con.register("t", src)
            n = int(con.execute(f"SELECT count(*) FROM ({sql}) WHERE _dup").fetchone()[0])  # type: ignore[index]
            if not n:
                return 0
            kept: pa.Table = arrow_of(con.execute(f"SELECT * EXCLUDE (_dup) FROM ({sql}) WHERE NOT _dup"))
        finally:
            con.close()
        stored.replace(ds, kept)
        return n


__all__ = ["TableReport", "check_table", "remove_duplicates"]
