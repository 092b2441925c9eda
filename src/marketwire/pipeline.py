"""The one pipeline: source -> verify -> lake -> derived master.

``ingest`` runs a source over files (or its public URL), verifies every record with the shared rules, appends
what is new (re-running on the same files adds nothing) and quarantines what was refused. Reference data then
rebuilds the derived master tables, appending only records that changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from marketwire.datasets import reference as R
from marketwire.datasets.base import Dataset
from marketwire.identity.build import Context, build_master, build_membership
from marketwire.identity.ids import Registry
from marketwire.sources import Batch, Refusal, get_source
from marketwire.store import Lake
from marketwire.verify.identifiers import verify_identifiers

DATASETS = {d.name: d for d in R.REFERENCE_DATASETS}
MASTER_INPUTS = {"ref_observations", "index_observations", "exchanges", "countries", "currencies"}
Progress = Callable[[str, int, int], None]


@dataclass
class IngestReport:
    source: str
    ingest_id: str
    files: int = 0
    accepted: int = 0
    flagged: int = 0
    quarantined: int = 0
    unchanged: int = 0
    retracted: int = 0
    master_flags: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _utc(d: date | datetime) -> datetime:
    if isinstance(d, datetime):
        return d if d.tzinfo else d.replace(tzinfo=timezone.utc)
    return datetime.combine(d, time(0), tzinfo=timezone.utc)


#: observation datasets and the column that names the snapshot series a file belongs to
OBSERVATION_SCOPE = {"ref_observations": "feed", "index_observations": "index"}


def _existing_keys(lake: Lake, ds: Dataset) -> set[tuple[Any, ...]]:
    """Keys whose latest version is live (retracted records may come back)."""
    if not lake.exists(ds):
        return set()
    if "retracted" in ds.columns:
        t = lake.read(ds, columns=list(ds.key), where="NOT coalesce(retracted, false)")
    else:
        t = lake.scan(ds, columns=list(ds.key))
    cols = [t.column(k).to_pylist() for k in ds.key]
    return set(zip(*cols))


def _superseded(lake: Lake, ds: Dataset, recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Live observations from an earlier reading of the same file (same series, date and file name) that the
    new reading no longer contains: a re-read file replaces its earlier reading, record by record."""
    scope_col = OBSERVATION_SCOPE[ds.name]
    scopes = {(r[scope_col], r["snapshot_date"], Path(r["file"] or "").name) for r in recs}
    if not scopes or not lake.exists(ds):
        return []
    keys = {tuple(r.get(k) for k in ds.key) for r in recs}
    dates = sorted({s[1] for s in scopes})
    live = lake.read(ds, where="NOT coalesce(retracted, false) AND snapshot_date IN (SELECT unnest(?))",
                     params=[dates]).to_pylist()
    return [r for r in live if (r[scope_col], r["snapshot_date"], Path(r["file"] or "").name) in scopes
            and tuple(r.get(k) for k in ds.key) not in keys]


class Pipeline:
    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    # -- ingest -----------------------------------------------------------------------------------
    def ingest(self, source: str, paths: Sequence[str], as_of: date | None = None,
               progress: Progress | None = None, rebuild: bool = True) -> IngestReport:
        src = get_source(source)
        query = src.query(paths, as_of)
        ingest_id = uuid.uuid4().hex[:16]
        now = datetime.now(timezone.utc)
        report = IngestReport(source, ingest_id)
        records: dict[str, list[dict[str, Any]]] = {}
        refusals: list[Refusal] = []
        files = list(src.extract(query))
        known_mics = self._known_mics()
        for k, raw in enumerate(files, start=1):
            batch = src.transform(query, raw)
            if not isinstance(batch, Batch):  # columnar sources (prices) have their own ingest
                raise TypeError(f"source {source!r} delivers columnar batches; ingest it through marketwire.open()")
            refusals.extend(batch.refusals)
            if batch.dataset == "ref_observations":
                for rec in batch.records:
                    refusals.extend(verify_identifiers(rec, source))
                    if known_mics and rec.get("mic") and rec["mic"] not in known_mics:
                        rec["flags"] = sorted(set(rec.get("flags") or []) | {"listing.unknown_mic"})
            records.setdefault(batch.dataset, []).extend(batch.records)
            report.files += 1
            if progress:
                progress(Path(raw.name).name, k, len(files))
        for name, recs in records.items():
            ds = DATASETS[name]
            existing = _existing_keys(self.lake, ds)
            fresh = []
            for r in recs:
                when = r.get("snapshot_date")
                r.update(knowledge_time=_utc(when) if when else now, ingested_at=now, source=source,
                         ingest_id=ingest_id)
                if tuple(r.get(k) for k in ds.key) in existing:
                    report.unchanged += 1
                    continue
                existing.add(tuple(r.get(k) for k in ds.key))
                fresh.append(r)
            accepted = len(fresh)
            if name in OBSERVATION_SCOPE:
                stale = _superseded(self.lake, ds, recs)
                for r in stale:
                    r.update(retracted=True, ingested_at=now, source=source, ingest_id=ingest_id)
                fresh.extend(stale)
                report.retracted += len(stale)
            self.lake.append(ds, pa.Table.from_pylist(fresh, schema=ds.schema) if fresh else ds.schema.empty_table())
            report.accepted += accepted
            report.flagged += sum(1 for r in fresh if r.get("flags"))
        qrows = []
        qexisting = _existing_keys(self.lake, R.QUARANTINE)
        for ref in refusals:
            row = {
                "dataset": ref.dataset, "rule": ref.rule, "field": ref.field, "value": ref.value,
                "message": ref.message, "file": ref.file, "line": ref.line,
                "raw": ref.raw if isinstance(ref.raw, str) else _json(ref.raw),
                "record_hash": ref.record_hash(), "knowledge_time": now, "ingested_at": now, "source": source,
                "ingest_id": ingest_id,
            }
            key = (source, ref.dataset, row["record_hash"], ref.rule)
            if key in qexisting:
                continue
            qexisting.add(key)
            qrows.append(row)
            report.by_rule[ref.rule] = report.by_rule.get(ref.rule, 0) + 1
        if qrows:
            self.lake.append(R.QUARANTINE, pa.Table.from_pylist(qrows, schema=R.QUARANTINE.schema))
        report.quarantined = len(qrows)
        if rebuild and (set(records) & MASTER_INPUTS) and (report.accepted or report.retracted
                                                            or not self.lake.exists(R.LISTINGS)):
            report.master_flags = self.rebuild(progress)
        return report

    def _known_mics(self) -> set[str]:
        if not self.lake.exists(R.EXCHANGES):
            return set()
        return set(self.lake.read(R.EXCHANGES, columns=["mic"]).column("mic").to_pylist())

    # -- derived master ---------------------------------------------------------------------------
    def context(self) -> Context:
        ctx = Context()
        if self.lake.exists(R.EXCHANGES):
            t = self.lake.read(R.EXCHANGES, columns=["mic", "country"]).to_pylist()
            ctx.mic_country = {r["mic"]: r["country"] for r in t if r["country"]}
        if self.lake.exists(R.COUNTRIES):
            for r in self.lake.read(R.COUNTRIES).to_pylist():
                for n in (r["name"], r["official_name"], r["alpha3"]):
                    if n:
                        ctx.country_codes[n.upper()] = r["alpha2"]
                        short = n.split(",")[0].upper()
                        ctx.country_codes.setdefault(short, r["alpha2"])
            for alias, code in _COUNTRY_ALIASES.items():
                ctx.country_codes.setdefault(alias, code)
        if self.lake.exists(R.CURRENCIES):
            for r in self.lake.read(R.CURRENCIES).to_pylist():
                ctx.currency_countries[r["code"]] = {c for c in (ctx.country(n) for n in r["countries"] or []) if c}
        return ctx

    def rebuild(self, progress: Progress | None = None) -> int:
        """Derive the master from every observation; append what changed. Returns the number of new flags."""
        step = progress or (lambda name, k, n: None)
        step("master: reading observations", 0, 8)
        obs = self.lake.read(R.REF_OBSERVATIONS, where="NOT coalesce(retracted, false)").to_pylist()
        reg_rows = self.lake.read(R.ID_REGISTRY, columns=["kind", "key", "id"]).to_pylist() \
            if self.lake.exists(R.ID_REGISTRY) else []
        registry = Registry((r["kind"], r["key"], r["id"]) for r in reg_rows)
        step("master: replaying snapshots", 1, 8)
        master = build_master(obs, registry, self.context())
        horizon = max((o["snapshot_date"] for o in obs), default=date.today())
        idx_obs = self.lake.read(R.INDEX_OBSERVATIONS, where="NOT coalesce(retracted, false)").to_pylist() \
            if self.lake.exists(R.INDEX_OBSERVATIONS) else []
        if idx_obs:
            horizon = max(horizon, max(o["snapshot_date"] for o in idx_obs))
        at, after = _ticker_index(master.listings, master.identifiers)
        members, mflags = build_membership(idx_obs, at, after)
        now = datetime.now(timezone.utc)
        kt = _utc(horizon)
        prov = {"knowledge_time": kt, "ingested_at": now, "source": "marketwire.build", "ingest_id": "build-"
                + uuid.uuid4().hex[:10]}
        if master.registry_new:
            self.lake.append(R.ID_REGISTRY, pa.Table.from_pylist(
                [{"kind": k, "key": key, "id": i, **prov} for k, key, i in master.registry_new],
                schema=R.ID_REGISTRY.schema))
        new_flags = 0
        for k, (ds, rows) in enumerate(((R.ISSUERS, master.issuers), (R.SECURITIES, master.securities),
                         (R.LISTINGS, master.listings), (R.IDENTIFIERS, master.identifiers),
                         (R.INDEX_MEMBERSHIP, members), (R.REF_FLAGS, master.flags + mflags))):
            step(f"master: writing {ds.name}", 2 + k, 8)
            n = self._write_changes(ds, rows, prov)
            if ds is R.REF_FLAGS:
                new_flags = n
        return new_flags

    def _write_changes(self, ds: Dataset, rows: list[dict[str, Any]], prov: dict[str, Any]) -> int:
        content = [c for c in ds.columns if c not in ("knowledge_time", "ingested_at", "source", "ingest_id")]
        for r in rows:
            r["retracted"] = False
        new = pl.from_arrow(pa.Table.from_pylist([{c: r.get(c) for c in content} for r in rows],
                                                 schema=pa.schema([ds.schema.field(c) for c in content])))
        assert isinstance(new, pl.DataFrame)
        cur_t = self.lake.read(ds, columns=content) if self.lake.exists(ds) else None
        cur = pl.from_arrow(cur_t) if cur_t is not None and cur_t.num_rows else new.clear()
        assert isinstance(cur, pl.DataFrame)
        cur = cur.filter(~pl.col("retracted").fill_null(False))
        h = pl.struct(content).hash(seed=7)
        new_h = new.with_columns(_h=h)
        cur_h = cur.with_columns(_h=h)
        changed = new_h.join(cur_h.select("_h"), on="_h", how="anti").drop("_h")
        keys = list(ds.key)
        gone = cur.join(new.select(keys), on=keys, how="anti", nulls_equal=True).with_columns(
            retracted=pl.lit(True))
        out = pl.concat([changed, gone]) if gone.height else changed
        if out.height == 0:
            return 0
        t = out.to_arrow()
        for k, v in prov.items():
            t = t.append_column(k, pa.array([v] * t.num_rows, type=ds.schema.field(k).type))
        return self.lake.append(ds, t)


def _ticker_index(listings: list[dict[str, Any]], identifiers: list[dict[str, Any]]
                  ) -> tuple[Callable[[str, date], str | None], Callable[[str, date, str | None], str | None]]:
    """Lookups of US listings by ticker: valid on a date, and first after a date with an agreeing name."""
    from marketwire.identity.lineage import US_MICS
    from marketwire.sources.classify import same_entity_name

    mic = {l["listing_id"]: l["mic"] for l in listings}
    by: dict[str, list[tuple[str, date | None, date | None]]] = {}
    for i in identifiers:
        if i["scheme"] in ("ticker", "symbol") and mic.get(i["entity_id"]) in US_MICS:
            by.setdefault(i["value"], []).append((i["entity_id"], i["valid_from"], i["valid_to"]))
    rank = {m: k for k, m in enumerate(("XNYS", "XNAS", "XASE", "ARCX", "BATS", "IEXG", "OTCM"))}

    def at(ticker: str, d: date) -> str | None:
        c = [e for e, vf, vt in by.get(ticker, []) if (vf is None or vf <= d) and (vt is None or vt > d)]
        c = sorted(set(c), key=lambda e: rank.get(mic.get(e) or "", 99))
        return c[0] if c else None

    names = {l["listing_id"]: l["name"] for l in listings}

    def after(ticker: str, d: date, name: str | None) -> str | None:
        c = sorted((vf, rank.get(mic.get(e) or "", 99), e) for e, vf, vt in by.get(ticker, [])
                   if vf is not None and vf > d)
        for _, _, e in c:
            if same_entity_name(names.get(e), name):
                return e
        return None

    return at, after


def _json(obj: Any) -> str:
    import json

    return json.dumps(obj, default=str, ensure_ascii=False, sort_keys=True)


#: Everyday English names that ISO 3166 spells otherwise (data sources use these)
_COUNTRY_ALIASES = {
    "UNITED STATES": "US", "USA": "US", "UNITED KINGDOM": "GB", "UK": "GB", "SOUTH KOREA": "KR",
    "KOREA": "KR", "TAIWAN": "TW", "RUSSIA": "RU", "IRAN": "IR", "VIETNAM": "VN", "CZECH REPUBLIC": "CZ",
    "BOLIVIA": "BO", "VENEZUELA": "VE", "TANZANIA": "TZ", "MOLDOVA": "MD", "MACAU": "MO", "MACAO": "MO",
    "HONG KONG": "HK", "NETHERLANDS": "NL", "TURKEY": "TR", "SYRIA": "SY", "LAOS": "LA",
    "BRITISH VIRGIN ISLANDS": "VG", "CAYMAN ISLANDS": "KY", "IVORY COAST": "CI", "EUROPEAN UNION": "EU",
}
