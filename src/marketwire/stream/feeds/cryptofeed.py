"""cryptofeed's recorded websocket sessions (``<EXCHANGE>.ws.<n>.0``), one connection per file, lines:

* ``<url> <-> <epoch s>`` -- the connection opened (a STATUS event ``connected``);
* ``<url> <- <epoch s>: <json>`` -- a message we sent (subscriptions; skipped);
* ``<epoch s>: <json>`` -- a message received (its receive time).

Normalised venues (the exchange from the file name):

* Coinbase: ``match``/``last_match`` -> trades (``sequence``, ``trade_id``; the aggressor is the side opposite the
  maker's ``side``), ``ticker`` -> quotes (best bid and ask, no sizes), ``snapshot`` -> book snapshots,
  ``l2update`` -> L2 level sets.
* Kraken: ``book-N`` snapshots (``as``/``bs``) and updates (``a``/``b``, level times in seconds) -> book events;
  ``trade`` -> trades (``b``/``s`` aggressor side).
* Bitstamp: ``live_trades_<pair>`` -> trades (``microtimestamp``; ``type`` 0 = buy, 1 = sell aggressor),
  ``diff_order_book_<pair>`` -> L2 level sets.

Instruments: ``<BASE>/<QUOTE>@<VENUE>`` with the venue's own asset codes (Kraken's ``XBT`` stays ``XBT``). A line
that is not JSON or lacks a field is quarantined with its raw bytes and line number.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from marketwire.stream.events import from_columns
from marketwire.stream.feeds.base import Chunk, ListingOf
from marketwire.stream.verify import Unparseable

WINDOW = 1 << 14
_QUOTES = ("USDT", "USDC", "USD", "EUR", "GBP", "BTC", "ETH", "XBT", "JPY", "CAD", "CHF", "AUD", "DAI")


def _pair(raw: str) -> str:
    s = raw.upper()
    for sep in ("-", "/", "_"):
        if sep in s:
            b, q = s.split(sep, 1)
            return f"{b}/{q}"
    for q in _QUOTES:
        if s.endswith(q) and len(s) > len(q):
            return f"{s[:-len(q)]}/{q}"
    return s


def _iso_ns(t: str) -> int:
    d = datetime.fromisoformat(t.replace("Z", "+00:00"))
    return int(d.timestamp()) * 1_000_000_000 + d.microsecond * 1000


class _Out:
    def __init__(self) -> None:
        self.t: dict[str, list[Any]] = {k: [] for k in ("listing_id", "ts_event", "ts_recv", "seq", "price", "size",
                                                         "side", "trade_id", "position")}
        self.q: dict[str, list[Any]] = {k: [] for k in ("listing_id", "ts_event", "ts_recv", "seq", "bid_price",
                                                         "ask_price", "position")}
        self.b: dict[str, list[Any]] = {k: [] for k in ("listing_id", "ts_event", "ts_recv", "seq", "side", "price",
                                                         "size", "action", "snapshot", "position")}
        self.s: dict[str, list[Any]] = {k: [] for k in ("listing_id", "ts_event", "ts_recv", "status", "reason",
                                                         "position")}

    def add(self, cols: dict[str, list[Any]], **v: Any) -> None:
        for k, x in v.items():
            cols[k].append(x)

    def level(self, lid: str, ts: int, recv: int, side: int, px: Any, qty: Any, pos: int, snapshot: bool = False,
              action: str = "S", seq: int | None = None) -> None:
        self.add(self.b, listing_id=lid, ts_event=ts, ts_recv=recv, seq=seq, side=side, price=float(px),
                 size=float(qty), action=action, snapshot=snapshot, position=pos)


def _coinbase(m: Any, recv: int, pos: int, lid: Any, o: _Out) -> None:
    typ = m.get("type")
    if typ in ("match", "last_match"):
        o.add(o.t, listing_id=lid(m["product_id"]), ts_event=_iso_ns(m["time"]), ts_recv=recv,
              seq=int(m["sequence"]), price=float(m["price"]), size=float(m["size"]),
              side=-1 if m["side"] == "buy" else 1, trade_id=str(m["trade_id"]), position=pos)
    elif typ == "ticker":
        o.add(o.q, listing_id=lid(m["product_id"]), ts_event=_iso_ns(m["time"]) if m.get("time") else recv,
              ts_recv=recv, seq=int(m["sequence"]), bid_price=float(m["best_bid"]), ask_price=float(m["best_ask"]),
              position=pos)
    elif typ == "snapshot":
        L = lid(m["product_id"])
        o.level(L, recv, recv, 0, "nan", 0, pos, True, "R")
        for side, key in ((1, "bids"), (-1, "asks")):
            for px, qty in m[key]:
                o.level(L, recv, recv, side, px, qty, pos, True)
    elif typ == "l2update":
        L = lid(m["product_id"])
        ts = _iso_ns(m["time"])
        for side, px, qty in m["changes"]:
            o.level(L, ts, recv, 1 if side == "buy" else -1, px, qty, pos)


def _kraken(m: Any, recv: int, pos: int, lid: Any, o: _Out) -> None:
    if not isinstance(m, list) or len(m) < 4:
        return
    pair, channel = m[-1], m[-2]
    L = lid(pair)
    if str(channel).startswith("book"):
        for part in m[1:-2]:
            if "as" in part or "bs" in part:
                o.level(L, recv, recv, 0, "nan", 0, pos, True, "R")
                for side, key in ((1, "bs"), (-1, "as")):
                    for lv in part.get(key, []):
                        o.level(L, int(float(lv[2]) * 1e9), recv, side, lv[0], lv[1], pos, True)
            else:
                for side, key in ((1, "b"), (-1, "a")):
                    for lv in part.get(key, []):
                        o.level(L, int(float(lv[2]) * 1e9), recv, side, lv[0], lv[1], pos)
    elif channel == "trade":
        for px, vol, ts, side, *_ in m[1]:
            o.add(o.t, listing_id=L, ts_event=int(float(ts) * 1e9), ts_recv=recv, seq=None, price=float(px),
                  size=float(vol), side=1 if side == "b" else -1, trade_id=None, position=pos)


def _bitstamp(m: Any, recv: int, pos: int, lid: Any, o: _Out) -> None:
    ch = m.get("channel", "")
    d = m.get("data") or {}
    if ch.startswith("live_trades_") and m.get("event") == "trade":
        o.add(o.t, listing_id=lid(ch.removeprefix("live_trades_")), ts_event=int(d["microtimestamp"]) * 1000,
              ts_recv=recv, seq=int(d["id"]), price=float(d["price_str"]), size=float(d["amount_str"]),
              side=1 if int(d["type"]) == 0 else -1, trade_id=str(d["id"]), position=pos)
    elif ch.startswith("diff_order_book_") and m.get("event") == "data" and d:
        L = lid(ch.removeprefix("diff_order_book_"))
        ts = int(d["microtimestamp"]) * 1000
        for side, key in ((1, "bids"), (-1, "asks")):
            for px, qty in d.get(key, []):
                o.level(L, ts, recv, side, px, qty, pos)


_HANDLERS = {"COINBASE": _coinbase, "KRAKEN": _kraken, "BITSTAMP": _bitstamp}


def read(path: str | Path, listing_of: ListingOf, *, start_row: int = 0, chunk_rows: int = WINDOW,
         **_: Any) -> Iterator[Chunk]:
    p = Path(path)
    venue = p.name.split(".ws.")[0].upper()
    handler = _HANDLERS.get(venue)
    if handler is None:
        raise ValueError(f"{p}: no normaliser for {venue} captures (Coinbase, Kraken and Bitstamp have one)")
    lids: dict[str, str] = {}

    def lid(sym: str) -> str:
        if sym not in lids:
            pair = _pair(sym)
            lids[sym] = listing_of(f"{pair}@{venue}", {"kind": "crypto_spot", "symbol": pair, "venue": venue,
                                                        "venue_symbol": sym})
        return lids[sym]

    lines = p.read_bytes().splitlines()
    for lo in range(start_row, len(lines), chunk_rows):
        hi = min(len(lines), lo + chunk_rows)
        o = _Out()
        bad: list[Unparseable] = []
        for k in range(lo, hi):
            raw = lines[k]
            pos = k + 1
            try:
                if b" <-> " in raw[:200]:
                    ts = int(float(raw.rsplit(b" ", 1)[1]) * 1e9)
                    o.add(o.s, listing_id=f"{venue}", ts_event=ts, ts_recv=ts, status="connected",
                          reason=raw.split(b" ", 1)[0].decode(), position=pos)
                    continue
                if b" <- " in raw[:200] or not raw.strip():
                    continue
                head, _, body = raw.partition(b": ")
                recv = int(float(head) * 1e9)
                handler(orjson.loads(body), recv, pos, lid, o)
            except (ValueError, KeyError, TypeError, IndexError, AttributeError, orjson.JSONDecodeError) as e:
                for cols in (o.t, o.q, o.b, o.s):  # a message cut half-way: put the columns back in step
                    m = min(len(v) for v in cols.values())
                    for v in cols.values():
                        del v[m:]
                bad.append(Unparseable(venue.lower(), str(p), pos, raw, f"{type(e).__name__}: {e}"))
        out = [(kind, c) for kind, c in (("status", o.s), ("book", o.b), ("trade", o.t), ("quote", o.q))
               if c["ts_event"]]
        if not out:
            yield Chunk(None, str(p), hi, bad)
        for i, (kind, c) in enumerate(out):
            b = from_columns(kind, {**c, "source": venue.lower(), "venue": venue})
            yield Chunk(b, str(p), hi, bad if i == 0 else [], part=i, parts=len(out))
