"""The statement layout of an issuer: its mapped facts with a point-in-time index, so that "the statement as known
at date d" is a few array operations, not a sort and two de-duplications per read.

:func:`build` makes it from an issuer's mapped fact versions (every statement, consolidated, sorted by filing date,
as :meth:`FundamentalsService._mapped` gives them): one row per fact version, plus three index columns:

* ``_nxt``: the row of the next version of the same fact (line item, taxonomy, tag, unit, period), or the row count;
  the versions filed by ``d`` are the first ``k`` rows (a binary search on ``filed``), and of those a version is the
  latest of its fact when ``_nxt >= k``;
* ``_rank``: the rows in the order that ranks the tags of a line item and period (line item, start, end, unit, the
  mapping's priority, then the latest filed), a permutation; ``_g``: the (line item, unit, start, end) group of each
  position of that order. The value of a line item and period is the first live row of its group.

:func:`select` is that read. :class:`LayoutStore` keeps the layouts of all issuers on disk
(``<home>/cache/fundamentals-layout/``: Arrow IPC segments, one zstd-compressed record batch per issuer, read
memory-mapped, only the issuer's batch decompressed), built
at ingest for the issuers a delivery touched and valid for one version of the ``sec_facts`` table and one mapping
table: a read of an issuer then needs neither the lake nor the issuer's other facts.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from marketwire.fundamentals.standardise import STATEMENTS

#: what a statement read needs of a fact version (the rest of the issuer's facts stay in the lake)
COLUMNS = ["line_item", "label", "order", "kind", "unit_kind", "statement", "taxonomy", "tag", "accession", "period",
           "start", "end", "value", "unit", "filed", "months", "fiscal_year", "fiscal_period", "priority"]
_FACT = ["line_item", "taxonomy", "tag", "unit", "period"]
_EPOCH = date(1970, 1, 1)


def build(mapped: pl.DataFrame) -> pl.DataFrame:
    """The layout of one issuer from its mapped fact versions sorted by filing (see the module)."""
    x = mapped.select([c for c in COLUMNS if c in mapped.columns])
    n = x.height
    x = x.with_row_index("_p")
    nxt = x.select(pl.col("_p").shift(-1).over(_FACT).fill_null(n).cast(pl.UInt32)).to_series()
    ranked = x.select("_p", "line_item", "start", "end", "unit", "priority", "filed").sort(
        ["line_item", "start", "end", "unit", "priority", "filed", "_p"],
        descending=[False, False, False, False, False, True, True], nulls_last=False)
    g = ranked.select(pl.struct("line_item", "unit", "start", "end").rank("dense").cast(pl.UInt32)).to_series()
    annual = (pl.col("months") == 12) | ((pl.col("months") == 0) & (pl.col("fiscal_period") == "FY"))
    code = pl.col("statement").replace_strict({s: i for i, s in enumerate(STATEMENTS)}, default=255,
                                              return_dtype=pl.UInt8)
    return x.drop("_p").with_columns(
        nxt.alias("_nxt"), ranked.get_column("_p").alias("_rank"), g.alias("_g"), annual.fill_null(False)
        .alias("_annual"), code.alias("_st"), (pl.col("filed") - pl.lit(_EPOCH)).dt.total_days().cast(pl.Int32)
        .alias("_day"))


_ARRAYS: dict[int, tuple[pl.DataFrame, tuple[Any, ...]]] = {}


def select(lay: pl.DataFrame, statement: str | None, when: date | None, annual: bool = False) -> pl.DataFrame:
    """Per (line item, unit, start, end) of ``statement`` the row known at ``when`` (the latest version of each
    fact filed by then; of a line item's tags the best-ranked one). Rows in ranking order."""
    if not lay.height:
        return lay
    hit = _ARRAYS.get(id(lay))
    if hit is None or hit[0] is not lay:
        rank = lay.get_column("_rank").to_numpy()
        # the index in ranking order: a read is then element-wise
        arrays = (rank, lay.get_column("_g").to_numpy(), lay.get_column("_nxt").to_numpy()[rank],
                  lay.get_column("_st").to_numpy()[rank], lay.get_column("_annual").to_numpy()[rank],
                  lay.get_column("_day").to_numpy())
        if len(_ARRAYS) > 4096:
            _ARRAYS.clear()
        _ARRAYS[id(lay)] = (lay, arrays)
    else:
        arrays = hit[1]
    rank, g, nxt_r, st_r, ann_r, day = arrays
    k = lay.height if when is None else int(np.searchsorted(day, (when - _EPOCH).days, side="right"))
    live = rank < k
    live &= nxt_r >= k
    if statement is not None:
        live &= st_r == STATEMENTS.index(statement)
    if annual:
        live &= ann_r
    rows, grp = rank[live], g[live]
    if rows.size:
        first = np.ones(rows.size, dtype=bool)
        first[1:] = grp[1:] != grp[:-1]
        rows = rows[first]
    return lay[rows]


def mapping_stamp(mapping: pl.DataFrame) -> str:
    """A digest of the mapping table (a layout is built under one)."""
    cols = ["line_item", "statement", "label", "kind", "unit_kind", "taxonomy", "tag", "priority"]
    text = mapping.select(cols).sort(cols).write_csv()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class LayoutStore:
    """Statement layouts of every issuer on disk: ``manifest.json`` (the ``sec_facts`` version and the mapping stamp
    the layouts are current for, and per CIK the segment file, record batch and row count) and Arrow IPC segments
    (one zstd-compressed record batch per issuer, the file memory-mapped once per process). A write adds a segment
    with the layouts of the issuers it rebuilt; the manifest is replaced atomically."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._manifest: dict[str, Any] | None = None
        self._mtime: float | None = None
        self._segments: dict[str, Any] = {}
        self._issuers: dict[int, tuple[tuple[str, int, int], pl.DataFrame]] = {}

    def manifest(self) -> dict[str, Any] | None:
        p = self.root / "manifest.json"
        try:
            m = p.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        with self._lock:
            if self._manifest is None or self._mtime != m:
                self._manifest = json.loads(p.read_text(encoding="utf-8"))
                self._mtime = m
            return self._manifest

    def get(self, cik: int, version: int | None, stamp: str) -> pl.DataFrame | None:
        """The issuer's layout when the store is current for table ``version`` and mapping ``stamp``; ``None``
        when it is not (the caller reads the lake)."""
        m = self.manifest()
        if m is None or version is None or m.get("version") != version or m.get("mapping") != stamp:
            return None
        at = m["issuers"].get(str(cik))
        if at is None:
            return None
        seg, batch, n = at
        hit = self._issuers.get(cik)
        if hit is not None and hit[0] == (seg, batch, n):
            return hit[1]
        with self._lock:
            reader = self._segments.get(seg)
            if reader is None:
                import pyarrow as pa

                reader = pa.ipc.open_file(pa.memory_map(str(self.root / seg)))
                self._segments[seg] = reader
            rb = reader.get_batch(batch)  # one issuer: only its batch is read and decompressed
        out = pl.from_arrow(rb)
        assert isinstance(out, pl.DataFrame)
        with self._lock:
            if len(self._issuers) > 4096:
                self._issuers.clear()
            self._issuers[cik] = ((seg, batch, n), out)
        return out

    def write(self, layouts: dict[int, pl.DataFrame], version: int | None, stamp: str, *,
              since: int | None | str = "any") -> None:
        """Store the layouts of ``layouts``' issuers and declare the store current for ``version``. With
        ``since`` (a table version), only when the store was current for it (the issuers it did not rebuild have
        not changed since); with ``"any"``, ``layouts`` are all the issuers (a full build)."""
        old = self.manifest() or {"issuers": {}, "version": None, "mapping": None}
        issuers = dict(old["issuers"]) if since != "any" else {}
        issuers.update(self.write_segment(layouts))
        current = since == "any" or (old.get("version") == since and old.get("mapping") == stamp)
        self.publish(issuers, version if current else None, stamp)

    def write_segment(self, layouts: dict[int, pl.DataFrame]) -> dict[str, list[Any]]:
        """One segment file with ``layouts`` (one record batch per issuer); returns their manifest entries (not yet
        published)."""
        import pyarrow as pa

        self.root.mkdir(parents=True, exist_ok=True)
        if not layouts:
            return {}
        seg = f"seg-{uuid.uuid4().hex[:12]}.arrow"
        entries: dict[str, list[Any]] = {}
        schema = writer = None
        opts = pa.ipc.IpcWriteOptions(compression=pa.Codec("zstd", 1))
        with pa.OSFile(str(self.root / seg), "wb") as sink:
            for i, (cik, lay) in enumerate(layouts.items()):
                t = lay.to_arrow()
                if schema is None:
                    schema = t.schema
                    writer = pa.ipc.new_file(sink, schema, options=opts)
                t = t.cast(schema).combine_chunks()
                cols = [c.chunk(0) if c.num_chunks else pa.array([], c.type) for c in t.columns]
                writer.write_batch(pa.RecordBatch.from_arrays(cols, schema=schema))
                entries[str(cik)] = [seg, i, lay.height]
            assert writer is not None
            writer.close()
        return entries

    def publish(self, issuers: dict[str, list[Any]], version: int | None, stamp: str) -> None:
        """Replace the manifest (atomically) and remove the segments no issuer points to any more."""
        self.root.mkdir(parents=True, exist_ok=True)
        m = {"version": version, "mapping": stamp, "issuers": issuers}
        tmp = self.root / f"manifest.{uuid.uuid4().hex[:8]}.tmp"
        tmp.write_text(json.dumps(m), encoding="utf-8")
        os.replace(tmp, self.root / "manifest.json")
        live = {v[0] for v in issuers.values()}
        for p in self.root.glob("seg-*.arrow"):
            if p.name not in live:
                try:
                    p.unlink()
                except OSError:
                    pass

    def bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.glob("*") if p.is_file()) if self.root.is_dir() else 0
