"""ESG risk ratings of S&P 500 companies (Sustainalytics scores as published on Yahoo Finance, 2023; a Kaggle
copy with no licence: test-only). One row per ticker; rows without scores (``NA``) are stored as observations
with no metric. The entity is the ticker (``esg-risk-ratings:symbol:<SYMBOL>``), linked through the identity
service by ticker with the company name as evidence.
"""

from __future__ import annotations

import re
from pathlib import Path

from marketwire.errors import ParseError
from marketwire.sources.base import Query, RawFile, date_from_name, read_csv
from marketwire.sources.esg_common import (EsgBatch, EsgSource, NotANumber, cell_refusal, clean, duplicate,
                                           parse_number, raw_json, year_end)

SCORES = {"Total ESG Risk score": "risk_total", "Environment Risk Score": "risk_environment",
          "Social Risk Score": "risk_social", "Governance Risk Score": "risk_governance",
          "Controversy Score": "risk_controversy"}
TEXTS = {"ESG Risk Level": "risk_level", "Controversy Level": "controversy_level"}


class EsgRiskRatings(EsgSource):
    name = "esg-risk-ratings"
    url = "https://www.kaggle.com/datasets/pritish509/s-and-p-500-esg-risk-ratings"
    description = "S&P 500 ESG risk ratings (Sustainalytics via Yahoo Finance, 2023; test-only)"

    def transform(self, query: Query, raw: RawFile) -> EsgBatch:
        header, rows = read_csv(raw, ["Symbol", "Name", "Total ESG Risk score"])
        m = re.search(r"(?<!\d)(19|20)\d\d(?!\d)", Path(raw.name).name)
        year = query.as_of.year if query.as_of else (int(m.group(0)) if m else None)
        if year is None:
            d = date_from_name(raw.name)
            year = d.year if d else None
        if year is None:
            raise ParseError(f"{raw.name}: no year in the file name for the ratings; give --as-of", file=raw.name)
        stem = Path(raw.name).stem
        batch = EsgBatch(file=raw.name)
        meth = f"Sustainalytics ESG Risk Rating as published on Yahoo Finance ({year}); lower is less risk"
        seen: set[tuple[object, ...]] = set()
        for line, row in rows:
            batch.rows += 1
            if duplicate(batch, seen, raw, line, row):
                continue
            sym = clean(row.get("Symbol"))
            if not sym:
                r = cell_refusal(raw, line, "Symbol", None, NotANumber("esg.missing_name", "no symbol"), row)
                r.kept = False
                batch.refusals.append(r)
                continue
            sym = sym.upper()
            entity = f"esg-risk-ratings:symbol:{sym}"
            rid = f"esg-risk-ratings:{stem}:{sym}"
            batch.observations.append({"record_id": rid, "entity_id": entity, "kind": "symbol",
                                       "name": clean(row.get("Name")), "country": "US", "ticker": sym,
                                       "as_of": year_end(year),  # a ticker names its holder of that date
                                       "sector": clean(row.get("Sector")), "raw": raw_json(row), "file": raw.name,
                                       "line": line})
            base = {"entity_id": entity, "period": str(year), "period_end": year_end(year), "method": meth,
                    "record_id": rid, "file": raw.name, "line": line}
            for col, metric in SCORES.items():
                text = row.get(col)
                try:
                    v = parse_number(text, decimal_comma=False)
                except NotANumber as e:
                    batch.refusals.append(cell_refusal(raw, line, col, text, e, row))
                    continue
                if v is not None:
                    batch.records.append({**base, "metric": metric, "value": v, "unit": "score"})
            pct = clean(row.get("ESG Risk Percentile"))
            if pct:
                mp = re.fullmatch(r"(\d{1,3})(?:st|nd|rd|th)?\s*percentile", pct, re.IGNORECASE)
                if mp:
                    batch.records.append({**base, "metric": "risk_percentile", "value": float(mp.group(1)),
                                          "unit": "percent"})
                else:
                    batch.refusals.append(cell_refusal(raw, line, "ESG Risk Percentile", pct, NotANumber(
                        "esg.not_a_number", f"{pct!r} is not a percentile"), row))
            for col, metric in TEXTS.items():
                t = clean(row.get(col))
                if t:
                    batch.records.append({**base, "metric": metric, "value_text": t})
        return batch
