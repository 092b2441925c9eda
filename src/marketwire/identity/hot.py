"""The in-memory point-lookup index behind ``resolve``: sorted 64-bit hashes over Polars frames.

DuckDB answers set queries well, but each point query costs about a millisecond in Python, and one resolution
needs several. This index answers a point lookup with one binary search over a NumPy array of key hashes and a
row read from a Polars frame (microseconds), so a resolution stays in the low milliseconds at ten million
instruments.

It is built once per lake state, next to the DuckDB cache (``<home>/cache/hot-<stamp>/``): the columns a
resolution shows, as Parquet written by DuckDB without passing through Python, and for every lookup path the
sorted hashes and the row order, as ``.npy`` files. A process reads them into memory when it opens the index (a
memory map would turn cold pages into disk reads inside a resolve), so a server starts in seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from marketwire.identity import point

_FNV_OFFSET, _FNV_PRIME, _MASK, _WIDTH = point.FNV_OFFSET, point.FNV_PRIME, point.MASK, point.WIDTH
_CHUNK = 1 << 20

#: frame -> (SQL over the DuckDB cache, columns read as categories)
FRAMES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ids": ("SELECT entity_kind, entity_id, scheme, value, valid_from, valid_to, flags FROM ids",
            ("entity_kind", "scheme")),
    "listings": ("SELECT listing_id, security_id, ticker, mic, currency, name, status, valid_from, valid_to, "
                 "first_seen, last_seen, provisional FROM listings", ("mic", "currency", "status")),
    "securities": ("SELECT security_id, issuer_id, name, type, status, isin, cusip, shareclass_figi, country, "
                   "valid_from, valid_to FROM securities", ("type", "status", "country")),
    "issuers": ("SELECT issuer_id, name, country, cik, lei, sector, industry, valid_from, valid_to FROM issuers",
                ("country", "sector", "industry")),
    "flags": ("SELECT entity_id, rule FROM flags", ("rule",)),
}
#: lookup path -> (frame, column, upper-case the column, only rows whose scheme is not a name)
PATHS = point.PATHS


def _hash(values: pl.Series, upper: bool = False) -> np.ndarray:
    """FNV-1a (64 bit) of the first ``_WIDTH`` UTF-8 bytes of each value (upper-cased first if ``upper``),
    vectorised over the Arrow buffers a chunk at a time (so an upper-cased copy is never whole in memory)."""
    out = np.empty(len(values), dtype=np.uint64)
    for start in range(0, len(values), _CHUNK):
        out[start: start + _CHUNK] = _hash_chunk(values.slice(start, _CHUNK), upper)
    return out


_ASCII_UPPER = np.arange(256, dtype=np.uint8)
_ASCII_UPPER[ord("a"): ord("z") + 1] -= 32


def _hash_chunk(values: pl.Series, upper: bool = False) -> np.ndarray:
    """FNV-1a over one chunk, a byte position at a time over the values still that long (longest first, so
    each step is a prefix of the rows): the work follows the bytes hashed, not rows times the longest value.

    ``upper``: of the upper-cased values; a chunk of plain ASCII is upper-cased byte by byte, any other through
    Polars (Unicode rules, like ``str.upper`` on a query)."""
    import pyarrow as pa

    arr = values.to_arrow()
    arr = (arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr).cast(pa.large_string())
    arr = arr.fill_null("")
    n = len(arr)
    h = np.full(n, _FNV_OFFSET, dtype=np.uint64)
    if not n:
        return h
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset: arr.offset + n + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    if upper and data.size:
        if int(data.max()) >= 0x80:
            return _hash_chunk(values.str.to_uppercase())
        data = _ASCII_UPPER[data]
    lengths = np.minimum(offsets[1:] - offsets[:-1], _WIDTH).astype(np.uint8)
    order = np.argsort(lengths, kind="stable")[::-1]  # longest first
    longer_than = n - np.searchsorted(lengths[order[::-1]], np.arange(_WIDTH), side="right")
    starts = offsets[:-1][order]
    hashed = h[order]
    prime = np.uint64(_FNV_PRIME)
    with np.errstate(over="ignore"):
        for j in range(int(lengths.max())):
            part = hashed[: int(longer_than[j])]
            np.bitwise_xor(part, data[starts[: len(part)] + j], out=part, casting="unsafe")
            np.multiply(part, prime, out=part)
    h[order] = hashed
    return h


_hash_one = point.hash_one


class _Sorted:
    """Row positions of a frame by the value of one column: sorted hashes and the row order."""

    def __init__(self, col: pl.Series, order: np.ndarray, hashes: np.ndarray, upper: bool) -> None:
        self.col, self.order, self.hashes, self.upper = col, order, hashes, upper

    @staticmethod
    def build(col: pl.Series, upper: bool, keep: pl.Series | None) -> tuple[np.ndarray, np.ndarray]:
        """The row order by hash (int32 while the frame allows: half the memory) and the sorted hashes; only
        the rows in ``keep`` are hashed and kept (ties stay in row order, as in a stable sort of all rows)."""
        rows = np.flatnonzero(keep.to_numpy()) if keep is not None else None
        h = _hash(col.filter(keep) if keep is not None else col, upper)
        by_hash = np.argsort(h, kind="stable")
        hashes = h[by_hash]
        del h
        order = rows[by_hash] if rows is not None else by_hash
        del by_hash, rows
        return (order.astype(np.int32) if len(col) < 2**31 - 1 else order), hashes

    def positions(self, value: str) -> list[int]:
        q = np.uint64(_hash_one(value))
        lo = int(np.searchsorted(self.hashes, q, "left"))
        hi = int(np.searchsorted(self.hashes, q, "right"))
        if self.upper:
            return [int(p) for p in self.order[lo:hi] if (self.col[int(p)] or "").upper() == value]
        return [int(p) for p in self.order[lo:hi] if self.col[int(p)] == value]


def _live(vf: date | None, vt: date | None, when: date) -> bool:
    return (vf is None or vf <= when) and (vt is None or vt > when)


def _read(folder: Path, name: str) -> pl.DataFrame:
    cats = FRAMES[name][1]
    return pl.read_parquet(folder / f"{name}.parquet").with_columns(pl.col(*cats).cast(pl.Categorical))


def build_files(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Write the frames and the lookup arrays of the current cache state into ``folder`` (atomically)."""
    if (folder / "done").exists():
        return
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        for name, (sql, _) in FRAMES.items():
            con.execute(f"COPY ({sql}) TO '{tmp / name}.parquet' (FORMAT parquet, COMPRESSION zstd)")
        # one lookup path at a time, each reading only its column: the build holds one column and two arrays
        for path, (frame, column, upper, names_out) in PATHS.items():
            df = pl.read_parquet(tmp / f"{frame}.parquet", columns=[column] + (["scheme"] if names_out else []))
            keep = (df["scheme"] != "name") if names_out else None
            col = df[column]
            del df
            order, hashes = _Sorted.build(col, upper, keep)
            del col, keep
            np.save(tmp / f"{path}.order.npy", order)
            np.save(tmp / f"{path}.hash.npy", hashes)
            del order, hashes
        _write_point_files(tmp)
        (tmp / "done").touch()
        try:
            os.replace(tmp, folder)
        except OSError:  # another process finished first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_point_files(folder: Path) -> None:
    """Each frame as JSON lines with the byte offset of every row, and the frames' date and time columns: what
    :class:`marketwire.identity.point.PointIndex` reads (memory-mapped, with the lookup arrays written above)."""
    types = {}
    for name in FRAMES:
        df = pl.read_parquet(folder / f"{name}.parquet")
        types[name] = {"dates": [c for c, t in df.schema.items() if t == pl.Date],
                       "times": [c for c, t in df.schema.items() if isinstance(t, pl.Datetime)]}
        rows = folder / f"{name}.rows"
        df.write_ndjson(rows)
        del df
        size = rows.stat().st_size
        buf = np.memmap(rows, dtype=np.uint8, mode="r") if size else np.zeros(0, np.uint8)
        ends = np.flatnonzero(buf == 10) + 1
        del buf
        np.save(folder / f"{name}.offsets.npy", np.concatenate([[0], ends]).astype(np.uint64))
    (folder / "point.types.json").write_text(json.dumps(types))
    (folder / point.DONE).touch()


class HotIndex:
    def __init__(self, folder: Path) -> None:
        frames = {name: _read(folder, name) for name in FRAMES}
        self.ids, self.listings, self.securities = frames["ids"], frames["listings"], frames["securities"]
        self.issuers, self.flags = frames["issuers"], frames["flags"]
        self._paths: dict[str, _Sorted] = {}
        for path, (frame, column, upper, _) in PATHS.items():
            self._paths[path] = _Sorted(frames[frame][column], np.load(folder / f"{path}.order.npy"),
                                        np.load(folder / f"{path}.hash.npy"), upper)

    def lookup(self, value: str, as_of: date, schemes: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        out = []
        for p in self._paths["key"].positions(value.upper()):
            r = self.ids.row(p, named=True)
            if _live(r["valid_from"], r["valid_to"], as_of) and (not schemes or r["scheme"] in schemes):
                out.append(r)
        return out

    def exists_any(self, value: str) -> bool:
        return bool(self._paths["key"].positions(value.upper()))

    def one(self, table: str, ident: str) -> dict[str, Any] | None:
        path = {"listings": "listing", "securities": "security", "issuers": "issuer"}[table]
        pos = self._paths[path].positions(ident)
        return getattr(self, table).row(pos[0], named=True) if pos else None

    def listings_of(self, security_id: str) -> list[dict[str, Any]]:
        rows = [self.listings.row(p, named=True) for p in self._paths["listings_by_security"].positions(security_id)]
        return sorted(rows, key=lambda r: (r["valid_to"] is not None, r["mic"] or "", r["ticker"] or ""))

    def securities_of(self, issuer_id: str) -> list[str]:
        return [self.securities["security_id"][p] for p in self._paths["securities_by_issuer"].positions(issuer_id)]

    def ids_of(self, entity_ids: list[str], as_of: date) -> list[dict[str, Any]]:
        rows = [self.ids.row(p, named=True) for e in entity_ids for p in self._paths["ids_by_entity"].positions(e)]
        rows = [r for r in rows if _live(r["valid_from"], r["valid_to"], as_of)]
        kind_rank = {"issuer": 0, "listing": 1, "security": 2}
        rows.sort(key=lambda r: (kind_rank.get(r["entity_kind"], 9), r["scheme"], r["valid_from"] or date.min))
        return rows

    def flags_of(self, entity_ids: list[str]) -> list[str]:
        return sorted({self.flags["rule"][p] for e in entity_ids for p in self._paths["flags_by_entity"].positions(e)})
