"""The end-of-day roll: acknowledged events of the log into the lake's ``trades``, ``quotes`` and ``bars_intraday``
tables (Delta, partitioned by date).

Idempotent: every rolled row carries its ``log_offset``. Before appending, the roll reads the offsets from its
checkpoint on that each table already holds (a Delta commit is atomic: a crashed roll left whole commits) and skips
those rows. Each commit holds one listing's rows of the flushed range, so one listing-day of trades is one file. The roll's checkpoint (log cursor ``eod``) advances
only after every table is written, so a crash at any point followed by a rerun leaves each event in the lake
exactly once. Bars are rebuilt from the rolled trades of each date touched (their key: listing, interval, start);
a bar stored already with the same values is not written again, a changed one (the day's later trades) is written
as a new version (reads take the latest known at ``as_of``).

``retain``: after the roll, log segments wholly below the checkpoint may be deleted (``retention`` of the service).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from marketwire.datasets.base import Dataset
from marketwire.datasets.stream import BARS_INTRADAY, QUOTES, TRADES
from marketwire.stream.bars import bars_of
from marketwire.stream.log import Log

_TABLES = {"trade": TRADES, "quote": QUOTES}
_MAX_ROWS = 2_000_000  # rows per Delta commit


@dataclass
class RollReport:
    events: int = 0
    written: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    bars: int = 0
    start: int = 0
    end: int = 0
    dates: list[str] = field(default_factory=list)
    removed_segments: int = 0


def stored_offsets(lake: Any, ds: Dataset, start: int) -> np.ndarray:
    """The log offsets at or after ``start`` that ``ds`` holds already (sorted)."""
    if not lake.exists(ds):
        return np.zeros(0, np.int64)
    import pyarrow.dataset as pds

    t = lake.dataset(ds).to_table(columns=["log_offset"], filter=pds.field("log_offset") >= start)
    return np.sort(t.column("log_offset").to_numpy())


def lake_rows(batch: pa.RecordBatch | pa.Table, offsets: np.ndarray, ds: Dataset, now: datetime,
              ingest_id: str) -> pa.Table:
    t = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    ts = t.column("ts_event")
    cols: dict[str, Any] = {
        "date": pc.cast(pc.cast(ts, pa.timestamp("ns", tz="UTC")), pa.date32()),
        "recv_lag_ns": pc.subtract(t.column("ts_recv"), ts),
        "flags": pc.cast(t.column("flags"), pa.int32()),
        "log_offset": pa.array(offsets, pa.int64()),
        "knowledge_time": pa.repeat(pa.scalar(now, pa.timestamp("us", tz="UTC")), t.num_rows),
        "ingested_at": pa.repeat(pa.scalar(now, pa.timestamp("us", tz="UTC")), t.num_rows),
        "ingest_id": pa.repeat(pa.scalar(ingest_id), t.num_rows),
    }
    out = {}
    for fld in ds.schema:
        if fld.name in cols:
            out[fld.name] = cols[fld.name]
        elif fld.name in t.column_names:
            out[fld.name] = t.column(fld.name)
        else:
            out[fld.name] = pa.nulls(t.num_rows, fld.type)
    return pa.table(out).cast(ds.schema)


def roll(log: Log, lake: Any, *, upto: int | None = None, retain: bool = False,
         crash_after: int | None = None) -> RollReport:
    """Roll the acknowledged events from the checkpoint to ``upto`` (default: everything acknowledged).
    ``crash_after`` (tests and the crash benchmark): raise after that many Delta commits."""
    start = int(log.cursor("eod", 0))  # type: ignore[arg-type]
    end = log.acked if upto is None else min(upto, log.acked)
    rep = RollReport(start=start, end=end)
    if end <= start:
        return rep
    now = datetime.now(timezone.utc)
    ingest_id = f"stream-roll-{start}-{end}"
    have = {k: stored_offsets(lake, ds, start) for k, ds in _TABLES.items()}
    pending: dict[str, list[pa.Table]] = {"trade": [], "quote": []}
    sizes = {"trade": 0, "quote": 0}
    commits = 0
    dates: set[str] = set()

    def flush(kind: str) -> None:
        nonlocal commits
        if not pending[kind]:
            return
        t = pa.concat_tables(pending[kind])
        pending[kind], sizes[kind] = [], 0
        t = t.sort_by([("listing_id", "ascending"), ("date", "ascending"), ("ts_event", "ascending"),
                       ("log_offset", "ascending")])
        # one file per listing-day: a read of one listing-day opens one file, found from the Delta log's
        # statistics; the commits of a roll may then land in any order (the rerun skips stored offsets)
        lids = t.column("listing_id").combine_chunks()
        cuts = np.flatnonzero(pc.not_equal(lids[1:], lids[:-1]).to_numpy(zero_copy_only=False)) + 1 \
            if t.num_rows > 1 else np.zeros(0, np.int64)
        bounds = np.concatenate(([0], cuts, [t.num_rows]))
        for a, b_ in zip(bounds[:-1], bounds[1:]):
            lake.append(_TABLES[kind], t.slice(int(a), int(b_ - a)))
            rep.written[kind] = rep.written.get(kind, 0) + int(b_ - a)
            commits += 1
            if crash_after is not None and commits >= crash_after:
                raise RuntimeError("simulated crash during the roll")

    for off, b in log.read(start, until=end):
        kind = _kind(b)
        rep.events += b.num_rows
        if kind not in _TABLES:
            continue
        offsets = np.arange(off, off + b.num_rows, dtype=np.int64)
        keep = ~np.isin(offsets, have[kind], assume_unique=True) if len(have[kind]) else np.ones(len(offsets), bool)
        if not keep.all():
            rep.skipped += int((~keep).sum())
            b = b.filter(pa.array(keep))
            offsets = offsets[keep]
        if not b.num_rows:
            continue
        t = lake_rows(b, offsets, _TABLES[kind], now, ingest_id)
        dates.update(str(d) for d in pc.unique(t.column("date")).to_pylist())
        pending[kind].append(t)
        sizes[kind] += t.num_rows
        if sizes[kind] >= _MAX_ROWS:
            flush(kind)
    for kind in list(pending):
        flush(kind)
    rep.bars = _roll_bars(lake, sorted(dates), now, ingest_id)
    rep.dates = sorted(dates)
    log.set_cursor("eod", end)
    if retain:
        rep.removed_segments = len(log.retain(before=end, protect_from=end))
    return rep


def _kind(b: pa.RecordBatch) -> str:
    from marketwire.stream.events import kind_of

    return kind_of(b)


def _roll_bars(lake: Any, dates: list[str], now: datetime, ingest_id: str) -> int:
    """(Re)build the 1s and 1m bars of the dates touched from all their stored trades; store the bars not stored yet."""
    if not dates or not lake.exists(TRADES):
        return 0
    import datetime as dt

    days = [dt.date.fromisoformat(d) for d in dates]
    src = lake.dataset(TRADES, partitions=[("date", "in", [str(d) for d in days])])
    trades = src.to_table(columns=["listing_id", "ts_event", "price", "size", "flags", "log_offset"])
    trades = trades.sort_by([("listing_id", "ascending"), ("ts_event", "ascending"), ("log_offset", "ascending")])
    have: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    vals = ("open", "high", "low", "close", "volume", "vwap", "trades")
    if lake.exists(BARS_INTRADAY):
        old = lake.read(BARS_INTRADAY, where="CAST(date AS VARCHAR) IN (SELECT unnest(?))", params=[dates])
        k3 = zip(*(old.column(c).to_pylist() for c in ("listing_id", "interval", "start")))
        have = dict(zip(k3, zip(*(old.column(c).to_pylist() for c in vals))))
    written = 0
    for interval in ("1s", "1m"):
        bars = bars_of(trades, interval)
        if have:
            keys = zip(*(bars.column(c).to_pylist() for c in ("listing_id", "interval", "start")))
            rows = zip(*(bars.column(c).to_pylist() for c in vals))
            bars = bars.filter(pa.array([have.get(k) != r for k, r in zip(keys, rows)]))
        if not bars.num_rows:
            continue
        n = bars.num_rows
        extra = {
            "date": pc.cast(pc.cast(bars.column("start"), pa.timestamp("ns", tz="UTC")), pa.date32()),
            "knowledge_time": pa.repeat(pa.scalar(now, pa.timestamp("us", tz="UTC")), n),
            "ingested_at": pa.repeat(pa.scalar(now, pa.timestamp("us", tz="UTC")), n),
            "source": pa.repeat(pa.scalar("stream"), n), "ingest_id": pa.repeat(pa.scalar(ingest_id), n)}
        t = pa.table({fld.name: (extra[fld.name] if fld.name in extra else bars.column(fld.name))
                      for fld in BARS_INTRADAY.schema}).cast(BARS_INTRADAY.schema)
        lake.append(BARS_INTRADAY, t)
        written += n
    return written


def report_json(rep: RollReport) -> str:
    return json.dumps(rep.__dict__)
