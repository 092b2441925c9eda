"""The fundamentals service: SEC facts as reported and point in time, standardised statements, ratios.

``mw.fundamentals`` (opened by the facade, which injects the prices vertical's split ledger and closing prices as
callables; this vertical never imports another).

>>> mw.fundamentals.facts("AAPL", tag="EarningsPerShareDiluted", fy=2023)             # doctest: +SKIP
>>> mw.fundamentals.statement("CIK:320193", "income", period="annual", as_of="2021-06-30")  # doctest: +SKIP
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from collections.abc import Callable
from datetime import date
from typing import Any

import polars as pl

from marketwire.datasets import fundamentals as F
from marketwire.engine import Job
from marketwire.engine.core import RecordStage
from marketwire.errors import Ambiguous, InvalidInput, NotFound
from marketwire.fundamentals import layout, periods
from marketwire.fundamentals import verify as V
from marketwire.fundamentals.standardise import STATEMENTS, line_items, load_mapping, unit_fits_expr
from marketwire.sources.base import Batch, FrameBatch, Refusal
from marketwire.store.lake import arrow_of
from marketwire.timeparse import parse_day

#: split events of an issuer: ``fn(listing_ids) -> [(ex_date, ratio)]`` (ratio = new shares per old share)
SplitsFn = Callable[[list[str]], list[tuple[date, float]]]
#: closing price of a listing on or before a date: ``fn(listing_id, date) -> (date, close, currency) | None``
CloseFn = Callable[[str, date], tuple[date, float, str | None] | None]

PERIODS = ("annual", "quarter", "ttm")
ADJUST = ("none", "splits")
FACT_COLUMNS = ["tag", "unit", "start", "end", "value", "fy", "fp", "form", "accession", "filed", "taxonomy",
                "fiscal_year", "fiscal_period", "dims", "frame", "flags"]


class FactsStage:
    """Ingest stage of ``sec_facts``: the issuer id through the identity service, the verification rules over the
    issuer's facts (delivered and stored), refusals to the quarantine, then the write by key (insert)."""

    writes = ("sec_facts",)

    def __init__(self, service: FundamentalsService) -> None:
        self.service = service

    def run(self, job: Job, batches: list[Any]) -> None:
        frames, refusals = [], []
        for b in batches:
            if not isinstance(b, FrameBatch):
                raise TypeError(f"sec_facts expects frame batches, got {type(b).__name__}")
            refusals += b.refusals
            if b.frame.height:
                frames.append(b.frame)
        job.refuse(refusals)
        if not frames:
            return
        frames = [self._with_filing(b) if b.meta.get("needs_filing") else b.frame for b in batches if b.frame.height]
        new = pl.concat(frames, how="vertical_relaxed")
        new = self._impossible(job, new)
        new = self._conflicts(job, new)
        ciks = new.get_column("cik").unique().to_list()
        ids = {c: self.service.issuer_of_cik(c) for c in ciks}
        new = new.with_columns(pl.col("cik").replace_strict(ids, default=None, return_dtype=pl.Utf8)
                               .alias("issuer_id"))
        stored = self.service.stored(ciks)
        if stored.height:
            new = self._disagreements(job, new, stored)
            stored = stored.select(new.columns).cast(new.schema)  # type: ignore[arg-type]
            both = pl.concat([new, stored], how="vertical_relaxed")
            mark = pl.Series([True] * new.height + [False] * stored.height)
        else:
            both, mark = new, pl.Series([True] * new.height)
        checked = V.check(both, mark).head(new.height)
        fl = checked.get_column("_flags")
        old = new.get_column("flags").fill_null("").str.split(",")
        merged = [",".join(sorted({x for x in a if x} | set(b))) or None for a, b in zip(old.to_list(), fl.to_list())]
        new = new.with_columns(pl.Series("flags", merged, dtype=pl.Utf8))
        before = self.service.lake.committed_version(F.SEC_FACTS)
        w = job.commit(F.SEC_FACTS, new)
        job.report.accepted += w.accepted
        job.report.unchanged += w.unchanged
        app = w.appended
        if app.height:
            self.service.update_layouts(ciks, before, self.service.lake.committed_version(F.SEC_FACTS))
        job.report.flagged += int(app.get_column("flags").is_not_null().sum()) if app.height else 0
        for code, n in _flag_counts(app).items():
            job.report.count(code, n)
        self.service.invalidate()

    def _with_filing(self, b: FrameBatch) -> pl.DataFrame:
        """An instance document's facts with the accession and filing date of the filing it belongs to."""
        m = b.meta
        acc, filed = m.get("accession"), parse_day(m.get("filed"), "filed")
        if not acc or filed is None:
            found = self.service.filing_of(m)
            if found is None:
                raise InvalidInput(f"{m['instance']}: no filing is known for CIK {m['cik']} {m.get('form')} with "
                                   f"period end {m.get('period_end')}: ingest the issuer's sec-submissions or "
                                   "sec-companyfacts first", param="paths", value=m["instance"])
            acc, filed = found
        return b.frame.with_columns(pl.lit(acc).alias("accession"), pl.lit(filed, pl.Date).alias("filed"))

    def _disagreements(self, job: Job, new: pl.DataFrame, stored: pl.DataFrame) -> pl.DataFrame:
        """A fact another source already stored under the same key with another value: the stored value stays, this
        reading goes to the quarantine (``fact.source_disagreement``) with both values."""
        key = list(F.SEC_FACTS.key)
        cur = stored.select(key + [pl.col("value").alias("_stored"), pl.col("source").alias("_src")]).unique(key)
        j = new.join(cur, on=key, how="left")
        diff = j.filter(pl.col("_stored").is_not_null()
                        & ((pl.col("value") - pl.col("_stored")).abs() > 1e-9 * pl.col("_stored").abs()))
        if not diff.height:
            return new
        rs = _refusals(diff.drop("_stored", "_src"), "fact.source_disagreement", "differs from the stored value")
        for r, (sv, src) in zip(rs, diff.select("_stored", "_src").iter_rows()):
            r.message += f" {sv!r} ({src})"
        job.refuse(rs)
        return new.join(diff.select(key), on=key, how="anti")

    def _impossible(self, job: Job, f: pl.DataFrame) -> pl.DataFrame:
        bad = [V.impossible(s, e, d) for s, e, d in zip(f.get_column("start").to_list(), f.get_column("end").to_list(),
                                                          f.get_column("filed").to_list())]
        if not any(bad):
            return f
        m = pl.Series(bad)
        job.refuse(_refusals(f.filter(m), "fact.impossible_period", "the period is impossible"))
        return f.filter(~m)

    def _conflicts(self, job: Job, f: pl.DataFrame) -> pl.DataFrame:
        key = list(F.SEC_FACTS.key)
        f = f.unique(key + ["value"], keep="first", maintain_order=True)  # the same value twice is one fact
        dup = f.select(pl.struct(key).is_duplicated()).to_series()
        if not dup.any():
            return f
        first = f.select(pl.struct(key).is_first_distinct()).to_series()
        copies = f.filter(dup & ~first)
        job.refuse(_refusals(copies, "fact.conflict_copy", "another value for this fact in the same filing"))
        kept = f.filter(first)
        conflicted = kept.join(copies.select(key).unique(), on=key, how="semi").select(key).with_columns(
            pl.lit(True).alias("_c"))
        kept = kept.join(conflicted, on=key, how="left").with_columns(
            pl.when(pl.col("_c")).then(pl.concat_str([pl.col("flags").fill_null(""), pl.lit("fact.conflict_in_filing")],
                                                     separator=",").str.strip_chars(","))
            .otherwise(pl.col("flags")).alias("flags")).drop("_c")
        return kept


class FilingsStage:
    """Ingest stage of ``sec_filings``: the filings by key (insert), and the issuer's tickers through the default
    record stage into ``ref_observations`` (verified like every reference feed; the master rebuild follows)."""

    writes = ("sec_filings", "ref_observations")

    def run(self, job: Job, batches: list[Any]) -> None:
        records, refusals, reference = [], [], []
        for b in batches:
            records += b.records
            refusals += b.refusals
            reference += getattr(b, "reference", [])
        job.refuse(refusals)
        w = job.commit(F.SEC_FILINGS, records)
        job.report.accepted += w.accepted
        job.report.unchanged += w.unchanged
        if reference:
            RecordStage().run(job, [Batch("ref_observations", reference)])


class FsdsStage:
    """Ingest stage of ``sec_fsds_facts``: columnar, by key (insert); refusals to the quarantine."""

    writes = ("sec_fsds_facts",)

    def run(self, job: Job, batches: list[Any]) -> None:
        frames = [b.frame for b in batches if b.frame.height]
        for b in batches:
            job.refuse(b.refusals)
        if not frames:
            return
        w = job.commit(F.SEC_FSDS_FACTS, pl.concat(frames, how="vertical_relaxed"))
        job.report.accepted += w.accepted
        job.report.unchanged += w.unchanged


def _refusals(rows: pl.DataFrame, rule: str, msg: str) -> list[Any]:
    out = []
    for r in rows.iter_rows(named=True):
        raw = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items() if k not in ("file", "line")}
        out.append(Refusal(rule, f"{r['taxonomy']}:{r['tag']} {r['unit']} {r['period']} in {r['accession']}: {msg}",
                           r.get("file"), r.get("line"), raw, field="value", value=str(r["value"]),
                           dataset="sec_facts"))
    return out


def _flag_counts(app: pl.DataFrame) -> dict[str, int]:
    if not app.height:
        return {}
    s = app.get_column("flags").drop_nulls().str.split(",").explode()
    return {k: int(v) for k, v in s.value_counts().iter_rows()}


class FundamentalsService:
    """Facts, statements and ratios over the lake's ``sec_facts`` (point in time by filing date)."""

    def __init__(self, lake: Any, engine: Any, identity: Any, home: Any = None, *, splits: SplitsFn | None = None,
                 close: CloseFn | None = None) -> None:
        self.lake, self.engine, self.identity = lake, engine, identity
        self.splits_fn, self.close_fn = splits, close
        extra = (home / "fundamentals_mapping.csv") if home is not None else None
        self.mapping = load_mapping(str(extra) if extra is not None and extra.is_file() else None)
        self._cache: dict[int, tuple[Any, pl.DataFrame, pl.DataFrame]] = {}
        self._layout_cache: dict[int, tuple[pl.DataFrame, pl.DataFrame]] = {}
        self.layouts = layout.LayoutStore(home / "cache" / "fundamentals-layout") if home is not None else None
        self._stamp = layout.mapping_stamp(self.mapping)
        self._lock = threading.Lock()
        engine.stage(F.SEC_FACTS.name, FactsStage(self))
        engine.stage(F.SEC_FILINGS.name, FilingsStage())
        engine.stage(F.SEC_FSDS_FACTS.name, FsdsStage())

    # -- storage ------------------------------------------------------------------------------------------------------
    def invalidate(self) -> None:
        with self._lock:
            self._cache.clear()

    def stored(self, ciks: list[int]) -> pl.DataFrame:
        """Every stored fact version of ``ciks``. On a local lake, DuckDB reads the Parquet files of the table's
        current version directly with the CIK pushed down (row groups of other issuers are skipped by their
        statistics); elsewhere through :meth:`Lake.read`."""
        if not self.lake.exists(F.SEC_FACTS):
            return pl.DataFrame()
        root = self.lake.uri(F.SEC_FACTS.name)
        if "://" in root and not root.startswith("file://"):
            t = self.lake.read(F.SEC_FACTS, where="cik IN (SELECT unnest(?))", params=[ciks], latest=False)
        else:
            from marketwire.store import duck

            base = Path(root.removeprefix("file://"))
            paths = [str(base / p) for p in self.lake.files(F.SEC_FACTS).column("path").to_pylist()]
            if not paths:
                return pl.DataFrame()
            con = duck.connect()
            try:
                t = F.SEC_FACTS.conform(arrow_of(con.execute(
                    "SELECT * FROM read_parquet(?, union_by_name = true) WHERE cik IN (SELECT unnest(?))",
                    [paths, ciks])))
            finally:
                con.close()
        df = pl.from_arrow(t)
        assert isinstance(df, pl.DataFrame)
        return df

    def company(self, cik: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Every stored fact version of the issuer (with fiscal labels) and its fiscal-year anchors; cached until
        the table changes."""
        version = self.lake.version(F.SEC_FACTS)
        with self._lock:
            hit = self._cache.get(cik)
            if hit is not None and hit[0] == version:
                return hit[1], hit[2]
        f = self.stored([cik])
        if not f.height:
            raise NotFound(f"no SEC facts are stored for CIK {cik} (marketwire ingest sec-companyfacts PATH)",
                           param="id", value=f"CIK:{cik}")
        f = f.select(["cik", "issuer_id", "taxonomy", "tag", "unit", "start", "end", "period", "dims", "value", "fy",
                      "fp", "form", "accession", "filed", "frame", "flags", "knowledge_time", "source"])
        anc = periods.anchors(f)
        f = periods.label(f, anc).sort("filed", "accession")
        with self._lock:
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[cik] = (version, f, anc)
        return f, anc

    # -- statement layouts on disk ---------------------------------------------------------------------------------
    def stored_layout(self, cik: int) -> pl.DataFrame | None:
        """The issuer's statement layout from the layout store, when the store is current for the table's version
        and the mapping table (see :mod:`marketwire.fundamentals.layout`)."""
        if self.layouts is None:
            return None
        return self.layouts.get(cik, self.lake.version(F.SEC_FACTS), self._stamp)

    def _layouts_of(self, ciks: list[int]) -> dict[int, pl.DataFrame]:
        """Layouts of ``ciks`` from the stored facts (read in one pass, labelled per issuer)."""
        out: dict[int, pl.DataFrame] = {}
        if not ciks:
            return out
        allf = self.stored(ciks)
        if not allf.height:
            return out
        cols = ["cik", "issuer_id", "taxonomy", "tag", "unit", "start", "end", "period", "dims", "value", "fy", "fp",
                "form", "accession", "filed", "frame", "flags", "knowledge_time", "source"]
        for (cik,), f in allf.select(cols).partition_by("cik", as_dict=True, maintain_order=False).items():
            f = periods.label(f, periods.anchors(f)).sort("filed", "accession")
            x = self._mapped(f, None)
            out[int(cik)] = layout.build(x)
        return out

    def update_layouts(self, ciks: list[int], before: int | None, after: int | None) -> None:
        """After a commit of ``sec_facts`` (table version ``before`` -> ``after``) that touched ``ciks``: their
        layouts rebuilt; the store stays current when it was current for ``before``."""
        if self.layouts is None or after is None or after == before:
            return
        m = self.layouts.manifest()
        if m is None and before is not None:
            return  # facts stored before layouts existed: build_layouts() makes them
        self.layouts.write(self._layouts_of(ciks), after, self._stamp, since=before if m is not None else "any")

    def build_layouts(self, chunk: int = 100) -> dict[str, Any]:
        """(Re)build the statement layouts of every issuer stored (after facts were written around the ingest
        engine, or with a new mapping table), ``chunk`` issuers at a time (one segment each, so memory stays that of
        one chunk); returns issuers, rows and bytes."""
        if self.layouts is None:
            raise InvalidInput("the fundamentals service has no home to keep layouts in", param="home")
        version = self.lake.version(F.SEC_FACTS)
        ciks = self.ciks()
        issuers: dict[str, list[Any]] = {}
        rows = 0
        for i in range(0, len(ciks), chunk):
            lays = self._layouts_of(ciks[i:i + chunk])
            rows += sum(x.height for x in lays.values())
            issuers.update(self.layouts.write_segment(lays))
        self.layouts.publish(issuers, version, self._stamp)
        return {"issuers": len(issuers), "rows": rows, "bytes": self.layouts.bytes()}

    def ciks(self) -> list[int]:
        if not self.lake.exists(F.SEC_FACTS):
            return []
        t = self.lake.read(F.SEC_FACTS, columns=["cik"], latest=False)
        return sorted(pl.from_arrow(t.column("cik")).unique().to_list())  # type: ignore[union-attr]

    # -- identity -------------------------------------------------------------------------------------------------
    def issuer_of_cik(self, cik: int) -> str | None:
        try:
            ms = self.identity.resolve(f"CIK:{cik}")
        except Exception:  # noqa: BLE001 - the master may not know the issuer yet: stored with the CIK alone
            return None
        return ms[0].get("issuer_id") if ms else None

    def resolve(self, id: str) -> tuple[int, dict[str, Any] | None]:
        """(CIK, identity match) of anything the identity service resolves; ``CIK:n`` of an issuer the master does
        not know still names the stored facts of that CIK."""
        text = (id or "").strip()
        if not text:
            raise InvalidInput("`id`: empty", param="id")
        match: dict[str, Any] | None = None
        try:
            ms = self.identity.resolve(text)
            match = dict(ms[0])
        except NotFound:
            match = None
        except Ambiguous as e:
            # several listings or share classes of one issuer (GOOGL, GOOG): the issuer is what the facts describe
            cands = [dict(c) for c in (e.fields.get("candidates") or [])]
            issuers = {c.get("issuer_id") for c in cands}
            if len(issuers) != 1 or None in issuers:
                raise
            match = cands[0]
            match["listings"] = [x for c in cands for x in (c.get("listings") or [])]
        cik = None
        if match is not None:
            cik = (match.get("identifiers") or {}).get("cik")
            if cik is None and match.get("issuer_id"):
                try:
                    iss = self.identity.resolve(match["issuer_id"])
                    cik = (iss[0].get("identifiers") or {}).get("cik")
                except NotFound:
                    cik = None
        if cik is None:
            t = text.upper().removeprefix("CIK:").removeprefix("CIK").strip()
            if t.isdigit():
                cik = t
        if cik is None:
            raise NotFound(f"{id!r}: no CIK is known for it (the securities master has no SEC CIK for this issuer)",
                           param="id", value=id)
        return int(str(cik).lstrip("0") or "0"), match

    # -- facts ----------------------------------------------------------------------------------------------------
    def facts(self, id: str, tag: str | None = None, fy: int | None = None, as_of: Any = None,
              all_versions: bool = False, first_reported: bool = False, taxonomy: str | None = None,
              unit: str | None = None) -> pl.DataFrame:
        """Facts as reported: per (tag, unit, period, dimensions) the latest version filed at or before ``as_of``
        (default: now), or the first one reported (``first_reported``), or every version (``all_versions``).
        ``fy`` is the fiscal year of the *period* (derived from the issuer's fiscal calendar)."""
        cik, _ = self.resolve(id)
        f, _ = self.company(cik)
        when = parse_day(as_of, "as_of")
        if tag:
            f = f.filter(pl.col("tag") == tag)
        if taxonomy:
            f = f.filter(pl.col("taxonomy") == taxonomy)
        if unit:
            f = f.filter(pl.col("unit") == unit)
        if fy is not None:
            f = f.filter(pl.col("fiscal_year") == int(fy))
        if all_versions:
            if when is not None:
                f = f.filter(pl.col("filed") <= when)
        else:
            f = periods.as_of(f, when, "first" if first_reported else "latest")
        return f.sort(["taxonomy", "tag", "unit", "end", "start", "filed"]).select(FACT_COLUMNS)

    # -- statements -----------------------------------------------------------------------------------------------
    def statement(self, id: str, statement: str = "income", period: str = "annual", as_of: Any = None,
                  adjust: str = "none", wide: bool = False) -> Any:
        """A standardised statement (long form: line_item, period_end, value, unit ...; ``wide``: line items as
        rows, period ends as columns) from the facts known at ``as_of``."""
        if statement not in STATEMENTS:
            raise InvalidInput(f"`statement`: {statement!r} is not one of {', '.join(STATEMENTS)}",
                               param="statement", value=str(statement))
        if period not in PERIODS:
            raise InvalidInput(f"`period`: {period!r} is not one of {', '.join(PERIODS)}", param="period",
                               value=str(period))
        if adjust not in ADJUST:
            raise InvalidInput(f"`adjust`: {adjust!r} is not one of {', '.join(ADJUST)}", param="adjust",
                               value=str(adjust))
        cik, match = self.resolve(id)
        when = parse_day(as_of, "as_of")
        lay = self.stored_layout(cik)
        f = None
        if lay is None:
            f, _ = self.company(cik)
        out = self._statement(f, statement, period, when, lay=lay)
        if adjust == "splits" and out.height:
            if f is None:
                f, _ = self.company(cik)
            out = self._adjust(out, f, match, id)
        if wide:
            return out.pivot(on="period_end", index=["line_item", "label", "unit"], values="value")
        return out

    def _mapped(self, f: pl.DataFrame, statement: str | None) -> pl.DataFrame:
        """Every version of the facts the mapping table maps for ``statement`` (consolidated, in a unit that fits the
        line item, a period of the line item's kind), sorted by filing date (not cached: :meth:`_layout` keeps what
        reads need)."""
        m = self.mapping if statement is None else self.mapping.filter(pl.col("statement") == statement)
        x = f.filter(pl.col("dims") == "").join(
            m.select("taxonomy", "tag", "line_item", "statement", "kind", "unit_kind", "priority", "label", "order"),
            on=["taxonomy", "tag"], how="inner")
        x = x.filter(unit_fits_expr(pl.col("unit_kind"), pl.col("unit")))
        x = x.filter(((pl.col("kind") == "instant") & pl.col("start").is_null())
                     | ((pl.col("kind") == "duration") & pl.col("start").is_not_null()))
        return x.sort(["filed", "accession"])

    def _layout(self, f: pl.DataFrame) -> pl.DataFrame:
        """The issuer's statement layout from its facts (cached with them): see :func:`layout.build`."""
        key = id(f)
        hit = self._layout_cache.get(key)
        if hit is not None and hit[0] is f:
            return hit[1]
        x = self._mapped(f, None)
        built = layout.build(x)
        with self._lock:
            if len(self._layout_cache) > 1024:
                self._layout_cache.clear()
            self._layout_cache[key] = (f, built)
        return built

    def _values(self, f: pl.DataFrame | None, statement: str | None, when: date | None,
                annual: bool = False, lay: pl.DataFrame | None = None) -> pl.DataFrame:
        """Per (line item, unit, period) the value known at ``when``: of each fact its latest version filed by
        then, of the tags of a line item the best-ranked one (the mapping's priority), latest filed on a tie."""
        if lay is None:
            assert f is not None
            lay = self._layout(f)
        return layout.select(lay, statement, when, annual)

    def _statement(self, f: pl.DataFrame | None, statement: str, period: str, when: date | None,
                   lay: pl.DataFrame | None = None) -> pl.DataFrame:
        x = self._values(f, statement, when, annual=period == "annual", lay=lay)
        cols = ["line_item", "label", "order", "kind", "unit_kind", "tag", "accession", "start", "end", "value",
                "unit", "filed", "months", "fiscal_year", "fiscal_period"]
        if period == "annual":  # _values kept the 12-month durations and the fiscal-year-end instants
            return x.lazy().sort(["order", "end", "unit"]).select(
                "line_item", pl.col("end").alias("period_end"), "value", "unit", pl.col("start").alias("period_start"),
                "fiscal_year", "fiscal_period", "label", "tag", "accession", "filed", pl.lit(False).alias("derived"),
                "unit_kind").collect()
        else:
            x = x.select(cols)
            dur = x.filter(pl.col("kind") == "duration")
            inst = x.filter(pl.col("kind") == "instant")
            meta = x.select("line_item", "label", "order", "kind", "unit_kind").unique("line_item")
            base = dur.select("line_item", "start", "end", "value", "unit", "filed", "months", "fiscal_year",
                              "fiscal_period")
            q_money = periods.derive_quarters(base.join(meta.filter(pl.col("unit_kind") != "shares"),
                                                        on="line_item", how="semi"))
            q_shares = periods.derive_quarters(base.join(meta.filter(pl.col("unit_kind") == "shares"),
                                                         on="line_item", how="semi"), difference=False)
            q = pl.concat([q_money, q_shares])
            if period == "ttm":
                q = periods.ttm(q.join(meta.filter(pl.col("unit_kind") != "shares"), on="line_item", how="semi"))
            tag_of = dur.select("line_item", "start", "end", "tag", "accession")
            dur = q.join(meta, on="line_item").join(tag_of, on=["line_item", "start", "end"], how="left")
            inst = inst.filter(pl.col("fiscal_period").is_in(["Q1", "Q2", "Q3", "FY"])).with_columns(
                pl.lit(False).alias("derived"))
        out = pl.concat([dur.select(cols + ["derived"]), inst.select(cols + ["derived"])], how="vertical_relaxed")
        # one currency per line item: the one most periods use
        out = out.sort(["order", "end", "unit"])
        return out.rename({"end": "period_end", "start": "period_start"}).select(
            "line_item", "period_end", "value", "unit", "period_start", "fiscal_year", "fiscal_period", "label",
            "tag", "accession", "filed", "derived", "unit_kind")

    # -- splits ---------------------------------------------------------------------------------------------------
    def split_events(self, f: pl.DataFrame, match: dict[str, Any] | None,
                     id_: str | None = None) -> tuple[list[tuple[date, float]], str]:
        """Split events of the issuer: from the prices' corporate-action ledger when it has any for the issuer's
        listings, else inferred from the issuer's own restatements of per-share facts."""
        if self.splits_fn is not None:
            ids = _candidates(id_, match)
            ev = self.splits_fn(ids) if ids else []
            if ev:
                return sorted(ev), "ledger"
        return infer_splits(f), "restatements"

    def _adjust(self, out: pl.DataFrame, f: pl.DataFrame, match: dict[str, Any] | None,
                id_: str | None = None) -> pl.DataFrame:
        events, _ = self.split_events(f, match, id_)
        if not events:
            return out
        today = date.today()

        def factor(filed: date) -> float:
            k = 1.0
            for d, r in events:
                if filed < d <= today:
                    k *= r
            return k

        fac = [factor(d) for d in out.get_column("filed").to_list()]
        vals = out.get_column("value").to_list()
        kinds = out.get_column("unit_kind").to_list()
        new = []
        for v, k, kind in zip(vals, fac, kinds):
            if k == 1.0 or kind == "money":
                new.append(v)
            elif kind == "per_share":
                new.append(round(v / k, max(2, _decimals(v))))
            else:
                new.append(round(v * k))
        return out.with_columns(pl.Series("value", new, dtype=pl.Float64))

    def filings(self, id: str, form: str | None = None, as_of: Any = None) -> pl.DataFrame:
        """The issuer's filings known at ``as_of`` (filed at or before it), newest first."""
        cik, _ = self.resolve(id)
        if not self.lake.exists(F.SEC_FILINGS):
            raise NotFound("no filings are stored (marketwire ingest sec-submissions PATH)", param="id", value=id)
        df = pl.from_arrow(self.lake.read(F.SEC_FILINGS, where="cik = ?", params=[cik]))
        assert isinstance(df, pl.DataFrame)
        when = parse_day(as_of, "as_of")
        if when is not None:
            df = df.filter(pl.col("filed") <= when)
        if form:
            df = df.filter(pl.col("form") == form)
        return df.sort("filed", "accession", descending=True).select(
            "accession", "form", "filed", "accepted", "report_date", "amends", "primary_document", "is_xbrl", "name")

    def filing_of(self, meta: dict[str, Any]) -> tuple[str, date] | None:
        """(accession, filing date) of the filing an instance document belongs to: by its primary document in the
        filings index, else the report with the same form, fiscal year, period and period end in the facts."""
        cik, form, end = meta["cik"], meta.get("form"), parse_day(meta.get("period_end"), "period_end")
        stem = Path(str(meta.get("instance", ""))).name.split("!")[-1]
        stem = stem.removesuffix(".xml").removesuffix("_htm")
        if self.lake.exists(F.SEC_FILINGS):
            fl = pl.from_arrow(self.lake.read(F.SEC_FILINGS, where="cik = ?", params=[cik]))
            assert isinstance(fl, pl.DataFrame)
            hit = fl.filter(pl.col("primary_document").fill_null("").str.replace(r"\.[a-z]+$", "") == stem)
            if not hit.height and end is not None:
                hit = fl.filter((pl.col("report_date") == end) & (pl.col("form") == form))
            if hit.height:
                r = hit.sort("filed").row(0, named=True)
                return r["accession"], r["filed"]
        if end is None or not self.lake.exists(F.SEC_FACTS):
            return None
        st = self.stored([cik])
        hit = st.filter((pl.col("form") == form) & (pl.col("end") == end) & (pl.col("source") != "xbrl-instance"))
        if meta.get("fy") is not None:
            hit = hit.filter(pl.col("fy") == meta["fy"])
        if meta.get("fp"):
            hit = hit.filter(pl.col("fp") == meta["fp"])
        if not hit.height:
            return None
        r = hit.sort("filed", "accession").row(0, named=True)
        return r["accession"], r["filed"]

    def crosscheck(self, id: str, accession: str | None = None, instance: str | None = None) -> dict[str, Any]:
        """Compare the company facts of one filing with another reading of it: an XBRL instance document
        (``instance``) and/or the Financial Statement Data Sets (stored ``sec_fsds_facts`` of ``accession``).
        Consolidated facts (no dimensions) only, on every tag, unit and period both readings have."""
        from marketwire.sources.xbrl_instance import XbrlInstance

        cik, _ = self.resolve(id)
        f, _ = self.company(cik)
        out: dict[str, Any] = {"cik": cik, "checks": []}
        cf = f.filter((pl.col("dims") == "") & (pl.col("source") != "xbrl-instance"))
        if instance:
            src = XbrlInstance()
            raw = src.read(instance)
            batch = src.transform(src.query([instance]), raw)
            acc = accession or (self.filing_of(batch.meta) or (None, None))[0]
            if acc is None:
                raise NotFound(f"{instance}: no filing is known for it (ingest sec-submissions or sec-companyfacts)",
                               param="instance", value=instance)
            inst = batch.frame.filter(pl.col("dims") == "").select("taxonomy", "tag", "unit", "start", "end",
                                                                  pl.col("value").alias("other"))
            out["checks"].append(_compare(cf.filter(pl.col("accession") == acc), inst,
                                          ["taxonomy", "tag", "unit", "start", "end"], "xbrl-instance", acc))
        if accession and self.lake.exists(F.SEC_FSDS_FACTS):
            fs = pl.from_arrow(self.lake.read(F.SEC_FSDS_FACTS, where="accession = ?", params=[accession]))
            assert isinstance(fs, pl.DataFrame)
            fs = fs.filter((pl.col("segments") == "") & (pl.col("coreg") == "") & (pl.col("version") != accession))
            if fs.height:
                mine = cf.filter(pl.col("accession") == accession).with_columns(
                    pl.when(pl.col("start").is_null()).then(0).otherwise(
                        ((pl.col("end") - pl.col("start")).dt.total_days() / 91.31).round()).cast(pl.Int16)
                    .alias("qtrs"),
                    # the data sets round a period's end to the nearest month end
                    pl.when(pl.col("end").dt.day() > 15).then(pl.col("end").dt.month_end())
                    .otherwise(pl.col("end").dt.offset_by("-1mo").dt.month_end()).alias("end"))
                out["checks"].append(_compare(mine, fs.select("taxonomy", "tag", "unit", "end", "qtrs",
                                                              pl.col("value").alias("other")),
                                              ["taxonomy", "tag", "unit", "end", "qtrs"], "sec-fsds", accession))
        if not out["checks"]:
            raise InvalidInput("`crosscheck`: give an instance document, or the accession of a filing whose "
                               "Financial Statement Data Sets are stored", param="accession")
        return out

    # -- ratios -----------------------------------------------------------------------------------------------------
    def ratios(self, id: str, day: Any = None) -> dict[str, Any]:
        """Market cap, P/E (TTM), P/B, EV/EBITDA and dividend yield on ``day`` (default today), from the closing
        price of that day and the facts filed by then (see :mod:`marketwire.fundamentals.ratios`)."""
        from marketwire.fundamentals.ratios import ratios as compute

        d = parse_day(day, "date") or date.today()
        cik, match = self.resolve(id)
        f, _ = self.company(cik)
        known = f.filter(pl.col("filed") <= d)
        if not known.height:
            raise NotFound(f"{id}: nothing had been filed by {d.isoformat()}", param="date", value=d.isoformat())
        inc = self._statement(f, "income", "ttm", d)
        bal = self._statement(f, "balance", "quarter", d)
        cf = self._statement(f, "cash_flow", "ttm", d)
        so = periods.as_of(known.filter(pl.col("tag").is_in(["EntityCommonStockSharesOutstanding",
                                                               "CommonStockSharesOutstanding"])
                                        & (pl.col("unit") == "shares") & (pl.col("dims") == "")), d)
        shares = so.sort("end", "filed").tail(1).row(0, named=True) if so.height else None
        events, basis = self.split_events(f, match, id)
        listing, price = None, None
        if self.close_fn is not None:
            for cand in _candidates(id, match):
                price = self.close_fn(cand, d)
                if price is not None:
                    listing = cand
                    break
        out = {"id": id, "cik": cik, "issuer_id": (match or {}).get("issuer_id"), "listing_id": listing,
               "splits_from": basis}
        out.update(compute(inc, bal, cf, shares, price, d, events))
        return out

    # -- health -------------------------------------------------------------------------------------------------------
    def disagreements(self, a: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
        """Facts of two readings (tag, unit, start, end, value) that disagree; shared facts only."""
        key = ["tag", "unit", "start", "end"]
        j = a.select(key + ["value"]).join(b.select(key + [pl.col("value").alias("other")]), on=key, how="inner")
        return j.filter((pl.col("value") - pl.col("other")).abs() > 1e-9 * pl.col("value").abs() + 1e-9)


def _candidates(id_: str | None, match: dict[str, Any] | None) -> list[str]:
    """What the prices vertical may know the issuer's listing by: the id given, the listing ids and tickers."""
    out = [id_] if id_ else []
    for m in ([match] if match else []):
        if m.get("listing_id"):
            out.append(m["listing_id"])
        for x in m.get("listings") or []:
            out += [v for v in (x.get("listing_id"), x.get("ticker")) if v]
    return list(dict.fromkeys(out))


def _compare(cf: pl.DataFrame, other: pl.DataFrame, on: list[str], name: str, accession: str) -> dict[str, Any]:
    a = cf.select(on + ["value"])
    b = other
    # a reading with two values for one fact (a conflict within the filing) agrees when either value does
    j = a.join(b, on=on, how="inner", nulls_equal=True).with_columns(
        ((pl.col("value") - pl.col("other")).abs() <= 1e-9 * pl.col("value").abs() + 1e-9).alias("_ok"))
    j = j.sort("_ok", descending=True).unique(on, keep="first")
    a, b = a.unique(on), b.unique(on)
    bad = j.filter(~pl.col("_ok")).drop("_ok")
    return {"other": name, "accession": accession, "companyfacts": a.height, "other_facts": b.height,
            "shared": j.height, "agree": j.height - bad.height, "disagree": bad.height,
            "only_companyfacts": a.height - j.height, "only_other": b.height - j.height,
            "disagreements": bad.rename({"value": "companyfacts", "other": name}).to_dicts()}


def _decimals(v: float) -> int:
    s = repr(float(v))
    if "e" in s or "." not in s:
        return 0
    return len(s.split(".")[1].rstrip("0"))


def infer_splits(f: pl.DataFrame) -> list[tuple[date, float]]:
    """Splits the issuer's own filings reveal: a per-share fact (consolidated) restated by a later filing by a
    whole ratio n (2..50, forward) or 1/n (reverse); the event lies after the older filing and at or before the
    restating one. At least two restated facts must agree on the ratio and date."""
    x = f.filter(pl.col("unit").str.ends_with("/shares") & (pl.col("dims") == "") & (pl.col("value") != 0))
    if not x.height:
        return []
    x = x.sort("filed", "accession").select("tag", "unit", "period", "value", "filed")
    x = x.with_columns(pl.col("value").shift(1).over(["tag", "unit", "period"]).alias("prev"),
                       pl.col("filed").shift(1).over(["tag", "unit", "period"]).alias("prev_filed"))
    x = x.filter(pl.col("prev").is_not_null() & (pl.col("prev_filed") < pl.col("filed")))
    votes: dict[tuple[float, date], int] = {}
    for v, p, d in x.select("value", "prev", "filed").iter_rows():
        if v * p <= 0:
            continue
        r = p / v
        for ratio in (r, 1 / r):
            n = round(ratio)
            if 2 <= n <= 50 and abs(ratio - n) <= 0.02 * n:
                key = (float(n) if ratio == r else 1.0 / n, d)
                votes[key] = votes.get(key, 0) + 1
    by_ratio: dict[float, list[tuple[date, int]]] = {}
    for (ratio, d), n in votes.items():
        by_ratio.setdefault(ratio, []).append((d, n))
    out = []
    for ratio, ds in by_ratio.items():
        if sum(n for _, n in ds) >= 2:
            out.append((min(d for d, _ in ds), ratio))
    # one event per restating filing date window: keep the ratio with the most votes per first date
    return sorted(out)


__all__ = ["FundamentalsService", "FactsStage", "infer_splits", "math", "line_items"]
