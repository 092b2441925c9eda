"""SEC EDGAR submissions: an issuer's profile (name, former names, tickers, exchanges, SIC, fiscal year end) and its
filings index (accession, form, filing and acceptance times, report period).

Real endpoint: ``https://data.sec.gov/submissions/CIK##########.json``; older filings are paged out into
``CIK##########-submissions-001.json`` ... named in ``filings.files``. A page next to the main file is read with it
(pagination); a page given alone is read too (its CIK comes from its name).

Two outputs: the ``sec_filings`` records, and the issuer's tickers as reference observations
(feed ``sec:submissions``) for the securities master, the way every other reference source feeds it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from marketwire.errors import ParseError
from marketwire.sources.base import Batch, Query, RawFile, Refusal, Source, stable_hash
from marketwire.sources import sec_live
from marketwire.sources.financedatabase import us_ticker
from marketwire.sources.sec_companyfacts import parse_json

EXCHANGE_MIC = {"Nasdaq": "XNAS", "NYSE": "XNYS", "NYSE American": "XASE", "NYSE Arca": "ARCX", "CBOE": "BATS",
                "OTC": "OTCM"}
_PAGE = re.compile(r"CIK(\d{10})-submissions-\d+\.json$")
AMENDMENT = re.compile(r"/A$")


@dataclass
class FilingsBatch(Batch):
    """Filings, and the reference observations of the issuer's tickers (for the securities master)."""

    reference: list[dict[str, Any]] = field(default_factory=list)


def _day(v: Any) -> date | None:
    try:
        return date.fromisoformat(str(v)[:10]) if v else None
    except ValueError:
        return None


def _instant(v: Any) -> datetime | None:
    if not v:
        return None
    try:
        t = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


class SecSubmissions(Source):
    name = "sec-submissions"
    dataset = "sec_filings"
    url = "https://data.sec.gov/submissions/CIK0000320193.json"
    description = "SEC EDGAR submissions: filings index and company profile (tickers, exchanges, former names)"
    #: ``symbol``: the CIKs to download when no path is given; their older-filings pages are downloaded too
    options = ("symbol",)

    def locations(self, query: Query) -> list[str]:
        if query.paths:
            return super().locations(query)
        return sec_live.urls(query, "submissions/CIK{cik}.json", example="CIK:320193")

    def read(self, location: str) -> RawFile:
        if "://" in location and not location.startswith("file://"):
            return sec_live.fetch(location)
        return super().read(location)

    def payloads(self, location: str) -> Iterator[RawFile]:
        raw = self.read(location)
        yield raw
        if _PAGE.search(raw.name):
            return
        try:
            doc = parse_json(raw)
        except ParseError:
            return  # transform reports it
        files = (doc.get("filings") or {}).get("files") if isinstance(doc, dict) else None
        if "://" in location and not location.startswith("file://"):  # live: the pages from the same server
            for page in files or []:
                name = str(page.get("name") or "")
                if _PAGE.search(name) and "/" not in name:
                    yield self.read(location.rsplit("/", 1)[0] + "/" + name)
            return
        folder = Path(raw.name).parent
        for page in files or []:
            name = str(page.get("name") or "")
            if not name or "/" in name:
                continue
            # the page as the SEC names it, or saved with a prefix (``sec_submissions_TSLA_CIK...-001.json``)
            for p in sorted(folder.glob(f"*{name}")):
                if p.is_file():
                    yield self.read(str(p))
                    break

    def transform(self, query: Query, raw: RawFile) -> FilingsBatch:
        doc = parse_json(raw)
        page = _PAGE.search(raw.name)
        if isinstance(doc, dict) and "filings" in doc and "cik" in doc:
            cols, cik, name = (doc["filings"] or {}).get("recent") or {}, doc["cik"], doc.get("name")
        elif isinstance(doc, dict) and "accessionNumber" in doc and page:
            cols, cik, name = doc, page.group(1), None
        else:
            raise ParseError(f"{raw.name}: line 1, column 1: not SEC submissions: expected an object with `cik` and "
                             "`filings` (or a filings page named CIK##########-submissions-NNN.json)",
                             file=raw.name, line=1, column=1)
        try:
            cik_n = int(str(cik).lstrip("0") or "0")
        except ValueError:
            raise ParseError(f"{raw.name}: `cik`: {cik!r} is not a number", file=raw.name, line=1,
                             column="cik") from None
        b = FilingsBatch(self.dataset)
        accs = cols.get("accessionNumber") or []
        for col in ("filingDate", "form"):
            if len(cols.get(col) or []) != len(accs):
                raise ParseError(f"{raw.name}: filings.{col} has {len(cols.get(col) or [])} entries for {len(accs)} "
                                 "accession numbers", file=raw.name, line=1, column=col)

        def at(col: str, i: int) -> Any:
            v = cols.get(col)
            return v[i] if isinstance(v, list) and i < len(v) else None

        for i, acc in enumerate(accs):
            filed = _day(at("filingDate", i))
            if not isinstance(acc, str) or filed is None:
                b.refusals.append(Refusal("filing.malformed", "no accession number or filing date", raw.name, i + 1,
                                          {"accession": acc, "filingDate": at("filingDate", i)},
                                          field="filingDate", dataset="sec_filings"))
                continue
            form = at("form", i)
            b.records.append({
                "cik": cik_n, "accession": acc, "form": form, "filed": filed,
                "accepted": _instant(at("acceptanceDateTime", i)), "report_date": _day(at("reportDate", i)),
                "fy": None, "fp": None, "amends": bool(form and AMENDMENT.search(str(form))),
                "primary_document": at("primaryDocument", i), "is_xbrl": bool(at("isXBRL", i)),
                "name": name, "file": raw.name, "line": i + 1, "flags": None})
        if name and not page:
            snap = max((r["filed"] for r in b.records), default=None) or query.as_of or date.today()
            exchanges = doc.get("exchanges") or []
            for k, t in enumerate(doc.get("tickers") or []):
                ticker = us_ticker(str(t).strip().upper())
                if not ticker:
                    continue
                exch = exchanges[k] if k < len(exchanges) else None
                rec: dict[str, Any] = {
                    "feed": "sec:submissions", "snapshot_date": snap, "ticker": ticker,
                    "mic": EXCHANGE_MIC.get(str(exch or "")), "name": name, "security_name": None, "type": None,
                    "cik": str(cik_n), "aliases": [f["name"] for f in doc.get("formerNames") or [] if f.get("name")],
                    "complete": False, "file": raw.name, "line": k + 1, "flags": [],
                    "lei": doc.get("lei") or None}
                rec["record_hash"] = stable_hash({c: rec[c] for c in ("ticker", "mic", "name", "cik")})
                b.reference.append(rec)
        return b
