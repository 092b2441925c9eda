"""The estimates service: consensus by metric and fiscal period as known on any date, and surprises.

Consensus records carry their knowledge time (``as_of``: when the consensus was known). ``consensus(id, as_of)``
returns, per metric and fiscal period ending up to ten years after ``as_of``, the latest consensus known at
``as_of``; ``surprises(id)`` compares each reported actual with the consensus known before the report.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl

from marketwire.datasets import fundamentals as F
from marketwire.errors import Ambiguous, NotFound
from marketwire.timeparse import parse_day

COLUMNS = ["symbol", "metric", "fiscal_period", "period_end", "mean", "median", "high", "low", "count", "std",
           "as_of", "currency"]


class EstimatesService:
    def __init__(self, lake: Any, engine: Any, identity: Any) -> None:
        self.lake, self.engine, self.identity = lake, engine, identity

    def symbols(self, id: str) -> list[str]:
        """The tickers of what ``id`` names (through the identity service), else ``id`` itself as a symbol."""
        text = (id or "").strip()
        out: list[str] = []
        try:
            ms = self.identity.resolve(text)
        except NotFound:
            ms = []
        except Ambiguous as e:
            ms = e.fields.get("candidates") or []
        for m in ms:
            out += [x["ticker"] for x in (m.get("listings") or []) if x.get("ticker")]
            if m.get("ticker"):
                out.append(m["ticker"])
        return sorted(set(out)) or [text.upper()]

    def _rows(self, id: str) -> pl.DataFrame:
        if not self.lake.exists(F.CONSENSUS):
            raise NotFound("no consensus estimates are stored (marketwire ingest estimates-fmp PATH)", param="id")
        syms = self.symbols(id)
        df = pl.from_arrow(self.lake.read(F.CONSENSUS, where="symbol IN (SELECT unnest(?))", params=[syms]))
        assert isinstance(df, pl.DataFrame)
        if not df.height:
            raise NotFound(f"no consensus estimates for {id} (symbols {', '.join(syms)})", param="id", value=id)
        return df

    def consensus(self, id: str, as_of: Any = None, metric: str | None = None) -> pl.DataFrame:
        when = parse_day(as_of, "as_of") or date.today()
        df = self._rows(id).filter(pl.col("as_of") <= when)
        if metric:
            df = df.filter(pl.col("metric") == metric)
        df = df.filter(pl.col("mean").is_not_null() & (pl.col("period_end") <= when + timedelta(days=3660)))
        df = df.sort("as_of", descending=True).unique(["symbol", "metric", "period_end", "fiscal_period"],
                                                       keep="first")
        return df.sort("metric", "period_end").select(COLUMNS)

    def surprises(self, id: str, metric: str | None = None) -> pl.DataFrame:
        df = self._rows(id)
        if metric:
            df = df.filter(pl.col("metric") == metric)
        act = df.filter(pl.col("actual").is_not_null() & pl.col("report_date").is_not_null()).select(
            "symbol", "metric", "period_end", "fiscal_period", "actual", "report_date").unique(
            ["symbol", "metric", "period_end", "fiscal_period"])
        est = df.filter(pl.col("mean").is_not_null()).select("symbol", "metric", "period_end", "fiscal_period",
                                                             "mean", "as_of")
        j = act.join(est, on=["symbol", "metric", "period_end", "fiscal_period"], how="inner")
        j = j.filter(pl.col("as_of") < pl.col("report_date")).sort("as_of", descending=True).unique(
            ["symbol", "metric", "period_end", "fiscal_period"], keep="first")
        j = j.with_columns((pl.col("actual") - pl.col("mean")).alias("surprise"),
                           pl.when(pl.col("mean") != 0).then((pl.col("actual") - pl.col("mean")) / pl.col("mean").abs())
                           .otherwise(None).alias("surprise_pct"))
        return j.rename({"mean": "consensus", "as_of": "consensus_as_of"}).sort("metric", "period_end").select(
            "symbol", "metric", "fiscal_period", "period_end", "report_date", "actual", "consensus", "consensus_as_of",
            "surprise", "surprise_pct")
