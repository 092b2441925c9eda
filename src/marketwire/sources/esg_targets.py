"""Climate-target trackers (xlsx): the Net Zero Tracker snapshot (CC BY 4.0) and the Science Based Targets
initiative's exports (CC BY-NC 4.0: test-only): "companies taking action" and the 2021 progress report appendix.

Net Zero Tracker: one sheet, one row per actor; companies (``actor_type`` Company) carry an ISIN in most rows and
are linked to the master; countries, regions and cities are stored (observations and metrics) but are not
companies and are not linked. SBTi "companies taking action": ISIN and LEI where given. The SBTi progress
appendix: a second header row of column descriptions (skipped), one row per company and target; its entities are
the same as the "companies taking action" ones (``sbti:company:<name>``), so a company linked by ISIN there keeps
that link. Years written ``FY2030`` or ``2050.0`` are years; any other text in a year or number column is
quarantined with sheet, row, column and raw text.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from marketwire.errors import ParseError
from marketwire.refdata.countries import country_code
from marketwire.sources.base import Query, RawFile, date_from_name
from marketwire.sources.esg_common import (EsgBatch, EsgSource, NotANumber, cell_refusal, clean, header_index,
                                           parse_number, raw_json, sheets, slug, year_of)


def _country(v: Any) -> str | None:
    t = clean(v)
    if not t:
        return None
    t = re.sub(r"\s*\(.*?\)\s*", " ", t).strip()
    return country_code(t) or t


def _dmy(v: Any) -> date | None:
    """A date cell: a date, or text written day/month/year (the SBTi export's convention)."""
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    try:
        return datetime.strptime(str(v).strip(), "%d/%m/%Y").date()
    except ValueError:
        return None


class _Xlsx(EsgSource):
    suffixes = (".xlsx", ".xlsm")

    @staticmethod
    def _add(batch: EsgBatch, raw: RawFile, line: int, row: dict[str, Any], col: str, entity: str, metric: str,
             period: str, period_end: date | None, kind: str, unit: str | None, method: str, citation: str | None,
             rid: str, scale: float = 1.0) -> None:
        v = row.get(col)
        base = {"entity_id": entity, "metric": metric, "period": period, "period_end": period_end, "unit": unit,
                "method": method, "citation": citation, "record_id": rid, "file": raw.name, "line": line}
        try:
            if kind == "text":
                t = clean(v)
                if t:
                    batch.records.append({**base, "value_text": t})
                return
            if kind == "year" and isinstance(v, str) and "," in v:
                # several targets, several years ("2030, 2025"): the latest, and the method says so
                years = [year_of(p) for p in v.split(",") if p.strip()]
                if years and all(y is not None for y in years):
                    batch.records.append({**base, "value": float(max(y for y in years if y is not None)),
                                          "method": f"{method}; the latest of {v.strip()} (several targets)"})
                    return
            x = year_of(v) if kind == "year" else parse_number(v, decimal_comma=False)
        except NotANumber as e:
            batch.refusals.append(cell_refusal(raw, line, col, v, e, row))
            return
        if x is not None:
            batch.records.append({**base, "value": float(x) * scale})


class NetZeroTracker(_Xlsx):
    name = "net-zero-tracker"
    url = "https://zerotracker.net/"
    description = "Net Zero Tracker snapshot: net-zero and interim targets of companies, countries, regions and " \
                  "cities (CC BY 4.0)"
    REQUIRED = ["id_code", "name", "actor_type"]

    def transform(self, query: Query, raw: RawFile) -> EsgBatch:
        books = sheets(raw)
        name, rows = next(iter(books.items()))
        if not rows:
            raise ParseError(f"{raw.name}: sheet {name!r} is empty", file=raw.name, line=1)
        idx = header_index(raw, rows[0], self.REQUIRED)
        snap = query.as_of or date_from_name(raw.name)
        if snap is None:
            raise ParseError(f"{raw.name}: no snapshot date in the file name; give --as-of", file=raw.name)
        period = snap.isoformat()
        stem = Path(raw.name).stem
        batch = EsgBatch(file=raw.name)
        for n, cells in enumerate(rows[1:], start=2):
            if all(clean(c) is None for c in cells):
                continue
            batch.rows += 1
            row = {h: cells[i] if i < len(cells) else None for h, i in idx.items()}
            code, nm = clean(row.get("id_code")), clean(row.get("name"))
            if not code or not nm:
                r = cell_refusal(raw, n, "id_code" if not code else "name", None,
                                 NotANumber("esg.missing_name", "a row without an actor id or name"), row)
                r.kept = False
                batch.refusals.append(r)
                continue
            actor = (clean(row.get("actor_type")) or "actor").lower()
            kind = "company" if actor == "company" else actor
            entity = f"net-zero-tracker:{kind}:{code}"
            rid = f"net-zero-tracker:{stem}:{code}"
            isin = clean(row.get("isin_id"))
            batch.observations.append({"record_id": rid, "entity_id": entity, "kind": kind, "name": nm,
                                       "country": _country(row.get("country")), "isin": isin.upper() if isin else None,
                                       "sector": clean(row.get("industry")) or clean(row.get("sector")),
                                       "raw": raw_json(row), "file": raw.name, "line": n})
            cite = clean(row.get("source_url"))
            meth = "Net Zero Tracker assessment"
            for col, metric, k, unit in (
                    ("end_target", "end_target_type", "text", None),
                    ("end_target_year", "net_zero_target_year", "year", "year"),
                    ("end_target_status", "end_target_status", "text", None),
                    ("end_target_percentage_reduction", "end_target_reduction", "number", "percent"),
                    ("end_target_baseline_year", "end_target_base_year", "year", "year"),
                    ("interim_target_year", "interim_target_year", "year", "year"),
                    ("interim_target_percentage_reduction", "interim_target_reduction", "number", "percent"),
                    ("interim_target_baseline_year", "interim_target_base_year", "year", "year"),
                    ("annual_revenue", "revenue", "number", "USD")):
                if col in idx:
                    self._add(batch, raw, n, row, col, entity, metric, period, snap, k, unit, meth, cite, rid)
            scopes = [f"{c.replace('_', ' ')}: {clean(row.get(c))}" for c in ("scope_1", "scope_2", "scope_3")
                      if clean(row.get(c))]
            if scopes:
                batch.records.append({"entity_id": entity, "metric": "target_scope_coverage", "period": period,
                                      "period_end": snap, "value_text": "; ".join(scopes), "method": meth,
                                      "citation": cite, "record_id": rid, "file": raw.name, "line": n})
        return batch


class Sbti(_Xlsx):
    name = "sbti"
    url = "https://sciencebasedtargets.org/target-dashboard"
    description = "Science Based Targets initiative: companies taking action and the progress report appendix " \
                  "(CC BY-NC 4.0: non-commercial use)"

    def transform(self, query: Query, raw: RawFile) -> EsgBatch:
        books = sheets(raw)
        for name, rows in books.items():
            head = [str(c).strip() for c in (rows[0] if rows else [])]
            if "Company Name" in head and "Near term - Target Status" in head:
                return self._action(query, raw, rows)
            if "Company name" in head and "Target completion  [%]" in [re.sub(r"\s+$", "", h) for h in head]:
                return self._progress(query, raw, rows)
        raise ParseError(f"{raw.name}: no sheet with the SBTi columns ('Company Name' and 'Near term - Target "
                         "Status', or 'Company name' and 'Target completion  [%]')", file=raw.name, line=1)

    def _action(self, query: Query, raw: RawFile, rows: list[list[Any]]) -> EsgBatch:
        idx = header_index(raw, rows[0], ["Company Name", "Near term - Target Status"])
        dates = [d for cells in rows[1:] if "Date" in idx and idx["Date"] < len(cells)
                 and (d := _dmy(cells[idx["Date"]])) is not None]
        snap = query.as_of or (max(dates) if dates else None) or date_from_name(raw.name)
        if snap is None:
            raise ParseError(f"{raw.name}: no date to read the snapshot from; give --as-of", file=raw.name)
        period0 = snap.isoformat()
        stem = Path(raw.name).stem
        batch = EsgBatch(file=raw.name)
        for n, cells in enumerate(rows[1:], start=2):
            if all(clean(c) is None for c in cells):
                continue
            batch.rows += 1
            row = {h: cells[i] if i < len(cells) else None for h, i in idx.items()}
            nm = clean(row.get("Company Name"))
            if not nm:
                r = cell_refusal(raw, n, "Company Name", None, NotANumber("esg.missing_name", "no company name"), row)
                r.kept = False
                batch.refusals.append(r)
                continue
            entity = f"sbti:company:{slug(nm)}"
            rid = f"sbti:{stem}:{n}"
            isin, lei = clean(row.get("ISIN")), clean(row.get("LEI"))
            batch.observations.append({"record_id": rid, "entity_id": entity, "kind": "company", "name": nm,
                                       "country": _country(row.get("Location")), "isin": isin, "lei": lei,
                                       "sector": clean(row.get("Sector")), "raw": raw_json(row), "file": raw.name,
                                       "line": n})
            meth = "SBTi target dashboard"
            cite = clean(row.get("Target"))
            stated = _dmy(row.get("Date"))  # the date the row's status was stated: its period (a company listed
            period, snap_row = (stated.isoformat(), stated) if stated else (period0, snap)  # twice keeps both)
            for col, metric, k, unit in (
                    ("Near term - Target Status", "sbti_near_term_status", "text", None),
                    ("Near term - Target Classification", "sbti_near_term_class", "text", None),
                    ("Near term - Target Year", "sbti_near_term_year", "year", "year"),
                    ("Long term - Target Status", "sbti_long_term_status", "text", None),
                    ("Long term - Target Classification", "sbti_long_term_class", "text", None),
                    ("Long term - Target Year", "sbti_long_term_year", "year", "year"),
                    ("Net-Zero Committed", "sbti_net_zero_committed", "text", None),
                    ("Net-Zero Year", "sbti_net_zero_year", "year", "year")):
                if col in idx:
                    self._add(batch, raw, n, row, col, entity, metric, period, snap_row, k, unit, meth,
                              cite if metric.startswith("sbti_near") else None, rid)
        return batch

    def _progress(self, query: Query, raw: RawFile, rows: list[list[Any]]) -> EsgBatch:
        head = [re.sub(r"\s+$", "", str(c)) for c in rows[0]]
        idx = {h: i for i, h in enumerate(head) if h}
        stem = Path(raw.name).stem
        batch = EsgBatch(file=raw.name)
        seen: dict[tuple[str, str], int] = {}
        start = 2
        if rows[1:] and clean(rows[1][0]) is None and any(clean(c) for c in rows[1][1:]):
            start = 3  # the second header row: column descriptions
        for n, cells in enumerate(rows[start - 1:], start=start):
            if all(clean(c) is None for c in cells):
                continue
            batch.rows += 1
            row = {h: cells[i] if i < len(cells) else None for h, i in idx.items()}
            nm = clean(row.get("Company name"))
            if not nm:
                r = cell_refusal(raw, n, "Company name", None, NotANumber("esg.missing_name", "no company name"), row)
                r.kept = False
                batch.refusals.append(r)
                continue
            entity = f"sbti:company:{slug(nm)}"
            rid = f"sbti:{stem}:{n}"
            batch.observations.append({"record_id": rid, "entity_id": entity, "kind": "company", "name": nm,
                                       "raw": raw_json(row), "file": raw.name, "line": n})
            try:
                ry = year_of(row.get("Reporting year"))
            except NotANumber as e:
                batch.refusals.append(cell_refusal(raw, n, "Reporting year", row.get("Reporting year"), e, row))
                continue
            spec = "; ".join(x for x in (clean(row.get("Target scope")), clean(row.get("Target type")),
                                         f"base {clean(row.get('Base year'))}" if clean(row.get("Base year")) else None,
                                         f"target {clean(row.get('Target year'))}" if clean(row.get("Target year"))
                                         else None) if x)
            period = f"{ry or 'n/a'} [{spec}]"
            k = seen.get((entity, period), 0)
            seen[(entity, period)] = k + 1
            if k:
                period += f" #{k + 1}"
            self._add(batch, raw, n, row, "Target completion  [%]", entity, "sbti_progress", period,
                      date(ry, 12, 31) if ry else None, "number", "percent", "SBTi progress report 2021 (share of "
                      "the target achieved, x100)", clean(row.get("Progress source")), rid, scale=100.0)
        return batch
