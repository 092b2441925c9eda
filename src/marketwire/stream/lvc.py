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
        lid = np.asarray(batch.column("listing_id").to_numpy(zero_copy_only=False), dtype=object)
        if kind == "trade":
            rev = lid[::-1]
            _, first = np.unique(rev, return_index=True)
            idx = len(lid) - 1 - first
            rows = batch.take(pa.array(idx)).to_pylist()
            with self._lock:
                for r in rows:
                    r["flag_names"] = flag_names(r["flags"])
                    self.trades[r["listing_id"]] = r
            return
        venue = np.asarray(batch.column("venue").fill_null("").to_numpy(zero_copy_only=False), dtype=object)
        key = np.char.add(np.char.add(lid.astype(str), "\x1f"), venue.astype(str))
        uk = np.unique(key)
        cols = {c: np.asarray(batch.column(c).to_numpy(zero_copy_only=False)) for c in
                ("bid_price", "bid_size", "ask_price", "ask_size", "ts_event", "flags")}
        with self._lock:
            for k in uk:
                m = np.flatnonzero(key == k) if len(uk) > 1 else np.arange(len(key))
                listing, v = str(k).split("\x1f", 1)
                q = self.quotes.setdefault(listing, {}).setdefault(v, {"venue": v or None})
                for side in ("bid", "ask"):
                    px = cols[f"{side}_price"][m].astype(float)
                    ok = np.flatnonzero(~np.isnan(px))
                    if len(ok):
                        j = m[ok[-1]]
                        q[f"{side}_price"] = float(cols[f"{side}_price"][j])
                        q[f"{side}_size"] = None if np.isnan(cols[f"{side}_size"][j]) else float(cols[f"{side}_size"][j])
                q["ts_event"] = int(cols["ts_event"][m[-1]])
                q["flags"] = int(cols["flags"][m[-1]])

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
