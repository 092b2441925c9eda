"""The stream service (``mw.stream``): replay of feed files through verification into the durable log, live derived
state (last-value cache, 1s/1m bars), ticks and bars answered from the log and the lake alike, the end-of-day roll.

Contract used by the serving side:

* ``StreamService.log`` -- the :class:`~marketwire.stream.log.Log` of this home (``<home>/stream/log``).
* ``StreamService.lvc`` -- the :class:`~marketwire.stream.lvc.LastValueCache`; ``bars_live["1s"|"1m"]`` the live
  :class:`~marketwire.stream.bars.BarBuilder` s.
* ``StreamService.on_batch(fn)`` -- ``fn(batch)`` is called with every acknowledged, verified batch (after fsync),
  in log order; the hub fans them out.
* ``StreamService.subscribe(channels, ids)`` -- an async iterator of events, delegated to
  :mod:`marketwire.stream.hub` (imported when first called).
* ``StreamService.ingest(batch, meta=b"")`` -- verify one batch of a live feed, append it to the log (acknowledged
  on return), update the derived state and notify the listeners.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from marketwire.datasets.stream import QUOTES, TRADES
from marketwire.errors import Ambiguous, InvalidInput, NotFound
from marketwire.stream.bars import BarBuilder, bars_of, interval_ns
from marketwire.stream.events import FLAGS, SCHEMAS, kind_of
from marketwire.stream.feeds import detect, reader, windower
from marketwire.stream.instruments import Instruments
from marketwire.stream.log import Log
from marketwire.stream.lvc import LastValueCache
from marketwire.stream.verify import Unparseable, Verifier

SYNC_EVERY = 1 << 17  # events written between two fsyncs during a file replay (group commit)


@dataclass
class ReplayReport:
    files: int = 0
    read: int = 0
    accepted: int = 0
    flagged: int = 0
    quarantined: int = 0
    skipped: int = 0  # events acknowledged by an earlier (interrupted) replay, not sent again
    flags: dict[str, int] = field(default_factory=dict)
    acknowledged_to: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ns(t: date | datetime | str | int | None, param: str) -> int | None:
    """An instant as ns since the epoch (UTC). A date means its whole day: a ``start`` its first instant, an
    ``end`` (exclusive) the first instant of the next day, an ``as_of`` its last instant."""
    if t is None or t == "":
        return None
    if isinstance(t, int):
        return t
    from datetime import timedelta

    from marketwire.timeparse import parse_instant

    whole_day = (isinstance(t, date) and not isinstance(t, datetime)) or \
        (isinstance(t, str) and len(t.strip()) == 10 and t.strip()[4:5] == "-")
    if param == "end" and whole_day:
        inst = parse_instant(t, param, "start")
        assert inst is not None
        inst += timedelta(days=1)
    else:
        inst = parse_instant(t, param, "start" if param == "start" else "end")
    assert inst is not None
    return int(inst.timestamp() * 1_000_000) * 1000


class StreamService:
    def __init__(self, lake: Any, engine: Any, identity: Any, home: Path) -> None:
        self.lake = lake
        self.engine = engine
        self.identity = identity
        self.home = Path(home)
        self._log: Log | None = None
        self.instruments = Instruments(identity, self.home / "stream" / "instruments.json")
        self.verifier = Verifier()
        self.lvc = LastValueCache()
        self.bars_live = {"1s": BarBuilder("1s"), "1m": BarBuilder("1m")}
        self._listeners: list[Callable[[pa.RecordBatch], Any]] = []
        self._metas: dict[int, dict[str, Any]] = {}  # frame start -> parsed meta (cache)
        self._file_index: dict[str, tuple[Any, list[tuple[str, str, str, int, int]]]] = {}
        self._footers: dict[str, Any] = {}  # data file -> its parsed Parquet footer (files never change)

    @property
    def log(self) -> Log:
        if self._log is None:
            self._log = Log(self.home / "stream" / "log")
        return self._log

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def on_batch(self, fn: Callable[[pa.RecordBatch], Any]) -> None:
        self._listeners.append(fn)

    def subscribe(self, channels: Sequence[str], ids: Sequence[str] | str = "*", **options: Any) -> Any:
        """An async iterator of the events of ``channels`` (trades, quotes, book, bars_1s, bars_1m) for listings
        ``ids`` (ids, tickers or ``*``); see :mod:`marketwire.stream.hub`."""
        from marketwire.stream import hub  # owned by the serving side; loaded on first use

        return hub.subscribe(self, channels, ids, **options)

    # -- ingest ---------------------------------------------------------------------------------------------------
    def listing_of(self, key: str, meta: dict[str, Any] | None = None) -> str:
        return self.instruments.listing_of(key, meta)

    def _derive(self, batch: pa.RecordBatch) -> None:
        self.lvc.update(batch)
        if kind_of(batch) == "trade":
            for b in self.bars_live.values():
                b.update(batch)
        for fn in self._listeners:
            fn(batch)

    @staticmethod
    def _meta(batch: pa.RecordBatch, file: str | None, position: int | None, part: tuple[int, int] = (0, 1)) -> bytes:
        ts = batch.column("ts_event")
        mm = pc.min_max(ts)
        m: dict[str, Any] = {"l": pc.unique(batch.column("listing_id")).to_pylist(),
                             "t": [mm["min"].as_py(), mm["max"].as_py()]}
        if file is not None:
            m["f"], m["p"] = file, position
            if part[1] > 1:
                m["w"] = list(part)
        return json.dumps(m, separators=(",", ":")).encode()

    def ingest(self, batch: pa.RecordBatch, *, contiguous_seq: bool = False, file: str | None = None,
               position: int | None = None, sync: bool = True) -> tuple[int, int]:
        """Verify ``batch``, append it to the log and update the derived state; acknowledged on return (unless
        ``sync=False``: then at the next :meth:`Log.sync`)."""
        b = self.verifier.check(batch, contiguous_seq=contiguous_seq)
        rng = self.log.append(b, self._meta(b, file, position), sync=sync)
        self._derive(b)
        return rng

    def quarantine(self, bad: Sequence[Unparseable]) -> int:
        """Unparseable input to the quarantine (raw bytes, feed, position); returns the rows stored."""
        if not bad:
            return 0
        from marketwire.datasets.reference import QUARANTINE
        from marketwire.engine.quarantine import refusals_frame
        from marketwire.engine.write import Provenance, commit
        from marketwire.sources.base import Refusal

        refusals = [Refusal("stream.unparseable", u.message, u.file, u.position,
                            u.raw.decode("utf-8", "backslashreplace"), dataset="trades", source=u.feed)
                    for u in bad]
        now = datetime.now(timezone.utc)
        prov = Provenance(now, now, "stream", f"stream-{now:%Y%m%d%H%M%S}")
        w = commit(self.lake, QUARANTINE, refusals_frame(refusals, "stream"), prov)
        return int(w.appended.height)

    def resume_points(self) -> dict[str, int]:
        """Per feed file, the position after its last acknowledged event (where a replay resumes). Frames of a
        window a crash left incomplete (some of its event kinds written, not all) are cut from the log first, so
        the window is replayed whole, once."""
        out: dict[str, int] = {}
        open_window: int | None = None
        for fr in self.log.frames():
            m = self._frame_meta(fr)
            if "f" not in m:
                open_window = None
                continue
            i, n = m.get("w", (0, 1))
            if i == 0:
                open_window = fr.start if n > 1 else None
            if i == n - 1:
                open_window = None
                out[m["f"]] = max(out.get(m["f"], 0), int(m["p"]))
        if open_window is not None:
            self.log.truncate(open_window)
            self._metas = {k: v for k, v in self._metas.items() if k < open_window}
        return out

    def replay(self, paths: Sequence[str | Path], *, speed: str | float = "max", symbol: str | None = None,
               resume: bool = True, derive: bool | None = None,
               progress: Callable[[ReplayReport], Any] | None = None) -> ReplayReport:
        """Replay feed files through normalisation, verification and the log. Every accepted event is acknowledged
        (fsynced) when this returns. ``speed``: ``max`` or a factor of real time (1 = as fast as the exchange
        sent them). ``resume``: files already replayed (wholly or partly, by an interrupted run) continue after
        their last acknowledged event. ``derive``: update the live state (last-value cache, live bars) and the
        listeners; default: when someone listens (a server's hub) -- a replay nobody watches is answered from
        the log afterwards."""
        files = _expand(paths)
        if derive is None:
            derive = bool(self._listeners)
        factor = None if str(speed) == "max" else float(speed)
        if factor is not None and factor <= 0:
            raise InvalidInput("`speed`: must be max or a positive factor", param="speed", value=str(speed))
        rep = ReplayReport(files=len(files))
        t0 = time.perf_counter()
        done = self.resume_points() if resume else {}
        log = self.log
        unsynced = 0
        clock: tuple[float, int] | None = None
        bad_all: list[Unparseable] = []
        for key, path, start_row, chunk in _prefetch(files, done, self.listing_of, symbol, factor):
            bad_all.extend(chunk.bad)
            b = chunk.batch
            if b is None or b.num_rows == 0:
                continue
            rep.read += b.num_rows
            if factor is not None:
                clock = _pace(b, factor, clock)
            b = self.verifier.check(b, contiguous_seq=chunk.contiguous_seq, consolidated=chunk.consolidated)
            log.append(b, self._meta(b, key, chunk.position, (chunk.part, chunk.parts)), sync=False)
            unsynced += b.num_rows
            rep.accepted += b.num_rows
            fl = b.column("flags").to_numpy()
            nz = fl[fl != 0]
            rep.flagged += len(nz)
            if len(nz):
                for name, bit in FLAGS.items():
                    c = int(np.count_nonzero(nz & bit))
                    if c:
                        rep.flags[name] = rep.flags.get(name, 0) + c
            if (unsynced >= SYNC_EVERY or factor is not None) and chunk.part == chunk.parts - 1:
                log.sync()
                unsynced = 0
            if derive:
                self._derive(b)
            if progress:
                progress(rep)
        rep.skipped = sum(done.get(str(Path(p).resolve()), 0) for p in files)
        log.sync()
        rep.quarantined = self.quarantine(bad_all)
        rep.acknowledged_to = log.acked
        rep.seconds = time.perf_counter() - t0
        return rep

    # -- queries --------------------------------------------------------------------------------------------------
    def resolve(self, id: str) -> str:
        """The listing id of ``id``: a stream instrument key or symbol, our listing id, or anything the identity
        service resolves."""
        self.instruments.reload()
        hits = self.instruments.find(id)
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise Ambiguous(f"{id!r} names {len(hits)} stream instruments; use a listing id or SYMBOL@VENUE",
                            param="id", candidates=[{"listing_id": h, **(self.instruments.describe(h) or {})}
                                                    for h in hits])
        if self.identity is not None:
            known = {d["listing_id"] for d in self.instruments.all().values()}
            try:
                return str(self.identity.listing_for(id, lambda lid: lid in known))
            except NotFound:
                pass
        raise NotFound(f"{id!r} names no instrument with stream data (replay a feed first: marketwire stream "
                       "replay PATH)", param="id", value=id)

    def _frame_meta(self, fr: Any) -> dict[str, Any]:
        m = self._metas.get(fr.start)
        if m is None:
            raw = self.log.meta(fr)
            m = json.loads(raw) if raw else {}
            self._metas[fr.start] = m
        return m

    def ticks(self, id: str, type: str = "trades", start: Any = None, end: Any = None, *, flags: bool = False,
              as_of: Any = None, output: str = "pandas") -> Any:
        """The ticks of one listing from the lake (rolled days) and the log (not yet rolled), in time order.
        ``flags``: only flagged events; ``as_of``: as known then (events received after it are left out)."""
        kind = {"trades": "trade", "trade": "trade", "quotes": "quote", "quote": "quote"}.get(type)
        if kind is None:
            raise InvalidInput(f"`type`: {type!r} is not trades or quotes", param="type", value=str(type))
        lid = self.resolve(id)
        t0, t1 = _ns(start, "start"), _ns(end, "end")
        asof = _ns(as_of, "as_of")
        t = self._ticks(lid, kind, t0, t1, asof)
        if flags:
            t = t.filter(pc.not_equal(t.column("flags"), 0))
        return _output(t, output)

    def _ticks(self, lid: str, kind: str, t0: int | None, t1: int | None, asof: int | None) -> pa.Table:
        schema = SCHEMAS[kind]
        parts: list[pa.Table] = []
        cut = int(self.log.cursor("eod", 0))  # type: ignore[arg-type]
        ds = TRADES if kind == "trade" else QUOTES
        version = self.lake.version(ds) if cut > 0 else None  # one look at the lake: None = no table yet
        if version is not None:
            parts.append(self._lake_ticks(ds, lid, kind, t0, t1, asof, version))
        for fr in self.log.frames():
            if fr.end <= cut or fr.kind != kind:
                continue
            m = self._frame_meta(fr)
            if m and (lid not in m.get("l", [lid]) or (t0 is not None and m["t"][1] < t0)
                      or (t1 is not None and m["t"][0] >= t1)):
                continue
            b = self.log.batch(fr)
            if fr.start < cut:
                b = b.slice(cut - fr.start)
            tb = pa.Table.from_batches([b])
            mask = pc.equal(tb.column("listing_id"), lid)
            if t0 is not None:
                mask = pc.and_(mask, pc.greater_equal(tb.column("ts_event"), t0))
            if t1 is not None:
                mask = pc.and_(mask, pc.less(tb.column("ts_event"), t1))
            if asof is not None:
                mask = pc.and_(mask, pc.less_equal(tb.column("ts_recv"), asof))
            parts.append(tb.filter(mask))
        if not parts:
            return schema.empty_table()
        parts = [p.select(schema.names) for p in parts]
        parts = [p if p.schema.equals(schema) else p.cast(schema) for p in parts]
        t = parts[0] if len(parts) == 1 else pa.concat_tables(parts)
        ts = t.column("ts_event")
        if len(parts) == 1 and (t.num_rows < 2 or pc.all(pc.greater_equal(ts[1:], ts[:-1])).as_py()):
            return t
        return t.take(pc.sort_indices(t, [("ts_event", "ascending")]))

    def _files(self, ds: Any, version: int | None = None) -> list[tuple[str, str, str, int, int]]:
        """The data files of ``ds`` as (path, min listing, max listing, min ts, max ts), from the Delta log's
        statistics; cached per table version (``version``: the one the caller has just looked up)."""
        version = self.lake.version(ds) if version is None else version
        hit = self._file_index.get(ds.name)
        if hit is not None and hit[0] == version:
            return hit[1]
        adds = self.lake.files(ds)
        base = self.lake.uri(ds.name).removeprefix("file://")
        cols = {c: adds.column(c).to_pylist() for c in ("path", "min.listing_id", "max.listing_id", "min.ts_event",
                                                        "max.ts_event")}
        files = [(f"{base}/{p}", a, b, t0, t1) for p, a, b, t0, t1 in zip(*cols.values())]
        self._file_index[ds.name] = (version, files)
        return files

    def _lake_ticks(self, ds: Any, lid: str, kind: str, t0: int | None, t1: int | None, asof: int | None,
                    version: int | None = None) -> pa.Table:
        """One listing's rows: only the files whose statistics can hold it (the roll writes one file per
        listing-day), read with Arrow, filtered to the time range and ``as_of``. A data file never changes once
        written (Delta adds and removes whole files), so its Parquet footer is parsed once and kept, with what its
        statistics say of each column (all null, or one value throughout)."""
        import pyarrow.parquet as pq

        schema = SCHEMAS[kind]
        want = [f.name for f in schema if f.name not in ("ts_recv",)] + ["recv_lag_ns"] + \
            (["knowledge_time"] if asof is not None else [])  # decoded only when an as_of needs it
        parts = []
        footers = self._footers
        for path, lo, hi, f0, f1 in self._files(ds, version):
            if lo is not None and not (lo <= lid <= hi):
                continue
            if t0 is not None and f1 is not None and f1 < t0:
                continue
            if t1 is not None and f0 is not None and f0 >= t1:
                continue
            # every row of the file lies within [t0, t1): no time filter needed
            inside = (t0 is None or (f0 is not None and f0 >= t0)) and (t1 is None or (f1 is not None and f1 < t1))
            hit = footers.get(path)
            if hit is None:
                md = pq.ParquetFile(path).metadata
                if len(footers) >= 4096:
                    footers.pop(next(iter(footers)))
                hit = footers[path] = (md, _constant_columns(md))
            md, const = hit
            # strings decoded as dictionaries (a handful of venues and conditions per file); a one-listing file's
            # listing column is not read at all, nor is a column the footer's statistics show to be all null or
            # one value throughout (a feed without trade ids or sequences, a day without flags, no receive lag)
            pf = pq.ParquetFile(path, read_dictionary=["venue", "conditions", "source"], metadata=md)
            have = pf.schema_arrow
            one = lo is not None and lo == hi
            read = [c for c in want if have.get_field_index(c) >= 0 and (c not in const or c == "ts_event")
                    and not (c == "listing_id" and one)]
            t = pf.read(columns=read, use_threads=md.num_rows >= 32_768)
            mask = None
            ts = t.column("ts_event")
            for m in ((pc.equal(t.column("listing_id"), lid) if not one else None),
                      (pc.greater_equal(ts, t0) if t0 is not None and not inside else None),
                      (pc.less(ts, t1) if t1 is not None and not inside else None)):
                if m is not None:
                    mask = m if mask is None else pc.and_(mask, m)
            if asof is not None:
                known = t.column("knowledge_time") if "knowledge_time" in t.column_names else \
                    _repeat(const["knowledge_time"], pa.timestamp("us", tz="UTC"), t.num_rows)
                m = pc.less_equal(pc.cast(known, pa.int64()), asof // 1000)
                mask = m if mask is None else pc.and_(mask, m)
            if mask is not None:
                t = t.filter(mask)
            n = t.num_rows
            out = {}
            for f in schema:
                c = f.name
                if c == "listing_id":
                    out[c] = _const_str(lid, n)
                elif c == "ts_recv":
                    lag = const.get("recv_lag_ns")
                    if lag is not None:
                        out[c] = t.column("ts_event") if not lag[0] or lag[1] == 0 else \
                            pc.add(t.column("ts_event"), lag[1])
                    elif "recv_lag_ns" in t.column_names:
                        out[c] = pc.add(t.column("ts_event"), pc.fill_null(t.column("recv_lag_ns"), 0))
                    else:
                        out[c] = t.column("ts_event")
                elif c in t.column_names:
                    out[c] = _dense(t.column(c), f.type)
                elif c in const:
                    out[c] = _repeat(const[c], f.type, n)
                else:
                    out[c] = pa.nulls(n, f.type)
            parts.append(pa.table(out, schema=schema))
        if not parts:
            return schema.empty_table()
        return parts[0] if len(parts) == 1 else pa.concat_tables(parts)

    def bars(self, id: str, interval: str = "1m", start: Any = None, end: Any = None, *, as_of: Any = None,
             output: str = "pandas") -> Any:
        """Bars of one listing built from its trades (lake and log alike; flagged outliers excluded). ``time`` is
        the bar start (UTC)."""
        try:
            step = interval_ns(interval)
        except ValueError as e:
            raise InvalidInput(f"`interval`: {e}", param="interval", value=str(interval)) from None
        lid = self.resolve(id)
        t0, t1 = _ns(start, "start"), _ns(end, "end")
        if t0 is not None:
            t0 = t0 // step * step
        trades = self._ticks(lid, "trade", t0, t1, _ns(as_of, "as_of"))
        bars = bars_of(trades, interval)
        t = pa.table({
            "time": pc.cast(bars.column("start"), pa.timestamp("ns", tz="UTC")),
            **{c: bars.column(c) for c in ("open", "high", "low", "close", "volume", "vwap", "trades")},
        })
        return _output(t, output)

    def last(self, id: str) -> dict[str, Any]:
        """Last trade, each venue's last quote and the consolidated best bid/offer of a listing."""
        lid = self.resolve(id)
        got = self.lvc.last(lid)
        if got["trade"] is None and not got["quotes"]:
            cache = LastValueCache()
            for kind in ("trade", "quote"):
                t = self._ticks(lid, kind, None, None, None)
                if t.num_rows:
                    cache.update(t.slice(max(0, t.num_rows - 5000)).combine_chunks().to_batches()[0])
            got = cache.last(lid)
        got["instrument"] = self.instruments.describe(lid)
        return got

    def roll(self, *, retain: bool = False, upto: int | None = None) -> dict[str, Any]:
        """The end-of-day roll of the log into the lake (idempotent; see :mod:`marketwire.stream.eod`)."""
        from marketwire.stream.eod import roll

        return asdict(roll(self.log, self.lake, upto=upto, retain=retain))

    def status(self) -> dict[str, Any]:
        log = self.log
        return {"log_end": log.end, "acknowledged": log.acked, "rolled_to": log.cursor("eod", 0),
                "segments": len(log.segments()), "instruments": len(self.instruments.all()),
                "flags": dict(self.verifier.counts)}


def _prefetch(files: Sequence[str], done: dict[str, int], listing_of: Callable[..., str], symbol: str | None,
              factor: float | None, workers: int = 2, ahead: int = 8, budget: int = 32) -> Any:
    """The chunks of every file, read (unzipped, parsed, normalised) by background threads ahead of the consumer:
    Arrow's CSV and JSON readers, numpy and zlib release the interpreter lock, so reading overlaps verification and
    the log's writes and fsyncs, and ``workers`` threads read at once. A feed whose module cuts a file into windows
    (``windows(path, ...)``, the Binance captures) has its windows handed out one by one, so both threads work on
    one file; other files are read whole by one thread. Work is handed out in file and window order and chunks are
    yielded in that order -- the log sees exactly what one reader would give it. Memory is bounded: a thread starts
    no new work while ``budget`` chunks wait, and a file read whole keeps at most ``ahead`` chunks waiting while it
    is the one consumed (``budget`` otherwise). Yields ``(file key, path, start row, chunk)``; a reader error is
    raised here."""
    import collections
    import threading

    stop = threading.Event()
    end = object()
    if factor is not None:
        ahead, budget, workers = 6, 6, 1
    cond = threading.Condition()
    # slots[k][w]: the chunks of window w of file k as they come, ``end`` last; nwin[k]: its number of windows
    slots: list[dict[int, collections.deque[Any]]] = [{} for _ in files]
    nwin: list[int | None] = [None] * len(files)
    todo: collections.deque[tuple[int, int, Any]] = collections.deque()  # windows of opened files, in order
    state = {"next_file": 0, "waiting": 0, "current": -1}

    def put(k: int, w: int, item: Any, bounded: bool) -> bool:
        with cond:
            while bounded and not stop.is_set() and (
                    len(slots[k][w]) >= ahead if k == state["current"] else state["waiting"] >= budget):
                cond.wait(0.1)
            if stop.is_set():
                return False
            slots[k][w].append(item)
            state["waiting"] += 1
            cond.notify_all()
            return True

    def run_window(k: int, w: int, fn: Any) -> None:
        try:
            chunks = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, which raises it
            chunks = [e]
        with cond:
            slots[k][w].extend(chunks)
            slots[k][w].append(end)
            state["waiting"] += len(chunks) + 1
            cond.notify_all()

    def open_file(k: int) -> None:
        path = files[k]
        key = str(Path(path).resolve())
        opts: dict[str, Any] = {"symbol": symbol, "start_row": done.get(key, 0)}
        if factor is not None:
            opts["chunk_rows"] = 2048
        try:
            fmt = detect(path)
            cut = windower(fmt) if factor is None else None
            if cut is not None:
                fns = [lambda f=f, key=key, start=opts["start_row"]: [(key, path, start, c) for c in f()]
                       for f in cut(path, listing_of, **opts)]
                with cond:
                    nwin[k] = len(fns)
                    for w in range(len(fns)):
                        slots[k][w] = collections.deque()
                    todo.extendleft((k, w, fns[w]) for w in range(len(fns) - 1, 0, -1))
                    cond.notify_all()
                run_window(k, 0, fns[0])
                return
            with cond:
                nwin[k] = 1
                slots[k][0] = collections.deque()
                cond.notify_all()
            for chunk in reader(fmt)(path, listing_of, **opts):
                if not put(k, 0, (key, path, opts["start_row"], chunk), bounded=True):
                    return
            put(k, 0, end, bounded=False)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, which raises it
            with cond:
                if nwin[k] is None:
                    nwin[k] = 1
                    slots[k][0] = collections.deque()
                slots[k][min(slots[k])].append(e)  # after the chunks already read: the consumer raises there
                state["waiting"] += 1
                cond.notify_all()

    def work() -> None:
        while True:
            with cond:
                while not stop.is_set() and state["waiting"] >= budget:
                    cond.wait(0.1)
                if stop.is_set():
                    return
                if todo:
                    k, w, fn = todo.popleft()
                    job = ("window", k, w, fn)
                elif state["next_file"] < len(files):
                    job = ("file", state["next_file"], 0, None)
                    state["next_file"] += 1
                else:
                    return
            if job[0] == "window":
                run_window(job[1], job[2], job[3])
            else:
                open_file(job[1])

    n = max(1, min(workers, len(files)))
    threads = [threading.Thread(target=work, name=f"stream-replay-reader-{i}", daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    try:
        for k in range(len(files)):
            with cond:
                state["current"] = k
                cond.notify_all()
            w = 0
            while True:
                with cond:
                    while nwin[k] is None or (w < nwin[k] and w not in slots[k]):  # type: ignore[operator]
                        cond.wait()
                    if w >= nwin[k]:  # type: ignore[operator]
                        break
                    q = slots[k][w]
                    while not q:
                        cond.wait()
                    item = q.popleft()
                    state["waiting"] -= 1
                    cond.notify_all()
                if isinstance(item, BaseException):
                    raise item
                if item is end:
                    del slots[k][w]
                    w += 1
                    continue
                yield item
    finally:
        stop.set()
        with cond:
            cond.notify_all()
        for t in threads:
            t.join(timeout=5)


_CONST_TYPES = (pa.types.is_integer, pa.types.is_string)


def _constant_columns(md: Any) -> dict[str, tuple[bool, Any]]:
    """Columns of a Parquet file whose footer statistics show every row null (``(False, None)``) or every row the
    same value (``(True, value)``; integer and string columns only, whose statistics are exact: a truncated string
    statistic has a max above its min)."""
    out: dict[str, tuple[bool, Any]] = {}
    schema = md.schema.to_arrow_schema()
    if md.num_row_groups == 0:
        return out
    for j in range(md.num_columns):
        name = md.schema.column(j).path
        if name not in schema.names:
            continue
        typ = schema.field(name).type
        verdict: tuple[bool, Any] | None = None
        for i in range(md.num_row_groups):
            rg = md.row_group(i)
            st = rg.column(j).statistics
            if st is None or not st.has_null_count:
                verdict = None
                break
            if st.null_count == rg.num_rows:
                v: tuple[bool, Any] = (False, None)
            elif st.null_count == 0 and st.has_min_max and st.min == st.max and any(f(typ) for f in _CONST_TYPES):
                v = (True, st.min)
            else:
                verdict = None
                break
            if verdict is not None and verdict != v:
                verdict = None
                break
            verdict = v
        if verdict is not None:
            out[name] = verdict
    return out


def _repeat(c: tuple[bool, Any], typ: pa.DataType, n: int) -> pa.Array:
    """``n`` times the constant ``c`` (from :func:`_constant_columns`) as ``typ``."""
    if not c[0]:
        return pa.nulls(n, typ)
    if pa.types.is_string(typ):
        return _const_str(c[1], n)
    if pa.types.is_integer(typ):
        return pa.array(np.full(n, c[1], typ.to_pandas_dtype()), typ)
    return pa.repeat(pa.scalar(c[1], typ), n)


def _const_str(value: str, n: int) -> pa.Array:
    """``n`` times ``value`` as a string array, built from its buffers (no per-row work)."""
    raw = value.encode()
    if not raw or (n + 1) * len(raw) >= 2**31:
        return pa.array([value] * n, pa.string())
    offsets = np.arange(0, (n + 1) * len(raw), len(raw), dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(raw * n))


def _dense(col: Any, typ: pa.DataType) -> Any:
    """``col`` as ``typ``: a dictionary column of one value and no nulls (a file's source, a one-listing file's
    listing) is rebuilt as a constant; anything else is cast when its type differs."""
    if pa.types.is_dictionary(col.type) and pa.types.is_string(typ) and col.null_count == 0 and len(col):
        chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
        values = {d.as_py() for c in chunks for d in c.dictionary}
        if len(values) == 1:
            return _const_str(values.pop(), len(col))
    return col if col.type == typ else col.cast(typ)


def _pace(b: pa.RecordBatch, factor: float, clock: tuple[float, int] | None) -> tuple[float, int]:
    ts0 = int(pc.min(b.column("ts_event")).as_py())
    if clock is None:
        return time.perf_counter(), ts0
    wall0, ev0 = clock
    due = wall0 + (ts0 - ev0) / 1e9 / factor
    delay = due - time.perf_counter()
    if delay > 0:
        time.sleep(min(delay, 5.0))
    return clock


def _expand(paths: Sequence[str | Path]) -> list[str]:
    out: list[str] = []
    for p in paths:
        q = Path(p)
        if q.is_dir():
            out.extend(str(x) for x in sorted(q.rglob("*")) if x.is_file() and not x.name.startswith("."))
        elif q.exists():
            out.append(str(q))
        else:
            raise NotFound(f"{p}: no such file or folder", param="path", value=str(p))
    return sorted(out, key=lambda x: (Path(x).name.split("_")[0], x))


def _output(t: pa.Table, output: str) -> Any:
    if output == "arrow":
        return t
    if output == "polars":
        import polars as pl

        return pl.from_arrow(t)
    if output != "pandas":
        raise InvalidInput(f"`output`: {output!r} is not pandas, polars or arrow", param="output")
    return t.to_pandas()
