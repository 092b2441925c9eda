"""The ESG service: the one entry point the SDK, the CLI, REST and the company page use for ESG and climate data.

``mw.esg`` is an :class:`EsgService` over the lake. It registers the ESG stage with the ingest engine (every ESG
source delivers :class:`~marketwire.sources.esg_common.EsgBatch` payloads through ``mw.ingest``), and answers:

- :meth:`metrics` — one issuer's metrics (any id the identity service resolves), point in time;
- :meth:`coverage` — per source: entities, linked, waiting for review, share linked, values;
- :meth:`review` / :meth:`link` — the review queue and a user's confirmation;
- :meth:`derived` — intensity, sector percentile and the transparent score (:mod:`marketwire.esg.derived`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from marketwire.datasets.esg import (ESG_AGGREGATIONS, ESG_DISAGREEMENTS, ESG_LINKS, ESG_METRICS,
                                     ESG_OBSERVATIONS)
from marketwire.engine.core import Engine, IngestReport, Job, flagged
from marketwire.errors import InvalidInput, NotFound
from marketwire.esg import verify as V
from marketwire.esg.linking import Linker
from marketwire.sources.base import Refusal
from marketwire.store import Lake
from marketwire.timeparse import parse_instant

#: the kinds of entity that are companies to link to the master (installations and facilities are aggregated)
LINKABLE = ("company", "account_holder", "parent", "symbol")
#: metrics summed from EU ETS installations (and WA facilities) to their account holder and parent company
ETS_SUMMED = ("ets_verified", "ets_free_allocation", "ets_surrendered", "ghg_total")
#: the rule of a second, different value for one key in a delivery (esg/verify.py registers it)
CONFLICT = "esg.conflicting_duplicate"
#: metrics compared across sources for the same issuer and period
COMPARED = ("scope1", "scope2", "scope2_location", "scope2_market", "scope3", "scope12", "revenue")


@dataclass
class EsgReport(IngestReport):
    """The ingest report of an ESG delivery: the engine's counts and the entities waiting for review."""

    review: int = 0
    linked: int = 0
    rows: int = 0
    disagreements: int = 0


class EsgStage:
    """Verifies, links, aggregates and writes ESG deliveries (the engine calls :meth:`run`)."""

    writes = (ESG_OBSERVATIONS.name, ESG_LINKS.name, ESG_AGGREGATIONS.name, ESG_DISAGREEMENTS.name)
    report_type = EsgReport

    def __init__(self, service: EsgService) -> None:
        self.service = service

    def run(self, job: Job, batches: list[Any]) -> None:
        records: list[dict[str, Any]] = []
        observations: list[dict[str, Any]] = []
        aggregations: list[dict[str, Any]] = []
        entities: dict[str, dict[str, Any]] = {}
        refusals: list[Refusal] = []
        rows = 0
        for b in batches:
            if not hasattr(b, "observations"):
                raise TypeError(f"source {job.source!r} delivers {type(b).__name__} for esg_metrics; ESG sources "
                                "deliver EsgBatch")
            rows += b.rows
            refusals += b.refusals
            observations += b.observations
            aggregations += b.aggregations
            for e in getattr(b, "entities", []):
                prev = entities.get(e["entity_id"])
                if prev is not None and e.get("installation_countries"):
                    prev["installation_countries"] = sorted(set(prev.get("installation_countries") or [])
                                                            | set(e["installation_countries"]))
                else:
                    entities.setdefault(e["entity_id"], dict(e))
            for rec in b.records:
                flags, refused = V.check_record(rec)
                if refused:
                    refusals.append(Refusal(refused, f"{rec['metric']} {rec.get('value')!r} {rec.get('unit') or ''}: "
                                            f"refused by {refused}", rec.get("file"), rec.get("line"),
                                            {k: str(v) for k, v in rec.items() if k not in ("file", "line")},
                                            field=rec["metric"], value=str(rec.get("value")), dataset=ESG_METRICS.name,
                                            kept=True))
                    continue
                for fl in flags:
                    V.add_flag(rec, fl)
                records.append(rec)
        for o in observations:  # every observed entity that is a company is linkable
            if o["kind"] in LINKABLE:
                entities.setdefault(o["entity_id"], {k: o.get(k) for k in
                                                     ("entity_id", "name", "country", "sector", "isin", "lei",
                                                      "ticker", "kind", "as_of")})
        records = self.service._one_per_key(records, refusals)
        V.check_totals(records)
        V.check_jumps(records, self.service._stored_series({r["entity_id"] for r in records}))
        job.commit(ESG_OBSERVATIONS, frame(ESG_OBSERVATIONS, observations))
        w = job.commit(ESG_METRICS, frame(ESG_METRICS, records))
        if aggregations:
            job.commit(ESG_AGGREGATIONS, frame(ESG_AGGREGATIONS, aggregations))
            agg = self.service._aggregate({a["group_id"] for a in aggregations}, job.source)
            wa = job.commit(ESG_METRICS, agg if isinstance(agg, pl.DataFrame) else frame(ESG_METRICS, agg))
            job.report.accepted += wa.accepted
            job.report.unchanged += wa.unchanged
        links = self.service._link(list(entities.values()))
        job.commit(ESG_LINKS, frame(ESG_LINKS, links))
        dis = self.service._disagreements({lk["issuer_id"] for lk in links if lk.get("issuer_id")})
        if dis:
            wd = job.commit(ESG_DISAGREEMENTS, dis)
            job.report.disagreements = getattr(job.report, "disagreements", 0) + wd.appended.height  # type: ignore
        job.refuse(refusals)
        job.report.accepted += w.accepted
        job.report.unchanged += w.unchanged
        job.report.flagged += flagged(w.appended)
        rep = job.report
        if isinstance(rep, EsgReport):
            rep.rows += rows
            rep.review += sum(1 for lk in links if lk["status"] == "review")
            rep.linked += sum(1 for lk in links if lk["status"] in ("linked", "confirmed"))
        for fl in w.appended.get_column("flags").drop_nulls().to_list() if w.appended.height else []:
            for code in fl.split(","):
                job.report.count(code)


def frame(ds: Any, rows: list[dict[str, Any]]) -> pl.DataFrame | list[dict[str, Any]]:
    """Records as a frame typed by the dataset's schema, built column-wise by Polars (an order of magnitude faster
    than a per-record conversion at EU ETS sizes); rows a typed build cannot take are handed on as they are (the
    engine's conversion then names the problem)."""
    if not rows:
        return rows
    try:
        return pl.from_dicts(rows, schema=_schema(ds), infer_schema_length=None)
    except (pl.exceptions.PolarsError, TypeError, ValueError):
        return rows


_SCHEMAS: dict[str, pl.Schema] = {}


def _schema(ds: Any) -> pl.Schema:
    if ds.name not in _SCHEMAS:
        _SCHEMAS[ds.name] = pl.from_arrow(ds.schema.empty_table()).schema  # type: ignore[union-attr]
    return _SCHEMAS[ds.name]


def _content(r: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(r.get(c) for c in ("value", "unit", "value_text", "method", "boundary", "citation"))


class EsgService:
    """ESG over one lake. ``identity`` resolves ids and supplies the master's companies for linking;
    ``fundamentals(issuer_id, as_of) -> {"revenue": (value, currency, period)}`` and
    ``market_value(issuer_id, as_of) -> (value, currency, date)`` are passed in by the facade when those verticals
    are present (cross-vertical data never comes from an import)."""

    def __init__(self, lake: Lake, engine: Engine, identity: Any,
                 fundamentals: Callable[[str, Any], dict[str, Any] | None] | None = None,
                 market_value: Callable[[str, Any], Any] | None = None) -> None:
        self.lake = lake
        self.engine = engine
        self.identity = identity
        self.fundamentals = fundamentals
        self.market_value = market_value
        self._linker: Linker | None = None
        engine.stage(ESG_METRICS.name, EsgStage(self))

    # -- ingest helpers (the stage) -------------------------------------------------------------------------------
    @property
    def linker(self) -> Linker:
        if self._linker is None:
            self._linker = Linker(self.identity)
        return self._linker

    def _read(self, ds: Any, where: str | None = None, params: list[Any] | None = None, as_of: Any = None,
              columns: list[str] | None = None) -> pl.DataFrame:
        if not self.lake.exists(ds):
            return pl.from_arrow(ds.schema.empty_table())  # type: ignore[return-value]
        t = self.lake.read(ds, where=where, params=params or [], as_of=as_of, columns=columns)
        return pl.from_arrow(t)  # type: ignore[return-value]

    @staticmethod
    def _one_per_key(records: list[dict[str, Any]], refusals: list[Refusal]) -> list[dict[str, Any]]:
        """One record per (entity, metric, period) in a delivery: an identical repeat is dropped, a different value
        for the same key is quarantined (``esg.conflicting_duplicate``): which one is right is never guessed."""
        first: dict[tuple[str, str, str], dict[str, Any]] = {}
        out = []
        for r in records:
            k = (r["entity_id"], r["metric"], r["period"])
            if k not in first:
                first[k] = r
                out.append(r)
            elif _content(first[k]) != _content(r):
                refusals.append(Refusal(CONFLICT,
                                        f"{r['metric']} {r['period']} of {r['entity_id']}: {r.get('value')!r} differs "
                                        f"from line {first[k].get('line')} ({first[k].get('value')!r}) of the same "
                                        "delivery", r.get("file"), r.get("line"),
                                        {k2: str(v) for k2, v in r.items() if k2 not in ("file", "line")},
                                        field=r["metric"], value=str(r.get("value") if r.get("value") is not None
                                                                     else r.get("value_text")),
                                        dataset=ESG_METRICS.name, kept=True))
        return out

    def _stored_series(self, entity_ids: set[str]) -> list[dict[str, Any]]:
        if not entity_ids or not self.lake.exists(ESG_METRICS):
            return []
        df = self._read(ESG_METRICS, "entity_id IN (SELECT unnest(?))", [sorted(entity_ids)],
                        columns=["entity_id", "metric", "period", "value", "source"])
        return df.to_dicts()

    def _aggregate(self, groups: set[str], source: str) -> pl.DataFrame | list[dict[str, Any]]:
        """Sums of the installations' ETS metrics per account holder and parent company, from what is stored (so a
        parent with installations in several countries' files sums all of them)."""
        aggs = self._read(ESG_AGGREGATIONS, "group_id IN (SELECT unnest(?))", [sorted(groups)])
        if not aggs.height:
            return []
        members = aggs.get_column("member_id").unique().to_list()
        m = self._read(ESG_METRICS, "entity_id IN (SELECT unnest(?)) AND metric IN (SELECT unnest(?))",
                       [members, list(ETS_SUMMED)], columns=["entity_id", "metric", "period", "period_end", "value",
                                                              "unit"])
        if not m.height:
            return []
        j = aggs.select(["group_id", "member_id", "level"]).join(m, left_on="member_id", right_on="entity_id")
        j = j.with_columns(pl.col("member_id").str.split(":").list.get(1).alias("member_kind"))
        g = j.group_by(["group_id", "level", "metric", "period"]).agg(pl.col("member_kind").first(),
            pl.col("value").sum().alias("value"), pl.len().alias("n"), pl.col("unit").first(),
            pl.col("period_end").first())
        # built column-wise (a group per parent and year is hundreds of thousands of rows for EU ETS)
        level = pl.col("level").str.replace_all("_", " ")
        return g.select(
            pl.col("group_id").alias("entity_id"), "metric", "period", "period_end",
            pl.col("value").cast(pl.Float64), "unit",
            pl.format("aggregate:sum of {} {}(s) to the {} (esg_aggregations)", "n", "member_kind", level)
            .alias("method"),
            pl.format("{}: its {}s in the files loaded", level, "member_kind").alias("boundary"),
            pl.lit(None, pl.String).alias("record_id"))

    def _link(self, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A link per entity; a link a user confirmed is kept (a re-delivery never overrides a confirmation)."""
        if not entities:
            return []
        ids = [e["entity_id"] for e in entities]
        stored = self._read(ESG_LINKS, "entity_id IN (SELECT unnest(?))", [ids])
        current = {r["entity_id"]: r for r in stored.to_dicts()}
        out = []
        for e in entities:
            cur = current.get(e["entity_id"])
            if cur is not None and cur["status"] == "confirmed":
                continue
            if cur is not None and cur["status"] == "linked":
                had = json.loads(cur["evidence"] or "{}")
                ids = ("isin", "lei", "ticker")
                if any(had.get(k) for k in ids) and not any(e.get(k) for k in ids):
                    continue  # a delivery without the identifiers of the link (SBTi's progress file) keeps it
            out.append(self.linker.link(e).record())
        return out

    def _disagreements(self, issuers: set[str]) -> list[dict[str, Any]]:
        if not issuers:
            return []
        links = self._read(ESG_LINKS, "issuer_id IN (SELECT unnest(?)) AND status IN ('linked', 'confirmed')",
                           [sorted(issuers)], columns=["entity_id", "issuer_id"])
        if links.height < 2:
            return []
        m = self._read(ESG_METRICS, "entity_id IN (SELECT unnest(?)) AND metric IN (SELECT unnest(?)) AND value IS "
                       "NOT NULL", [links.get_column("entity_id").to_list(), list(COMPARED)],
                       columns=["entity_id", "metric", "period", "value", "source"])
        j = m.join(links, on="entity_id")
        out = []
        for (iss, metric, period), grp in j.group_by(["issuer_id", "metric", "period"]):
            rows = grp.sort(["source", "entity_id"]).to_dicts()
            for a_i, a in enumerate(rows):
                for b in rows[a_i + 1:]:
                    if a["source"] == b["source"]:
                        continue
                    den = max(abs(a["value"]), abs(b["value"]), 1e-9)
                    rel = abs(a["value"] - b["value"]) / den
                    if rel > V.SOURCE_TOLERANCE:
                        out.append({"issuer_id": iss, "metric": metric, "period": period, "entity_a": a["entity_id"],
                                    "source_a": a["source"], "value_a": a["value"], "entity_b": b["entity_id"],
                                    "source_b": b["source"], "value_b": b["value"], "rel_diff": round(rel, 6)})
        return out

    # -- reading ------------------------------------------------------------------------------------------------
    def _issuer(self, id: str, as_of: Any = None) -> dict[str, Any]:
        ms = self.identity.resolve(id)
        m = ms[0]
        if not m.get("issuer_id"):
            raise NotFound(f"{id!r} names no issuer", param="id", value=id)
        return m

    def _links_of(self, issuer_id: str, when: Any = None) -> pl.DataFrame:
        """The links (made or confirmed, as known at ``when``) to the issuer, and to the other issuers of the master
        that its link evidence names as the same company (``same_company``: the master can hold one company as two
        issuers, e.g. a venue directory's ``J P Morgan Chase & Co`` and a reference file's ``JPMorgan Chase & Co.``
        with the ISIN; any id of the company then reads the links of both)."""
        links = self._read(ESG_LINKS, "(issuer_id = ? OR contains(evidence, ?)) AND status IN ('linked', 'confirmed')",
                           [issuer_id, issuer_id], as_of=when)
        if not links.height:
            return links

        def mine(r: dict[str, Any]) -> bool:
            if r["issuer_id"] == issuer_id:
                return True
            try:
                return issuer_id in (json.loads(r["evidence"] or "{}").get("same_company") or [])
            except ValueError:
                return False

        keep = [mine(r) for r in links.select(["issuer_id", "evidence"]).iter_rows(named=True)]
        return links.filter(pl.Series(keep, dtype=pl.Boolean))

    def metrics(self, id: str, metrics: list[str] | str | None = None, as_of: Any = None) -> list[dict[str, Any]]:
        """The ESG metrics of the issuer ``id`` names (any identifier the identity service resolves), as known at
        ``as_of`` (default now): every source's value, with unit, period, source, method, the link's confidence and
        method, citation and flags. ``metrics``: codes of the catalogue to keep."""
        when = parse_instant(as_of, "as_of")
        codes = [metrics] if isinstance(metrics, str) else list(metrics or [])
        unknown = [c for c in codes if c not in V.catalogue()]
        if unknown:
            raise InvalidInput(f"`metric`: unknown metric code {unknown[0]!r}; see `marketwire esg catalogue`",
                               param="metric", value=unknown[0])
        m = self._issuer(id)
        links = self._links_of(m["issuer_id"], when)
        if not links.height:
            return []
        where = "entity_id IN (SELECT unnest(?))"
        params: list[Any] = [links.get_column("entity_id").to_list()]
        if codes:
            where += " AND metric IN (SELECT unnest(?))"
            params.append(codes)
        rows = self._read(ESG_METRICS, where, params, as_of=when)
        if not rows.height:
            return []
        j = rows.join(links.select(["entity_id", "issuer_id", "method", "confidence"]).rename(
            {"method": "link_method"}), on="entity_id")
        j = j.sort(["metric", "period", "source", "entity_id"])
        out = []
        for r in j.iter_rows(named=True):
            value = r["value"] if r["value"] is not None else r["value_text"]
            out.append({"issuer_id": r["issuer_id"], "metric": r["metric"], "value": value, "unit": r["unit"],
                        "period": r["period"], "source": r["source"],
                        "method": r["method"], "confidence": r["confidence"], "link_method": r["link_method"],
                        "entity_id": r["entity_id"], "boundary": r["boundary"], "citation": r["citation"],
                        "flags": r["flags"], "knowledge_time": r["knowledge_time"]})
        return out

    def coverage(self) -> list[dict[str, Any]]:
        """Per source: entities to link, linked (automatic and confirmed), waiting for review, share linked, values
        and raw rows stored."""
        links = self._read(ESG_LINKS)
        obs = self._read(ESG_OBSERVATIONS, columns=["record_id", "source"])
        met = self._read(ESG_METRICS, columns=["entity_id", "source"])
        out: dict[str, dict[str, Any]] = defaultdict(lambda: {"entities": 0, "linked": 0, "confirmed": 0,
                                                              "review": 0, "values": 0, "rows": 0})
        for r in links.iter_rows(named=True):
            src = r["entity_id"].split(":", 1)[0]
            d = out[src]
            d["entities"] += 1
            if r["status"] in ("linked", "confirmed", "review"):
                d[r["status"]] += 1
        for src, n in obs.group_by("source").len().iter_rows():
            out[src]["rows"] = n
        for src, n in met.group_by("source").len().iter_rows():
            out[src]["values"] = n
        res = []
        for src, d in sorted(out.items()):
            done = d["linked"] + d["confirmed"]
            res.append({"source": src, **d, "share_linked": round(done / d["entities"], 4) if d["entities"] else None})
        return res

    def review(self, source: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Entities waiting for review: raw name, country, sector, the best candidates and the evidence."""
        where = "status = 'review'"
        params: list[Any] = []
        if source:
            where += " AND starts_with(entity_id, ?)"
            params.append(source + ":")
        df = self._read(ESG_LINKS, where, params).sort("entity_id")
        out = []
        for r in df.iter_rows(named=True):
            cands = json.loads(r["candidates"] or "[]")
            best = cands[0] if cands else {}
            out.append({"entity_id": r["entity_id"], "source": r["entity_id"].split(":", 1)[0],
                        "raw_name": r["raw_name"], "country": r["country"], "sector": r["sector"],
                        "confidence": r["confidence"], "best_issuer_id": best.get("issuer_id"),
                        "best_name": best.get("name"), "best_country": best.get("country"),
                        "best_score": best.get("score"),
                        "candidates": "; ".join(f"{c['issuer_id']} {c['name']} ({c.get('country') or '?'}, "
                                                f"{c['score']})" for c in cands[:3]),
                        "why": json.loads(r["evidence"] or "{}").get("why_review")})
            if limit and len(out) >= limit:
                break
        return out

    def link(self, record: str, id: str, job_source: str = "esg.link") -> dict[str, Any]:
        """Confirm that the entity of ``record`` (an entity id or a source record id) is the issuer ``id`` names."""
        entity = self._entity_of(record)
        m = self._issuer(id)
        cur = self._read(ESG_LINKS, "entity_id = ?", [entity]).to_dicts()
        base = cur[0] if cur else {"raw_name": None, "country": None, "sector": None, "evidence": "{}"}
        ev = json.loads(base.get("evidence") or "{}")
        ev["confirmed_as"] = id
        ev["previous_status"] = base.get("status")
        rec = {"entity_id": entity, "status": "confirmed", "issuer_id": m["issuer_id"],
               "security_id": m.get("security_id"), "issuer_name": m.get("issuer_name") or m.get("name"),
               "method": "confirmed", "confidence": 1.0, "raw_name": base.get("raw_name"),
               "country": base.get("country"), "sector": base.get("sector"),
               "evidence": json.dumps(ev, ensure_ascii=False, sort_keys=True), "candidates": base.get("candidates")}
        job = self.engine.job(job_source)
        with self.lake.writing([ESG_LINKS.name]):
            job.commit(ESG_LINKS, [rec])
        return {k: rec[k] for k in ("entity_id", "status", "issuer_id", "issuer_name", "method", "confidence")}

    def _entity_of(self, record: str) -> str:
        r = (record or "").strip()
        if not r:
            raise InvalidInput("`record`: empty", param="record")
        if self._read(ESG_LINKS, "entity_id = ?", [r], columns=["entity_id"]).height:
            return r
        obs = self._read(ESG_OBSERVATIONS, "record_id = ?", [r], columns=["entity_id"])
        if obs.height:
            return str(obs.item(0, 0))
        raise NotFound(f"no ESG entity or source record {r!r} (see `marketwire esg review`)", param="record", value=r)

    def derived(self, id: str, as_of: Any = None) -> dict[str, Any]:
        """Intensity per revenue and per market value, the sector percentile of the intensity and the transparent
        score (:mod:`marketwire.esg.derived`), with every input and where each came from."""
        from marketwire.esg import derived as DV

        when = parse_instant(as_of, "as_of")
        rows = self.metrics(id, None, as_of)
        m = self._issuer(id)
        out: dict[str, Any] = {"issuer_id": m["issuer_id"], "as_of": (when or None) and when.isoformat()}
        base = DV.intensities(rows)
        notes: list[str] = []
        if base is None:
            return {**out, "intensity_revenue": None, "score": None,
                    "note": "no period with both scope 1 and scope 2 is stored for this company"}
        rev, rev_src = base["revenue"], f"{base['source']} (revenue the ESG source states)"
        if self.fundamentals is not None:
            f = self.fundamentals(m["issuer_id"], when) or {}
            if f.get("revenue"):
                rev, rev_src = f["revenue"][0], "fundamentals"
        else:
            notes.append("no fundamentals loaded: revenue is the ESG source's")
        s12 = base["scope1"] + base["scope2"]
        out.update({"period": base["period"], "emissions_source": base["source"], "scope1": base["scope1"],
                    "scope2": base["scope2"], "scope2_metric": base["scope2_metric"], "scope12": s12,
                    "revenue": rev, "revenue_source": rev_src if rev else None,
                    "intensity_revenue": s12 / (rev / 1e6) if rev else None,
                    "intensity_unit": "t CO2e per million of revenue"})
        mv = self.market_value(m["issuer_id"], when) if self.market_value is not None else None
        out["market_value"] = mv
        out["intensity_market_value"] = round(s12 / (mv[0] / 1e6), 4) if mv else None
        if mv is None:
            notes.append("no market value: prices and shares outstanding are not available to the ESG service")
        peers, sector = self._sector_peers(m["issuer_id"], base["source"], base["period"])
        if out["intensity_revenue"] is not None:
            pct = DV.percentile(out["intensity_revenue"], peers)
            out["intensity_revenue"] = round(out["intensity_revenue"], 4)
            pts, why = DV.target_points(rows)
            out.update({"sector": sector, "sector_peers": len(peers), "sector_percentile": pct,
                        "target_points": pts, "target_basis": why,
                        "score": round(0.7 * (100 - pct) + 0.3 * pts, 1),
                        "score_formula": "0.7 x (100 - sector percentile of intensity) + 0.3 x target points"})
        out["notes"] = notes
        return out

    def _sector_peers(self, issuer_id: str, source: str, period: str) -> tuple[list[float], str | None]:
        """Intensities (scope 1+2 per million revenue, same source and period) of the issuers in the sector the
        source states for this issuer."""
        links = self._read(ESG_LINKS, "status IN ('linked', 'confirmed') AND starts_with(entity_id, ?)",
                           [source + ":"], columns=["entity_id", "issuer_id", "sector"])
        mine = links.filter(pl.col("issuer_id") == issuer_id)
        sector = mine.get_column("sector").drop_nulls().first() if mine.height else None
        if sector is None:
            return [], None
        ents = links.filter(pl.col("sector") == sector).get_column("entity_id").to_list()
        m = self._read(ESG_METRICS, "entity_id IN (SELECT unnest(?)) AND period = ? AND metric IN "
                       "('scope1', 'scope2', 'scope2_location', 'scope2_market', 'revenue')", [ents, period],
                       columns=["entity_id", "metric", "value"])
        vals: dict[str, dict[str, float]] = defaultdict(dict)
        for r in m.iter_rows(named=True):
            if r["value"] is not None:
                vals[r["entity_id"]].setdefault(r["metric"], r["value"])
        out = []
        for v in vals.values():
            s2 = next((v[k] for k in ("scope2", "scope2_location", "scope2_market") if k in v), None)
            if "scope1" in v and s2 is not None and v.get("revenue"):
                out.append((v["scope1"] + s2) / (v["revenue"] / 1e6))
        return out, sector

    def catalogue(self) -> list[dict[str, str]]:
        return list(V.catalogue().values())

    def disagreements(self, id: str) -> list[dict[str, Any]]:
        m = self._issuer(id)
        return self._read(ESG_DISAGREEMENTS, "issuer_id = ?", [m["issuer_id"]]).drop(
            ["ingested_at", "ingest_id"]).to_dicts()


__all__ = ["COMPARED", "ETS_SUMMED", "EsgReport", "EsgService", "EsgStage", "LINKABLE"]
