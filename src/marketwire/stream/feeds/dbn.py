"""Databento DBN files (zstd-compressed or plain), decoded with the ``databento-dbn`` package.

* ``mbo`` (market by order, L3) -> BOOK events: ``action`` A add, C cancel (``size`` = the quantity cancelled),
  M modify, F fill, T trade, R clear; ``order_id``; ``snapshot`` from the SNAPSHOT flag; ``seq`` = the venue's
  sequence. As in Databento's own book, F and T do not change the book (the venue follows them with C or M).
* ``mbp-1`` / ``tbbo`` (top of book) -> QUOTE events (best bid and ask with sizes after the event), plus a TRADE
  event for each ``T`` record.
* ``trades`` -> TRADE events (aggressor side from ``side``: B = buyer, A = seller).

Prices are int64 x 1e-9 (undefined -> NaN); times are ns UTC (``ts_event`` the venue's, ``ts_recv`` Databento's).
Instruments come from the file's symbol mappings: ``<raw symbol>@<MIC>`` with the MIC of the dataset's venue
(GLBX.MDP3 -> XCME). A record that does not decode is quarantined with its bytes and record number.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from marketwire.stream.events import from_columns
from marketwire.stream.feeds.base import Chunk, ListingOf
from marketwire.stream.verify import Unparseable

UNDEF = (1 << 63) - 1
SNAPSHOT_FLAG = 1 << 5
DATASET_MIC = {"GLBX.MDP3": "XCME", "XNAS.ITCH": "XNAS", "XNYS.PILLAR": "XNYS", "OPRA.PILLAR": "OPRA",
               "DBEQ.BASIC": "DBEQ", "IFEU.IMPACT": "IFEU", "NDEX.IMPACT": "NDEX"}
CHUNK = 1 << 16


def _px(v: int) -> float:
    return math.nan if v == UNDEF else v / 1e9


def _side(c: str) -> int:
    return 1 if c == "B" else -1 if c == "A" else 0


def records(path: str | Path) -> tuple[Any, list[Any]]:
    """The metadata and records of a DBN file."""
    import databento_dbn as dbn

    p = str(path)
    data = pa.input_stream(p, compression="zstd").read() if p.endswith(".zst") else Path(p).read_bytes()
    dec = dbn.DBNDecoder()
    dec.write(data)
    recs = dec.decode()
    return recs[0], recs[1:]


def read(path: str | Path, listing_of: ListingOf, *, start_row: int = 0, chunk_rows: int = CHUNK,
         **_: Any) -> Iterator[Chunk]:
    meta, recs = records(path)
    schema = str(meta.schema).lower().split(".")[-1].replace("_", "-")
    mic = DATASET_MIC.get(str(meta.dataset), str(meta.dataset).split(".")[0])
    symbols: dict[int, str] = {}
    for raw_symbol, intervals in dict(meta.mappings).items():
        for iv in intervals:
            sym = iv["symbol"] if isinstance(iv, dict) else iv.symbol
            if str(sym).isdigit():
                symbols[int(sym)] = raw_symbol
    lids: dict[int, str] = {}

    def lid(iid: int) -> str:
        if iid not in lids:
            sym = symbols.get(iid, str(iid))
            root = sym.rstrip("0123456789")[:-1] if len(sym) > 2 else sym
            lids[iid] = listing_of(f"{sym}@{mic}", {"kind": "future" if mic in ("XCME", "IFEU") else "equity",
                                                   "symbol": sym, "root": root, "venue": mic,
                                                   "databento_id": iid})
        return lids[iid]

    file = str(path)
    for lo in range(start_row, len(recs), chunk_rows):
        hi = min(len(recs), lo + chunk_rows)
        book: dict[str, list[Any]] = {k: [] for k in ("listing_id", "ts_event", "ts_recv", "seq", "side", "price",
                                                       "size", "action", "order_id", "snapshot", "position")}
        quote: dict[str, list[Any]] = {k: [] for k in ("listing_id", "ts_event", "ts_recv", "seq", "bid_price",
                                                        "bid_size", "ask_price", "ask_size", "position")}
        trade: dict[str, list[Any]] = {k: [] for k in ("listing_id", "ts_event", "ts_recv", "seq", "price", "size",
                                                        "side", "position")}
        bad: list[Unparseable] = []
        for k in range(lo, hi):
            r = recs[k]
            pos = k + 1
            try:
                rtype = type(r).__name__
                L = lid(int(r.instrument_id))
                if rtype in ("MBOMsg", "MboMsg"):
                    for n, v in (("listing_id", L), ("ts_event", int(r.ts_event)), ("ts_recv", int(r.ts_recv)),
                                 ("seq", int(r.sequence)), ("side", _side(str(r.side))), ("price", _px(r.price)),
                                 ("size", float(r.size)), ("action", str(r.action)), ("order_id", int(r.order_id)),
                                 ("snapshot", bool(int(r.flags) & SNAPSHOT_FLAG)), ("position", pos)):
                        book[n].append(v)
                elif rtype in ("MBP1Msg", "Mbp1Msg", "TradeMsg", "MBP10Msg", "Mbp10Msg", "CBBOMsg", "CMBP1Msg"):
                    if str(r.action) == "T":
                        for n, v in (("listing_id", L), ("ts_event", int(r.ts_event)), ("ts_recv", int(r.ts_recv)),
                                     ("seq", int(r.sequence)), ("price", _px(r.price)), ("size", float(r.size)),
                                     ("side", _side(str(r.side))), ("position", pos)):
                            trade[n].append(v)
                    if rtype != "TradeMsg":
                        lv = r.levels[0]
                        for n, v in (("listing_id", L), ("ts_event", int(r.ts_event)), ("ts_recv", int(r.ts_recv)),
                                     ("seq", int(r.sequence)), ("bid_price", _px(lv.bid_px)),
                                     ("bid_size", float(lv.bid_sz)), ("ask_price", _px(lv.ask_px)),
                                     ("ask_size", float(lv.ask_sz)), ("position", pos)):
                            quote[n].append(v)
                else:
                    continue  # definitions, statistics, status ...: not market events of this path
            except (AttributeError, ValueError, TypeError) as e:
                bad.append(Unparseable("databento", file, pos, repr(r).encode(), f"{type(e).__name__}: {e}"))
        out = [(kind, cols) for kind, cols in (("book", book), ("trade", trade), ("quote", quote)) if cols["ts_event"]]
        if not out:
            yield Chunk(None, file, hi, bad)
        for i, (kind, cols) in enumerate(out):
            b = from_columns(kind, {**cols, "source": "databento", "venue": mic})
            yield Chunk(b, file, hi, bad if i == 0 else [], part=i, parts=len(out))
    _ = schema
