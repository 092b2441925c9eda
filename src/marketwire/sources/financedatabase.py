"""FinanceDatabase (JerBouma): equities, ETFs and funds with Yahoo-style symbols, MIC, ISIN, CUSIP and FIGIs.

Real endpoint: https://raw.githubusercontent.com/JerBouma/FinanceDatabase/main/database/equities.csv (and
``etfs``, ``funds``; the per-exchange split files of the repository are read the same way). Symbols such as
``SAN.PA`` are mapped to ticker@MIC (``SAN@XPAR``) and the Yahoo spelling is kept as an alias.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from marketwire.refdata import US_MICS
from marketwire.sources.base import Batch, Query, RawFile, Refusal, Source, blank, read_csv, snapshot_date, stable_hash

#: Yahoo exchange codes for rows without a MIC
YAHOO_EXCHANGE_MIC = {"NAS": "XNAS", "NMS": "XNAS", "NGM": "XNAS", "NCM": "XNAS", "NYQ": "XNYS",
                      "ASE": "XASE", "PCX": "ARCX", "BTS": "BATS", "PNK": "OTCM"}
_US_SUFFIX = {"WT": ".WS", "UN": ".U", "U": ".U", "RI": ".R", "WS": ".WS"}


def us_ticker(symbol: str) -> str:
    """Yahoo US spelling -> canonical (``BRK-B`` -> ``BRK.B``, ``ABR-PA`` stays, ``XX-WT`` -> ``XX.WS``)."""
    if "-" not in symbol:
        return symbol
    base, _, suf = symbol.partition("-")
    if suf in _US_SUFFIX:
        return base + _US_SUFFIX[suf]
    if len(suf) == 1:
        return f"{base}.{suf}"
    if suf.startswith("P") and len(suf) <= 2:
        return f"{base}-{suf}"
    return symbol


class FinanceDatabase(Source):
    name = "financedatabase"
    dataset = "ref_observations"
    url = "https://raw.githubusercontent.com/JerBouma/FinanceDatabase/main/database/equities.csv"
    urls = (url, url.replace("equities", "etfs"), url.replace("equities", "funds"))
    description = "FinanceDatabase equities, ETFs and funds (Yahoo symbols, MIC, ISIN, CUSIP, FIGI)"

    def transform(self, query: Query, raw: RawFile) -> Batch:
        header, rows = read_csv(raw, required=("symbol", "name"))
        asof = snapshot_date(query, raw)
        kind = self._kind(raw.name, header)
        batch = Batch(self.dataset)
        seen: set[str] = set()
        for line, row in rows:
            rec = self._record(kind, row, asof, raw.name, line)
            if isinstance(rec, Refusal):
                batch.refusals.append(rec)
            elif rec["record_hash"] in seen:
                batch.refusals.append(Refusal("row.duplicate", "the same row appears twice in the file",
                                              raw.name, line, row))
            else:
                seen.add(rec["record_hash"])
                batch.records.append(rec)
        return batch

    @staticmethod
    def _kind(name: str, header: list[str]) -> str:
        parts = {p.lower() for p in Path(name).parts}
        stem = Path(name).stem.lower()
        for k in ("equities", "etfs", "funds", "moneymarkets", "currencies", "cryptos", "indices"):
            if k in parts or stem == k:
                return k
        if "base_currency" in header:
            return "currencies"
        if "cryptocurrency" in header:
            return "cryptos"
        if "isin" in header and "cusip" in header:
            return "equities"
        return "etfs" if "isin" in header else "funds"

    def _record(self, kind: str, row: dict[str, str], asof: Any, file: str, line: int
                ) -> dict[str, Any] | Refusal:
        symbol = blank(row.get("symbol"))
        if not symbol:
            return Refusal("listing.missing_symbol", "the row has no symbol", file, line, row, field="symbol")
        if kind in ("currencies", "cryptos", "indices"):
            return Refusal("record.out_of_scope", f"{kind} are not securities of the securities master",
                           file, line, row, field="symbol", value=symbol)
        exch = (row.get("exchange") or "").strip()
        mic = blank(row.get("mic")) or YAHOO_EXCHANGE_MIC.get(exch)
        if not mic:
            return Refusal("listing.mic_missing", f"no MIC for exchange code {exch!r}", file, line, row,
                           field="mic", value=exch or None)
        mic = mic.upper()
        if mic in US_MICS:
            ticker = us_ticker(symbol.upper())
        else:
            ticker = symbol.rsplit(".", 1)[0] if "." in symbol else symbol
        typ = {"equities": "equity", "etfs": "etf", "funds": "fund", "moneymarkets": "fund"}[kind]
        delisted = (row.get("delisted") or "").strip().lower() == "true"
        rec: dict[str, Any] = {
            "feed": f"financedatabase:{kind}", "snapshot_date": asof, "ticker": ticker, "mic": mic,
            "name": blank(row.get("name")), "security_name": blank(row.get("name")), "type": typ,
            "currency": (blank(row.get("currency")) or "").upper() or None, "country": blank(row.get("country")),
            "isin": blank(row.get("isin")), "cusip": blank(row.get("cusip")), "figi": blank(row.get("figi")),
            "composite_figi": blank(row.get("composite_figi")),
            "shareclass_figi": blank(row.get("shareclass_figi")),
            "sector": blank(row.get("sector")) or blank(row.get("category_group")),
            "industry": blank(row.get("industry")) or blank(row.get("category")),
            "market_cap": blank(row.get("market_cap")),
            "aliases": [symbol] if symbol != ticker else [], "delisted": delisted, "complete": False,
            "file": file, "line": line, "flags": [],
        }
        rec["record_hash"] = stable_hash({k: v for k, v in rec.items() if k not in ("file", "line", "snapshot_date")})
        return rec
