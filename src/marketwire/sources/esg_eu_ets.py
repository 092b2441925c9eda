"""EU Emissions Trading System accounts (European Union Transaction Log, CC BY 4.0): one row per installation or
aircraft operator with its account holder, company registration number, parent company and, per year (2005-2022
columns, read by name so other spans work), verified emissions, free allocation, surrendered units and the
compliance code.

Each row is stored raw (``esg_observations``), its per-year columns become long-form metrics of the installation
(``eu-ets:installation:<id>``), and the installation is recorded as a member of its account holder
(``eu-ets:account_holder:<country>:<name>``) and of its parent company (``eu-ets:parent:<name>``, when the file
names one) in ``esg_aggregations``; the engine's ESG stage sums the stored installations of every group touched
(``method`` = ``aggregate:sum of N installation(s) ...``), so a parent with installations in several countries'
files sums all of them. ``NA`` and ``-`` cells are empty; ``Excluded`` and ``Not Reported`` in a verified-emissions
column are quarantined (``esg.not_reported``) with the raw text: they are statements, not numbers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from marketwire.sources.base import Query, RawFile, read_csv
from marketwire.sources.esg_common import (EsgBatch, EsgSource, NotANumber, cell_refusal, clean, duplicate,
                                           parse_number, raw_json, slug, year_end)

_YEARLY = re.compile(r"^(VerifiedEmissions|FreeAllocations|UnitsSurrendered|ComplianceCode)_(\d{4})$")
_METRIC = {"VerifiedEmissions": ("ets_verified", "t CO2e", "verified (EU ETS)"),
           "FreeAllocations": ("ets_free_allocation", "allowance", "allocated free of charge (EUTL)"),
           "UnitsSurrendered": ("ets_surrendered", "allowance", "surrendered (EUTL)"),
           "ComplianceCode": ("ets_compliance", None, "compliance code (EUTL)")}
_STATEMENTS = {"excluded", "not reported"}
REQUIRED = ["InstallationOrAircraftOperatorID", "AccountHolderName", "NationalAdministratorCode"]


def _none(v: str | None) -> str | None:
    v = clean(v)
    return None if v in (None, "-") else v


class EuEts(EsgSource):
    name = "eu-ets"
    url = "https://raw.githubusercontent.com/cedricr/eutl/main/export/installations-DE.csv"
    description = "EU ETS installations and aircraft operators (EUTL): verified emissions, free allocation, " \
                  "surrendered units, compliance; aggregated to account holder and parent company"

    def transform(self, query: Query, raw: RawFile) -> EsgBatch:
        header, rows = read_csv(raw, REQUIRED)
        yearly = [(h, *m.groups()) for h in header if (m := _YEARLY.match(h))]
        stem = Path(raw.name).stem
        batch = EsgBatch(file=raw.name)
        groups: dict[str, dict[str, Any]] = {}
        seen: set[tuple[object, ...]] = set()
        for line, row in rows:
            batch.rows += 1
            if duplicate(batch, seen, raw, line, row):
                continue
            inst_id = _none(row.get("id")) or \
                f"{row.get('NationalAdministratorCode', '')}-{row.get('InstallationOrAircraftOperatorID', '')}"
            cc = _none(row.get("NationalAdministratorCode"))
            holder = _none(row.get("AccountHolderName"))
            parent = _none(row.get("ParentCompany"))
            inst = f"eu-ets:installation:{inst_id}"
            rid = f"eu-ets:{stem}:{inst_id}"
            batch.observations.append({
                "record_id": rid, "entity_id": inst, "kind": "installation",
                "name": _none(row.get("InstallationNameOrAircraftOperatorCode")), "country": cc,
                "sector": _none(row.get("MainActivityTypeCodeLookup")), "parent": parent or holder,
                "registration_no": _none(row.get("CompanyRegistrationNo")), "raw": raw_json(row), "file": raw.name,
                "line": line})
            if holder:
                gid = f"eu-ets:account_holder:{(cc or 'xx').lower()}:{slug(holder)}"
                batch.aggregations.append({"group_id": gid, "member_id": inst, "level": "account_holder",
                                           "name": holder})
                if not parent:  # the account holder is the top of the chain: a company to link
                    # the country of an account is the administering state's (an airline's account is held where
                    # it flies most), evidence of the registry, not of the company's domicile
                    groups.setdefault(gid, {"entity_id": gid, "name": holder, "country": cc, "kind": "account_holder",
                                            "country_role": "registry",
                                            "sector": _none(row.get("MainActivityTypeCodeLookup"))})
            if parent:
                pid = f"eu-ets:parent:{slug(parent)}"
                batch.aggregations.append({"group_id": pid, "member_id": inst, "level": "parent", "name": parent})
                groups.setdefault(pid, {"entity_id": pid, "name": parent, "country": None, "kind": "parent",
                                        "sector": None, "countries": set()})
                groups[pid]["countries"].add(cc)
            for col, kind, year in yearly:
                metric, unit, method = _METRIC[kind]
                text = row.get(col)
                base = {"entity_id": inst, "metric": metric, "period": year, "period_end": year_end(int(year)),
                        "unit": unit, "method": method, "boundary": "installation", "record_id": rid,
                        "file": raw.name, "line": line}
                if kind == "ComplianceCode":
                    code = _none(text)
                    if code:
                        batch.records.append({**base, "value_text": code})
                    continue
                if (text or "").strip().lower() in _STATEMENTS:
                    batch.refusals.append(cell_refusal(raw, line, col, text, NotANumber(
                        "esg.not_reported", f"{text!r} is a statement, not a number"), row))
                    continue
                try:
                    v = parse_number(_none(text), decimal_comma=False)
                except NotANumber as e:
                    batch.refusals.append(cell_refusal(raw, line, col, text, e, row))
                    continue
                if v is not None:
                    batch.records.append({**base, "value": v})
        for g in groups.values():
            cs = g.pop("countries", None)
            if cs:  # where its installations are: evidence recorded, not the parent's own country
                g["installation_countries"] = sorted(c for c in cs if c)
            batch.entities.append(g)
        return batch
