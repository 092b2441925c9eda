"""Realtime: trades, quotes and intraday bars rolled from the stream's durable log at the end of the day.

Partitioned by the event's UTC date; within a roll the rows are sorted by (listing, exchange time), so times,
offsets and positions are stored as small deltas. ``log_offset`` is the event's offset in the log: unique, the key,
and what makes the roll idempotent (a rerun skips offsets already stored). ``knowledge_time`` is the time of the
roll (when the lake learnt the events); ``recv_lag_ns`` is ``ts_recv - ts_event``.
"""

from __future__ import annotations

import pyarrow as pa

from marketwire.datasets.base import Dataset

S = pa.string()
I64 = pa.int64()
F64 = pa.float64()
_DELTA = "DELTA_BINARY_PACKED"


def f(name: str, typ: pa.DataType, nullable: bool = True) -> pa.Field:
    return pa.field(name, typ, nullable=nullable)


_COMMON = (f("date", pa.date32(), False), f("listing_id", S, False), f("ts_event", I64, False),
           f("recv_lag_ns", I64), f("seq", I64), f("venue", S), f("flags", pa.int32(), False))
_TAIL = (f("position", I64), f("log_offset", I64, False))
_DOCS = {
    "ts_event": "exchange time, ns since the epoch (UTC)",
    "recv_lag_ns": "receive time minus exchange time, ns",
    "flags": "bitmask of the stream rules that flagged the event (docs/realtime.md); 0 = clean",
    "position": "row or line of the event in its feed file (or message number of a live session)",
    "log_offset": "the event's offset in the stream log; unique",
    "source": "the feed (lean, binance, coinbase, kraken, bitstamp, databento)",
}

TRADES = Dataset(
    name="trades",
    description="Every trade event the stream acknowledged, flagged or not, by exchange date.",
    fields=_COMMON + (f("price", F64, False), f("size", F64, False), f("side", pa.int8()), f("trade_id", S),
                      f("conditions", S)) + _TAIL,
    key=("log_offset",),
    valid_time=("ts_event",),
    write_mode="append",
    partition_by=("date",),
    encodings={c: _DELTA for c in ("ts_event", "recv_lag_ns", "seq", "position", "log_offset")},
    column_docs=_DOCS,
)

QUOTES = Dataset(
    name="quotes",
    description="Every quote event the stream acknowledged (a side a message did not carry is null), by date.",
    fields=_COMMON + (f("bid_price", F64), f("bid_size", F64), f("ask_price", F64), f("ask_size", F64),
                      f("conditions", S)) + _TAIL,
    key=("log_offset",),
    valid_time=("ts_event",),
    write_mode="append",
    partition_by=("date",),
    encodings={c: _DELTA for c in ("ts_event", "recv_lag_ns", "seq", "position", "log_offset")},
    column_docs=_DOCS,
)

BARS_INTRADAY = Dataset(
    name="bars_intraday",
    description="1-second and 1-minute bars built from the rolled trades (flagged outliers excluded), by date.",
    fields=(f("date", pa.date32(), False), f("listing_id", S, False), f("interval", S, False),
            f("start", I64, False), f("open", F64), f("high", F64), f("low", F64), f("close", F64),
            f("volume", F64), f("vwap", F64), f("trades", I64)),
    key=("listing_id", "interval", "start"),
    valid_time=("start",),
    write_mode="append",
    partition_by=("date",),
    encodings={"start": _DELTA},
    column_docs={"start": "bar start, ns since the epoch (UTC)"},
)

STREAM_DATASETS = (TRADES, QUOTES, BARS_INTRADAY)
