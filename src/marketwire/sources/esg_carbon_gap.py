"""Carbon Gap "Profit and Emissions Database" (R. Höglund, marginalcarbon.com, CC BY 4.0): Scope 1, 2 and 3
emissions of the largest Forbes-2000 companies, with the source document and page of each number.

The file's quirks, each handled here: a UTF-8 BOM; a title row above the header whose cells name the years of the
column blocks (``2 019``, ``2020 data``); duplicated column names (the scope columns of the first block are the
first year's, of the second block the second year's); European decimal commas (``$136200000000,00``) beside
thousands commas (``$1,347,881``); ``--``, ``-`` and ``#VALUE!`` placeholders. A cell that is not a number is
quarantined with file, row, column and raw text (rules ``esg.placeholder`` / ``esg.not_a_number``); nothing is
coerced to zero. Only the reported columns are read as metrics (scopes, the stated totals, revenue, profit); the
columns Carbon Gap derives from them (profit per ton, carbon-price shares, intensity) are kept in the raw row.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from marketwire.errors import ParseError
from marketwire.refdata.countries import country_code
from marketwire.sources.base import Query, RawFile, decode
from marketwire.sources.esg_common import (EsgBatch, EsgSource, NotANumber, cell_refusal, clean, parse_number,
                                           raw_json, slug, year_end)

NAME = "Company Name"
COUNTRY = "Country/Territory"
INDUSTRY = "Industry"
CITATION = "Datasource emission data (name, link + page nr)"
#: header (as written, whitespace folded) -> (metric, method note); per block of years
_SCOPES = {
    "Scope 1 GHG emissions tons CO₂e": ("scope1", "reported"),
    "Scope 2 emissions tons CO₂e": ("scope2", "reported; location- or market-based not stated"),
    "Scope 2 emissions tons CO₂e (location based when available)": ("scope2", "reported; location-based when "
                                                                              "available"),
    "Scope 3 emissions tons CO₂e": ("scope3", "reported"),
    "Scope 1+2": ("scope12", "stated total of scopes 1 and 2"),
    "Scope 1-3 emissions": ("scope123", "stated total of scopes 1 to 3"),
}
_MONEY = {"Sales/Revenue": "revenue", "Profit": "profit"}
UNIT = "t CO2e"


def _years(title: list[str]) -> list[int]:
    out = []
    for c in title[1:]:
        m = re.match(r"^((?:19|20)\d\d)(?!\d)", re.sub(r"\s", "", c or ""))
        if m:
            out.append(int(m.group(1)))
    return sorted(set(out))


class CarbonGap(EsgSource):
    name = "carbon-gap"
    url = ("https://raw.githubusercontent.com/Open-Earth-Foundation/OpenClimate/main/harmonize/data/raw/carbon_gap/"
           "profit_and_emmissions_database.csv")
    description = "Carbon Gap profit and emissions database: company Scope 1/2/3 emissions with citations (CC BY 4.0)"

    def transform(self, query: Query, raw: RawFile) -> EsgBatch:
        text = decode(raw)
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            first = next(reader)
        except StopIteration:
            raise ParseError(f"{raw.name}: the file is empty", file=raw.name, line=1) from None
        if NAME in [c.strip() for c in first]:
            title, header, header_line = [], first, 1
        else:
            title, header, header_line = first, next(reader, []), reader.line_num
        header = [re.sub(r"\s+", " ", h).strip() for h in header]
        for col in (NAME, COUNTRY):
            if col not in header:
                raise ParseError(f"{raw.name}: line {header_line}: missing column {col!r} (the header has "
                                 f"{', '.join(header)})", file=raw.name, line=header_line, column=col)
        years = _years(title)
        # scope columns: a block of years starts at each occurrence of the scope 1 column; a column belongs to the
        # block it stands in (the k-th block is the k-th year of the title row)
        starts = [i for i, h in enumerate(header) if _SCOPES.get(h, ("",))[0] == "scope1"]
        blocks: dict[int, list[tuple[int, str, str, str]]] = {}
        for i, h in enumerate(header):
            if h in _SCOPES and starts and i >= starts[0]:
                k = sum(1 for s in starts if s <= i) - 1
                blocks.setdefault(k, []).append((i, h, *_SCOPES[h]))
        if len(blocks) > len(years):
            if len(blocks) == 1 and query.as_of is not None:
                years = [query.as_of.year]
            else:
                raise ParseError(f"{raw.name}: line 1: the title row names {len(years)} year(s) "
                                 f"({', '.join(map(str, years)) or 'none'}) for {len(blocks)} blocks of scope columns",
                                 file=raw.name, line=1)
        money_year = years[-1] if years else None
        stem = Path(raw.name).stem
        batch = EsgBatch(file=raw.name)
        line = reader.line_num
        for values in reader:
            start, line = line + 1, reader.line_num
            if not values or all(not v.strip() for v in values):
                continue
            batch.rows += 1
            # a repeated column name is told apart by its column number
            row = {(h if h not in header[:i] else f"{h} [{i + 1}]"): (values[i] if i < len(values) else None)
                   for i, h in enumerate(header)}
            name = clean(values[header.index(NAME)]) if header.index(NAME) < len(values) else None
            if not name:
                batch.refusals.append(cell_refusal(raw, start, NAME, None, NotANumber("esg.missing_name",
                                      "a row without a company name"), row))
                batch.refusals[-1].kept = False
                continue
            country_text = clean(values[header.index(COUNTRY)]) if header.index(COUNTRY) < len(values) else None
            entity = f"carbon-gap:company:{slug(name)}"
            record_id = f"carbon-gap:{stem}:{slug(name)}"
            citation = clean(values[header.index(CITATION)]) if CITATION in header and \
                header.index(CITATION) < len(values) else None
            batch.observations.append({
                "record_id": record_id, "entity_id": entity, "kind": "company", "name": name,
                "country": country_code(country_text) or country_text,
                "sector": clean(values[header.index(INDUSTRY)]) if INDUSTRY in header else None,
                "raw": raw_json(row), "file": raw.name, "line": start})
            for k, cols in sorted(blocks.items()):
                year = years[k]
                for i, h, metric, method in cols:
                    self._metric(batch, raw, start, row, values, i, h, metric, str(year), year, UNIT, method,
                                 citation, entity, record_id, decimal_comma=True)
            for h, metric in _MONEY.items():
                if h in header and money_year:
                    i = header.index(h)
                    self._metric(batch, raw, start, row, values, i, h, metric, str(money_year), money_year, "USD",
                                 "reported (Forbes Global 2000, 2021 list)", None, entity, record_id,
                                 decimal_comma=True)
        return batch

    @staticmethod
    def _metric(batch: EsgBatch, raw: RawFile, line: int, row: dict[str, Any], values: list[str], i: int, h: str,
                metric: str, period: str, year: int, unit: str, method: str, citation: str | None, entity: str,
                record_id: str, decimal_comma: bool) -> None:
        text = values[i] if i < len(values) else None
        try:
            v = parse_number(text, decimal_comma=decimal_comma)
        except NotANumber as e:
            batch.refusals.append(cell_refusal(raw, line, f"{h} [{i + 1}]", text, e, row))
            return
        if v is None:
            return
        batch.records.append({"entity_id": entity, "metric": metric, "period": period, "period_end": year_end(year),
                              "value": v, "unit": unit, "method": method, "boundary": "company (as reported)",
                              "citation": citation, "record_id": record_id, "file": raw.name, "line": line})
