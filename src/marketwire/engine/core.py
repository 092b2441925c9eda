"""The one ingest engine: ``source -> extract -> transform -> verify -> dedup -> quarantine -> append -> hooks``.

Every dataset, whoever delivers it, goes through :class:`Engine`:

1. the **source** lists its payloads (:meth:`~marketwire.sources.base.Source.locations`); each is read and
   transformed into a batch on the executor (threads, or the workers of a Dask cluster), in order;
2. the **stage** registered for the batch's dataset verifies it: by default, :class:`RecordStage` runs the
   verifiers registered for the dataset (:mod:`marketwire.verify.registry`) on every record; a vertical registers
   its own stage where it needs columnar work (daily bars: calendars, ticks, the corporate-action ledger);
3. the **write stage** (:func:`marketwire.engine.write.commit`) compares the verified records with what is stored,
   by the dataset's key and write mode, and appends what is new with its provenance (``knowledge_time``,
   ``ingested_at``, ``source``, ``ingest_id``);
4. the **quarantine** keeps every refusal with rule, field, raw value, file, line and raw record;
5. **post-commit hooks** registered by the services (the securities master rebuild, cache refreshes) run when a
   dataset they follow changed.

The driver is the only writer: workers return batches, the driver commits them. It holds the writer lock of
every dataset the delivery writes (:meth:`marketwire.store.Lake.writing`) from the first comparison with what is
stored to the last append, so concurrent deliveries of the same records, from any process, store them once.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

import polars as pl

from marketwire import datasets
from marketwire.datasets.base import Dataset
from marketwire.datasets.reference import QUARANTINE
from marketwire.engine.executor import ThreadExecutor, executor
from marketwire.engine.quarantine import refusals_frame
from marketwire.engine.write import Provenance, Written, commit
from marketwire.errors import InvalidInput
from marketwire.sources import Batch, Query, Refusal, get_source
from marketwire.store import Lake
from marketwire.timeparse import parse_day, parse_instant, utc_now
from marketwire.verify.registry import VerifyContext, verifiers_for
from marketwire.verify.rules import severity
from marketwire.verify.snapshots import check_mass_delisting

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

    def count(self, rule: str, n: int = 1) -> None:
        self.by_rule[rule] = self.by_rule.get(rule, 0) + n

    def outcomes(self) -> list[dict[str, Any]]:
        """Per rule that fired: ``quarantined`` (a reject rule) or ``flagged``, and how many records."""
        return [{"rule": r, "outcome": "quarantined" if severity(r) == "reject" else "flagged", "count": n}
                for r, n in sorted(self.by_rule.items())]


def read_and_transform(source: str, query: Query, location: str) -> list[Any]:
    """One task of a bulk ingest (runs on a worker): read one location and transform its payloads into batches."""
    src = get_source(source)
    return [src.transform(query, raw) for raw in src.payloads(location)]


class Stage(Protocol):
    """What a vertical registers for a dataset it verifies itself. A stage that writes datasets besides its own
    names them in a ``writes`` attribute (a tuple of dataset names): the engine locks them for the delivery."""

    def run(self, job: Job, batches: list[Any]) -> None: ...


@dataclass
class Job:
    """One delivery on its way through the engine: its provenance, its report, what it wrote and refused."""

    engine: Engine
    source: str
    ingest_id: str
    now: datetime
    knowledge_time: datetime
    report: IngestReport
    options: dict[str, Any] = field(default_factory=dict)
    progress: Progress | None = None
    written: dict[str, list[Written]] = field(default_factory=lambda: defaultdict(list))
    refused: list[pl.DataFrame] = field(default_factory=list)
    pending: list[Any] = field(default_factory=list)

    @property
    def lake(self) -> Lake:
        return self.engine.lake

    def provenance(self, source: str | None = None, knowledge_time: datetime | None = None) -> Provenance:
        return Provenance(knowledge_time or self.knowledge_time, self.now, source or self.source, self.ingest_id)

    def commit(self, ds: Dataset, records: Any, *, mode: str | None = None, source: str | None = None,
               knowledge_time: datetime | None = None, write: bool = True, unique: bool = False) -> Written:
        """The write stage for ``records`` of ``ds`` (see :func:`marketwire.engine.write.commit`)."""
        w = commit(self.lake, ds, records, self.provenance(source, knowledge_time), mode=mode, write=write,
                   unique=unique)
        self.written[ds.name].append(w)
        return w

    def refuse(self, refusals: Iterable[Refusal] | pl.DataFrame, source: str | None = None) -> None:
        """Quarantine rows (written once the stages have run)."""
        frame = refusals if isinstance(refusals, pl.DataFrame) else refusals_frame(refusals, source or self.source)
        if frame.height:
            self.refused.append(frame.with_columns(pl.col("source").fill_null(source or self.source)))

    def flush_quarantine(self) -> Written | None:
        if not self.refused:
            return None
        rows = pl.concat(self.refused, how="vertical_relaxed")
        self.refused = []
        w = self.commit(QUARANTINE, rows)
        self.report.quarantined += w.appended.height
        for code, n in w.appended.group_by("rule").len().iter_rows():
            self.report.count(code, n)
        return w

    def changed(self, names: Iterable[str]) -> bool:
        return any(w.appended.height for n in names for w in self.written.get(n, ()))


class RecordStage:
    """The default stage: records from :class:`~marketwire.sources.base.Batch` deliveries, every registered
    verifier on every record, then the write stage by the dataset's write mode."""

    def run(self, job: Job, batches: list[Any]) -> None:
        ds = datasets.get(batches[0].dataset)
        ctx = VerifyContext(job.source, ds.name, job.engine.tables(ds.name))
        checks = verifiers_for(ds.name)
        keep: list[dict[str, Any]] = []
        refusals: list[Refusal] = []
        for b in batches:
            if not isinstance(b, Batch):
                raise TypeError(f"source {job.source!r} delivers {type(b).__name__} for {ds.name}, which has no stage "
                                "for it")
            refusals += b.refusals
            for rec in b.records:
                dropped = False
                for finding in (x for fn in checks for x in fn(rec, ctx)):
                    if isinstance(finding, str) and severity(finding) == "reject":
                        # a reject rule reported as a bare code: the record goes to quarantine whole
                        finding = Refusal(finding, f"refused by {finding}", rec.get("file"), rec.get("line"),
                                          {k: v for k, v in rec.items() if k not in ("file", "line")},
                                          dataset=ds.name)
                    if isinstance(finding, str):
                        if "flags" in ds.columns:
                            rec["flags"] = sorted(set(rec.get("flags") or []) | {finding})
                    else:
                        refusals.append(finding)
                        dropped = dropped or not finding.kept
                if not dropped:
                    keep.append(rec)
        w = job.commit(ds, keep)
        job.refuse(refusals)
        job.report.accepted += w.accepted
        job.report.unchanged += w.unchanged
        job.report.retracted += w.retracted
        job.report.flagged += flagged(w.appended)


def flagged(frame: pl.DataFrame) -> int:
    """Live records of ``frame`` that carry a flag (a list of codes, or comma-separated codes)."""
    if "flags" not in frame.columns or not frame.height:
        return 0
    live = frame.filter(~pl.col("retracted").fill_null(False)) if "retracted" in frame.columns else frame
    fl = live.get_column("flags")
    has = fl.list.len().fill_null(0) > 0 if isinstance(fl.dtype, pl.List) else fl.fill_null("") != ""
    return int(has.sum())


Hook = Callable[[Job], None]


class Engine:
    """The ingest engine over one lake. Services register their stages, table providers and post-commit hooks;
    :meth:`ingest` runs a source's delivery through them."""

    def __init__(self, lake: Lake, scheduler: Any = None) -> None:
        self.lake = lake
        self.scheduler = scheduler
        self._stages: dict[str, Stage] = {}
        self._tables: list[Callable[[str], dict[str, Any]]] = []
        self._hooks: list[tuple[frozenset[str], str, Hook]] = []
        self._deferred: list[tuple[frozenset[str], Hook]] = []
        self._openers: list[Callable[[str], None]] = []

    # -- registration (by the services the facade composes) -----------------------------------------------------
    def stage(self, dataset: str, stage: Stage) -> None:
        self._stages[dataset] = stage

    def open_stages_with(self, fn: Callable[[str], None]) -> None:
        """``fn(dataset)`` is called the first time a delivery to ``dataset`` finds no stage registered for it: it
        may open the vertical that verifies ``dataset`` (which registers its stage then). So a write pays for the
        verticals its datasets belong to, not for every vertical the platform has."""
        self._openers.append(fn)

    def stage_for(self, dataset: str) -> Stage:
        """The stage registered for ``dataset`` (opening its vertical first, see :meth:`open_stages_with`), else the
        default :class:`RecordStage`."""
        if dataset not in self._stages:
            for fn in self._openers:
                fn(dataset)
                if dataset in self._stages:
                    break
        return self._stages.get(dataset, _RECORDS)

    def provide_tables(self, fn: Callable[[str], dict[str, Any]]) -> None:
        """``fn(dataset) -> {name: table}``: lookups the verifiers of ``dataset`` may use (e.g. known MICs)."""
        self._tables.append(fn)

    def tables(self, dataset: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for fn in self._tables:
            out.update(fn(dataset))
        return out

    def on_commit(self, datasets_: Iterable[str], name: str, fn: Hook) -> None:
        """Run ``fn(job)`` after a delivery that changed any of ``datasets_`` (unless the caller defers hooks);
        no datasets: after every delivery (e.g. a check that derived state is current)."""
        self._hooks.append((frozenset(datasets_), name, fn))

    def on_defer(self, datasets_: Iterable[str], fn: Hook) -> None:
        """Run ``fn(job)`` before a delivery to any of ``datasets_`` whose hooks the caller defers (``hooks=False``),
        e.g. to note that derived state is stale on purpose until a rebuild."""
        self._deferred.append((frozenset(datasets_), fn))

    def hooks_for(self, names: Iterable[str]) -> list[tuple[str, Hook]]:
        names = set(names)
        return [(n, fn) for ds, n, fn in self._hooks if not ds or ds & names]

    # -- a delivery -----------------------------------------------------------------------------------------------
    def job(self, source: str, as_of: Any = None, **options: Any) -> Job:
        now = utc_now()
        kt = parse_instant(as_of, "as_of") or now
        ingest_id = uuid.uuid4().hex[:16]
        return Job(self, source, ingest_id, now, kt, IngestReport(source, ingest_id), options)

    def ingest(self, source: str, paths: Sequence[str], *, as_of: Any = None, progress: Progress | None = None,
               hooks: bool = True, scheduler: Any = None, report: IngestReport | None = None,
               **options: Any) -> IngestReport:
        """Run ``source`` over ``paths`` (files or folders; none: the source's public URL).

        ``as_of`` (a date or an instant, :mod:`marketwire.timeparse`) is the snapshot date of dated reference files
        and the knowledge time of the delivery (default: now). ``hooks=False`` defers the post-commit hooks (e.g.
        the master rebuild) to the caller. ``scheduler``: a Dask scheduler for the reading and parsing."""
        src = get_source(source)
        query = src.query(list(paths), parse_day(as_of, "as_of"), **{k: v for k, v in options.items()
                                                                     if v is not None})
        job = self.job(source, as_of, **options)
        job.progress = progress
        stage = self.stage_for(src.dataset)
        if report is None and getattr(stage, "report_type", None):
            report = stage.report_type(source, "")  # type: ignore[attr-defined]
        if report is not None:
            report.source, report.ingest_id = job.report.source, job.report.ingest_id
            job.report = report
        locations = src.locations(query)
        if not locations:
            raise InvalidInput(f"`paths`: no files found in {', '.join(paths)}", param="paths")
        ex = executor(scheduler or self.scheduler)
        batches: list[Any] = []
        t0 = time.perf_counter()
        try:
            for k, part in enumerate(ex.map(read_and_transform, [(source, query, loc) for loc in locations]),
                                     start=1):
                batches += part
                if progress:
                    progress(locations[k - 1].rsplit("/", 1)[-1], k, len(locations))
        finally:
            ex.close()
        job.report.files = len(locations)
        timings = getattr(job.report, "timings", None)
        if isinstance(timings, dict):
            timings["parse"] = round(time.perf_counter() - t0, 4)
        # a complete directory that would delist most of a venue is held for confirmation, before any write
        check_mass_delisting(self.lake, batches, allow=bool(options.get("allow_mass_delisting")))
        self.run(job, batches, hooks=hooks)
        return job.report

    def run(self, job: Job, batches: list[Any], *, hooks: bool = True) -> Job:
        """Verify, write and quarantine ``batches`` (grouped by dataset, each through its stage), then run the
        hooks of the datasets that changed."""
        by_ds: dict[str, list[Any]] = defaultdict(list)
        for b in batches:
            by_ds[b.dataset].append(b)
        for name in by_ds:
            datasets.get(name)  # an unknown dataset is an error before anything is written
        if not hooks:
            for ds, fn in self._deferred:
                if ds & set(by_ds):
                    fn(job)
        locked = {QUARANTINE.name, *by_ds}
        for name in by_ds:
            locked.update(getattr(self.stage_for(name), "writes", ()))
        with self.lake.writing(sorted(locked)):
            try:
                for name, bs in by_ds.items():
                    self.stage_for(name).run(job, bs)
                job.flush_quarantine()
            finally:  # appends running in the background end before the locks are let go
                for fut in job.pending:
                    fut.result()
        if hooks:
            self.after_commit(job, set(by_ds))
        return job

    def after_commit(self, job: Job, names: set[str]) -> None:
        changed = {n for n in set(job.written) | names if job.changed([n])}
        for _, fn in self.hooks_for(changed | names):
            fn(job)


_RECORDS = RecordStage()

__all__ = ["Engine", "Hook", "IngestReport", "Job", "Progress", "RecordStage", "Stage", "ThreadExecutor",
           "read_and_transform"]
