"""XBRL instance documents (a 10-K or 10-Q's ``.xml`` instance, or the instance extracted from inline XBRL).

A direct reader of instance facts with lxml: contexts (entity CIK, period start/end or instant, explicit and typed
dimension members), units (a measure, or a numerator/denominator) and every numeric fact (an element with a
``contextRef`` and a ``unitRef``). It does not load the taxonomy (no calculation or label linkbases): what the SEC's
company facts and data sets publish is the instance's facts, and that is what is compared with them. Arelle would
validate the filing against its taxonomy as well; it needs the taxonomy packages (hundreds of MB, or internet at
read time), which this reader does not.

The instance names no accession number and no filing date: the ingest stage takes them from the issuer's filings
(``sec-submissions``: the filing whose primary document the instance belongs to) or from its company facts (the
annual or quarterly report with the same form, fiscal year and period end).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import polars as pl

from marketwire.errors import ParseError
from marketwire.sources.base import FrameBatch, Query, RawFile, Refusal, Source
from marketwire.sources.sec_companyfacts import facts_frame, known_tag, known_unit

XBRLI = "http://www.xbrl.org/2003/instance"
XBRLDI = "http://xbrl.org/2006/xbrldi"
_TAXONOMY_HOSTS = {"fasb.org/us-gaap": "us-gaap", "xbrl.ifrs.org": "ifrs-full", "xbrl.sec.gov/dei": "dei",
                   "fasb.org/srt": "srt", "xbrl.sec.gov/ecd": "ecd", "xbrl.sec.gov/invest": "invest",
                   "xbrl.sec.gov/country": "country", "xbrl.sec.gov/cyd": "cyd"}


def taxonomy_of(ns: str, prefix: str | None) -> str:
    for k, v in _TAXONOMY_HOSTS.items():
        if k in ns:
            return v
    return prefix or ns


def _local(v: str) -> str:
    return v.split(":", 1)[-1]


def read_instance(raw: RawFile) -> dict[str, Any]:
    """Facts, contexts and document information of an instance: ``{"facts": [...], "dei": {...}}``."""
    from lxml import etree

    try:
        root = etree.fromstring(raw.data, parser=etree.XMLParser(huge_tree=True, resolve_entities=False,
                                                                  no_network=True))
    except etree.XMLSyntaxError as e:
        line, col = (e.position if getattr(e, "position", None) else (e.lineno, 0))
        raise ParseError(f"{raw.name}: line {line}, column {col}: not XML: {e.msg}", file=raw.name, line=line,
                         column=col) from e
    if etree.QName(root).localname != "xbrl" or etree.QName(root).namespace != XBRLI:
        raise ParseError(f"{raw.name}: line {root.sourceline or 1}: not an XBRL instance (root element "
                         f"{etree.QName(root).localname!r}, expected xbrli:xbrl)", file=raw.name,
                         line=root.sourceline or 1)
    contexts: dict[str, dict[str, Any]] = {}
    for c in root.iter(f"{{{XBRLI}}}context"):
        ident = c.find(f"{{{XBRLI}}}entity/{{{XBRLI}}}identifier")
        start = c.findtext(f"{{{XBRLI}}}period/{{{XBRLI}}}startDate")
        end = c.findtext(f"{{{XBRLI}}}period/{{{XBRLI}}}endDate")
        inst = c.findtext(f"{{{XBRLI}}}period/{{{XBRLI}}}instant")
        dims = []
        for m in c.iter(f"{{{XBRLDI}}}explicitMember"):
            dims.append(f"{_local(m.get('dimension', ''))}={_local((m.text or '').strip())}")
        for m in c.iter(f"{{{XBRLDI}}}typedMember"):
            dims.append(f"{_local(m.get('dimension', ''))}={''.join(m.itertext()).strip()}")
        contexts[c.get("id", "")] = {"cik": (ident.text or "").strip() if ident is not None else None,
                                     "start": (start or "").strip() or None,
                                     "end": ((end or inst) or "").strip() or None, "dims": ";".join(sorted(dims)),
                                     "line": c.sourceline}
    units: dict[str, str] = {}
    for u in root.iter(f"{{{XBRLI}}}unit"):
        num = [(_local(m.text or "")) for m in u.iterfind(f"{{{XBRLI}}}divide/{{{XBRLI}}}unitNumerator/"
                                                           f"{{{XBRLI}}}measure")]
        den = [(_local(m.text or "")) for m in u.iterfind(f"{{{XBRLI}}}divide/{{{XBRLI}}}unitDenominator/"
                                                           f"{{{XBRLI}}}measure")]
        if num:
            units[u.get("id", "")] = f"{'*'.join(num)}/{'*'.join(den)}"
        else:
            units[u.get("id", "")] = "*".join(_local(m.text or "") for m in u.iterfind(f"{{{XBRLI}}}measure"))
    facts, dei = [], {}
    for el in root:
        if not isinstance(el.tag, str):
            continue
        q = etree.QName(el)
        ctx = el.get("contextRef")
        if ctx is None or q.namespace in (XBRLI,):
            continue
        tax = taxonomy_of(q.namespace or "", el.prefix)
        if tax == "dei" and el.get("unitRef") is None:
            dei[q.localname] = (el.text or "").strip()
        if el.get("unitRef") is None:
            continue
        nil = el.get("{http://www.w3.org/2001/XMLSchema-instance}nil") in ("true", "1")
        facts.append({"taxonomy": tax, "tag": q.localname, "context": ctx, "unit": units.get(el.get("unitRef", "")),
                      "unit_ref": el.get("unitRef"), "text": None if nil else (el.text or "").strip(),
                      "decimals": el.get("decimals"), "line": el.sourceline})
    return {"facts": facts, "contexts": contexts, "dei": dei}


class XbrlInstance(Source):
    name = "xbrl-instance"
    dataset = "sec_facts"
    url = "https://www.sec.gov/Archives/edgar/data/320193/000032019323000106/aapl-20230930_htm.xml"
    description = "XBRL instance documents (numeric facts with contexts, units and dimensions)"

    def transform(self, query: Query, raw: RawFile) -> FrameBatch:
        doc = read_instance(raw)
        ciks = {c["cik"] for c in doc["contexts"].values() if c["cik"]}
        cik_txt = doc["dei"].get("EntityCentralIndexKey") or (ciks.pop() if len(ciks) == 1 else None)
        if not cik_txt or not cik_txt.strip().isdigit():
            raise ParseError(f"{raw.name}: no CIK (dei:EntityCentralIndexKey or one context identifier)",
                             file=raw.name, line=1)
        cik = int(cik_txt.strip().lstrip("0") or "0")
        cols: dict[str, list[Any]] = {c: [] for c in ("cik", "taxonomy", "tag", "unit", "start", "end", "period",
                                                      "dims", "value", "fy", "fp", "form", "accession", "filed",
                                                      "frame", "file", "line", "flags")}
        refusals: list[Refusal] = []
        for f in doc["facts"]:
            ctx = doc["contexts"].get(f["context"])
            raw_rec = {k: f[k] for k in ("taxonomy", "tag", "context", "unit", "text", "decimals")}
            if ctx is None or f["unit"] is None:
                refusals.append(Refusal("fact.malformed", f"{f['tag']}: context {f['context']!r} or unit "
                                        f"{f['unit_ref']!r} is not defined", raw.name, f["line"], raw_rec,
                                        field="contextRef", dataset="sec_facts"))
                continue
            if f["text"] is None:  # a nil fact reports that no value exists
                continue
            try:
                value = float(f["text"])
                if not math.isfinite(value):
                    raise ValueError
                start = date.fromisoformat(ctx["start"]) if ctx["start"] else None
                end = date.fromisoformat(ctx["end"])
            except (TypeError, ValueError):
                refusals.append(Refusal("fact.malformed", f"{f['tag']}: value {f['text']!r} or the period of "
                                        f"context {f['context']} cannot be read", raw.name, f["line"], raw_rec,
                                        field="value", value=f["text"], dataset="sec_facts"))
                continue
            flags = [c for c, ok in (("fact.unknown_tag", known_tag(f["taxonomy"], f["tag"])),
                                     ("fact.unknown_unit", known_unit(f["unit"]))) if not ok]
            for k, v in (("cik", cik), ("taxonomy", f["taxonomy"]), ("tag", f["tag"]), ("unit", f["unit"]),
                         ("start", start), ("end", end), ("period", f"{start}..{end}" if start else f"@{end}"),
                         ("dims", ctx["dims"]), ("value", value), ("fy", None), ("fp", None), ("form", None),
                         ("accession", None), ("filed", None), ("frame", None), ("file", raw.name),
                         ("line", f["line"]), ("flags", ",".join(flags) or None)):
                cols[k].append(v)
        frame = facts_frame(cols)
        dei = doc["dei"]
        fy = dei.get("DocumentFiscalYearFocus")
        meta = {"cik": cik, "instance": raw.name, "form": dei.get("DocumentType"),
                "period_end": dei.get("DocumentPeriodEndDate"), "fy": int(fy) if (fy or "").isdigit() else None,
                "fp": dei.get("DocumentFiscalPeriodFocus"), "needs_filing": True,
                "accession": query.options.get("accession"), "filed": query.options.get("filed")}
        frame = frame.with_columns(pl.lit(meta["fy"], pl.Int16).alias("fy"), pl.lit(meta["fp"]).alias("fp"),
                                   pl.lit(meta["form"]).alias("form"))
        return FrameBatch(self.dataset, frame, refusals=refusals, meta=meta)
