"""The stage of daily bars and FX rates in the ingest engine: resolve listings -> verify -> ticks -> write -> reconcile.

The engine reads and parses the files (on its executor) and hands the batches here; this stage maps each symbol to
a listing through the identity service, runs the bar and corporate-action rules (:mod:`marketwire.prices.verify`),
encodes prices as integer ticks and passes the result to the engine's write stage (``versioned``: re-ingesting an
unchanged file appends nothing; a corrected bar is a new version with a later ``knowledge_time``, so ``as_of``
reads still see what was known before) and its quarantine. Everything is columnar (Polars): a delivery of the
100 shared series (749k rows) is verified and written in about a second.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute

from marketwire.datasets import prices as P
from marketwire.engine.core import IngestReport, Job
from marketwire.engine.quarantine import raw_text
from marketwire.errors import InvalidInput
from marketwire.prices import calendars
from marketwire.prices.read import BarsCache, Built, bucket_filter
from marketwire.prices.verify import Verified, verify
from marketwire.sources.base import FrameBatch, Refusal
from marketwire.sources.prices import COUNTRY_SUFFIX, SymbolHint, actions_of, hint_for
from marketwire.store import duck
from marketwire.timeparse import parse_day

if TYPE_CHECKING:
    from marketwire.identity.service import IdentityService

log = logging.getLogger(__name__)

MAX_EXP = 12
#: the largest integer tick a price is stored as (below 2**63)
MAX_TICKS = 9.0e18
BAR_COLS = ("open", "high", "low", "close")


@dataclass
class PriceReport(IngestReport):
    rows: int = 0
    listings: int = 0
    provisional: int = 0
    actions: int = 0
    disagreements: int = 0
    #: listings this delivery created (no bars stored yet)
    new_listings: set[str] = field(default_factory=set)
    #: seconds per stage (parse, resolve, verify, compare, cache, write, reconcile)
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d.pop("new_listings", None)
        return d

    def lap(self, stage: str, t0: float) -> float:
        now = time.perf_counter()
        self.timings[stage] = round(self.timings.get(stage, 0.0) + now - t0, 4)
        return now


def frame_batch(table: Any, *, source: str, basis: str = "raw", mic: str | None = None,
                currency: str | None = None) -> FrameBatch:
    """Bars from a DataFrame/Arrow table with symbol, date, open, high, low, close, volume (and optional
    dividend, split) as the batch a price file would give: the same verification and storage as files."""
    if basis not in ("raw", "split_adjusted", "adjusted"):
        raise InvalidInput(f"`basis`: {basis!r} is not raw, split_adjusted or adjusted", param="basis")
    df = table if isinstance(table, pl.DataFrame) else pl.from_arrow(table) if isinstance(table, pa.Table) \
        else pl.from_pandas(table)
    assert isinstance(df, pl.DataFrame)
    missing = [c for c in ("symbol", "date", "close") if c not in df.columns]
    if missing:
        raise InvalidInput(f"`table`: missing column {missing[0]!r}", param="table")
    cols = []
    for c in ("open", "high", "low", "close", "volume", "adj_close", "dividend", "split", "capital_gain"):
        cols.append(pl.col(c).cast(pl.Float64) if c in df.columns else pl.lit(None, pl.Float64).alias(c))
    name = f"frame:{source}"
    if "line" in df.columns:
        line = pl.col("line").cast(pl.Int64)
    else:
        line = pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("line")
    df = df.with_columns(_date_column(df))
    try:
        frame = df.select(pl.col("symbol").cast(pl.Utf8), pl.col("date"), *cols, line, pl.lit(name).alias("file"))
    except pl.exceptions.PolarsError:  # a price column that is not numbers: name it, never the raw library error
        for c in ("open", "high", "low", "close", "volume", "adj_close", "dividend", "split", "capital_gain", "line"):
            if c in df.columns and df.select(pl.col(c).cast(pl.Float64, strict=False).is_null().sum()).item() \
                    != df.select(pl.col(c).is_null().sum()).item():
                raise InvalidInput(f"`table`: column {c!r} holds values that are not numbers ({df.schema[c]})",
                                   param="table", value=c) from None
        raise
    frame = frame.with_columns(pl.col("date").cast(pl.Utf8).alias("date_raw"))
    meta = {"preset": None, "basis": basis, "has_adj_close": False, "mic": mic, "currency": currency,
            "symbol": None, "interval": "1d"}
    return FrameBatch("bars_daily", frame, None, [], meta)


def _date_column(df: pl.DataFrame) -> pl.Expr | pl.Series:
    """The frame's ``date`` column as days: dates as they are, datetimes as their UTC day, text (or Python
    objects) through :func:`marketwire.timeparse.parse_day` (``2024-01-31``, an ISO instant, ``datetime.date``);
    anything else is refused naming the column."""
    dtype = df.schema["date"]
    if dtype == pl.Date:
        return pl.col("date")
    if isinstance(dtype, pl.Datetime):
        col = pl.col("date").dt.convert_time_zone("UTC") if dtype.time_zone else pl.col("date")
        return col.dt.date().alias("date")
    if dtype in (pl.Utf8, pl.Categorical, pl.Object):
        values = df.get_column("date").to_list()
        days: dict[Any, Any] = {}
        for i, v in enumerate(values):
            if v not in days:
                try:
                    days[v] = parse_day(v, "date")
                except InvalidInput as e:
                    raise InvalidInput(f"`table`: row {i + 1}, column 'date': {e.message}", param="table",
                                       value=str(v)) from None
        return pl.Series("date", [days[v] for v in values], dtype=pl.Date)
    raise InvalidInput(f"`table`: column 'date' holds {dtype} values, not dates (use dates, datetimes or "
                       f"YYYY-MM-DD text)", param="table", value=str(dtype))


class FxStage:
    """FX reference rates: the rows as parsed, versioned by (base, quote, date)."""

    report_type = PriceReport

    def run(self, job: Job, batches: list[Any]) -> None:
        report = job.report
        fx = pl.concat([b.frame for b in batches]).with_columns(pl.lit(job.source).alias("source"))
        if isinstance(report, PriceReport):
            report.rows += fx.height
        w = job.commit(P.FX_RATES, fx)
        report.accepted += w.accepted
        report.unchanged += w.unchanged
        job.refuse([r for b in batches for r in b.refusals])


class BarsStage:
    """Daily bars (and the corporate actions found in the same files)."""

    report_type = PriceReport
    writes = ("bars_daily", "corporate_actions", "price_listings", "id_registry", "price_disagreements")

    def __init__(self, identity: IdentityService, cache: BarsCache | None = None) -> None:
        self.identity = identity
        self.cache = cache  # the read cache whose blocks each delivery updates (built while the write runs)

    def run(self, job: Job, batches: list[Any]) -> None:
        if not all(isinstance(b, FrameBatch) for b in batches):
            raise TypeError(f"source {job.source!r} delivers records for bars_daily; it needs columnar batches")
        report = job.report if isinstance(job.report, PriceReport) else _upgrade(job)
        t = time.perf_counter()
        lake = job.lake
        had_bars = lake.exists(P.BARS_DAILY)
        frames, refusals = [], []
        for b in batches:
            src_name = f"{job.source}:{b.meta['preset']}" if b.meta.get("preset") and job.source == "prices-csv" \
                else job.source
            meta = b.meta
            frames.append(b.frame.lazy().with_columns(
                pl.lit(meta["basis"]).alias("basis"), pl.lit(src_name).alias("source"),
                pl.lit(meta.get("mic")).cast(pl.Utf8).alias("_mic_opt"),
                pl.lit(meta.get("currency")).cast(pl.Utf8).alias("_ccy_opt"),
                pl.lit(meta.get("preset") == "yfinance").alias("_cg_in_div")))
            refusals += [_with_source(r, src_name) for r in b.refusals]
        parts = pl.collect_all(frames)  # in parallel; each part is one file's rows
        bars = pl.concat(parts, how="vertical_relaxed")
        _check_daily(bars, parts)
        report.rows += bars.height + len(refusals)
        t = report.lap("read", t)
        deferred: list[tuple[Any, Any, str]] = []
        listings = self._listings(job, bars, report, deferred)
        if bars.get_column("_mic_opt").null_count() == bars.height:  # the common case: a symbol names its listing
            lk = listings.unique("symbol")
            lk = lk.with_columns(pl.Series("bucket", [P.bucket_of(x) if x else None
                                                      for x in lk.get_column("listing_id").to_list()], pl.Int16))
            # each row's listing found once (one pass over the symbols), its five columns gathered from it
            pos = bars.get_column("symbol").replace_strict(
                lk.get_column("symbol"), pl.int_range(lk.height, dtype=pl.UInt32, eager=True), return_dtype=pl.UInt32
            ).cast(pl.UInt32)  # (an empty delivery keeps the symbols' type)
            bars = bars.with_columns([lk.get_column(c).gather(pos) for c in
                                      ("listing_id", "calendar", "currency", "unit_scale", "bucket")]).drop("_mic_opt")
        else:
            bars = bars.join(listings.select("symbol", "_mic_opt", "listing_id", "calendar", "currency", "unit_scale"),
                             on=["symbol", "_mic_opt"], how="left", nulls_equal=True).drop("_mic_opt")
        bars = bars.with_columns(pl.coalesce("_ccy_opt", "currency").alias("currency")).drop("_ccy_opt")
        act = actions_of(bars, keep=("listing_id", "source", "basis", "currency", "_cg_in_div"))
        ids = bars.get_column("listing_id").unique().to_list()
        ledger = _ledger(lake, ids)
        # what the rules no longer need: the action columns (now ledger rows), empty vendor columns, dates as text
        # (kept only where they failed to parse, for the quarantine message)
        unused = ["dividend", "split", "capital_gain", "_cg_in_div"]
        if bars.get_column("adj_close").null_count() == bars.height:
            unused.append("adj_close")
        bars = bars.drop(unused).with_columns(
            pl.when(pl.col("date").is_null()).then(pl.col("date_raw")).alias("date_raw"))
        t = report.lap("resolve", t)
        buckets = {lid: P.bucket_of(lid) for lid in ids if lid}
        v, good = _verify_and_encode(bars, act, ledger, buckets)
        t = report.lap("verify", t)
        # a listing (and its provisional id) is written only when something of its series is kept: a file whose
        # every row is refused leaves nothing behind
        kept = set(good.get_column("listing_id").unique().to_list()) | set(
            v.actions.get_column("listing_id").unique().to_list())
        for ds, table, col in deferred:
            rows = table.filter(pa.compute.is_in(table.column(col), pa.array(sorted(kept), pa.string())))
            if rows.num_rows:
                job.pending.append(_writers().submit(lake.append, ds, rows))
        refused_new = report.new_listings - kept
        report.new_listings -= refused_new
        report.provisional -= len(refused_new)
        if refused_new:
            report.count("listing.provisional", -len(refused_new))
            if not report.by_rule.get("listing.provisional"):
                report.by_rule.pop("listing.provisional", None)
        # a key (listing, date, source) occurs once: verification refused every later bar of a series' date
        # (``bar.duplicate_date``) and every bar without a date; a bar without a listing would be compared as usual
        written = job.commit(P.BARS_DAILY, good, write=False,
                             unique=good.get_column("listing_id").null_count() == 0)
        fresh = written.appended
        t = report.lap("compare", t)
        report.unchanged += written.unchanged
        # the bars are written (in Rust, without the GIL) while the ledger and the quarantine are handled
        built: list[Built] = []
        if fresh.height:
            before = self._cache_state()
            # converted to Arrow (plain strings: no view conversion in the writer) on the writer's thread too
            job.pending.append(_writers().submit(
                lambda: lake.append(P.BARS_DAILY, fresh.to_arrow(compat_level=pl.CompatLevel.oldest()))))
            built = self._build_cache(fresh, before)
            t = report.lap("cache", t)  # while the bars are written
        report.accepted += fresh.height
        report.flagged += fresh.filter(pl.col("flags").is_not_null()).height
        report.listings += len(ids)
        acts = v.actions.select("listing_id", "ex_date", "type", "value", "currency", "basis", "file", "line", "flags",
                                "source")
        acts_new = job.commit(P.CORPORATE_ACTIONS, acts).appended
        report.actions += acts_new.height
        job.refuse(_quarantine_rows(v.rejected, v.rejected_actions, refusals))
        for flags in (fresh.get_column("flags"), acts_new.get_column("flags")):
            for code, n in flags.drop_nulls().str.split(",").explode().value_counts().iter_rows():
                report.count(code, n)
        try:
            for fut in job.pending:
                fut.result()
        except BaseException:
            for one in built:  # a build for a write that failed is never named
                shutil.rmtree(one.tmp, ignore_errors=True)
            raise
        job.pending.clear()
        t = report.lap("write", t)
        if built and self.cache is not None:
            try:
                self.cache.install(built, job.ingest_id)
            except Exception:  # noqa: BLE001 - as in _build_cache
                log.warning("bars cache: installing at ingest failed; the next read rebuilds it", exc_info=True)
            t = report.lap("cache", t)
        several = fresh.height > 0 and fresh.get_column("source").n_unique() > 1
        report.disagreements += _reconcile(job, fresh, report.new_listings) if had_bars or several else 0
        report.lap("reconcile", t)

    def _cache_state(self) -> dict[int, str] | None:
        """The read cache's view of the bars files before the delivery's write (None: no cache to build)."""
        if self.cache is None:
            return None
        try:
            return self.cache.before_write()
        except Exception:  # noqa: BLE001 - as in _build_cache
            log.warning("bars cache: reading the bars files failed; the next read rebuilds the cache", exc_info=True)
            return None

    def _build_cache(self, fresh: pl.DataFrame, before: dict[int, str] | None) -> list[Built]:
        """The read cache's blocks of the series the delivery touched; a failure leaves the cache to be rebuilt
        from the lake on the next read (logged, the delivery is stored either way)."""
        if self.cache is None or before is None:
            return []
        try:
            return self.cache.build(fresh, before)
        except Exception:  # noqa: BLE001 - a derived structure; the lake holds the delivery
            log.warning("bars cache: building at ingest failed; the next read rebuilds it", exc_info=True)
            return []

    def _listings(self, job: Job, bars: pl.DataFrame, report: PriceReport, deferred: list[tuple[Any, Any, str]]
                  ) -> pl.DataFrame:
        """Each (symbol, venue option) of the delivery -> listing id, calendar, currency, unit scale."""
        keys = bars.group_by("symbol", "_mic_opt").agg(pl.col("date").max().alias("_last"),
                                                      pl.col("file").first().alias("_file"))
        known = _known_symbols(job)
        out, new_rows = [], []
        todo = []
        for sym, mic_opt, last, _file in keys.iter_rows():
            hint = hint_for(f"{sym}@{mic_opt}" if mic_opt and "@" not in sym else sym)
            if mic_opt and hint.mic is None:
                hint = SymbolHint(hint.symbol, hint.ticker, mic=mic_opt, currency=hint.currency)
            found = None if hint.symbol in known else self.identity.map_symbol(hint, last or date.today())
            todo.append((sym, mic_opt, hint, found))
        provisional = self.identity.provisional_ids(
            [_provisional_key(h) for _, _, h, f in todo if h.symbol not in known and not f], job.provenance("prices"),
            write=lambda ds, t: deferred.append((ds, t, "id")))
        for sym, mic_opt, hint, found in todo:
            prior = known.get(hint.symbol)
            if prior is not None:
                out.append({"symbol": sym, "_mic_opt": mic_opt, **prior})
                continue
            if found:
                row = {"listing_id": found["listing_id"], "ticker": found.get("ticker") or hint.ticker,
                       "mic": found.get("mic"), "country": hint.country, "currency": found.get("currency")
                       or hint.currency, "provisional": False, "name": found.get("name")}
            else:
                lid, minted = provisional[_provisional_key(hint)]
                if minted:
                    report.new_listings.add(lid)
                row = {"listing_id": lid, "ticker": hint.ticker, "mic": hint.mic, "country": hint.country,
                       "currency": hint.currency, "provisional": True, "name": None, "flags": "listing.provisional"}
                report.provisional += 1
                report.count("listing.provisional")
            row["calendar"] = calendars.calendar_name(row["mic"]) or calendars.calendar_name(
                hint.mic) or _country_calendar(hint.country)
            row["unit_scale"] = hint.unit_scale
            new_rows.append({"symbol": hint.symbol, "flags": row.get("flags"),
                             **{k: row[k] for k in ("listing_id", "ticker", "mic", "country", "currency", "calendar",
                                                    "provisional", "name")}})
            known[hint.symbol] = {k: row[k] for k in ("listing_id", "calendar", "currency", "unit_scale")}
            out.append({"symbol": sym, "_mic_opt": mic_opt, **known[hint.symbol]})
        if new_rows:  # written once the delivery is verified, for the listings something was kept of
            w = job.commit(P.PRICE_LISTINGS, new_rows, source="prices", write=False)
            if w.appended.height:
                deferred.append((P.PRICE_LISTINGS, w.appended.to_arrow(), "listing_id"))
        return pl.DataFrame(out, schema={"symbol": pl.Utf8, "_mic_opt": pl.Utf8, "listing_id": pl.Utf8,
                                         "calendar": pl.Utf8, "currency": pl.Utf8, "unit_scale": pl.Int8})


def _upgrade(job: Job) -> PriceReport:
    """A price delivery reports rows, listings, actions and timings besides the engine's counts."""
    base = job.report
    rep = PriceReport(**{k: getattr(base, k) for k in base.__dataclass_fields__})
    job.report = rep
    return rep


def _with_source(r: Refusal, source: str) -> Refusal:
    r.source = r.source or source
    return r


def _known_symbols(job: Job) -> dict[str, dict[str, Any]]:
    if not job.lake.exists(P.PRICE_LISTINGS):
        return {}
    t = job.lake.read(P.PRICE_LISTINGS, columns=["symbol", "listing_id", "calendar", "currency", "mic"])
    out = {}
    for r in t.to_pylist():
        out[r["symbol"]] = {"listing_id": r["listing_id"], "calendar": r["calendar"], "currency": r["currency"],
                            "unit_scale": hint_for(r["symbol"]).unit_scale}
    return out


def _ledger(lake: Any, ids: list[str]) -> pl.DataFrame | None:
    if not ids or not lake.exists(P.CORPORATE_ACTIONS):
        return None
    t = lake.read(P.CORPORATE_ACTIONS, where="listing_id IN (SELECT unnest(?))", params=[ids],
                  columns=["listing_id", "source", "ex_date", "type", "value"])
    df = pl.from_arrow(t)
    assert isinstance(df, pl.DataFrame)
    return df


def _reconcile(job: Job, fresh: pl.DataFrame, new_listings: set[str]) -> int:
    """Closes of the same listing and date from two sources: levels when the bases agree, daily returns when
    they differ. Disagreements beyond 0.5% are recorded (both values, both sources).

    A listing first seen in this delivery has bars from another source only if this delivery brought two."""
    if not fresh.height:
        return 0
    per = fresh.group_by("listing_id").agg(pl.col("source").n_unique().alias("n"))
    known = per.filter(~pl.col("listing_id").is_in(list(new_listings)) | (pl.col("n") > 1))
    if not known.height or not job.lake.exists(P.BARS_DAILY):
        return 0
    ids = _multi_source(job.lake, known.get_column("listing_id").to_list())
    if not ids:
        return 0
    t = job.lake.read(P.BARS_DAILY, columns=["listing_id", "date", "source", "close", "price_exp", "basis"],
                       where="listing_id IN (SELECT unnest(?))", params=[ids],
                       partitions=bucket_filter(P.bucket_of(i) for i in ids))
    allb = pl.from_arrow(t)
    assert isinstance(allb, pl.DataFrame)
    if allb.get_column("source").n_unique() < 2:
        return 0
    allb = allb.with_columns((pl.col("close") / (10.0 ** pl.col("price_exp").cast(pl.Float64))).alias("px"))
    allb = allb.sort("listing_id", "source", "date").with_columns(
        (pl.col("px") / pl.col("px").shift(1).over("listing_id", "source") - 1).alias("ret"))
    new_srcs = fresh.select("listing_id", "source").unique()
    a = allb.join(new_srcs, on=["listing_id", "source"], how="semi")
    pairs = a.join(allb, on=["listing_id", "date"], suffix="_b").filter(pl.col("source") != pl.col("source_b"))
    same = pl.col("basis") == pl.col("basis_b")
    pairs = pairs.with_columns(
        pl.when(same).then(pl.lit("levels")).otherwise(pl.lit("returns")).alias("compared"),
        pl.when(same).then(pl.col("px")).otherwise(pl.col("ret")).alias("value_a"),
        pl.when(same).then(pl.col("px_b")).otherwise(pl.col("ret_b")).alias("value_b"))
    pairs = pairs.with_columns(
        pl.when(pl.col("compared") == "levels").then((pl.col("value_a") / pl.col("value_b") - 1).abs())
        .otherwise((pl.col("value_a") - pl.col("value_b")).abs()).alias("rel_diff"))
    bad = pairs.filter(pl.col("rel_diff") > 0.005)
    ledger = _ledger(job.lake, ids)
    if ledger is not None and ledger.height and bad.height:
        # across bases, returns differ on ex dates by construction (one series carries the action's jump)
        ex = ledger.select("listing_id", pl.col("ex_date").alias("date")).unique()
        on_ex = bad.filter(pl.col("compared") == "returns").join(ex, on=["listing_id", "date"], how="semi")
        bad = bad.join(on_ex.select("listing_id", "date"), on=["listing_id", "date"], how="anti")
    if not bad.height:
        return 0
    swap = pl.col("source") > pl.col("source_b")  # one record per pair, sources in name order

    def pick(a: str, b: str) -> pl.Expr:
        return pl.when(swap).then(pl.col(b)).otherwise(pl.col(a))

    out = bad.select("listing_id", "date", pl.lit("close").alias("field"),
                     pick("source", "source_b").alias("source_a"), pick("value_a", "value_b").alias("value_a"),
                     pick("basis", "basis_b").alias("basis_a"), pick("source_b", "source").alias("source_b"),
                     pick("value_b", "value_a").alias("value_b"), pick("basis_b", "basis").alias("basis_b"),
                     "compared").unique(["listing_id", "date", "source_a", "source_b"])
    out = out.with_columns(
        pl.when(pl.col("compared") == "levels").then((pl.col("value_a") / pl.col("value_b") - 1).abs())
        .otherwise((pl.col("value_a") - pl.col("value_b")).abs()).alias("rel_diff")).sort("listing_id", "date")
    job.commit(P.PRICE_DISAGREEMENTS, out, source="marketwire.reconcile", mode="append")
    return out.height


def _multi_source(lake: Any, ids: list[str]) -> list[str]:
    """The listings among ``ids`` that more than one source delivered (a scan of two dictionary columns)."""
    src = lake.dataset(P.BARS_DAILY, bucket_filter(P.bucket_of(i) for i in ids))
    con = duck.connect()
    try:
        con.register("b", src)
        rows = con.execute("SELECT listing_id FROM b WHERE listing_id IN (SELECT unnest(?)) GROUP BY listing_id "
                           "HAVING count(DISTINCT source) > 1", [ids]).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


_WRITERS: Any = None


def _writers() -> Any:
    """One small pool of writer threads per process, shared by every ingest."""
    global _WRITERS
    if _WRITERS is None:
        _WRITERS = ThreadPoolExecutor(max_workers=3, thread_name_prefix="mw-write")
    return _WRITERS


#: deliveries above this many rows are verified in parts (whole listings each) on parallel threads: the rules'
#: window functions leave a core idle, two parts run in about 60% of the time of one
PARALLEL_ROWS = 200_000


def _verify_and_encode(bars: pl.DataFrame, act: pl.DataFrame, ledger: pl.DataFrame | None,
                       buckets: dict[str, int]) -> tuple[Verified, pl.DataFrame]:
    """Verification, then integer ticks and the bucket, per part of the delivery (a part holds whole listings, so
    every series is verified whole)."""
    def one(part: pl.DataFrame, acts: pl.DataFrame) -> tuple[Verified, pl.DataFrame]:
        v = verify(part, acts, ledger)
        bucket = pl.col("bucket") if "bucket" in v.bars.columns else \
            pl.col("listing_id").replace_strict(buckets, return_dtype=pl.Int16).alias("bucket")
        good = _ticks(v.bars).with_columns(pl.col("volume").round(0).cast(pl.Int64), bucket)
        return v, good

    n = min(os.cpu_count() or 1, 4)
    if bars.height < PARALLEL_ROWS or n < 2 or len(buckets) < 2:
        return one(bars, act)
    ids = sorted(buckets)
    groups = [ids[k::n] for k in range(n)]
    if "bucket" in bars.columns and len(set(buckets.values())) >= n and not bars.get_column("bucket").null_count():
        # whole buckets per part (each listing has one): an integer filter of the rows, not a string lookup; the
        # buckets dealt largest first to the part with the fewest rows so far, so that the parts end together
        sizes = bars.get_column("bucket").value_counts().sort(["count", "bucket"], descending=True).rows()
        groups, load = [[] for _ in range(n)], [0] * n
        for b, count in sizes:
            k = load.index(min(load))
            groups[k].append(b)
            load[k] += count

        def part(g: list[int]) -> tuple[pl.DataFrame, pl.DataFrame]:
            lids = [lid for lid, b in buckets.items() if b in g]
            return bars.filter(pl.col("bucket").is_in(g)), act.filter(pl.col("listing_id").is_in(lids))
    else:
        def part(g: list[Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
            return bars.filter(pl.col("listing_id").is_in(g)), act.filter(pl.col("listing_id").is_in(g))
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=n) as pool:
        done = list(pool.map(lambda g: one(*part(g)), groups))
    vs = [d[0] for d in done]
    merged = Verified(pl.concat([x.bars for x in vs], how="diagonal_relaxed"),
                      pl.concat([x.rejected for x in vs], how="diagonal_relaxed"),
                      pl.concat([x.actions for x in vs], how="diagonal_relaxed"),
                      pl.concat([x.rejected_actions for x in vs], how="diagonal_relaxed"))
    return merged, pl.concat([d[1] for d in done], how="diagonal_relaxed")


def _provisional_key(hint: SymbolHint) -> str:
    return f"prices:{hint.ticker}@{hint.mic or hint.country or 'US'}"


#: the first rows of a file (with a date) whose gaps tell daily bars from weekly or monthly ones
DAILY_HEAD = 60


def _file_heads(parts: list[pl.DataFrame] | None) -> pl.DataFrame | None:
    """The first :data:`DAILY_HEAD` rows (file, date) of each file, taken from the parts of a delivery when each
    part is one file's rows (its ``file`` a literal: one name, the same on its first and last row, found in no
    other part) without a null date among its first rows. None when a part is not such a file."""
    names: list[str] = []
    dates: list[pl.Series] = []
    for p in parts or ():
        if not p.height:
            continue
        col = p.get_column("file")
        name = col[0]
        if name is None or col[-1] != name:
            return None
        names.append(name)
        dates.append(p.get_column("date").head(DAILY_HEAD))
    if not names or len(set(names)) != len(names) or len({d.dtype for d in dates}) != 1:
        return None
    date = pl.concat(dates)
    if date.null_count():
        return None
    return pl.DataFrame({"file": np.repeat(np.array(names, dtype=object), [d.len() for d in dates]), "date": date},
                        schema={"file": pl.Utf8, "date": date.dtype})


def _check_daily(bars: pl.DataFrame, parts: list[pl.DataFrame] | None = None) -> None:
    """A file whose bars are a week or more apart is not a daily file (weekly or monthly bars). ``parts``: the
    frames ``bars`` was concatenated from, each usually one file (their first rows are then taken from them)."""
    first = _file_heads(parts)
    if first is None:
        first = bars.select("file", "date").filter(pl.col("date").is_not_null()).group_by(
            "file", maintain_order=True).head(DAILY_HEAD)
    gaps = first.unique().sort("file", "date").group_by("file").agg(
        pl.col("date").diff().dt.total_days().median().alias("gap"), pl.len().alias("n"))
    wide = gaps.filter((pl.col("n") >= 5) & (pl.col("gap") >= 6))
    if wide.height:
        f, gap = wide.row(0)[0], wide.row(0)[1]
        kind = "weekly" if gap < 20 else "monthly"
        raise InvalidInput(f"{f}: holds {kind} bars (median gap {gap:g} days); bars_daily takes daily bars",
                           param="paths", file=f)


def _country_calendar(country: str | None) -> str | None:
    for c, cal, _ in COUNTRY_SUFFIX.values():
        if c == country:
            return cal
    return "XNYS" if country in (None, "US") else None


def _exponent(cols: tuple[str, ...]) -> pl.Expr:
    """Per row: the smallest k <= MAX_EXP for which every price in ``cols`` is a whole number of 10**-k."""
    row_exp = pl.lit(MAX_EXP, pl.Int8)
    for k in range(MAX_EXP, -1, -1):
        ok = pl.all_horizontal([
            (pl.col(c).is_null() | (((pl.col(c) * 10.0**k).round(0) / 10.0**k - pl.col(c)).abs()
                                    <= 1e-12 * pl.col(c).abs())) for c in cols])
        row_exp = pl.when(ok).then(pl.lit(k, pl.Int8)).otherwise(row_exp)
    return row_exp


def _row_exponents(cols: list[tuple[np.ndarray, np.ndarray | None]]) -> np.ndarray:
    """Per row: the smallest k <= MAX_EXP for which every value (a null one always passes) is a whole number of
    10**-k within 1e-12 relative, else MAX_EXP; the same float operations as :func:`_exponent` (rounding half
    to even, as Polars' ``round``), on the rows not yet placed only."""
    n = cols[0][0].size
    out = np.full(n, MAX_EXP, dtype=np.int8)
    todo = np.arange(n)
    for k in range(MAX_EXP + 1):
        if not todo.size:
            break
        p = 10.0 ** k
        ok = np.ones(todo.size, dtype=bool)
        for x, null in cols:
            v = x[todo]
            with np.errstate(invalid="ignore", over="ignore"):
                good = np.abs(np.round(v * p) / p - v) <= 1e-12 * np.abs(v)
            ok &= good if null is None else (good | null[todo])
        out[todo[ok]] = k
        todo = todo[~ok]
    return out


def _ticks_runs(df: pl.DataFrame) -> pl.DataFrame:
    """:func:`_ticks` for a frame whose series (``_sid``) are runs of rows: the exponent searched in numpy, only
    on the rows not yet placed, and reduced per run; the same exponents and ticks."""
    sid = df.get_column("_sid").to_numpy()
    starts = np.flatnonzero(np.diff(sid, prepend=sid[0] - 1) != 0) if sid.size else np.zeros(0, np.int64)
    lens = np.diff(np.append(starts, sid.size))

    def arr(c: str) -> tuple[np.ndarray, np.ndarray | None]:
        col = df.get_column(c)
        if not col.null_count():
            return col.to_numpy(), None
        return col.fill_null(0.0).to_numpy(), col.is_null().to_numpy()

    prices = {c: arr(c) for c in BAR_COLS}
    exp = np.maximum.reduceat(_row_exponents([prices["close"]]), starts) if sid.size else np.zeros(0, np.int8)
    scale = np.repeat(10.0 ** exp.astype(np.float64), lens)
    bad_row = np.zeros(sid.size, dtype=bool)
    for x, null in prices.values():
        with np.errstate(invalid="ignore", over="ignore"):
            good = np.abs(np.round(x * scale) / scale - x) <= 1e-12 * np.abs(x)
        bad_row |= ~good if null is None else ~(good | null)
    if bad_row.any():  # a series where another price needs more decimals: searched again on all four
        bad_run = np.logical_or.reduceat(bad_row, starts)
        rows = np.repeat(bad_run, lens)
        redo = _row_exponents([(x[rows], None if null is None else null[rows]) for x, null in prices.values()])
        sub_starts = np.concatenate([[0], np.cumsum(lens[bad_run])[:-1]]).astype(np.int64)
        exp[bad_run] = np.maximum.reduceat(redo, sub_starts)
    # the exponent never makes a series' largest price overflow 64-bit ticks (digits beyond are float noise)
    top = np.full(sid.size, -np.inf)
    for x, null in prices.values():
        np.maximum(top, np.abs(x) if null is None else np.where(null, -np.inf, np.abs(x)), out=top)
    big = np.maximum.reduceat(top, starts) if sid.size else np.zeros(0)
    big = pl.Series(np.where(big == -np.inf, 1.0, big)).clip(1.0, None)  # a series without prices: 1
    cap = (MAX_TICKS / big).log10().floor().clip(0, MAX_EXP).cast(pl.Int8).to_numpy()
    exp = np.minimum(exp, cap).astype(np.int8)
    scale = np.repeat(10.0 ** exp.astype(np.float64), lens)
    ticks = []
    for c, (x, null) in prices.items():
        t = np.round(x * scale).astype(np.int64)
        ticks.append(pl.Series(c, t) if null is None else pl.from_arrow(pa.array(t, mask=null)).alias(c))
    return df.with_columns(*ticks, pl.Series("price_exp", np.repeat(exp, lens), dtype=pl.Int8))


def _ticks(df: pl.DataFrame) -> pl.DataFrame:
    """Float prices -> int64 ticks with the smallest exponent (per listing and delivery) that reproduces each
    price within 1e-12 relative (float32-noisy vendors get up to 12 decimals).

    The exponent is found on the close, then checked on all four prices; only series where another price needs
    more decimals are searched again on all four."""
    if "_sid" in df.columns:
        return _ticks_runs(df)
    g = ["listing_id", "file"]
    df = df.with_columns(_exponent(("close",)).max().over(g).alias("price_exp"))
    scale = 10.0 ** pl.col("price_exp").cast(pl.Float64)
    exact = pl.all_horizontal([(pl.col(c).is_null() | (((pl.col(c) * scale).round(0) / scale - pl.col(c)).abs()
                                                       <= 1e-12 * pl.col(c).abs())) for c in BAR_COLS])
    df = df.with_columns(exact.all().over(g).alias("_exact"))
    if not df.get_column("_exact").all():
        keys = [g] if isinstance(g, str) else g
        redo = (df.filter(~pl.col("_exact")).group_by(keys)
                .agg(_exponent(BAR_COLS).max().alias("_exp_all")))
        df = df.join(redo, on=keys, how="left", maintain_order="left").with_columns(
            pl.coalesce("_exp_all", "price_exp").alias("price_exp")).drop("_exp_all")
    # the exponent never makes a series' largest price overflow 64-bit ticks (digits beyond are float noise)
    big = pl.max_horizontal([pl.col(c).abs() for c in BAR_COLS]).max().over(g).fill_null(1.0).clip(1.0, None)
    cap = (MAX_TICKS / big).log10().floor().clip(0, MAX_EXP).cast(pl.Int8)
    df = df.with_columns(pl.min_horizontal("price_exp", cap).alias("price_exp"))
    return df.with_columns([(pl.col(c) * scale).round(0).cast(pl.Int64).alias(c) for c in BAR_COLS]).drop("_exact")


def _quarantine_rows(rejected: pl.DataFrame | None, rejected_actions: pl.DataFrame | None,
                     refusals: list[Refusal]) -> pl.DataFrame:
    parts = []
    raw_cols = ["symbol", "date", "open", "high", "low", "close", "adj_close", "volume", "dividend", "split"]
    if rejected is not None and rejected.height:
        if "date_raw" in rejected.columns:  # a date that did not parse is quarantined as it was written
            rejected = rejected.with_columns(pl.coalesce(pl.col("date").cast(pl.Utf8), pl.col("date_raw")).alias("date"))
        val = pl.coalesce([pl.when(pl.col("field") == c).then(pl.col(c).cast(pl.Utf8)) for c in raw_cols
                           if c in rejected.columns])
        parts.append(rejected.select(
            pl.lit("bars_daily").alias("dataset"), "rule", "field", val.alias("value"),
            pl.struct([c for c in raw_cols if c in rejected.columns]).struct.json_encode().alias("raw"),
            "message", "file", "line", "source"))
    if rejected_actions is not None and rejected_actions.height:
        parts.append(rejected_actions.select(
            pl.lit("corporate_actions").alias("dataset"), "rule", "field", pl.col("value").cast(pl.Utf8),
            pl.struct("symbol", "ex_date", "type", "value").struct.json_encode().alias("raw"),
            "message", "file", "line", "source"))
    if refusals:
        parts.append(pl.DataFrame([{"dataset": r.dataset, "rule": r.rule, "field": r.field, "value": r.value,
                                    "raw": raw_text(r.raw), "message": r.message, "file": r.file, "line": r.line,
                                    "source": r.source} for r in refusals],
                                  schema={"dataset": pl.Utf8, "rule": pl.Utf8, "field": pl.Utf8, "value": pl.Utf8,
                                          "raw": pl.Utf8,
                                          "message": pl.Utf8, "file": pl.Utf8, "line": pl.Int64, "source": pl.Utf8}))
    if not parts:
        return pl.DataFrame(schema={"dataset": pl.Utf8, "rule": pl.Utf8, "field": pl.Utf8, "value": pl.Utf8,
                                    "raw": pl.Utf8, "message": pl.Utf8, "file": pl.Utf8, "line": pl.Int64,
                                    "source": pl.Utf8, "record_hash": pl.Utf8})
    q = pl.concat(parts, how="vertical_relaxed")
    q = q.with_columns(
        pl.concat_str([pl.col("file").str.split("/").list.last(), pl.col("line").cast(pl.Utf8), pl.col("raw"),
                       pl.col("rule")], separator="|", ignore_nulls=True).hash(seed=11).cast(pl.Utf8)
        .alias("record_hash"))
    return q
