"""The last-value cache: per listing, the last trade; per listing and venue, the best bid and offer last quoted;
and for equities a consolidated best bid/offer across venues (highest bid, lowest ask of the venues' last quotes).

A quote side that a message did not carry (NaN) keeps the venue's previous value. Updated from whole batches;
reads are dicts ready to serve. Flagged events update the cache too and carry their flags (a consumer sees that
the last trade was, say, outside the band).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from marketwire.stream.events import flag_names, kind_of


class LastValueCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.trades: dict[str, dict[str, Any]] = {}
        self.quotes: dict[str, dict[str, dict[str, Any]]] = {}  # listing -> venue -> quote

    def update(self, batch: pa.RecordBatch) -> None:
        kind = kind_of(batch)
        if batch.num_rows == 0 or kind not in ("trade", "quote"):
            return
        t = pa.Table.from_batches([batch]).append_column("_i", pa.array(np.arange(batch.num_rows)))
        if kind == "trade":
            last = t.group_by("listing_id", use_threads=False).aggregate([("_i", "max")])
            rows = batch.take(last.column("_i_max").combine_chunks()).to_pylist()
            with self._lock:
                for r in rows:
                    r["flag_names"] = flag_names(r["flags"])
                    self.trades[r["listing_id"]] = r
            return
        t = t.set_column(t.schema.get_field_index("venue"), "venue", pc.fill_null(t.column("venue"), ""))
        keys = ["listing_id", "venue"]
        latest = t.group_by(keys, use_threads=False).aggregate([("_i", "max")])
        sides = {}
        for side in ("bid", "ask"):
            has = t.filter(pc.is_valid(t.column(f"{side}_price")))
            if has.num_rows:
                sides[side] = has.group_by(keys, use_threads=False).aggregate([("_i", "max")]).to_pylist()
        cols = {c: batch.column(c) for c in ("bid_price", "bid_size", "ask_price", "ask_size", "ts_event", "flags")}
        with self._lock:
            for side, rows in sides.items():
                for r in rows:
                    q = self.quotes.setdefault(r["listing_id"], {}).setdefault(r["venue"], {"venue": r["venue"] or None})
                    j = r["_i_max"]
                    q[f"{side}_price"] = cols[f"{side}_price"][j].as_py()
                    q[f"{side}_size"] = cols[f"{side}_size"][j].as_py()
            for r in latest.to_pylist():
                q = self.quotes.setdefault(r["listing_id"], {}).setdefault(r["venue"], {"venue": r["venue"] or None})
                j = r["_i_max"]
                q["ts_event"] = cols["ts_event"][j].as_py()
                q["flags"] = cols["flags"][j].as_py()

    def last(self, listing_id: str) -> dict[str, Any]:
        """``{trade, quotes (per venue), bbo (consolidated)}`` of a listing (``None`` parts when unseen)."""
        with self._lock:
            trade = self.trades.get(listing_id)
            venues = {v: dict(q) for v, q in self.quotes.get(listing_id, {}).items()}
        return {"listing_id": listing_id, "trade": trade, "quotes": venues, "bbo": consolidated(venues)}

    def listings(self) -> list[str]:
        return sorted(set(self.trades) | set(self.quotes))


def consolidated(venues: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The best bid (highest) and best ask (lowest) across venues' last quotes, with the venue of each."""
    bids = [(q["bid_price"], q.get("bid_size"), v) for v, q in venues.items() if q.get("bid_price") is not None]
    asks = [(q["ask_price"], q.get("ask_size"), v) for v, q in venues.items() if q.get("ask_price") is not None]
    if not bids and not asks:
        return None
    b = max(bids, key=lambda x: x[0]) if bids else (None, None, None)
    a = min(asks, key=lambda x: x[0]) if asks else (None, None, None)
    return {"bid_price": b[0], "bid_size": b[1], "bid_venue": b[2] or None, "ask_price": a[0], "ask_size": a[1],
            "ask_venue": a[2] or None}
