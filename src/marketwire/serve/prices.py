"""The facade's price queries (mixed into :class:`marketwire.serve.facade.Marketwire`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa

from marketwire.datasets import prices as P
from marketwire.datasets import reference as R
from marketwire.errors import Ambiguous, InvalidInput, NotFound
from marketwire.prices.read import CONVENTIONS, BarsCache, adjustment_factors, series_as_of
from marketwire.sources.prices import SymbolHint, hint_for

if TYPE_CHECKING:
    from marketwire.prices.ingest import PriceReport
    from marketwire.store import Lake

ADJUST = ("none", "splits", "total_return")
OUTPUTS = ("pandas", "polars", "arrow")
US_MICS = ("XNYS", "XNAS", "XASE", "ARCX", "BATS", "IEXG")


def parse_time(value: str | date | datetime | None, param: str = "as_of") -> datetime | None:
    """A date (end of that day, UTC) or an ISO timestamp (UTC when no offset is given)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime.combine(value, time.max, tzinfo=timezone.utc)
    s = str(value).strip()
    try:
        if len(s) == 10:
            return datetime.combine(date.fromisoformat(s), time.max, tzinfo=timezone.utc)
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"`{param}`: {value} is not a date or an ISO timestamp", param=param,
                           value=str(value)) from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


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


class PricesMixin:
    lake: Lake
    home: Path
    _price_symbols: tuple[int | None, dict[str, list[str]]] | None = None

    def resolve(self, id: str, as_of: date | str | None = None) -> list[dict[str, Any]]:  # pragma: no cover
        raise NotImplementedError

    # -- set-up -----------------------------------------------------------------------------------
    @property
    def bars_cache(self) -> BarsCache:
        bc = getattr(self, "_bars_cache", None)
        if bc is None:
            bc = BarsCache(self.lake, self.home / "cache")
            self._bars_cache = bc
        return bc

    def _price_ingest(self) -> Any:
        from marketwire.prices.ingest import PriceIngest

        return PriceIngest(self.lake, self._resolve_for_prices)

    def _resolve_for_prices(self, hint: SymbolHint, when: date) -> dict[str, Any] | None:
        """The master's listing for a symbol in a price file, or None (a provisional listing is made)."""
        if not self.lake.exists(R.LISTINGS):
            return None
        text = f"{hint.ticker}@{hint.mic}" if hint.mic else hint.ticker
        try:
            found = self.resolve(text, when)
        except Ambiguous as e:
            cands = [c for c in e.fields.get("candidates", []) if c.get("listing_id")]
            if hint.country == "US":
                cands = [c for c in cands if c.get("mic") in US_MICS]
            if len(cands) != 1:
                return None
            found = cands
        except NotFound:
            return None
        m = found[0]
        if not m.get("listing_id"):
            return None
        return m

    def ingest_prices(self, source: str, paths: Sequence[str | Path], *, preset: str | None = None,
                      symbol: str | None = None, basis: str | None = None, mic: str | None = None,
                      currency: str | None = None, as_of: str | date | datetime | None = None,
                      columns: dict[str, str] | None = None) -> PriceReport:
        """Price files through ``source``; ``columns`` maps bar fields to the file's headers
        (``{"date": "Day", "close": "Px"}``), with or without a preset."""
        rep = self._price_ingest().ingest(source, [str(p) for p in paths], as_of=parse_time(as_of, "as_of"),
                                          preset=preset, symbol=symbol, basis=basis, mic=mic, currency=currency,
                                          columns=columns)
        self.bars_cache.invalidate()
        self._price_symbols = None
        return rep  # type: ignore[no-any-return]

    def ingest_bars(self, table: Any, *, source: str, basis: str = "raw", mic: str | None = None,
                    currency: str | None = None, as_of: str | date | datetime | None = None) -> PriceReport:
        """Bars from a pandas/Polars/Arrow table (symbol, date, open, high, low, close, volume[, dividend, split]),
        verified and stored like a file delivery."""
        rep = self._price_ingest().ingest_frame(table, source=source, basis=basis, mic=mic, currency=currency,
                                                as_of=parse_time(as_of, "as_of"))
        self.bars_cache.invalidate()
        self._price_symbols = None
        return rep  # type: ignore[no-any-return]

    # -- which listing ------------------------------------------------------------------------------
    def _symbols(self) -> dict[str, list[str]]:
        cached = getattr(self, "_price_symbols", None)
        stamp = self.lake.version(P.PRICE_LISTINGS.name)
        if cached is not None and cached[0] == stamp:
            return cached[1]  # type: ignore[no-any-return]
        out: dict[str, list[str]] = {}
        if stamp is not None:
            for r in self.lake.read(P.PRICE_LISTINGS, columns=["symbol", "ticker", "mic", "listing_id"]).to_pylist():
                for k in {r["symbol"], f"{r['ticker']}@{r['mic']}" if r["mic"] else None, r["ticker"]}:
                    if k and r["listing_id"] not in out.setdefault(k, []):
                        out[k].append(r["listing_id"])
        self._price_symbols = (stamp, out)
        return out

    def price_listing(self, id: str) -> str:
        """The listing whose bars ``id`` names: an MW listing id, a symbol as a price file named it, or anything
        the securities master resolves (a security resolves to its listing with bars). A master listing that a
        provisional price listing was merged into answers with the bars stored under the provisional id."""
        lid = self._price_listing(id)
        if self.bars_cache.sources_of(lid):
            return lid
        for alias in self._merged_into(lid):
            if self.bars_cache.sources_of(alias):
                return alias
        return lid

    def _merged_into(self, lid: str) -> list[str]:
        """Ids registered as merged into ``lid`` (``merged:listing`` rows of the id registry)."""
        stamp = self.lake.version(R.ID_REGISTRY.name)
        cached = getattr(self, "_merged_cache", None)
        if cached is None or cached[0] != stamp:
            rows = self.lake.read(R.ID_REGISTRY, where="kind = 'merged:listing'", columns=["key", "id"]).to_pylist() \
                if stamp is not None else []
            by: dict[str, list[str]] = {}
            for r in rows:
                by.setdefault(r["id"], []).append(r["key"])
            cached = (stamp, by)
            self._merged_cache = cached
        return list(cached[1].get(lid, []))

    def adopt_provisional(self) -> int:
        """Provisional price listings whose symbol the master now resolves are merged into the master listing
        (``merged:listing`` in the id registry): the master's ids reach the bars, and the provisional id still
        answers. Returns how many were merged."""
        from datetime import datetime, timezone

        if not self.lake.exists(P.PRICE_LISTINGS) or not self.lake.exists(R.LISTINGS):
            return 0
        prov = self.lake.read(P.PRICE_LISTINGS, where="provisional", columns=["listing_id", "symbol"]).to_pylist()
        done = set()
        if self.lake.exists(R.ID_REGISTRY):
            done = set(self.lake.read(R.ID_REGISTRY, where="kind = 'merged:listing'", columns=["key"])
                       .column("key").to_pylist())
        rows = []
        for r in prov:
            if r["listing_id"] in done:
                continue
            found = self.bars_cache.series(r["listing_id"])
            last = found[0].column("date")[-1].as_py() if found and found[0].num_rows else date.today()
            m = self._resolve_for_prices(hint_for(r["symbol"]), last)
            if m and m["listing_id"] != r["listing_id"]:
                rows.append((r["listing_id"], m["listing_id"]))
                done.add(r["listing_id"])
        if rows:
            now = datetime.now(timezone.utc)
            self.lake.append(R.ID_REGISTRY, pa.Table.from_pylist(
                [{"kind": "merged:listing", "key": old, "id": new, "knowledge_time": now, "ingested_at": now,
                  "source": "prices.adopt", "ingest_id": "adopt-" + now.strftime("%Y%m%d%H%M%S")} for old, new in rows],
                schema=R.ID_REGISTRY.schema))
        return len(rows)

    def _price_listing(self, id: str) -> str:
        text = (id or "").strip().upper()
        if not text:
            raise InvalidInput("`id`: empty identifier", param="id")
        if text.startswith("MWL") and len(text) == 13:
            return text
        syms = self._symbols()
        if text in syms and len(syms[text]) == 1:
            return syms[text][0]
        master_err: Exception | None = None
        if self.lake.exists(R.LISTINGS):
            try:
                found = self.resolve(text)
                m = found[0]
                if m.get("listing_id"):
                    return str(m["listing_id"])
                with_bars = [lst["listing_id"] for lst in m.get("listings", [])
                             if self.bars_cache.primary(lst["listing_id"])]
                if len(with_bars) == 1:
                    return str(with_bars[0])
            except (NotFound, Ambiguous) as e:
                master_err = e
        h = hint_for(text)
        for k in (h.symbol, f"{h.ticker}@{h.mic}" if h.mic else h.ticker):
            if k in syms and len(syms[k]) == 1:
                return syms[k][0]
        if text in syms:
            raise Ambiguous(f"{id!r} names {len(syms[text])} listings with prices; use a listing id", param="id",
                            candidates=[{"listing_id": x} for x in syms[text]])
        if master_err is not None:
            raise master_err
        raise NotFound(f"no prices for {id!r}", param="id", value=id)

    # -- bars ---------------------------------------------------------------------------------------
    def prices(self, id: str, start: str | date | None = None, end: str | date | None = None, adjust: str = "none",
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
        from marketwire.serve.facade import parse_date

        if adjust not in ADJUST:
            raise InvalidInput(f"`adjust`: {adjust!r} is not one of {', '.join(ADJUST)}", param="adjust")
        if convention not in CONVENTIONS:
            raise InvalidInput(f"`convention`: {convention!r} is not one of {', '.join(CONVENTIONS)}",
                               param="convention")
        if output not in OUTPUTS:
            raise InvalidInput(f"`output`: {output!r} is not one of {', '.join(OUTPUTS)}", param="output")
        d0, d1 = parse_date(start, "start"), parse_date(end, "end")
        kt = parse_time(as_of, "as_of")
        lid = self.price_listing(id)
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
        lid = self.price_listing(id)
        kt = parse_time(as_of)
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
        from marketwire.serve.facade import parse_date

        b, q = base.upper(), quote.upper()
        d0, d1 = parse_date(start, "start"), parse_date(end, "end")
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

    def bars_size(self) -> dict[str, Any]:
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
        from marketwire.prices.quality import report

        lid = self.price_listing(id)
        return report(self, lid)

    def export_prices(self, ids: Sequence[str] | None, path: str | Path, fmt: str = "parquet",
                      adjust: str = "none", start: str | date | None = None, end: str | date | None = None) -> dict:
        """Bulk output: the bars of many listings (default: every listing with prices) into one Parquet or
        Arrow IPC file, with a ``listing_id`` column."""
        import pyarrow.ipc as ipc
        import pyarrow.parquet as pq

        if fmt not in ("parquet", "arrow"):
            raise InvalidInput(f"`format`: {fmt!r} is not parquet or arrow", param="format")
        self.bars_cache.ensure()
        lids = [self.price_listing(i) for i in ids] if ids else self.bars_cache.listings()
        writer: Any = None
        rows = 0
        try:
            for lid in lids:
                t = self.prices(lid, start=start, end=end, adjust=adjust, flags=True, output="arrow")
                t = t.replace_schema_metadata(None)
                t = t.add_column(0, "listing_id", pa.array([lid] * t.num_rows, pa.string()))
                t = t.cast(pa.schema([f.with_type(pa.float64()) if f.name in ("open", "high", "low", "close")
                                      else f.with_type(pa.float64()) if f.name == "volume" else f for f in t.schema]))
                if writer is None:
                    writer = pq.ParquetWriter(str(path), t.schema, compression="zstd") if fmt == "parquet" \
                        else ipc.new_file(str(path), t.schema)
                writer.write_table(t) if fmt == "parquet" else writer.write(t)
                rows += t.num_rows
        finally:
            if writer is not None:
                writer.close()
        return {"path": str(path), "format": fmt, "listings": len(lids), "rows": rows}

    def disagreements(self, id: str) -> list[dict[str, Any]]:
        lid = self.price_listing(id)
        if not self.lake.exists(P.PRICE_DISAGREEMENTS):
            return []
        return sorted(self.lake.read(P.PRICE_DISAGREEMENTS, where="listing_id = ?", params=[lid]).to_pylist(),
                      key=lambda r: (r["date"], r["source_a"], r["source_b"]))

