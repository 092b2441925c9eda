"""Washington State Greenhouse Gas Reporting Program (Department of Ecology; free use with credit): facility
emissions by gas per year, with the parent company.

"MTCO2e" in the headers is *metric tons* of CO2 equivalent (the US agencies' spelling), stored as ``t CO2e``.
Facilities (``wa-ghg:facility:<reporter>``) are aggregated to their parent company (``wa-ghg:parent:<name>``,
linked to the master with country US as evidence); the parent's ``ghg_total`` is the sum over its facilities
(``esg_aggregations``).
"""

from __future__ import annotations

from pathlib import Path

from marketwire.sources.base import Query, RawFile, read_csv
from marketwire.sources.esg_common import (EsgBatch, EsgSource, NotANumber, cell_refusal, clean, duplicate,
                                           parse_number, raw_json, slug, year_end, year_of)

GASES = {"Total Emissions (MTCO2e)": "ghg_total", "Biogenic Carbon Dioxide (MTCO2e)": "ghg_biogenic_co2",
         "Carbon Dioxide (MTCO2e)": "ghg_co2", "Methane (MTCO2e)": "ghg_ch4", "Nitrous Oxide (MTCO2e)": "ghg_n2o",
         "HFCs (MTCO2e)": "ghg_hfc", "PFCs (MTCO2e)": "ghg_pfc", "Sulfur Hexafluoride (MTCO2e)": "ghg_sf6",
         "Fluorinated - Other (MTCO2e)": "ghg_f_other"}


class WaGhg(EsgSource):
    name = "wa-ghg"
    url = "https://data.wa.gov/api/views/idhm-59de/rows.csv"
    description = "Washington State GHG Reporting Program: facility emissions by gas with parent companies"

    def transform(self, query: Query, raw: RawFile) -> EsgBatch:
        header, rows = read_csv(raw, ["Reporter", "Year", "Total Emissions (MTCO2e)"])
        stem = Path(raw.name).stem
        batch = EsgBatch(file=raw.name)
        parents: dict[str, dict[str, object]] = {}
        seen: set[tuple[object, ...]] = set()
        for line, row in rows:
            batch.rows += 1
            if duplicate(batch, seen, raw, line, row):
                continue
            rep = clean(row.get("Reporter"))
            if not rep:
                r = cell_refusal(raw, line, "Reporter", None, NotANumber("esg.missing_name", "no reporter"), row)
                r.kept = False
                batch.refusals.append(r)
                continue
            try:
                year = year_of(row.get("Year"))
            except NotANumber as e:
                r = cell_refusal(raw, line, "Year", row.get("Year"), e, row)
                r.kept = False
                batch.refusals.append(r)
                continue
            fac = f"wa-ghg:facility:{slug(rep)}"
            rid = f"wa-ghg:{stem}:{slug(rep)}:{year}"
            parent = clean(row.get("Parent Company"))
            batch.observations.append({"record_id": rid, "entity_id": fac, "kind": "facility", "name": rep,
                                       "country": "US", "sector": clean(row.get("Sector")), "parent": parent,
                                       "raw": raw_json(row), "file": raw.name, "line": line})
            if parent:
                pid = f"wa-ghg:parent:{slug(parent)}"
                batch.aggregations.append({"group_id": pid, "member_id": fac, "level": "parent", "name": parent})
                parents.setdefault(pid, {"entity_id": pid, "name": parent, "country": "US", "kind": "parent",
                                         "sector": clean(row.get("NAICS Definition"))})
            for col, metric in GASES.items():
                if col not in header:
                    continue
                text = row.get(col)
                try:
                    v = parse_number(text, decimal_comma=False)
                except NotANumber as e:
                    batch.refusals.append(cell_refusal(raw, line, col, text, e, row))
                    continue
                if v is not None and year:
                    batch.records.append({"entity_id": fac, "metric": metric, "period": str(year),
                                          "period_end": year_end(year), "value": v, "unit": "t CO2e",
                                          "method": "reported to WA Ecology (metric tons CO2e)",
                                          "boundary": "facility in Washington State", "record_id": rid,
                                          "file": raw.name, "line": line})
        batch.entities += list(parents.values())  # type: ignore[arg-type]
        return batch
