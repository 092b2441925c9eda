"""The prices service: daily bars adjusted on read, the corporate-action ledger, FX reference rates, the quality
report, source disagreements and bulk output, over the lake; and the ingest of price files through the engine.

``mw.prices("AAPL", adjust="total_return")`` calls :meth:`PricesService.bars`; ``mw.prices.actions("AAPL")`` and
the other methods are the rest of the service.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from marketwire.datasets import prices as P
from marketwire.datasets import reference as R
from marketwire.engine.core import Engine
from marketwire.engine.executor import executor
from marketwire.errors import InvalidInput, NotFound, outside_coverage
from marketwire.identity.service import IdentityService
from marketwire.prices.export import SCHEMA, chunks, export_chunk, lent
from marketwire.prices.ingest import BarsStage, FxStage, PriceReport, frame_batch
from marketwire.prices.quality import report as quality_report
from marketwire.prices.joins import Series, decide
from marketwire.prices.read import BASIS_RANK, CONVENTIONS, BarsCache, adjustment_factors, series_as_of
from marketwire.sources.classify import same_entity_name
from marketwire.sources.prices import hint_for
from marketwire.store import Lake
from marketwire.timeparse import parse_day, parse_instant

ADJUST = ("none", "splits", "total_return")
OUTPUTS = ("pandas", "polars", "arrow")


def _to_pandas(t: pa.Table) -> Any:
    """Columns straight from Arrow buffers (zero-copy where there are no nulls); dates as datetime64[ns]."""
    import pandas as pd

    cols: dict[str, Any] = {}
    for name in t.column_names:
        col = t.column(name)
        if name == "date":
            cols[name] = col.to_numpy().astype("datetime64[ns]")
        elif col.null_count == 0 and (pa.types.is_floating(col.type) or pa.types.is_integer(col.type)):
            cols[name] = col.to_numpy()
        else:
            cols[name] = col.to_pandas()
    return pd.DataFrame(cols, copy=False)


class PricesService:
    """Prices over one lake; identity questions go to the identity service."""

    def __init__(self, lake: Lake, engine: Engine, identity: IdentityService, cache: Path, *,
                 background: bool = False) -> None:
        self.lake = lake
        self.engine = engine
        self.identity = identity
        self.bars_cache = BarsCache(lake, cache, background=True) if background else BarsCache(lake, cache)
        engine.stage("bars_daily", BarsStage(identity, self.bars_cache))
        engine.stage("fx_rates", FxStage())
        engine.on_commit(("bars_daily", "corporate_actions", "price_listings"), "prices.cache", self._after_commit)
        identity.on_rebuilt(self.adopt_provisional)

    def __call__(self, id: str, **kwargs: Any) -> Any:
        """:meth:`bars` (``mw.prices("AAPL", ...)``)."""
        return self.bars(id, **kwargs)

    # -- loading --------------------------------------------------------------------------------------------------
    def ingest(self, source: str, paths: Sequence[str | Path], *, preset: str | None = None, symbol: str | None = None,
               basis: str | None = None, mic: str | None = None, currency: str | None = None,
               as_of: str | date | datetime | None = None, columns: dict[str, str] | None = None,
               progress: Any = None, scheduler: Any = None) -> PriceReport:
        """Price files through ``source``; ``columns`` maps bar fields to the file's headers
        (``{"date": "Day", "close": "Px"}``), with or without a preset. ``as_of`` is the knowledge time of the
        delivery (default: now). ``scheduler``: a Dask scheduler for reading and parsing the files."""
        rep = self.engine.ingest(source, [str(p) for p in paths], as_of=as_of, progress=progress,
                                 scheduler=scheduler, report=PriceReport(source, ""), preset=preset, symbol=symbol,
                                 basis=basis, mic=mic, currency=currency, columns=columns)
        self.bars_cache.invalidate()
        return rep  # type: ignore[return-value]

    def ingest_bars(self, table: Any, *, source: str, basis: str = "raw", mic: str | None = None,
                    currency: str | None = None, as_of: str | date | datetime | None = None) -> PriceReport:
        """Bars from a pandas/Polars/Arrow table (symbol, date, open, high, low, close, volume[, dividend, split]),
        verified and stored like a file delivery."""
        batch = frame_batch(table, source=source, basis=basis, mic=mic, currency=currency)
        job = self.engine.job(source, as_of)
        job.report = PriceReport(job.source, job.ingest_id, files=1)
        self.engine.run(job, [batch])
        self.bars_cache.invalidate()
        return job.report  # type: ignore[return-value]

    def adopt_provisional(self) -> int:
        """Provisional price listings that are a listing of the master are merged into it: the master's ids reach
        the bars, and the provisional id still answers. Forward: the symbol names a master listing on the series'
        last date. Backward: the series ends before the master first knows the symbol, and the evidence of
        :mod:`marketwire.prices.joins` agrees (the listing held the ticker from the master's first snapshot, no
        recycled ticker, names and currency agree, prices continuous where both have data). Every decision is
        recorded with its evidence (``mw.identity.merges(id)``); a reversed merge is not made again. Returns how
        many were merged."""
        pairs: list[tuple[str, str]] = []
        evidence: list[dict[str, Any]] = []
        refused: list[tuple[str, str, str, dict[str, Any]]] = []
        undone = self.identity.reversed_merges()
        for r in self.identity.provisional_symbols():
            lid = r["listing_id"]
            mine = self._series_of([lid])
            last = max((x.last for x in mine if x.last), default=date.today())
            hint = hint_for(r["symbol"])
            m = self.identity.map_symbol(hint, last)
            if m and m["listing_id"] != lid:
                if (lid, m["listing_id"]) not in undone:
                    pairs.append((lid, m["listing_id"]))
                    evidence.append({"direction": "forward", "series_last": last, "symbol": r["symbol"],
                                     "reason": f"{r['symbol']} names this listing on the series' last date"})
                continue
            if m or not mine:
                continue
            holder = self.identity.first_holder(hint, last)
            if holder is None or holder["listing_id"] == lid or (lid, holder["listing_id"]) in undone:
                continue
            fam = [holder["listing_id"], *self.identity.merged_into(holder["listing_id"])]
            ev = decide(mine, self._series_of([x for x in fam if x != lid]), holder, r.get("name"),
                        r.get("currency"), same_entity_name)
            ev["symbol"] = r["symbol"]
            if ev.pop("join"):
                pairs.append((lid, holder["listing_id"]))
                evidence.append(ev)
            else:
                refused.append((lid, holder["listing_id"], "refused", ev))
        self.identity.record_decisions(refused, "prices.adopt")
        n = self.identity.merge(pairs, "listing", source="prices.adopt", evidence=evidence)
        if n:
            self.bars_cache.invalidate()
        return n

    def _after_commit(self, job: Any) -> None:
        """After a price delivery: provisional listings it made may be listings the master knows (backward)."""
        self.bars_cache.invalidate()
        if self.lake.exists(R.LISTINGS) and self.identity.provisional_symbols():
            self.adopt_provisional()

    def _series_of(self, ids: Sequence[str]) -> list[Series]:
        """Every source's closes of the listings ``ids`` (for the join evidence)."""
        out = []
        for lid in ids:
            acts = self.bars_cache.actions(lid)
            for src in self.bars_cache.sources_of(lid):
                found = self.bars_cache.series(lid, src)
                if found is None or not found[0].num_rows:
                    continue
                t, info = found
                own = acts.filter(pl.col("source") == src) if acts.height else acts
                exd = set(own.get_column("ex_date").to_list()) if own.height else set()
                scale = 10.0 ** (info.get("unit_scale") or 0)  # quotes in hundredths (GBX) to units
                out.append(Series(src, t.column("date").to_numpy().astype("datetime64[D]"),
                                  t.column("close").to_numpy() * scale, info["basis"] or "raw", exd))
        return out

    def family(self, id: str) -> tuple[str, list[str]]:
        """The listing ``id`` names (the id that now stands for it) and every listing id whose data answers for
        it: itself first, then the provisional listings merged into it (and those merged into them)."""
        lid = self.listing(id)
        canon = self.identity.successor("listing", lid)
        members, todo = [canon], [canon]
        while todo:
            for old in sorted(self.identity.merged_into(todo.pop())):
                if old not in members:
                    members.append(old)
                    todo.append(old)
        return canon, members

    # -- which listing --------------------------------------------------------------------------------------------
    def listing(self, id: str) -> str:
        """The listing whose bars ``id`` names: an MW listing id, a symbol as a price file named it, or anything
        the securities master resolves (a security resolves to its listing with bars). A master listing that a
        provisional price listing was merged into answers with the bars stored under the provisional id."""
        return self.identity.listing_for(id, lambda lid: bool(self.bars_cache.sources_of(lid)))

    # -- bars ---------------------------------------------------------------------------------------
    def bars(self, id: str, start: str | date | None = None, end: str | date | None = None, adjust: str = "none",
               as_of: str | date | datetime | None = None, currency: str | None = None, flags: bool = False,
               source: str | None = None, output: str = "pandas", factors: bool = False,
               convention: str = "prev_close") -> Any:
        """Daily bars of one listing: ``date, open, high, low, close, volume`` (plus ``flags``, and the factors
        applied with ``factors=True``), adjusted on read (``none``, ``splits``, ``total_return``), optionally
        converted to ``currency`` with the ECB rate of each date, as known at ``as_of`` (default: now).

        Dividends adjust by ``convention``: ``prev_close`` (CRSP: 1 - D / previous close) or ``ex_close``
        (Quandl WIKI: ex-date close / (ex-date close + D)).
        ``output``: ``pandas`` (default), ``polars`` or ``arrow``. The result carries its listing, source, basis
        and currency (``df.attrs`` for pandas, schema metadata for Arrow).
        """
        if adjust not in ADJUST:
            raise InvalidInput(f"`adjust`: {adjust!r} is not one of {', '.join(ADJUST)}", param="adjust")
        if convention not in CONVENTIONS:
            raise InvalidInput(f"`convention`: {convention!r} is not one of {', '.join(CONVENTIONS)}",
                               param="convention")
        if output not in OUTPUTS:
            raise InvalidInput(f"`output`: {output!r} is not one of {', '.join(OUTPUTS)}", param="output")
        d0, d1 = parse_day(start, "start"), parse_day(end, "end")
        kt = parse_instant(as_of, "as_of")
        canon, members = self.family(id)
        found, acts = self._pick_series(members, source, kt, d0, d1)
        if found is None:
            have = sorted({s for m in members for s in self.bars_cache.sources_of(m)})
            if source and have:
                raise NotFound(f"no prices from source {source!r} for {id}; sources: {', '.join(have)}",
                               param="source", value=source)
            raise NotFound(f"no prices for {id}" + (f" known at {kt.isoformat()}" if kt else ""), param="id",
                           value=id)
        tbl, info = found
        lid = canon
        src, basis, ccy, unit = info["source"], info["basis"] or "raw", info["currency"], info["unit_scale"] or 0
        dates = tbl.column("date").to_numpy()
        close = tbl.column("close").to_numpy()
        if adjust == "none" and not currency and not factors:
            fp = fv = None
            ftable: list[dict[str, Any]] = []
        else:
            fp, fv, ftable = adjustment_factors(dates, close, acts, basis, adjust, src, convention)
        out_ccy = ccy
        scale = fp
        if currency and currency.upper() != (ccy or "").upper():
            rate = self._fx_factor(tbl.column("date"), ccy, currency.upper())
            scale = (fp if fp is not None else 1.0) * rate * (10.0 ** unit)
            out_ccy = currency.upper()
        cols: dict[str, Any] = {"date": tbl.column("date")}
        for c in ("open", "high", "low", "close"):
            col = tbl.column(c)
            cols[c] = col if scale is None else pa.array(col.to_numpy(zero_copy_only=False) * scale)
        vol = tbl.column("volume")
        cols["volume"] = vol if fv is None or adjust == "none" else pa.array(
            np.round(vol.to_numpy(zero_copy_only=False).astype("float64") * fv).astype("int64"))
        if flags:
            cols["flags"] = tbl.column("flags")
        if factors:
            cols["price_factor"] = pa.array(fp)
            cols["volume_factor"] = pa.array(fv)
        out = pa.table(cols)
        if d0 or d1:
            mask = np.ones(out.num_rows, dtype=bool)
            dd = dates.astype("datetime64[D]")
            if d0:
                mask &= dd >= np.datetime64(d0, "D")
            if d1:
                mask &= dd <= np.datetime64(d1, "D")
            out = out.filter(pa.array(mask))
        meta = {"listing_id": lid, "source": src or "", "basis": basis, "adjust": adjust, "convention": convention,
                "currency": out_ccy or "", "unit_scale": str(unit if out_ccy == ccy else 0),
                "as_of": kt.isoformat() if kt else ""}
        if info.get("listing_id") and info["listing_id"] != lid:
            meta["stored_as"] = info["listing_id"]  # a provisional listing merged into ``lid``
        if out.num_rows == 0 and tbl.num_rows:
            first, last = tbl.column("date")[0].as_py(), tbl.column("date")[-1].as_py()
            srcs = [src]
            if not source and kt is None:  # what every series of the listing covers
                spans = [(f[0].column("date")[0].as_py(), f[0].column("date")[-1].as_py(), x) for m in members
                         for x in self.bars_cache.sources_of(m) for f in [self.bars_cache.series(m, x)]
                         if f is not None and f[0].num_rows]
                first, last = min(a for a, _, _ in spans), max(b for _, b, _ in spans)
                srcs = sorted({x for _, _, x in spans})
            asked = f"{d0.isoformat() if d0 else '...'} to {d1.isoformat() if d1 else '...'}"
            meta.update({k: str(v) for k, v in outside_coverage(
                f"{id} has bars from {first.isoformat()} to {last.isoformat()} ({', '.join(srcs)}); none from "
                f"{asked}", listing=lid, source=", ".join(srcs), **{"from": first, "to": last}).items()})
        if output == "arrow":
            return out.replace_schema_metadata({k: str(v) for k, v in meta.items()})
        if output == "polars":
            return pl.from_arrow(out)
        df = _to_pandas(out)
        df.attrs.update(meta)
        if factors:
            df.attrs["actions"] = ftable
        return df

    def _fx_factor(self, dates: pa.ChunkedArray, src_ccy: str | None, dst: str) -> np.ndarray:
        """Per date: units of ``dst`` per unit of ``src_ccy`` (ECB cross rates through EUR, the last rate
        published on or before the date; null before the first)."""
        if not src_ccy:
            raise InvalidInput("`currency`: the listing's currency is unknown, so it cannot be converted",
                               param="currency")
        if not self.lake.exists(P.FX_RATES):
            raise NotFound("no FX rates are loaded (marketwire ingest ecb-fx PATH)", param="currency")
        need = [c for c in {src_ccy.upper(), dst} if c != "EUR"]
        fx = pl.from_arrow(self.lake.read(P.FX_RATES, where="base = 'EUR' AND quote IN (SELECT unnest(?))",
                                          params=[need], columns=["quote", "date", "rate"]))
        assert isinstance(fx, pl.DataFrame)
        d = pl.DataFrame({"date": pl.from_arrow(dates)}).with_row_index("i")

        def per_eur(ccy: str) -> pl.Series:
            if ccy == "EUR":
                return pl.Series(np.ones(d.height))
            s = fx.filter(pl.col("quote") == ccy).select("date", "rate").sort("date")
            if not s.height:
                raise NotFound(f"no FX rate EUR/{ccy} is loaded", param="currency", value=ccy)
            return d.sort("date").join_asof(s, on="date", strategy="backward").sort("i").get_column("rate")

        rate = per_eur(dst) / per_eur(src_ccy.upper())
        return rate.cast(pl.Float64).to_numpy()

    def _pick_series(self, members: list[str], source: str | None, kt: datetime | None, d0: date | None,
                     d1: date | None) -> tuple[tuple[pa.Table, dict[str, Any]] | None, pl.DataFrame]:
        """The series to answer with among the sources of a listing and the provisional listings merged into it:
        ``source`` if given; else the one with the most bars between ``d0`` and ``d1`` (all bars without a range),
        then the least adjusted basis, then the fewest flags in the range, then the fewest flagged actions of its
        own, then the longest. Returns it and the action ledger of all of them."""
        cands: list[tuple[tuple[Any, ...], tuple[pa.Table, dict[str, Any]]]] = []
        ledgers = []
        for k, m in enumerate(members):
            if kt is None:
                srcs = [source] if source else self.bars_cache.sources_of(m)
                founds = [self.bars_cache.series(m, x) for x in srcs]
                ledgers.append(self.bars_cache.actions(m))
            else:
                one, acts = series_as_of(self.lake, m, kt, source)
                founds = [one]
                if acts.height:
                    ledgers.append(acts)
            for f in founds:
                if f is None or not f[0].num_rows:
                    continue
                t, info = f
                dd = t.column("date").to_numpy().astype("datetime64[D]")
                lo = int(np.searchsorted(dd, np.datetime64(d0, "D"), "left")) if d0 else 0
                hi = int(np.searchsorted(dd, np.datetime64(d1, "D"), "right")) if d1 else len(dd)
                if d0 or d1:  # the series covering the range best; then the one whose bars and actions in the
                    # range no rule flagged (a split its own prices do not show, say)
                    own = ledgers[-1].filter((pl.col("source") == info["source"]) & pl.col("flags").is_not_null()
                                             ) if kt is None and ledgers and ledgers[-1].height else None
                    flagged = t.column("flags").slice(lo, max(hi - lo, 0)).null_count
                    flagged = max(hi - lo, 0) - flagged + (sum(
                        1 for x in own.get_column("ex_date").to_list() if (not d0 or x >= d0) and (not d1 or x <= d1))
                        if own is not None else 0)
                    inside = max(hi - lo, 0)
                    # on a tie, a source whose own action ledger the rules found at odds with its prices anywhere
                    # (a split its prices do not show: a "raw" file that is adjusted) comes after a clean one
                    doubtful = own.height if own is not None else 0
                    rank = (-inside, BASIS_RANK.get(info["basis"], 9) if inside else 0, flagged, doubtful,
                            -t.num_rows, k)
                else:
                    rank = (-t.num_rows, BASIS_RANK.get(info["basis"], 9), k)
                cands.append((rank, (t, {**info, "listing_id": m})))
        ledgers = [x for x in ledgers if x.height]
        acts = pl.concat(ledgers, how="diagonal_relaxed") if len(ledgers) > 1 else (ledgers[0] if ledgers else
                                                                                      self.bars_cache.actions(""))
        if not cands:
            return None, acts
        return min(cands, key=lambda c: c[0])[1], acts

    def actions(self, id: str, as_of: str | date | datetime | None = None) -> list[dict[str, Any]]:
        """The corporate-action ledger of a listing (and of the provisional listings merged into it)."""
        _, members = self.family(id)
        kt = parse_instant(as_of, "as_of")
        df: Any
        if kt is None:
            parts = [x for x in (self.bars_cache.actions(m) for m in members) if x.height]
            df = pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()
        else:
            df = pl.from_arrow(self.lake.read(P.CORPORATE_ACTIONS, as_of=kt, where="listing_id IN (SELECT unnest(?))",
                                              params=[members])) if self.lake.exists(P.CORPORATE_ACTIONS) \
                else pl.DataFrame()
        assert isinstance(df, pl.DataFrame)
        if not df.height:
            return []
        cols = ["listing_id", "ex_date", "type", "value", "currency", "basis", "flags", "source", "file", "line",
                "knowledge_time"]
        return df.select(cols).sort("ex_date", "type", "source").to_dicts()

    def fx(self, base: str, quote: str, start: str | date | None = None, end: str | date | None = None) -> Any:
        b, q = base.upper(), quote.upper()
        d0, d1 = parse_day(start, "start"), parse_day(end, "end")
        grid = self.lake.read(P.FX_RATES, columns=["date"], where="base = 'EUR'") if self.lake.exists(P.FX_RATES) \
            else None
        if grid is None or not grid.num_rows:
            raise NotFound("no FX rates are loaded (marketwire ingest ecb-fx PATH)", param="base")
        grid_df = pl.from_arrow(grid)
        assert isinstance(grid_df, pl.DataFrame)
        dates = grid_df.get_column("date").unique().sort()
        if d0:
            dates = dates.filter(dates >= d0)
        if d1:
            dates = dates.filter(dates <= d1)
        rate = self._fx_factor(dates.to_arrow(), b, q) if b != q else np.ones(len(dates))  # type: ignore[arg-type]
        return pl.DataFrame({"date": dates, "rate": rate}).filter(pl.col("rate").is_not_null() & pl.col("rate").is_not_nan())

    def size(self) -> dict[str, Any]:
        """Rows and bytes at rest of the bars table (every version, the Parquet files of the current table)."""
        from deltalake import DeltaTable

        if not self.lake.exists(P.BARS_DAILY):
            return {"rows": 0, "bytes": 0, "bytes_per_row": None, "files": 0}
        t = DeltaTable(self.lake.uri(P.BARS_DAILY.name))
        adds = t.get_add_actions(flatten=True)
        adds_t = pa.table(adds) if not isinstance(adds, pa.Table) else adds
        rows = int(pa.compute.sum(adds_t.column("num_records")).as_py() or 0)
        size = int(pa.compute.sum(adds_t.column("size_bytes")).as_py() or 0)
        return {"rows": rows, "bytes": size, "bytes_per_row": round(size / rows, 2) if rows else None,
                "files": adds_t.num_rows}

    # -- quality ------------------------------------------------------------------------------------
    def quality(self, id: str) -> dict[str, Any]:
        """Quality report and score of a listing's series (current knowledge), the series of provisional listings
        merged into it included (each source row names the listing id its bars are stored under)."""
        canon, members = self.family(id)
        reps = [r for r in (quality_report(self, m) for m in members) if r["sources"]] or \
            [quality_report(self, members[0])]
        out = dict(reps[0])
        out["listing_id"] = canon
        out["sources"] = [{"listing_id": r["listing_id"], **x} for r in reps for x in r["sources"]]
        out["symbols"] = sorted({s for r in reps for s in r["symbols"]})
        out["actions"] = sum(r["actions"] for r in reps)
        out["disagreements"] = len(self.disagreements(canon))
        if len(reps) > 1:
            found, _ = self._pick_series(members, None, None, None, None)
            prim = (found[1]["listing_id"], found[1]["source"]) if found else None
            out["primary_source"] = prim[1] if prim else None
            out["score"] = next((x["score"] for x in out["sources"] if (x["listing_id"], x["source"]) == prim), None)
        return out

    def export(self, ids: Sequence[str] | None, path: str | Path, fmt: str = "parquet",
               adjust: str = "none", start: str | date | None = None, end: str | date | None = None, *,
               scheduler: Any = None, chunk: int | None = None, progress: Any = None) -> dict:
        """Bulk output: the bars of many listings (default: every listing with prices) into one Parquet or
        Arrow IPC file, with a ``listing_id`` column, listings in order.

        The listings are read in chunks (``chunk`` listings each; default from their number) as tasks on the
        executor: threads, or the workers of a Dask cluster with ``scheduler`` or the engine's scheduler (the
        workers open the lake by its path). The driver writes the chunks in order: the file is the same either
        way (see :mod:`marketwire.prices.export`). ``progress(name, done, total)`` is called after each chunk with
        the listings written so far."""
        import pyarrow.ipc as ipc
        import pyarrow.parquet as pq

        if fmt not in ("parquet", "arrow"):
            raise InvalidInput(f"`format`: {fmt!r} is not parquet or arrow", param="format")
        if adjust not in ADJUST:
            raise InvalidInput(f"`adjust`: {adjust!r} is not one of {', '.join(ADJUST)}", param="adjust")
        if chunk is not None and chunk < 1:
            raise InvalidInput("`chunk`: must be at least 1 listing", param="chunk", value=str(chunk))
        d0, d1 = parse_day(start, "start"), parse_day(end, "end")
        self.bars_cache.wait_fresh()
        lids = [self.listing(i) for i in ids] if ids else self.bars_cache.listings()
        stamp = self.bars_cache.state()["stamp"]
        parts = chunks(lids, chunk)
        ex = executor(scheduler or self.engine.scheduler)
        tmp = Path(f"{path}.partial")
        rows = 0
        try:
            writer: Any = pq.ParquetWriter(str(tmp), SCHEMA, compression="zstd") if fmt == "parquet" \
                else ipc.new_file(str(tmp), SCHEMA)
            try:
                with lent(self) as ref:
                    tasks = [(ref, stamp, part, adjust, d0, d1) for part in parts]
                    done = 0
                    for part, t in zip(parts, ex.map(export_chunk, tasks)):
                        if t.num_rows:
                            writer.write_table(t) if fmt == "parquet" else writer.write(t)
                        rows += t.num_rows
                        done += len(part)
                        if progress is not None:
                            progress("export", done, len(lids))
            finally:
                writer.close()
            tmp.replace(path)  # the file appears whole, or not at all
        finally:
            ex.close()
            tmp.unlink(missing_ok=True)
        return {"path": str(path), "format": fmt, "listings": len(lids), "rows": rows, "chunks": len(parts),
                "executor": ex.name}

    def disagreements(self, id: str) -> list[dict[str, Any]]:
        """Dates where two sources disagree on the listing's close (provisional listings merged into it
        included)."""
        _, members = self.family(id)
        if not self.lake.exists(P.PRICE_DISAGREEMENTS):
            return []
        return sorted(self.lake.read(P.PRICE_DISAGREEMENTS, where="listing_id IN (SELECT unnest(?))",
                                     params=[members]).to_pylist(),
                      key=lambda r: (r["date"], r["source_a"], r["source_b"]))

