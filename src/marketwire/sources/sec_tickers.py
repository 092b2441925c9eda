"""SEC company tickers: the ticker -> CIK map the SEC publishes for EDGAR.

Real endpoint: https://www.sec.gov/files/company_tickers.json (``{"0": {"cik_str", "ticker", "title"}}``); the
``company_tickers_exchange.json`` variant (``fields`` + ``data``) is read too. The file names no venue, so each
ticker is attached to the US listing with that ticker (see the identity builder), never a new listing.
"""

from __future__ import annotations

import json
from typing import Any

from marketwire.errors import ParseError
from marketwire.sources.base import Batch, Query, RawFile, Refusal, Source, decode, snapshot_date, stable_hash
from marketwire.sources.financedatabase import us_ticker

_EXCHANGE_MIC = {"Nasdaq": "XNAS", "NYSE": "XNYS", "CBOE": "BATS", "OTC": "OTCM"}


class SecTickers(Source):
    name = "sec-tickers"
    dataset = "ref_observations"
    url = "https://www.sec.gov/files/company_tickers.json"
    description = "SEC EDGAR company tickers (ticker -> CIK)"

    def transform(self, query: Query, raw: RawFile) -> Batch:
        text = decode(raw)
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise ParseError(f"{raw.name}: line {e.lineno}, column {e.colno}: {e.msg}", file=raw.name,
                             line=e.lineno, column=e.colno) from e
        rows: list[dict[str, Any]]
        if isinstance(doc, dict) and "fields" in doc and "data" in doc:
            rows = [dict(zip(doc["fields"], r)) for r in doc["data"]]
        elif isinstance(doc, dict):
            rows = list(doc.values())
        elif isinstance(doc, list):
            rows = doc
        else:
            raise ParseError(f"{raw.name}: line 1: expected an object of ticker records", file=raw.name, line=1)
        asof = snapshot_date(query, raw)
        batch = Batch(self.dataset)
        seen: set[str] = set()
        for i, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                batch.refusals.append(Refusal("record.malformed", "not an object", raw.name, i, str(row)))
                continue
            ticker = us_ticker(str(row.get("ticker") or "").strip().upper())
            cik = str(row.get("cik_str") or row.get("cik") or "").strip()
            if not ticker:
                batch.refusals.append(Refusal("listing.missing_symbol", "no ticker", raw.name, i, row,
                                              field="ticker"))
                continue
            if not cik.isdigit():
                batch.refusals.append(Refusal("cik.format", f"CIK {cik!r} is not a number", raw.name, i, row,
                                              field="cik_str", value=cik))
                continue
            rec: dict[str, Any] = {
                "feed": "sec:company_tickers", "snapshot_date": asof, "ticker": ticker,
                "mic": _EXCHANGE_MIC.get(str(row.get("exchange") or "")), "name": row.get("title") or row.get("name"),
                "security_name": None, "type": None, "cik": cik.lstrip("0") or "0", "aliases": [],
                "complete": False, "file": raw.name, "line": i, "flags": [],
            }
            rec["record_hash"] = stable_hash({k: rec[k] for k in ("ticker", "mic", "name", "cik")})
            if rec["record_hash"] in seen:
                batch.refusals.append(Refusal("row.duplicate", "the same row appears twice", raw.name, i, row))
                continue
            seen.add(rec["record_hash"])
            batch.records.append(rec)
        return batch
