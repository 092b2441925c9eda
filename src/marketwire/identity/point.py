"""The point index: the hot index's lookups answered from memory-mapped files with the standard library alone.

A command that resolves one identifier and exits (``marketwire resolve AAPL``) spends most of its time loading
the data stack (NumPy, Arrow, Polars, DuckDB) and reading the hot index's frames into memory, to then look at a few
rows. The hot-index folder of a lake state (``<home>/cache/hot-<stamp>/``, :mod:`marketwire.identity.hot`) also
holds every frame as JSON lines with the byte offset of each row (``<frame>.rows``, ``<frame>.offsets.npy``);
with the sorted key hashes and row orders already there, a lookup is a binary search over a memory map and a JSON
parse of the rows it finds. Nothing is loaded that a query does not touch, so the answer takes milliseconds after
the interpreter starts.

:func:`open_point` returns the point index of the lake's current state, or None when a command must go the full
way: the lake is not a local folder, the master needs a repair (an interrupted ingest or build), or the cache of
the current state has not been built yet (the first query after a change builds it).
"""

from __future__ import annotations

import ast
import json
import mmap
from bisect import bisect_left, bisect_right
from datetime import date, datetime
from pathlib import Path
from typing import Any

from marketwire.identity.state import index_stamp, index_versions, repair_due
from marketwire.store.state import LakeState

# the key hash and the lookup paths, shared with the hot index (which builds the files)
FNV_OFFSET, FNV_PRIME, MASK = 0xCBF29CE484222325, 0x100000001B3, (1 << 64) - 1
WIDTH = 32  # bytes hashed per key; longer keys share a hash with their prefix and are told apart by equality
#: lookup path -> (frame, column, upper-case the column, only rows whose scheme is not a name)
PATHS: dict[str, tuple[str, str, bool, bool]] = {
    "key": ("ids", "value", True, True),  # names are searched, not resolved
    "ids_by_entity": ("ids", "entity_id", False, False),
    "listing": ("listings", "listing_id", False, False),
    "security": ("securities", "security_id", False, False),
    "issuer": ("issuers", "issuer_id", False, False),
    "listings_by_security": ("listings", "security_id", False, False),
    "securities_by_issuer": ("securities", "issuer_id", False, False),
    "flags_by_entity": ("flags", "entity_id", False, False),
}
FRAMES = ("ids", "listings", "securities", "issuers", "flags")
DONE = "point.done"


def hash_one(value: str) -> int:
    """FNV-1a (64 bit) of the first 32 UTF-8 bytes of ``value``: the hot index's key hash."""
    h = FNV_OFFSET
    for b in value.encode()[:WIDTH]:
        h = ((h ^ b) * FNV_PRIME) & MASK
    return h


def point_files() -> list[str]:
    """The files the point index adds to a hot-index folder."""
    return [DONE, "point.types.json", *(f"{f}.rows" for f in FRAMES), *(f"{f}.offsets.npy" for f in FRAMES)]


def _npy(path: Path) -> memoryview:
    """A ``.npy`` file of little-endian integers as a memoryview over a read-only memory map."""
    with open(path, "rb") as fh:
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    head = bytes(mm[:10])
    if head[:6] != b"\x93NUMPY":
        raise ValueError(f"{path}: not a .npy file")
    if head[6] == 1:
        hlen, start = int.from_bytes(head[8:10], "little"), 10
    else:
        hlen, start = int.from_bytes(bytes(mm[8:12]), "little"), 12
    header = ast.literal_eval(bytes(mm[start:start + hlen]).decode("latin1"))
    fmt = {"<u8": "Q", "<i8": "q", "<i4": "i", "<u4": "I"}[header["descr"]]
    if header.get("fortran_order") or len(header["shape"]) != 1:
        raise ValueError(f"{path}: not a flat array")
    data = memoryview(mm)[start + hlen:]
    return data.cast("B").cast(fmt)


def _live(vf: date | None, vt: date | None, when: date) -> bool:
    return (vf is None or vf <= when) and (vt is None or vt > when)


class _Frame:
    def __init__(self, folder: Path, name: str, dates: list[str], times: list[str]) -> None:
        with open(folder / f"{name}.rows", "rb") as fh:
            size = fh.seek(0, 2)
            self._rows = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        self._offsets = _npy(folder / f"{name}.offsets.npy")
        self._dates, self._times = dates, times

    def row(self, i: int) -> dict[str, Any]:
        r: dict[str, Any] = json.loads(self._rows[self._offsets[i]:self._offsets[i + 1]])
        for c in self._dates:
            if r.get(c) is not None:
                r[c] = date.fromisoformat(r[c])
        for c in self._times:
            if r.get(c) is not None:
                r[c] = datetime.fromisoformat(r[c])
        return r


class _Sorted:
    def __init__(self, frame: _Frame, column: str, upper: bool, order: memoryview, hashes: memoryview) -> None:
        self.frame, self.column, self.upper, self.order, self.hashes = frame, column, upper, order, hashes

    def rows(self, value: str) -> list[dict[str, Any]]:
        q = hash_one(value)
        lo, hi = bisect_left(self.hashes, q), bisect_right(self.hashes, q)
        out = []
        for k in range(lo, hi):
            r = self.frame.row(self.order[k])
            v = r.get(self.column) or ""
            if (v.upper() if self.upper else v) == value:
                out.append(r)
        return out


class PointIndex:
    """The lookups of :class:`marketwire.identity.hot.HotIndex`, over the files of one hot-index folder."""

    def __init__(self, folder: Path) -> None:
        types = json.loads((folder / "point.types.json").read_text())
        self._frames = {f: _Frame(folder, f, types[f]["dates"], types[f]["times"]) for f in FRAMES}
        self._paths = {p: _Sorted(self._frames[f], col, up, _npy(folder / f"{p}.order.npy"),
                                  _npy(folder / f"{p}.hash.npy")) for p, (f, col, up, _) in PATHS.items()}

    def lookup(self, value: str, as_of: date, schemes: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        return [r for r in self._paths["key"].rows(value.upper())
                if _live(r["valid_from"], r["valid_to"], as_of) and (not schemes or r["scheme"] in schemes)]

    def exists_any(self, value: str) -> bool:
        return bool(self._paths["key"].rows(value.upper()))

    def one(self, table: str, ident: str) -> dict[str, Any] | None:
        path = {"listings": "listing", "securities": "security", "issuers": "issuer"}[table]
        rows = self._paths[path].rows(ident)
        return rows[0] if rows else None

    def listings_of(self, security_id: str) -> list[dict[str, Any]]:
        rows = self._paths["listings_by_security"].rows(security_id)
        return sorted(rows, key=lambda r: (r["valid_to"] is not None, r["mic"] or "", r["ticker"] or ""))

    def securities_of(self, issuer_id: str) -> list[str]:
        return [r["security_id"] for r in self._paths["securities_by_issuer"].rows(issuer_id)]

    def ids_of(self, entity_ids: list[str], as_of: date) -> list[dict[str, Any]]:
        rows = [r for e in entity_ids for r in self._paths["ids_by_entity"].rows(e)]
        rows = [r for r in rows if _live(r["valid_from"], r["valid_to"], as_of)]
        kind_rank = {"issuer": 0, "listing": 1, "security": 2}
        rows.sort(key=lambda r: (kind_rank.get(r["entity_kind"], 9), r["scheme"], r["valid_from"] or date.min))
        return rows

    def flags_of(self, entity_ids: list[str]) -> list[str]:
        return sorted({r["rule"] for e in entity_ids for r in self._paths["flags_by_entity"].rows(e)})


def open_point(home: Path) -> tuple[PointIndex, LakeState] | None:
    """The point index of the lake's current state under ``home`` and the lake's state, or None when the full
    platform must answer (see the module docstring)."""
    lake = LakeState(home / "lake")
    if not lake.local or not (home / "lake").is_dir() or repair_due(lake):
        return None
    folder = home / "cache" / f"hot-{index_stamp(index_versions(lake))}"
    if not (folder / "done").exists() or not all((folder / f).exists() for f in point_files()):
        return None
    try:
        return PointIndex(folder), lake
    except (OSError, ValueError, KeyError):  # removed by a rebuild meanwhile, or damaged: the full way
        return None


def quick_resolve(home: Path, id: str, as_of: Any = None) -> list[dict[str, Any]] | None:
    """:meth:`marketwire.identity.service.IdentityService.resolve` from the point index, or None when the full
    platform must answer: our own ids (their merges and provisional listings live in the lake), or no point index
    of the current state (:func:`open_point`). Raises what ``resolve`` raises."""
    from marketwire.identity.parse import parse
    from marketwire.identity.resolver import Resolver
    from marketwire.timeparse import parse_day

    p = parse(id)
    if p.schemes == ("own",):
        return None
    when = parse_day(as_of, "as_of") or date.today()
    opened = open_point(home)
    if opened is None:
        return None
    index, _lake = opened
    # a built index means a built master: a "not found" never needs the empty-master hint here
    return Resolver(lambda: index, lambda: "").resolve(p, id, when)
