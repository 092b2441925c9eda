"""The write stage: compare a delivery with what is stored, by the dataset's key and write mode, and append what is
new with its provenance.

Every dataset goes through :func:`commit`; the dataset declaration (``write_mode``, ``key``, ``compare``,
``scope``, ``knowledge_from``, ``partition_by``) decides what "new" means (see
:data:`marketwire.datasets.base.WRITE_MODES`). Records are never updated in place: a change is a new version, a
record that is gone is a retraction (``retracted = true``) with a later knowledge time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
import pyarrow as pa

from marketwire.datasets.base import Dataset
from marketwire.store import Lake
from marketwire.timeparse import as_utc

#: a key column with more distinct values than this in one delivery is not used to narrow the read of the stored side
_IN_LIST_MAX = 200_000


@dataclass
class Written:
    """What :func:`commit` did: the records appended (new content, with provenance), how many were unchanged and
    how many stored records were retracted."""

    dataset: str
    appended: pl.DataFrame
    unchanged: int = 0
    retracted: int = 0

    @property
    def accepted(self) -> int:
        return self.appended.height - self.retracted


@dataclass(frozen=True)
class Provenance:
    """Stamped on every record a delivery appends (``source`` only where the record carries none)."""

    knowledge_time: datetime
    ingested_at: datetime
    source: str
    ingest_id: str

    def as_dict(self) -> dict[str, Any]:
        return {"knowledge_time": self.knowledge_time, "ingested_at": self.ingested_at, "source": self.source,
                "ingest_id": self.ingest_id}


def frame_of(ds: Dataset, records: Any) -> pl.DataFrame:
    """Records (a list of dicts, an Arrow table or a Polars frame) as a frame of the dataset's columns, typed by its
    schema; columns the dataset does not declare are dropped, missing nullable ones are nulls."""
    if isinstance(records, list):
        names = set().union(*(r.keys() for r in records)) if records else set()
        fields = [f for f in ds.schema if f.name in names]
        table = pa.Table.from_pylist([{f.name: r.get(f.name) for f in fields} for r in records],
                                     schema=pa.schema(fields))
        df = pl.from_arrow(table)
    elif isinstance(records, pa.Table):
        df = pl.from_arrow(records)
    else:
        df = records
    assert isinstance(df, pl.DataFrame)
    target = pl.from_arrow(ds.schema.empty_table())
    assert isinstance(target, pl.DataFrame)
    if df.width == 0 or df.height == 0:
        return target
    cols = []
    for name, dtype in target.schema.items():
        cols.append(pl.col(name).cast(dtype) if name in df.columns else pl.lit(None, dtype).alias(name))
    return df.select(cols)


def _stamp(ds: Dataset, df: pl.DataFrame, prov: Provenance) -> pl.DataFrame:
    kt: pl.Expr = pl.lit(prov.knowledge_time)
    if ds.knowledge_from and ds.knowledge_from in df.columns:
        # a record known from a dated snapshot is knowledge of that day (midnight UTC)
        when = pl.col(ds.knowledge_from).cast(pl.Date).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        kt = pl.coalesce(when, kt)
    return df.with_columns(
        pl.coalesce(pl.col("knowledge_time"), kt).cast(pl.Datetime("us", "UTC")).alias("knowledge_time"),
        pl.lit(prov.ingested_at).cast(pl.Datetime("us", "UTC")).alias("ingested_at"),
        pl.coalesce(pl.col("source"), pl.lit(prov.source)).alias("source"),
        pl.lit(prov.ingest_id).alias("ingest_id"))


def _narrowing(ds: Dataset, df: pl.DataFrame, columns: list[str]) -> tuple[str | None, list[Any], Any]:
    """A predicate (and its parameters) on key columns, and partition filters, that select the stored records a
    delivery can collide with."""
    conds, params = [], []
    for c in columns:
        dtype = df.schema[c]
        if dtype not in (pl.Utf8, pl.String) and not dtype.is_integer():
            continue
        values = df.get_column(c).drop_nulls().unique()
        if 0 < values.len() <= _IN_LIST_MAX:
            conds.append(f'"{c}" IN (SELECT unnest(?))')
            params.append(values.to_list())
            break  # one selective column is enough; the join does the rest
    parts = None
    if ds.partition_by and all(p in df.columns for p in ds.partition_by):
        parts = [(p, "in", sorted({str(v) for v in df.get_column(p).unique().to_list()})) for p in ds.partition_by]
    return (" AND ".join(conds) or None), params, parts


def _stored(lake: Lake, ds: Dataset, df: pl.DataFrame, columns: list[str], live_only: bool) -> pl.DataFrame:
    where, params, parts = _narrowing(ds, df, list(ds.key))
    if live_only and "retracted" in ds.columns:
        where = " AND ".join(x for x in (where, "NOT coalesce(retracted, false)") if x)
    cur = pl.from_arrow(lake.read(ds, columns=columns, where=where, params=params, partitions=parts))
    assert isinstance(cur, pl.DataFrame)
    return cur.cast({c: df.schema[c] for c in columns if c in df.schema})


def commit(lake: Lake, ds: Dataset, records: Any, prov: Provenance, *, mode: str | None = None,
           write: bool = True, unique: bool = False) -> Written:
    """Compare ``records`` with the stored latest versions by ``ds``'s write mode and append what is new.

    The comparison and the append run under the dataset's writer lock (:meth:`Lake.writing`), against the table's
    last committed version read inside it: two processes delivering the same records store them once.
    ``write=False`` computes the result without appending (the caller appends ``Written.appended``, e.g. in the
    background, and must hold the dataset's lock until then: the engine holds it for a whole delivery).
    ``unique=True``: the caller guarantees that no key occurs twice in ``records`` (its verification refused the
    later copies), so the delivery is not searched for repeated keys."""
    mode = mode or ds.write_mode
    df = frame_of(ds, records)
    # the delivery's source is part of what a record says (compared with the stored versions' source)
    df = df.with_columns(pl.coalesce(pl.col("source"), pl.lit(prov.source)).alias("source"))
    stored = lake.unpinned()  # the last committed state, published or not (a derived build completes a killed one)
    with lake.writing([ds.name]):
        if mode == "derived":
            out, unchanged, retracted = _derived(stored, ds, df)
        elif not stored.exists(ds) or mode == "append":
            out, unchanged, retracted = (df if unique else _dedup_delivery(ds, df, mode)), 0, 0
            unchanged = df.height - out.height
        elif mode == "insert" or mode == "snapshot":
            out, unchanged = _insert(stored, ds, df)
            retracted = 0
            if mode == "snapshot":
                gone = _superseded(stored, ds, df)
                retracted = gone.height
                out = pl.concat([out, gone], how="vertical_relaxed") if gone.height else out
        elif mode == "versioned":
            out, unchanged, retracted = _versioned(stored, ds, df, unique)
        else:  # pragma: no cover - Dataset.__post_init__ refuses other modes
            raise ValueError(f"unknown write mode {mode!r}")
        out = _stamp(ds, out, prov)
        if write and out.height:
            lake.append(ds, out.to_arrow())
    return Written(ds.name, out, unchanged, retracted)


def _dedup_delivery(ds: Dataset, df: pl.DataFrame, mode: str) -> pl.DataFrame:
    """Within one delivery: a key delivered twice is kept once (the first), except for plain logs. (Verification
    quarantines conflicting copies where a dataset has a rule for them, e.g. ``bar.duplicate_date``.)"""
    if mode == "append" or not ds.key or not df.height:
        return df
    keys = list(ds.key)
    # the common case: nothing to drop (equal keys hash equal; a collision only costs the exact pass below)
    if not df.select(pl.struct(keys).hash().is_duplicated().any()).item():
        return df
    return df.unique(subset=keys, keep="first", maintain_order=True)


def _insert(lake: Lake, ds: Dataset, df: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    keys = list(ds.key)
    first = _dedup_delivery(ds, df, "insert")
    cur = _stored(lake, ds, first, keys, live_only=True)
    out = first.join(cur, on=keys, how="anti", nulls_equal=True, maintain_order="left") if cur.height else first
    return out, df.height - out.height


def _versioned(lake: Lake, ds: Dataset, df: pl.DataFrame, unique: bool = False) -> tuple[pl.DataFrame, int, int]:
    content = ds.content
    first = df if unique else _dedup_delivery(ds, df, "versioned")
    cur = _stored(lake, ds, first, content, live_only=False)
    out = first.join(cur, on=content, how="anti", nulls_equal=True, maintain_order="left") if cur.height else first
    return out, df.height - out.height, 0


def _scope_of(ds: Dataset, df: pl.DataFrame) -> list[pl.Expr]:
    return [pl.col(c).str.split("/").list.last().alias(c) if c == "file" else pl.col(c) for c in ds.scope]


def _superseded(lake: Lake, ds: Dataset, df: pl.DataFrame) -> pl.DataFrame:
    """Live records of the delivery's scopes (same series, date, file name) whose key the new reading lacks."""
    if not df.height:
        return df.clear()
    scopes = df.select(_scope_of(ds, df)).unique()
    date_col = ds.knowledge_from or ds.scope[1]
    where = "NOT coalesce(retracted, false)" if "retracted" in ds.columns else None
    params: list[Any] = []
    if date_col in df.columns:
        where = " AND ".join(x for x in (where, f'"{date_col}" IN (SELECT unnest(?))') if x)
        params.append(df.get_column(date_col).unique().to_list())
    live = pl.from_arrow(lake.read(ds, where=where, params=params))
    assert isinstance(live, pl.DataFrame)
    if not live.height:
        return df.clear()
    live = live.cast({c: df.schema[c] for c in df.columns if c in live.columns})
    in_scope = live.with_columns(_scope_of(ds, live)[i].alias(f"_s{i}") for i in range(len(ds.scope)))
    sc = scopes.rename({c: f"_s{i}" for i, c in enumerate(ds.scope)})
    in_scope = in_scope.join(sc, on=list(sc.columns), how="semi", nulls_equal=True).drop(sc.columns)
    gone = in_scope.join(df.select(list(ds.key)), on=list(ds.key), how="anti", nulls_equal=True)
    return gone.select(df.columns).with_columns(pl.lit(True).alias("retracted"), pl.lit(None, pl.Utf8).alias("source"))


def _derived(lake: Lake, ds: Dataset, new: pl.DataFrame) -> tuple[pl.DataFrame, int, int]:
    """The delivery is the whole state: append what changed, retract keys that are gone."""
    content = [c for c in ds.columns if c not in ("knowledge_time", "ingested_at", "source", "ingest_id")]
    if "retracted" in new.columns:
        new = new.with_columns(pl.lit(False).alias("retracted"))
    if lake.exists(ds):
        cur = pl.from_arrow(lake.read(ds, columns=content))
        assert isinstance(cur, pl.DataFrame)
        cur = cur.cast({c: new.schema[c] for c in content})
    else:
        cur = new.select(content).clear()
    if "retracted" in cur.columns:
        cur = cur.filter(~pl.col("retracted").fill_null(False))
    h = pl.struct(content).hash(seed=7)
    changed = new.with_columns(_h=h).join(cur.with_columns(_h=h).select("_h"), on="_h", how="anti").drop("_h")
    keys = list(ds.key)
    gone = cur.join(new.select(keys), on=keys, how="anti", nulls_equal=True)
    if "retracted" in gone.columns:
        gone = gone.with_columns(pl.lit(True).alias("retracted"))
    gone = gone.with_columns(pl.lit(None, changed.schema[c]).alias(c) for c in changed.columns if c not in gone.columns)
    out = pl.concat([changed, gone.select(changed.columns)], how="vertical_relaxed") if gone.height else changed
    return out, new.height - changed.height, gone.height


__all__ = ["Provenance", "Written", "as_utc", "commit", "frame_of"]
