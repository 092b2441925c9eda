"""S&P 500 constituents, dated snapshots -> point-in-time membership of index ``SP500``.

Real endpoint: https://raw.githubusercontent.com/datasets/s-and-p-500-companies/main/data/constituents.csv
(a scrape of the Wikipedia list). Each file is the complete list on its date; loading several dated snapshots
gives additions and removals.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from marketwire.sources.base import Batch, Query, RawFile, Refusal, Source, blank, read_csv, snapshot_date, stable_hash


def _date(v: str | None) -> date | None:
    v = (v or "").strip()[:10]
    try:
        return date.fromisoformat(v) if v else None
    except ValueError:
        return None


class Sp500Constituents(Source):
    name = "sp500-constituents"
    dataset = "index_observations"
    url = "https://raw.githubusercontent.com/datasets/s-and-p-500-companies/main/data/constituents.csv"
    description = "S&P 500 constituents snapshots (point-in-time membership of index SP500)"
    index = "SP500"

    def transform(self, query: Query, raw: RawFile) -> Batch:
        header, rows = read_csv(raw, required=("Symbol",))
        asof = snapshot_date(query, raw)
        batch = Batch(self.dataset)
        seen: set[str] = set()
        for line, row in rows:
            ticker = (row.get("Symbol") or "").strip().upper()
            if not ticker:
                batch.refusals.append(Refusal("index.missing_symbol", "no symbol", raw.name, line, row,
                                              field="Symbol", dataset=self.dataset))
                continue
            added_raw = row.get("Date added") or row.get("Date first added")
            added = _date(added_raw)
            rec: dict[str, Any] = {
                "index": self.index, "snapshot_date": asof, "ticker": ticker.replace("-", "."),
                "name": blank(row.get("Security")) or blank(row.get("Name")),
                "cik": (blank(row.get("CIK")) or "").lstrip("0") or None,
                "sector": blank(row.get("GICS Sector")) or blank(row.get("Sector")),
                "date_added": added, "file": raw.name, "line": line,
            }
            if added_raw and added is None:
                batch.refusals.append(Refusal("index.bad_date_added", f"'Date added' {added_raw!r} is not a date",
                                              raw.name, line, row, field="Date added", value=added_raw,
                                              dataset=self.dataset))
            rec["record_hash"] = stable_hash({k: rec[k] for k in ("ticker", "name", "cik", "sector", "date_added")})
            if rec["record_hash"] in seen:
                batch.refusals.append(Refusal("row.duplicate", "the same row appears twice in the file",
                                              raw.name, line, row, dataset=self.dataset))
                continue
            seen.add(rec["record_hash"])
            batch.records.append(rec)
        return batch
