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
from marketwire.engine.core import Engine
from marketwire.engine.executor import executor
from marketwire.errors import InvalidInput, NotFound
from marketwire.identity.service import IdentityService
from marketwire.prices.export import SCHEMA, chunks, export_chunk, lent
from marketwire.prices.ingest import BarsStage, FxStage, PriceReport, frame_batch
from marketwire.prices.quality import report as quality_report
from marketwire.prices.read import CONVENTIONS, BarsCache, adjustment_factors, series_as_of
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
        engine.on_commit(("bars_daily", "corporate_actions", "price_listings"), "prices.cache",
                         lambda job: self.bars_cache.invalidate())
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
        """Provisional price listings whose symbol the master now resolves are merged into the master listing:
        the master's ids reach the bars, and the provisional id still answers. Returns how many were merged."""
        pairs = []
        for r in self.identity.provisional_symbols():
            found = self.bars_cache.series(r["listing_id"])
            last = found[0].column("date")[-1].as_py() if found and found[0].num_rows else date.today()
            m = self.identity.map_symbol(hint_for(r["symbol"]), last)
            if m and m["listing_id"] != r["listing_id"]:
                pairs.append((r["listing_id"], m["listing_id"]))
        return self.identity.merge(pairs, "listing", source="prices.adopt")

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
        lid = self.listing(id)
        if kt is None:
            found = self.bars_cache.series(lid, source)
            acts = self.bars_cache.actions(lid)
        else:
            found, acts = series_as_of(self.lake, lid, kt, source)
        if found is None:
            if source and self.bars_cache.sources_of(lid):
                raise NotFound(f"no prices from source {source!r} for {id}; sources: "
                               f"{', '.join(self.bars_cache.sources_of(lid))}", param="source", value=source)
            raise NotFound(f"no prices for {id}" + (f" known at {kt.isoformat()}" if kt else ""), param="id",
                           value=id)
        tbl, info = found
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

    def actions(self, id: str, as_of: str | date | datetime | None = None) -> list[dict[str, Any]]:
        lid = self.listing(id)
        kt = parse_instant(as_of, "as_of")
        df: Any
        if kt is None:
            df = self.bars_cache.actions(lid)
        else:
            df = pl.from_arrow(self.lake.read(P.CORPORATE_ACTIONS, as_of=kt, where="listing_id = ?", params=[lid])) \
                if self.lake.exists(P.CORPORATE_ACTIONS) else pl.DataFrame()
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
        """Quality report and score of a listing's series (current knowledge)."""
        return quality_report(self, self.listing(id))

    def export(self, ids: Sequence[str] | None, path: str | Path, fmt: str = "parquet",
               adjust: str = "none", start: str | date | None = None, end: str | date | None = None, *,
               scheduler: Any = None, chunk: int | None = None) -> dict:
        """Bulk output: the bars of many listings (default: every listing with prices) into one Parquet or
        Arrow IPC file, with a ``listing_id`` column, listings in order.

        The listings are read in chunks (``chunk`` listings each; default from their number) as tasks on the
        executor: threads, or the workers of a Dask cluster with ``scheduler`` or the engine's scheduler (the
        workers open the lake by its path). The driver writes the chunks in order: the file is the same either
        way (see :mod:`marketwire.prices.export`)."""
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
                    for t in ex.map(export_chunk, tasks):
                        if t.num_rows:
                            writer.write_table(t) if fmt == "parquet" else writer.write(t)
                        rows += t.num_rows
            finally:
                writer.close()
            tmp.replace(path)  # the file appears whole, or not at all
        finally:
            ex.close()
            tmp.unlink(missing_ok=True)
        return {"path": str(path), "format": fmt, "listings": len(lids), "rows": rows, "chunks": len(parts),
                "executor": ex.name}

    def disagreements(self, id: str) -> list[dict[str, Any]]:
        lid = self.listing(id)
        if not self.lake.exists(P.PRICE_DISAGREEMENTS):
            return []
        return sorted(self.lake.read(P.PRICE_DISAGREEMENTS, where="listing_id = ?", params=[lid]).to_pylist(),
                      key=lambda r: (r["date"], r["source_a"], r["source_b"]))

