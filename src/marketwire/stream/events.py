"""The one event model of the realtime path: columnar batches of one event type.

Contract (relied on by the log, the bars, the books, the hub and every feed normaliser):

* A batch of events of one type is a :class:`pyarrow.RecordBatch` whose schema is exactly one of
  :data:`TRADE`, :data:`QUOTE`, :data:`BOOK` or :data:`STATUS` (``SCHEMAS[kind]``). The schema carries its kind in
  its metadata (``b"mw.event"``); :func:`kind_of` reads it back.
* Every type starts with the common columns :data:`COMMON`: ``listing_id`` (the identity service's listing id, or
  a provisional one), ``ts_event`` (exchange time, ns since the epoch, UTC), ``ts_recv`` (receive time, ns UTC),
  ``seq`` (the venue's sequence or update id; null when the feed has none), ``venue`` (MIC or the documented venue
  code), ``flags`` (bitmask of the in-stream rules that flagged the event, :data:`FLAGS`; 0 = clean), ``source``
  (the feed, e.g. ``lean``, ``binance``) and ``position`` (where the event came from in its feed: row or line
  number, or byte offset, so a flag can be traced to the raw message).
* Prices and sizes are float64 in the instrument's units (dollars, not deci-cents). A quote side that the message
  did not carry is NaN (Lean quote rows carry one side).
* ``side`` of a trade: 1 = buyer was the aggressor, -1 = seller, 0 = unknown. ``side`` of a book event: 1 = bid,
  -1 = ask. ``action`` of a book event: ``S`` set an L2 level to ``size`` (0 deletes it), ``A`` add, ``C`` cancel,
  ``M`` modify, ``F`` fill, ``T`` trade, ``R`` clear the book (L3, by ``order_id``). ``snapshot`` marks the events
  of a snapshot (a snapshot is a ``R`` clear followed by the levels/orders).

Helpers: :func:`batch` builds a batch from Python rows (dicts), :func:`to_rows` turns one back into dicts,
:func:`empty` gives an empty batch of a kind, :func:`flag_names` decodes a ``flags`` value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa

KINDS = ("trade", "quote", "book", "status")

#: flag bits set by the in-stream rules (:mod:`marketwire.stream.verify`); a flagged event is kept, never dropped
FLAGS: dict[str, int] = {
    "quote_crossed": 1 << 0,      # bid > ask (per venue)
    "quote_locked": 1 << 1,       # bid == ask (per venue)
    "seq_out_of_order": 1 << 2,   # sequence or exchange time went backwards
    "seq_gap": 1 << 3,            # sequence jumped forward: messages were lost before this one
    "price_band": 1 << 4,         # trade outside the volatility-scaled band around recent prices
    "price_nonpositive": 1 << 5,  # zero or negative price
    "size_nonpositive": 1 << 6,   # zero or negative size
    "trade_duplicate": 1 << 7,    # trade id seen before on this listing and venue
    "vendor_suspicious": 1 << 8,  # the vendor marked the event suspicious / cancelled
    "book_resync": 1 << 9,        # event of a book rebuilt from a snapshot after a gap
}

_I64 = pa.int64()
_F64 = pa.float64()
_S = pa.string()

COMMON: tuple[pa.Field, ...] = (
    pa.field("listing_id", _S, nullable=False),
    pa.field("ts_event", _I64, nullable=False),
    pa.field("ts_recv", _I64, nullable=False),
    pa.field("seq", _I64),
    pa.field("venue", _S),
    pa.field("flags", pa.uint32(), nullable=False),
    pa.field("source", _S, nullable=False),
    pa.field("position", _I64),
)


def _schema(kind: str, fields: Sequence[pa.Field]) -> pa.Schema:
    return pa.schema(list(COMMON) + list(fields), metadata={b"mw.event": kind.encode()})


TRADE = _schema("trade", (
    pa.field("price", _F64, nullable=False), pa.field("size", _F64, nullable=False), pa.field("side", pa.int8()),
    pa.field("trade_id", _S), pa.field("conditions", _S),
))
QUOTE = _schema("quote", (
    pa.field("bid_price", _F64), pa.field("bid_size", _F64), pa.field("ask_price", _F64),
    pa.field("ask_size", _F64), pa.field("conditions", _S),
))
BOOK = _schema("book", (
    pa.field("side", pa.int8()), pa.field("price", _F64), pa.field("size", _F64),
    pa.field("action", _S, nullable=False), pa.field("order_id", pa.uint64()), pa.field("snapshot", pa.bool_()),
))
STATUS = _schema("status", (pa.field("status", _S, nullable=False), pa.field("reason", _S)))

SCHEMAS: dict[str, pa.Schema] = {"trade": TRADE, "quote": QUOTE, "book": BOOK, "status": STATUS}
#: one byte per kind, used by the log's frame header
KIND_CODE = {k: i for i, k in enumerate(KINDS)}

_DEFAULTS = {"flags": 0, "ts_recv": None}


def kind_of(b: pa.RecordBatch | pa.Table | pa.Schema) -> str:
    """The event kind of a batch or schema (from its metadata, else by matching the column names)."""
    schema = b if isinstance(b, pa.Schema) else b.schema
    meta = schema.metadata or {}
    if b"mw.event" in meta:
        return meta[b"mw.event"].decode()
    for k, s in SCHEMAS.items():
        if schema.names == s.names:
            return k
    raise ValueError(f"not an event batch: columns {schema.names}")


def batch(kind: str, rows: Iterable[Mapping[str, Any]]) -> pa.RecordBatch:
    """A batch of ``kind`` from dict rows; missing optional columns are null, ``flags`` defaults to 0 and
    ``ts_recv`` to ``ts_event``."""
    schema = SCHEMAS[kind]
    rows = list(rows)
    cols: dict[str, list[Any]] = {n: [] for n in schema.names}
    for r in rows:
        for n in schema.names:
            v = r.get(n, _DEFAULTS.get(n))
            if n == "ts_recv" and v is None:
                v = r["ts_event"]
            cols[n].append(v)
    return pa.RecordBatch.from_arrays([pa.array(cols[f.name], type=f.type) for f in schema], schema=schema)


def from_columns(kind: str, columns: Mapping[str, Any], n: int | None = None) -> pa.RecordBatch:
    """A batch of ``kind`` from column arrays (numpy arrays, lists or Arrow arrays); absent nullable columns are
    null, absent ``flags`` is 0 and absent ``ts_recv`` is ``ts_event``. Scalars are repeated."""
    schema = SCHEMAS[kind]
    if n is None:
        n = len(columns["ts_event"])
    arrays = []
    for f in schema:
        v = columns.get(f.name)
        if v is None and f.name == "ts_recv":
            v = columns["ts_event"]
        if v is None and f.name == "flags":
            v = pa.array([0] * 0, pa.uint32()) if n == 0 else pa.repeat(pa.scalar(0, pa.uint32()), n)
        if v is None:
            arrays.append(pa.nulls(n, f.type))
            continue
        if isinstance(v, (str, int, float, bool)):
            arrays.append(pa.repeat(pa.scalar(v, f.type), n))
            continue
        a = v if isinstance(v, (pa.Array, pa.ChunkedArray)) else pa.array(v, type=f.type, from_pandas=True)
        if isinstance(a, pa.ChunkedArray):
            a = a.combine_chunks()
        if a.type != f.type:
            a = a.cast(f.type)
        arrays.append(a)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def empty(kind: str) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=SCHEMAS[kind])


def to_rows(b: pa.RecordBatch | pa.Table) -> list[dict[str, Any]]:
    """The events of a batch as dicts (column name -> Python value)."""
    return b.to_pylist()


def flag_names(flags: int) -> list[str]:
    """The rule names whose bits are set in ``flags``."""
    return [name for name, bit in FLAGS.items() if flags & bit]


def flag_mask(names: Iterable[str]) -> int:
    mask = 0
    for n in names:
        if n not in FLAGS:
            raise ValueError(f"unknown stream flag {n!r}; known: {', '.join(FLAGS)}")
        mask |= FLAGS[n]
    return mask


def conform(b: pa.RecordBatch) -> pa.RecordBatch:
    """``b`` cast to its kind's exact schema (column order and types), metadata included."""
    schema = SCHEMAS[kind_of(b)]
    if b.schema.equals(schema, check_metadata=True):
        return b
    return pa.RecordBatch.from_arrays([b.column(f.name).cast(f.type) for f in schema], schema=schema)
