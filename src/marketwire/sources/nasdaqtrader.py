"""Nasdaq Trader symbol directories: ``nasdaqlisted.txt`` and ``otherlisted.txt``.

Real endpoint: https://www.nasdaqtrader.com/dynamic/SymDir/nasdaqlisted.txt (and ``otherlisted.txt``),
pipe-delimited with a ``File Creation Time: MMDDYYYYHH:MM`` trailer. The comma-separated mirrors
(datasets/nasdaq-listings, datasets/nyse-other-listings) are read too. Each file is a complete directory of its
venue(s) on its date, so loading dated snapshots yields listings, delistings and recycled tickers.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from marketwire.errors import ParseError
from marketwire.sources.base import Batch, Query, RawFile, Refusal, Source, blank, read_csv, snapshot_date, stable_hash
from marketwire.sources.classify import infer_type, issuer_name
from marketwire.sources.symbols import from_cqs, from_nasdaq_integrated, variants

#: otherlisted ``Exchange`` codes -> ISO 10383 MIC
EXCHANGE_MIC = {"A": "XASE", "N": "XNYS", "P": "ARCX", "Z": "BATS", "V": "IEXG"}

_TRAILER = re.compile(r"File Creation Time:\s*(\d{2})(\d{2})(\d{4})(\d{2}):?(\d{2})")


def _trailer_date(text: str) -> date | None:
    m = _TRAILER.search(text[-400:])
    if not m:
        return None
    return date(int(m.group(3)), int(m.group(1)), int(m.group(2)))


class NasdaqTrader(Source):
    name = "nasdaqtrader"
    dataset = "ref_observations"
    url = "https://www.nasdaqtrader.com/dynamic/SymDir/nasdaqlisted.txt"
    urls = (url, "https://www.nasdaqtrader.com/dynamic/SymDir/otherlisted.txt")
    description = "Nasdaq Trader symbol directories (nasdaqlisted, otherlisted; ACT/CQS/Nasdaq symbols)"
    #: ``allow_mass_delisting``: apply a snapshot that would delist most of a venue (marketwire.verify.snapshots)
    options = ("allow_mass_delisting",)

    def transform(self, query: Query, raw: RawFile) -> Batch:
        text = raw.data.decode("utf-8-sig", errors="replace")
        delim = "|" if "|" in text.split("\n", 1)[0] else ","
        header, rows = read_csv(raw, required=(), delimiter=delim)
        if "ACT Symbol" in header:
            kind = "otherlisted" if "Exchange" in header else "nyse-listed"
        elif "Symbol" in header:
            kind = "nasdaqlisted"
        else:
            raise ParseError(
                f"{raw.name}: line 1: missing column 'Symbol' or 'ACT Symbol' (not a Nasdaq Trader directory)",
                file=raw.name, line=1, column="Symbol",
            )
        asof = snapshot_date(query, raw, _trailer_date(text))
        batch = Batch(self.dataset)
        seen: set[str] = set()
        for line, row in rows:
            first = next(iter(row.values()), "")
            if first.startswith("File Creation Time"):
                continue
            rec = self._record(kind, row, asof, raw.name, line)
            if isinstance(rec, Refusal):
                batch.refusals.append(rec)
                continue
            if rec["record_hash"] in seen:
                batch.refusals.append(Refusal("row.duplicate", "the same row appears twice in the file",
                                              raw.name, line, row))
                continue
            seen.add(rec["record_hash"])
            batch.records.append(rec)
        return batch

    def _record(self, kind: str, row: dict[str, str], asof: date, file: str, line: int
                ) -> dict[str, Any] | Refusal:
        if kind == "nasdaqlisted":
            sym = blank(row.get("Symbol"))
            mic = "XNAS"
            feed = "nasdaqtrader:nasdaqlisted"
            ticker = sym.upper() if sym else None
            aliases = variants(ticker) if ticker else []
            sec_name = blank(row.get("Security Name")) or blank(row.get("Company Name"))
            company = blank(row.get("Company Name")) or issuer_name(sec_name)
            etf = row.get("ETF")
        else:
            sym = blank(row.get("ACT Symbol"))
            if kind == "otherlisted":
                code = (row.get("Exchange") or "").strip()
                found = EXCHANGE_MIC.get(code)
                if found is None:
                    return Refusal("listing.unknown_exchange", f"unknown otherlisted exchange code {code!r}",
                                   file, line, row, field="Exchange", value=code)
                mic, feed = found, "nasdaqtrader:otherlisted"
            else:
                mic, feed = "XNYS", "nasdaqtrader:nyse-listed"
            nasdaq_sym = blank(row.get("NASDAQ Symbol"))
            cqs = blank(row.get("CQS Symbol"))
            if nasdaq_sym:
                ticker = from_nasdaq_integrated(nasdaq_sym)
            elif cqs:
                ticker = from_cqs(cqs)
            else:
                ticker = from_cqs(sym.replace("$", "p")) if sym else None
            aliases = variants(ticker, sym, cqs, nasdaq_sym) if ticker else []
            sec_name = blank(row.get("Security Name")) or blank(row.get("Company Name"))
            company = issuer_name(blank(row.get("Company Name")) or sec_name)
            etf = row.get("ETF")
        if not sym or not ticker:
            return Refusal("listing.missing_symbol", "the row has no symbol", file, line, row, field="Symbol")
        if not re.fullmatch(r"[A-Z0-9.\-$+=^#*/p]{1,14}", sym):
            return Refusal("listing.bad_symbol", f"symbol {sym!r} is not a US ticker", file, line, row,
                           field="Symbol", value=sym)
        if (row.get("Test Issue") or "").upper() == "Y":
            return Refusal("listing.test_issue", "a test issue, not a tradable security", file, line, row,
                           field="Test Issue", value="Y")
        rec: dict[str, Any] = {
            "feed": feed, "snapshot_date": asof, "ticker": ticker, "mic": mic, "name": company,
            "security_name": sec_name, "type": infer_type(sec_name, etf), "currency": "USD", "country": None,
            "aliases": aliases, "complete": True, "file": file, "line": line, "flags": [],
        }
        rec["record_hash"] = stable_hash({k: rec[k] for k in ("ticker", "mic", "name", "security_name", "type")})
        return rec
