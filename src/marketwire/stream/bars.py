"""Intraday bars (1-second, 1-minute, any whole number of seconds) built incrementally from trade batches.

A bar holds the trades whose exchange time falls in ``[start, start + interval)``: open, high, low, close, volume,
VWAP and the number of trades. Trades flagged by the rules in :data:`EXCLUDE` (outside the price band, non-positive
price or size, duplicates, vendor-suspicious) are left out of bars; the ticks keep them. A trade whose time is
earlier than the listing's open bar (out of order) counts in the open bar.

**Live equals batch, exactly.** The builder is the same code whether it receives one batch of a whole day or ten
thousand small ones: open/high/low/close are order statistics, and volume and notional are *exactly rounded* sums
(``math.fsum``) of the per-trade values, which do not depend on how the trades were split into batches. A batch
computation is ``BarBuilder(...).update(all_trades) + flush()``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from marketwire.stream.events import FLAGS

EXCLUDE = (FLAGS["price_band"] | FLAGS["price_nonpositive"] | FLAGS["size_nonpositive"] | FLAGS["trade_duplicate"]
           | FLAGS["vendor_suspicious"])
INTERVALS = {"1s": 1_000_000_000, "1m": 60_000_000_000}

BAR_SCHEMA = pa.schema([
    pa.field("listing_id", pa.string(), nullable=False), pa.field("interval", pa.string(), nullable=False),
    pa.field("start", pa.int64(), nullable=False), pa.field("open", pa.float64()), pa.field("high", pa.float64()),
    pa.field("low", pa.float64()), pa.field("close", pa.float64()), pa.field("volume", pa.float64()),
    pa.field("vwap", pa.float64()), pa.field("trades", pa.int64()),
])


def interval_ns(interval: str) -> int:
    if interval in INTERVALS:
        return INTERVALS[interval]
    unit = {"s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
    if interval[:-1].isdigit() and interval[-1] in unit and int(interval[:-1]) > 0:
        return int(interval[:-1]) * unit[interval[-1]]
    raise ValueError(f"interval {interval!r} is not 1s, 1m or <n>s/<n>m/<n>h")


@dataclass
class _Open:
    start: int
    open: float
    high: float
    low: float
    close: float
    sizes: list[np.ndarray] = field(default_factory=list)
    notionals: list[np.ndarray] = field(default_factory=list)
    trades: int = 0

    def row(self, listing: str, interval: str) -> dict[str, Any]:
        vol = math.fsum(np.concatenate(self.sizes).tolist())
        notional = math.fsum(np.concatenate(self.notionals).tolist())
        return {"listing_id": listing, "interval": interval, "start": self.start, "open": self.open,
                "high": self.high, "low": self.low, "close": self.close, "volume": vol,
                "vwap": notional / vol if vol else None, "trades": self.trades}


class BarBuilder:
    """Incremental bars of one interval for any number of listings."""

    def __init__(self, interval: str = "1m") -> None:
        self.interval = interval
        self.step = interval_ns(interval)
        self.open: dict[str, _Open] = {}

    def update(self, batch: pa.RecordBatch | pa.Table) -> list[dict[str, Any]]:
        """Add a batch of trades (the TRADE schema, or any table with listing_id, ts_event, price, size, flags);
        returns the bars this batch closed, oldest first per listing."""
        if batch.num_rows == 0:
            return []
        lid = batch.column("listing_id")
        uniq = pc.unique(lid)
        out: list[dict[str, Any]] = []
        ts_all = np.asarray(batch.column("ts_event"))
        p_all = np.asarray(batch.column("price"))
        s_all = np.asarray(batch.column("size"))
        f_all = np.asarray(batch.column("flags")) if "flags" in batch.column_names else np.zeros(len(ts_all), np.uint32)
        if len(uniq) == 1:
            groups = [(uniq[0].as_py(), None)]
        else:
            codes = np.asarray(pc.index_in(lid, uniq))
            groups = [(uniq[i].as_py(), np.flatnonzero(codes == i)) for i in range(len(uniq))]
        for listing, idx in groups:
            ts, p, s, f = (ts_all, p_all, s_all, f_all) if idx is None else \
                (ts_all[idx], p_all[idx], s_all[idx], f_all[idx])
            keep = (f & EXCLUDE) == 0
            out.extend(self._one(listing, ts[keep], p[keep], s[keep]))
        return out

    def _one(self, listing: str, ts: np.ndarray, p: np.ndarray, s: np.ndarray) -> list[dict[str, Any]]:
        if len(ts) == 0:
            return []
        cur = self.open.get(listing)
        bars = (ts // self.step) * self.step
        floor = cur.start if cur is not None else bars[0]
        bars = np.maximum.accumulate(np.maximum(bars, floor))
        notional = p * s
        cuts = np.flatnonzero(np.diff(bars)) + 1
        starts = np.concatenate(([0], cuts))
        ends = np.concatenate((cuts, [len(ts)]))
        highs = np.maximum.reduceat(p, starts)
        lows = np.minimum.reduceat(p, starts)
        out = []
        for k, (a, b) in enumerate(zip(starts, ends)):
            start = int(bars[a])
            if cur is not None and cur.start == start:
                cur.high = max(cur.high, float(highs[k]))
                cur.low = min(cur.low, float(lows[k]))
                cur.close = float(p[b - 1])
            else:
                if cur is not None:
                    out.append(cur.row(listing, self.interval))
                cur = _Open(start, float(p[a]), float(highs[k]), float(lows[k]), float(p[b - 1]))
            cur.sizes.append(s[a:b])
            cur.notionals.append(notional[a:b])
            cur.trades += int(b - a)
        self.open[listing] = cur  # type: ignore[assignment]
        return out

    def partial(self, listing: str | None = None) -> list[dict[str, Any]]:
        """The open (not yet closed) bars, without closing them."""
        return [o.row(lid, self.interval) for lid, o in self.open.items() if listing is None or lid == listing]

    def flush(self) -> list[dict[str, Any]]:
        """Close every open bar (end of the stream or of the day)."""
        out = self.partial()
        self.open.clear()
        return out


def bars_of(trades: pa.RecordBatch | pa.Table, interval: str = "1m") -> pa.Table:
    """Bars of a whole set of trades at once (the batch computation)."""
    b = BarBuilder(interval)
    rows = b.update(trades) + b.flush()
    return table_of(rows)


def table_of(rows: list[dict[str, Any]]) -> pa.Table:
    rows = sorted(rows, key=lambda r: (r["listing_id"], r["start"]))
    return pa.Table.from_pylist(rows, schema=BAR_SCHEMA)
