"""SEC XBRL company facts: every fact a company reported in its filings, with the filing that reported it.

Real endpoint: ``https://data.sec.gov/api/xbrl/companyfacts/CIK##########.json`` (per company) and the nightly bulk
archive ``https://www.sec.gov/Archives/edgar/daily-index/xbrl/companyfacts.zip`` (one such JSON per company; a zip
given as a path is opened member by member). Layout: ``{cik, entityName, facts: {taxonomy: {tag: {label, units:
{unit: [{start?, end, val, accn, fy, fp, form, filed, frame?}]}}}}}``.

Each fact becomes one record of ``sec_facts``: nothing is merged or repaired. A fact that cannot be read (no value,
a value that is not a number, a date that is not a date, no accession) is quarantined (``fact.malformed``) with its
taxonomy, tag, unit and accession; a unit or a tag marketwire does not know is stored as reported and flagged
(``fact.unknown_unit``, ``fact.unknown_tag``). A file that is not company facts is an error naming the file and
the position.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from datetime import date
from io import BytesIO
from typing import Any

import polars as pl

from marketwire.errors import ParseError
from marketwire.refdata.currencies import currencies
from marketwire.sources import sec_live
from marketwire.sources.base import FrameBatch, Query, RawFile, Refusal, Source, decode

#: taxonomies of the SEC's company facts (standard taxonomies; a company's own extension tags are not published)
KNOWN_TAXONOMIES = frozenset({"us-gaap", "ifrs-full", "dei", "srt", "invest", "ecd", "ffd", "country", "currency",
                              "exch", "naics", "sic", "stpr", "cyd", "spac", "rxp"})
#: units that are not currencies (XBRL unit registry measures as the SEC's facts spell them)
OTHER_UNITS = frozenset({"shares", "pure", "Year", "Years", "Month", "Day", "Days", "Week", "Hour", "Store",
                         "Employee", "Employees", "Segment", "segment", "Customer", "Vote", "Position", "Property",
                         "Location", "Restaurant", "Entity", "Subsidiary", "Country", "Patent", "sqft", "acre",
                         "Acre", "sqm", "bbl", "Boe", "MMBoe", "Mcf", "MMcf", "Bcf", "MWh", "GWh", "MW", "km", "mi",
                         "t", "lb", "oz", "kg", "item", "Item", "Contract", "Facility", "Agreement", "Reportable",
                         "ratio", "Rate", "Number", "number", "Bank", "Branch", "Lease", "Loan", "Vessel", "Aircraft",
                         "Well", "Product", "Mine", "Plant", "Hotel", "Room", "Room", "Tenant", "Building"})
_TAG = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_ACCN = re.compile(r"^\d{10}-\d{2}-\d{6}$")


def known_unit(unit: str) -> bool:
    parts = unit.split("/")
    if len(parts) > 2 or not all(parts):
        return False
    cur = currencies()
    return all(p in cur or p in OTHER_UNITS for p in parts)


def known_tag(taxonomy: str, tag: str) -> bool:
    return taxonomy in KNOWN_TAXONOMIES and bool(_TAG.match(tag)) and tag[0].isupper()


def _day(v: Any) -> date | None:
    if not isinstance(v, str) or len(v) != 10:
        return None
    try:
        return date.fromisoformat(v)
    except ValueError:
        return None


def parse_json(raw: RawFile) -> Any:
    text = decode(raw)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ParseError(f"{raw.name}: line {e.lineno}, column {e.colno} (character {e.pos}): not JSON: {e.msg}",
                         file=raw.name, line=e.lineno, column=e.colno) from e


FACT_COLUMNS = ("cik", "taxonomy", "tag", "unit", "start", "end", "period", "dims", "value", "fy", "fp", "form",
                "accession", "filed", "frame", "file", "line", "flags")


def facts_frame(rows: dict[str, list[Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={
        "cik": pl.Int64, "taxonomy": pl.Utf8, "tag": pl.Utf8, "unit": pl.Utf8, "start": pl.Date, "end": pl.Date,
        "period": pl.Utf8, "dims": pl.Utf8, "value": pl.Float64, "fy": pl.Int16, "fp": pl.Utf8, "form": pl.Utf8,
        "accession": pl.Utf8, "filed": pl.Date, "frame": pl.Utf8, "file": pl.Utf8, "line": pl.Int64,
        "flags": pl.Utf8})


class SecCompanyFacts(Source):
    name = "sec-companyfacts"
    dataset = "sec_facts"
    url = "https://data.sec.gov/api/xbrl/companyfacts/CIK0000320193.json"
    description = "SEC EDGAR XBRL company facts (every fact of every filing, point in time)"
    #: ``symbol``: the CIKs to download when no path is given (``CIK:320193,1652044``)
    options = ("symbol",)

    def locations(self, query: Query) -> list[str]:
        if query.paths:
            return super().locations(query)
        return sec_live.urls(query, "api/xbrl/companyfacts/CIK{cik}.json")

    def read(self, location: str) -> RawFile:
        if "://" in location and not location.startswith("file://"):
            return sec_live.fetch(location)
        return super().read(location)

    def payloads(self, location: str) -> Iterator[RawFile]:
        raw = self.read(location)
        if raw.data[:4] == b"PK\x03\x04":  # the bulk archive: one company per member
            try:
                with zipfile.ZipFile(BytesIO(raw.data)) as z:
                    for m in sorted(z.namelist()):
                        if m.lower().endswith(".json"):
                            yield RawFile(f"{raw.name}!{m}", z.read(m))
            except zipfile.BadZipFile as e:
                raise ParseError(f"{raw.name}: not a readable zip archive ({e})", file=raw.name) from e
            return
        yield raw

    def transform(self, query: Query, raw: RawFile) -> FrameBatch:
        doc = parse_json(raw)
        if not isinstance(doc, dict) or not isinstance(doc.get("facts"), dict) or "cik" not in doc:
            found = (", ".join(list(doc)[:6]) if isinstance(doc, dict) else type(doc).__name__)
            raise ParseError(f"{raw.name}: line 1, column 1: not SEC company facts: expected an object with `cik` and "
                             f"`facts` (found {found})", file=raw.name, line=1, column=1)
        try:
            cik = int(str(doc["cik"]).lstrip("0") or "0")
        except ValueError:
            raise ParseError(f"{raw.name}: `cik`: {doc['cik']!r} is not a number", file=raw.name, line=1,
                             column="cik") from None
        cols: dict[str, list[Any]] = {c: [] for c in FACT_COLUMNS}
        refusals: list[Refusal] = []
        n = 0
        for taxonomy, tags in doc["facts"].items():
            if not isinstance(tags, dict):
                raise ParseError(f"{raw.name}: facts/{taxonomy}: expected an object of tags", file=raw.name,
                                 line=1, column=f"facts/{taxonomy}")
            for tag, body in tags.items():
                units = body.get("units") if isinstance(body, dict) else None
                if not isinstance(units, dict):
                    n += 1
                    refusals.append(Refusal("fact.malformed", f"facts/{taxonomy}/{tag}: no units", raw.name, n,
                                            {"taxonomy": taxonomy, "tag": tag, "body": str(body)[:500]},
                                            field="units", dataset="sec_facts"))
                    continue
                tag_ok = known_tag(taxonomy, tag)
                for unit, facts in units.items():
                    unit_ok = known_unit(unit)
                    for i, fact in enumerate(facts if isinstance(facts, list) else [facts]):
                        n += 1
                        where = f"facts/{taxonomy}/{tag}/units/{unit}[{i}]"
                        problem, fld = _problem(fact)
                        if problem:
                            raw_rec = fact if isinstance(fact, dict) else {"fact": str(fact)[:500]}
                            refusals.append(Refusal(
                                "fact.malformed", f"{where}: {problem}", raw.name, n,
                                {"taxonomy": taxonomy, "tag": tag, "unit": unit,
                                 "accession": raw_rec.get("accn"), "fact": raw_rec},
                                field=fld, value=str(raw_rec.get(fld)) if fld else None, dataset="sec_facts"))
                            continue
                        start, end = _day(fact.get("start")), _day(fact["end"])
                        flags = [c for c, ok in (("fact.unknown_tag", tag_ok), ("fact.unknown_unit", unit_ok))
                                 if not ok]
                        cols["cik"].append(cik)
                        cols["taxonomy"].append(taxonomy)
                        cols["tag"].append(tag)
                        cols["unit"].append(unit)
                        cols["start"].append(start)
                        cols["end"].append(end)
                        cols["period"].append(f"{start}..{end}" if start else f"@{end}")
                        cols["dims"].append("")
                        cols["value"].append(float(fact["val"]))
                        fy = fact.get("fy")
                        cols["fy"].append(fy if isinstance(fy, int) and 1900 < fy < 2200 else None)
                        cols["fp"].append(fact.get("fp"))
                        cols["form"].append(fact.get("form"))
                        cols["accession"].append(fact["accn"])
                        cols["filed"].append(_day(fact["filed"]))
                        cols["frame"].append(fact.get("frame"))
                        cols["file"].append(raw.name)
                        cols["line"].append(n)
                        cols["flags"].append(",".join(flags) or None)
        frame = facts_frame(cols)
        return FrameBatch(self.dataset, frame, refusals=refusals,
                          meta={"cik": cik, "name": doc.get("entityName"), "file": raw.name})


def _problem(fact: Any) -> tuple[str | None, str | None]:
    if not isinstance(fact, dict):
        return "not an object", None
    v = fact.get("val")
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        if isinstance(v, str):
            try:
                float(v)
            except ValueError:
                return f"val {v!r} is not a number", "val"
            else:
                return f"val {v!r} is a string, not a number", "val"
        return ("no val" if v is None else f"val {v!r} is not a number"), "val"
    if v != v or v in (float("inf"), float("-inf")):
        return f"val {v!r} is not finite", "val"
    if _day(fact.get("end")) is None:
        return f"end {fact.get('end')!r} is not a date (YYYY-MM-DD)", "end"
    if fact.get("start") is not None and _day(fact.get("start")) is None:
        return f"start {fact.get('start')!r} is not a date (YYYY-MM-DD)", "start"
    if not isinstance(fact.get("accn"), str) or not _ACCN.match(fact["accn"]):
        return f"accn {fact.get('accn')!r} is not an accession number (##########-##-######)", "accn"
    if _day(fact.get("filed")) is None:
        return f"filed {fact.get('filed')!r} is not a date (YYYY-MM-DD)", "filed"
    return None, None
