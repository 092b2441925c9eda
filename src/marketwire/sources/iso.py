"""ISO reference lists: 10383 market identifier codes, 4217 currencies, 3166-1 countries."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from marketwire.errors import ParseError
from marketwire.sources.base import Batch, Query, RawFile, Refusal, Source, blank, decode, read_csv, stable_hash


def _calendar_zones() -> dict[str, str]:
    """Calendar name -> time zone, without building any calendar (building one computes decades of sessions)."""
    from exchange_calendars import calendar_utils as cu

    zones = {name: str(cls.tz) for name, cls in cu._default_calendar_factories.items()}
    for alias, target in cu._default_calendar_aliases.items():
        if target in zones:
            zones.setdefault(alias, zones[target])
    return zones


class Mic(Source):
    """ISO 10383 MIC list (the official CSV), with time zone and calendar from ``exchange_calendars``."""

    name = "mic"
    dataset = "exchanges"
    url = "https://www.iso20022.org/sites/default/files/ISO10383_MIC/ISO10383_MIC.csv"
    description = "ISO 10383 market identifier codes"

    def transform(self, query: Query, raw: RawFile) -> Batch:
        header, rows = read_csv(raw, required=("MIC", "OPERATING MIC", "ISO COUNTRY CODE (ISO 3166)"))
        cals = _calendar_zones()
        batch = Batch(self.dataset)
        seen: set[str] = set()
        for line, row in rows:
            mic = (row.get("MIC") or "").strip().upper()
            if len(mic) != 4 or not mic.isalnum():
                batch.refusals.append(Refusal("mic.format", f"MIC {mic!r} is not four letters or digits",
                                              raw.name, line, row, field="MIC", value=mic, dataset=self.dataset))
                continue
            if mic in seen:
                batch.refusals.append(Refusal("row.duplicate", f"MIC {mic} appears twice", raw.name, line, row,
                                              field="MIC", value=mic, dataset=self.dataset))
                continue
            seen.add(mic)
            op = (row.get("OPERATING MIC") or "").strip().upper()
            cal = mic if mic in cals else (op if op in cals else None)
            tz = cals[cal] if cal else None
            rec: dict[str, Any] = {
                "mic": mic, "operating_mic": op or None, "segment": blank(row.get("OPRT/SGMT")),
                "name": blank(row.get("MARKET NAME-INSTITUTION DESCRIPTION")), "acronym": blank(row.get("ACRONYM")),
                "country": blank(row.get("ISO COUNTRY CODE (ISO 3166)")), "city": blank(row.get("CITY")),
                "status": blank(row.get("STATUS")), "timezone": tz, "calendar": cal,
            }
            rec["record_hash"] = stable_hash(rec)
            batch.records.append(rec)
        return batch


class Iso4217(Source):
    """ISO 4217 List One (the SIX XML)."""

    name = "iso4217"
    dataset = "currencies"
    url = "https://www.six-group.com/dam/download/financial-information/data-center/iso-currrency/lists/list-one.xml"
    description = "ISO 4217 currencies (SIX List One)"

    def transform(self, query: Query, raw: RawFile) -> Batch:
        try:
            root = ET.fromstring(raw.data)
        except ET.ParseError as e:
            line, col = e.position
            raise ParseError(f"{raw.name}: line {line}, column {col}: {e}", file=raw.name, line=line,
                             column=col) from e
        by_code: dict[str, dict[str, Any]] = {}
        batch = Batch(self.dataset)
        for ntry in root.iter("CcyNtry"):
            code = (ntry.findtext("Ccy") or "").strip()
            country = (ntry.findtext("CtryNm") or "").strip()
            if not code:
                continue  # entities without a universal currency (e.g. Antarctica) carry no code
            mu = (ntry.findtext("CcyMnrUnts") or "").strip()
            rec = by_code.setdefault(code, {
                "code": code, "numeric": (ntry.findtext("CcyNbr") or "").strip() or None,
                "name": (ntry.findtext("CcyNm") or "").strip() or None,
                "minor_units": int(mu) if mu.isdigit() else None, "countries": [],
            })
            if country and country not in rec["countries"]:
                rec["countries"].append(country)
        for rec in by_code.values():
            rec["record_hash"] = stable_hash(rec)
            batch.records.append(rec)
        return batch


class Iso3166(Source):
    """ISO 3166-1 countries (the iso-codes JSON that pycountry ships)."""

    name = "iso3166"
    dataset = "countries"
    url = "https://salsa.debian.org/iso-codes-team/iso-codes/-/raw/main/data/iso_3166-1.json"
    description = "ISO 3166-1 countries (Debian iso-codes)"

    def transform(self, query: Query, raw: RawFile) -> Batch:
        try:
            doc = json.loads(decode(raw))
        except json.JSONDecodeError as e:
            raise ParseError(f"{raw.name}: line {e.lineno}, column {e.colno}: {e.msg}", file=raw.name,
                             line=e.lineno, column=e.colno) from e
        items = doc.get("3166-1", []) if isinstance(doc, dict) else []
        if not items:
            raise ParseError(f"{raw.name}: line 1: no '3166-1' list", file=raw.name, line=1, column="3166-1")
        batch = Batch(self.dataset)
        for i, c in enumerate(items, start=1):
            a2 = str(c.get("alpha_2") or "").upper()
            if len(a2) != 2:
                batch.refusals.append(Refusal("country.format", "alpha_2 is not two letters", raw.name, i, c,
                                              field="alpha_2", value=a2, dataset=self.dataset))
                continue
            rec = {"alpha2": a2, "alpha3": c.get("alpha_3"), "numeric": c.get("numeric"), "name": c.get("name"),
                   "official_name": c.get("official_name") or c.get("common_name")}
            rec["record_hash"] = stable_hash(rec)
            batch.records.append(rec)
        return batch
