"""Lean (QuantConnect / AlgoSeek) tick zips: ``.../<security type>/<market>/tick/<symbol>/<YYYYMMDD>_<kind>.zip``.

* equity trades ``Time,Price,Size,Exchange,SaleCondition,Suspicious``; equity quotes
  ``Time,BidPrice,BidSize,AskPrice,AskSize,Exchange,Condition,Suspicious`` (one side per row, the other 0);
  Time = ms since midnight America/New_York of the file's date, prices in deci-cents (/10,000).
* forex quotes ``Time,Bid,Ask`` (no sizes): FXCM data are in fixed UTC-05:00, OANDA in UTC.
* future trades ``Time,Price,Quantity,Exchange,SaleCondition,Suspicious``, one CSV per contract month inside the
  zip, prices in dollars, Time in UTC.

The symbol and date come from the path unless given. Rows are parsed by Arrow's CSV reader in one pass; a file
whose rows do not all parse is read again row by row, and each bad row goes to the quarantine with its raw bytes and
line number while the rest of the file flows on.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from marketwire.stream.events import FLAGS, from_columns
from marketwire.stream.feeds.base import Chunk, ListingOf
from marketwire.stream.verify import Unparseable

CHUNK_ROWS = 1 << 18
NY = ZoneInfo("America/New_York")
_PATH = re.compile(r"(?P<type>equity|forex|future|cfd|crypto)/(?P<market>[^/]+)/tick/(?P<symbol>[^/]+)/"
                   r"(?P<date>\d{8})_(?P<kind>trade|quote|openinterest)\.zip$", re.I)

#: Lean / AlgoSeek one-letter US venue codes -> MIC
US_VENUES = {
    "A": "XASE", "B": "XBOS", "C": "XCIS", "D": "FINR", "E": "XNAS", "I": "XISE", "J": "EDGA", "K": "EDGX",
    "M": "XCHI", "N": "XNYS", "P": "ARCX", "Q": "XNAS", "T": "XNAS", "W": "XCBO", "X": "XPHL", "Y": "BATY",
    "Z": "BATS",
}

TRADE_COLS = ["time", "price", "size", "exchange", "condition", "suspicious"]
QUOTE_COLS = ["time", "bid", "bid_size", "ask", "ask_size", "exchange", "condition", "suspicious"]
FX_COLS = ["time", "bid", "ask"]
_TYPES = {"time": pa.int64(), "price": pa.float64(), "size": pa.float64(), "exchange": pa.string(),
          "condition": pa.string(), "suspicious": pa.int8(), "bid": pa.float64(), "bid_size": pa.float64(),
          "ask": pa.float64(), "ask_size": pa.float64()}


def parse_path(path: str | Path) -> dict[str, Any]:
    """``{type, market, symbol, date, kind}`` from a Lean tick path."""
    m = _PATH.search(str(path).replace("\\", "/"))
    if not m:
        raise ValueError(f"{path}: not a Lean tick path (.../<type>/<market>/tick/<symbol>/<YYYYMMDD>_<kind>.zip)")
    d = m.groupdict()
    d["type"], d["market"], d["symbol"], d["kind"] = (d["type"].lower(), d["market"].lower(), d["symbol"].upper(),
                                                      d["kind"].lower())
    d["date"] = datetime.strptime(d["date"], "%Y%m%d").date()
    return d


def midnight_ns(day: date, tz: Any) -> tuple[int, int, int]:
    """(UTC ns of local midnight, UTC offset ns at the day's start, at its end): a DST change inside the day moves
    times from 03:00 local on by the difference."""
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day, time(23, 59), tz)
    off0 = int(start.utcoffset().total_seconds() * 1e9)  # type: ignore[union-attr]
    off1 = int(end.utcoffset().total_seconds() * 1e9)  # type: ignore[union-attr]
    epoch = datetime(1970, 1, 1)
    return int((datetime.combine(day, time(0)) - epoch) / timedelta(microseconds=1)) * 1000, off0, off1


def ms_to_utc_ns(ms: np.ndarray, day: date, tz: Any) -> np.ndarray:
    local0, off0, off1 = midnight_ns(day, tz)
    ns = local0 + ms.astype(np.int64) * 1_000_000
    if off0 == off1:
        return ns - off0
    return ns - np.where(ms >= 3 * 3_600_000, off1, off0)


def _read_csv(data: bytes, names: list[str]) -> pa.Table:
    return pcsv.read_csv(io.BytesIO(data), read_options=pcsv.ReadOptions(column_names=names, block_size=8 << 20),
                         convert_options=pcsv.ConvertOptions(column_types={n: _TYPES[n] for n in names},
                                                             strings_can_be_null=False, quoted_strings_can_be_null=False),
                         parse_options=pcsv.ParseOptions(newlines_in_values=False))


def _read_lenient(data: bytes, names: list[str], feed: str, file: str) -> tuple[pa.Table, np.ndarray, list[Unparseable]]:
    """Row by row: the rows that parse (with their 1-based line numbers) and the ones that do not."""
    good: dict[str, list[Any]] = {n: [] for n in names}
    lines: list[int] = []
    bad: list[Unparseable] = []
    for i, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        parts = raw.decode("utf-8", "replace").split(",")
        if len(parts) != len(names):
            bad.append(Unparseable(feed, file, i, raw, f"expected {len(names)} fields, found {len(parts)}"))
            continue
        try:
            vals = []
            for n, v in zip(names, parts):
                t = _TYPES[n]
                if pa.types.is_integer(t):
                    vals.append(int(v))
                elif pa.types.is_floating(t):
                    x = float(v)
                    if x != x or x in (float("inf"), float("-inf")):
                        raise ValueError(f"{n} is not a finite number")
                    vals.append(x)
                else:
                    vals.append(v)
        except ValueError as e:
            bad.append(Unparseable(feed, file, i, raw, f"field {n}: {v!r} does not parse ({e})"))
            continue
        for n, v in zip(names, vals):
            good[n].append(v)
        lines.append(i)
    t = pa.table({n: pa.array(good[n], _TYPES[n]) for n in names})
    return t, np.asarray(lines, np.int64), bad


def read(path: str | Path, listing_of: ListingOf, *, symbol: str | None = None, start_row: int = 0,
         chunk_rows: int = CHUNK_ROWS, **_: Any) -> Iterator[Chunk]:
    info = parse_path(path)
    if symbol:
        info["symbol"] = symbol.upper()
    file = str(path)
    with zipfile.ZipFile(path) as z:
        members = sorted(n for n in z.namelist() if not n.endswith("/"))
        offset = 0  # rows across the members
        for member in members:
            data = z.read(member)
            month = None
            if info["type"] == "future":
                m = re.search(r"_(\d{6})\.csv$", member)
                month = m.group(1) if m else None
            yield from _member(data, info, month, file, member, listing_of, offset, start_row, chunk_rows)
            offset += data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def _member(data: bytes, info: dict[str, Any], month: str | None, file: str, member: str, listing_of: ListingOf,
            offset: int, start_row: int, chunk_rows: int) -> Iterator[Chunk]:
    kind, typ = info["kind"], info["type"]
    if kind == "openinterest":
        return
    if typ == "forex":
        names = FX_COLS
    else:
        names = TRADE_COLS if kind == "trade" else QUOTE_COLS
    feed = f"lean:{typ}/{info['market']}"
    bad: list[Unparseable] = []
    try:
        t = _read_csv(data, names)
        lines = np.arange(1, t.num_rows + 1, dtype=np.int64)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        t, lines, bad = _read_lenient(data, names, feed, f"{file}:{member}")
    n = t.num_rows
    total_rows = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    if total_rows and offset + total_rows <= start_row:
        return
    # timestamps
    if typ == "equity":
        tz: Any = NY
    elif typ == "forex" and info["market"] == "fxcm":
        tz = timezone(timedelta(hours=-5))
    else:
        tz = timezone.utc
    key, meta = instrument_key(info, month)
    lid = listing_of(key, meta)
    ts = ms_to_utc_ns(t.column("time").to_numpy(), info["date"], tz)
    scale = 10_000.0 if typ == "equity" else 1.0
    cols: dict[str, Any] = {"listing_id": lid, "ts_event": ts, "ts_recv": ts, "source": "lean",
                            "position": lines + offset}
    if typ == "forex":
        kind_ev = "quote"
        bid = t.column("bid").to_numpy()
        ask = t.column("ask").to_numpy()
        cols.update(bid_price=bid, ask_price=ask, venue=meta["venue"])
        flags = np.zeros(n, np.uint32)
    else:
        exch = t.column("exchange")
        venue = pc.fill_null(_map_venues(exch) if typ == "equity" else exch, "")
        cols["venue"] = venue
        cond = t.column("condition")
        cols["conditions"] = cond
        flags = np.where(t.column("suspicious").to_numpy(zero_copy_only=False) == 1,
                         FLAGS["vendor_suspicious"], 0).astype(np.uint32)
        if kind == "trade":
            kind_ev = "trade"
            cols["price"] = t.column("price").to_numpy() / scale
            cols["size"] = t.column("size").to_numpy()
            cols["side"] = np.zeros(n, np.int8)
        else:
            kind_ev = "quote"
            bp = t.column("bid").to_numpy()
            ap = t.column("ask").to_numpy()
            bsz = t.column("bid_size").to_numpy()
            asz = t.column("ask_size").to_numpy()
            nob = (bp == 0) & (bsz == 0)
            noa = (ap == 0) & (asz == 0)
            cols["bid_price"] = np.where(nob, np.nan, bp / scale)
            cols["bid_size"] = np.where(nob, np.nan, bsz)
            cols["ask_price"] = np.where(noa, np.nan, ap / scale)
            cols["ask_size"] = np.where(noa, np.nan, asz)
    cols["flags"] = flags
    b = from_columns(kind_ev, cols, n)
    skip = max(0, start_row - offset)
    first = True
    i = int(np.searchsorted(lines, skip, side="right")) if skip else 0
    while i < n or first:
        j = min(n, i + chunk_rows)
        end_pos = offset + (int(lines[j - 1]) if j < n and j > 0 else total_rows)
        chunk = b.slice(i, j - i) if j > i else None
        yield Chunk(chunk, file, end_pos, bad if first else [], consolidated=typ == "equity")
        first = False
        i = j
        if i >= n:
            break


def _map_venues(exch: pa.Array | pa.ChunkedArray) -> pa.Array:
    codes = list(US_VENUES)
    mics = pa.array(list(US_VENUES.values()))
    idx = pc.index_in(exch, pa.array(codes))
    mapped = pc.take(mics, idx)
    return pc.if_else(pc.is_null(idx), exch, mapped)


def instrument_key(info: dict[str, Any], month: str | None = None) -> tuple[str, dict[str, Any]]:
    """The instrument key and description of a Lean file (see :mod:`marketwire.stream.instruments`)."""
    typ, market, sym = info["type"], info["market"], info["symbol"]
    if typ == "equity":
        return f"{sym}@US", {"kind": "equity", "symbol": sym, "country": "US", "currency": "USD", "venue": None}
    if typ == "forex":
        pair = sym[:3] + "/" + sym[3:]
        return f"{pair}@{market.upper()}", {"kind": "fx", "symbol": pair, "venue": market.upper(),
                                            "currency": sym[3:]}
    if typ == "future":
        root = sym
        mic = {"comex": "XCEC", "cme": "XCME", "nymex": "XNYM", "cbot": "XCBT"}.get(market, market.upper())
        code = f"{root}{month}" if month else root
        return f"{code}@{mic}", {"kind": "future", "symbol": code, "root": root, "month": month, "venue": mic,
                                 "currency": "USD"}
    return f"{sym}@{market.upper()}", {"kind": typ, "symbol": sym, "venue": market.upper()}
