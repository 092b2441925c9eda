"""The facade: the platform over one lake, composed of typed services that the SDK, the CLI and REST share.

>>> mw = marketwire.open("~/mw")                       # doctest: +SKIP
>>> mw.identity.resolve("SAN.PA")                       # doctest: +SKIP
>>> mw.prices("AAPL", adjust="total_return")            # doctest: +SKIP
>>> mw.news.list(q="Wirecard")                          # doctest: +SKIP

``mw.identity`` (:class:`~marketwire.identity.service.IdentityService`), ``mw.prices``
(:class:`~marketwire.prices.service.PricesService`) and ``mw.news`` (:class:`~marketwire.news.service.NewsService`)
are the services; ``mw.engine`` (:class:`~marketwire.engine.Engine`) ingests every dataset. The facade holds them
and answers the questions that span them (ingest of any source, the quarantine, health); it holds no query logic
of its own. The methods below the services (``mw.resolve``, ``mw.actions`` ...) are shortcuts to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from marketwire.config import resolve_home
from marketwire.datasets import all_datasets
from marketwire.datasets import get as get_dataset
from marketwire.engine import Engine, IngestReport, Progress, load_plugins
from marketwire.engine.quarantine import read_quarantine
from marketwire.errors import InvalidInput, MarketwireError, NotFound
from marketwire.identity.service import IdentityService, Match
from marketwire.serve.check import check_home
from marketwire.sources import list_sources
from marketwire.store import Lake
from marketwire.timeparse import parse_instant, utc_now
from marketwire.verify.rules import RULES, Rule


class Marketwire:
    """The embedded platform over one lake folder. ``marketwire.open(home)`` returns one.

    ``background=True`` (what a server wants) rebuilds the lookup caches in the background after a lake change,
    answering from the previous state meanwhile. ``scheduler`` (a Dask scheduler address, else
    ``$MARKETWIRE_SCHEDULER``) runs the partitioned work of bulk jobs on a cluster."""

    def __init__(self, home: str | Path | None = None, *, background: bool = False, scheduler: Any = None,
                 repair: bool = True) -> None:
        self.home = resolve_home(home)
        load_plugins()
        self.lake = Lake(self.home / "lake")
        self.engine = Engine(self.lake, scheduler)
        self.identity = IdentityService(self.lake, self.home / "cache", background=background)
        self.identity.attach(self.engine)
        self._background = background
        self._prices: Any = None  # opened on first use: a lookup never loads the prices vertical
        self._news: Any = None
        self._fundamentals: Any = None
        self._estimates: Any = None
        self._stream: Any = None
        self._esg: Any = None
        self.engine.open_stages_with(self._open_vertical)
        # derived state a killed ingest or build left stale or half-built is rebuilt now (unless a writer is at work;
        # ``repair=False``: opened as it is, e.g. to check it)
        if repair and self.identity.repair_due():
            _ = self.prices  # its follow-up of a rebuild (adopting provisional listings) is registered first
            self.identity.ensure_current()

    def check(self, repair: bool = False) -> dict[str, Any]:
        """Verify the home: every table readable, no duplicate records, derived state current with the lake; with
        ``repair``, remove duplicates and rebuild what is stale (see :mod:`marketwire.serve.check`)."""
        return check_home(self, repair=repair)

    @property
    def prices(self) -> Any:
        """The prices service (:class:`~marketwire.prices.service.PricesService`), opened on first use; it
        registers its ingest stages and hooks with the engine then (every ingest and rebuild opens it first)."""
        if self._prices is None:
            from marketwire.prices.service import PricesService

            self._prices = PricesService(self.lake, self.engine, self.identity, self.home / "cache",
                                         background=self._background)
        return self._prices

    def _for_writing(self) -> None:
        """Before a write: the prices stages and hooks registered, and the engines a write needs loaded now
        (deltalake's writer imports pandas on its first write, holding the interpreter lock for 0.2 s in the
        middle of an ingest)."""
        import deltalake  # noqa: F401
        import pandas  # noqa: F401

        _ = self.prices  # its hooks follow every master rebuild, so it is open before any write

    def _open_vertical(self, dataset: str) -> None:
        """Open the vertical that verifies ``dataset`` (the engine asks the first time a delivery to it finds no
        stage): the fundamentals and ESG services register their stages when opened, so only a write to their
        datasets pays for their imports."""
        from marketwire.datasets import esg as esg_datasets
        from marketwire.datasets import fundamentals as fundamentals_datasets

        for module, name in ((fundamentals_datasets, "fundamentals"), (esg_datasets, "esg")):
            if any(getattr(d, "name", None) == dataset for d in vars(module).values()):
                getattr(self, name)
                return

    @property
    def news(self) -> Any:
        """The news service (its language models load on first use)."""
        if self._news is None:
            from marketwire.news.service import NewsService

            self._news = NewsService(self.lake, self.engine, self.identity, self.home)
        return self._news

    @property
    def fundamentals(self) -> Any:
        """The fundamentals service (SEC facts point in time, statements, ratios); the prices vertical's split
        ledger and closing prices are passed in as callables."""
        if self._fundamentals is None:
            from marketwire.fundamentals.service import FundamentalsService

            def splits(listing_ids: list[str]) -> list[tuple[Any, float]]:
                out = set()
                for lid in listing_ids:
                    try:
                        acts = self.prices.actions(lid)
                    except MarketwireError:  # not a listing the prices know (ambiguous, unknown): the next one
                        continue
                    out |= {(a["ex_date"], float(a["value"])) for a in acts if a["type"] == "split"}
                return sorted(out)

            def close(listing_id: str, day: date) -> tuple[date, float, str | None] | None:
                import warnings
                from datetime import timedelta

                try:
                    with warnings.catch_warnings():  # no bars in the window is an answer here (None), not a warning
                        warnings.simplefilter("ignore")
                        bars = self.prices.bars(listing_id, start=day - timedelta(days=10), end=day, output="polars")
                except MarketwireError:
                    return None
                if not bars.height:
                    return None
                last = bars.tail(1).row(0, named=True)
                return last["date"], float(last["close"]), None

            self._fundamentals = FundamentalsService(self.lake, self.engine, self.identity, self.home,
                                                     splits=splits, close=close)
        return self._fundamentals

    @property
    def estimates(self) -> Any:
        """The estimates service (estimates by contributor, consensus as of a date, surprises)."""
        if self._estimates is None:
            from marketwire.fundamentals.estimates import EstimatesService

            self._estimates = EstimatesService(self.lake, self.engine, self.identity)
        return self._estimates

    @property
    def stream(self) -> Any:
        """The stream service (:class:`~marketwire.stream.service.StreamService`): replay, the durable log, ticks,
        intraday bars and the last-value cache; opened on first use."""
        if self._stream is None:
            from marketwire.stream.service import StreamService

            self._stream = StreamService(self.lake, self.engine, self.identity, self.home)
        return self._stream

    def bars(self, id: str, interval: str = "1m", start: Any = None, end: Any = None, **kwargs: Any) -> Any:
        """Intraday bars of a listing as a DataFrame (:meth:`StreamService.bars`)."""
        return self.stream.bars(id, interval, start, end, **kwargs)

    def ticks(self, id: str, type: str = "trades", start: Any = None, end: Any = None, **kwargs: Any) -> Any:
        """Trades or quotes of a listing as a DataFrame (:meth:`StreamService.ticks`)."""
        return self.stream.ticks(id, type, start, end, **kwargs)

    def last(self, id: str) -> dict[str, Any]:
        """Last trade, venue quotes and consolidated best bid/offer of a listing (:meth:`StreamService.last`)."""
        return self.stream.last(id)

    @property
    def esg(self) -> Any:
        """The ESG service (:class:`~marketwire.esg.service.EsgService`): metrics, coverage, review queue, links;
        it registers the ESG ingest stage with the engine when opened. Fundamentals and market values reach it as
        callables (``fundamentals``/``market_value``) when those verticals are present."""
        if self._esg is None:
            from marketwire.esg.service import EsgService

            def revenue(issuer_id: str, when: Any) -> dict[str, Any] | None:
                """The latest annual revenue filed by ``when`` (value, unit), if the issuer's filings are loaded."""
                try:
                    st = self.fundamentals.statement(issuer_id, "income", period="annual", as_of=when)
                except MarketwireError:  # no filings for this issuer (or no CIK): the ESG source's revenue
                    return None
                rows = st.filter(st["line_item"] == "revenue").sort("period_end") if st.height else st
                if not rows.height:
                    return None
                last = rows.tail(1).row(0, named=True)
                return {"revenue": (float(last["value"]), last["unit"]), "period_end": last["period_end"]}

            def market_value(issuer_id: str, when: Any) -> tuple[float, str] | None:
                """Market capitalisation on ``when`` from the closing price and the shares filed by then."""
                try:
                    r = self.fundamentals.ratios(issuer_id, when)
                except MarketwireError:
                    return None
                mcap = r.get("market_cap")
                return (float(mcap), "USD") if mcap else None

            self._esg = EsgService(self.lake, self.engine, self.identity, fundamentals=revenue,
                                   market_value=market_value)
        return self._esg

    # -- loading ----------------------------------------------------------------------------------------------------
    def ingest(self, source: str, paths: Sequence[str | Path], as_of: date | datetime | str | None = None,
               progress: Progress | None = None, rebuild: bool = True, scheduler: Any = None,
               **options: Any) -> IngestReport:
        """Run ``source`` over ``paths`` (files or folders; none: the source's public URL) through the engine.

        ``as_of`` is the snapshot date of dated reference files and the knowledge time of a delivery (default:
        now); ``rebuild=False`` defers the post-commit work (deriving the master) to :meth:`rebuild`;
        ``options`` are the source's own (``preset``, ``symbol``, ``basis``, ``mic``, ``currency``, ``columns``
        for price files)."""
        self._for_writing()
        try:
            return self.engine.ingest(source, [str(p) for p in paths], as_of=as_of, progress=progress, hooks=rebuild,
                                      scheduler=scheduler, **options)
        finally:
            self.identity.invalidate()
            self.prices.bars_cache.invalidate()

    def rebuild(self, progress: Progress | None = None) -> int:
        """Derive the master from every observation; returns the number of new flag records."""
        self._for_writing()
        return self.identity.rebuild(progress)

    def sources(self) -> list[dict[str, Any]]:
        return [asdict(s) for s in list_sources()]

    def plugins(self) -> list[dict[str, Any]]:
        return [asdict(p) for p in load_plugins()]

    def datasets(self) -> list[dict[str, Any]]:
        """Every declared dataset (plugins' included): name, key, write mode, partitioning, description."""
        return [{"name": d.name, "key": list(d.key), "write_mode": d.write_mode, "partition_by": list(d.partition_by),
                 "description": d.description} for d in all_datasets()]

    def dataset(self, name: str, as_of: date | datetime | str | None = None, where: dict[str, Any] | None = None,
                limit: int | None = None, output: str = "records") -> Any:
        """The records of any dataset known at ``as_of`` (latest version per key), optionally filtered by column
        equality (``where={"station": "OSLO"}``); ``output``: ``records`` (a list of dicts), ``arrow`` or
        ``polars``."""
        ds = get_dataset(name)
        if limit is not None and limit < 1:
            raise InvalidInput("`limit`: must be at least 1", param="limit", value=str(limit))
        conds, params = [], []
        for col, value in (where or {}).items():
            if col not in ds.columns:
                raise InvalidInput(f"`where`: {name} has no column {col!r} (columns: {', '.join(ds.columns)})",
                                   param="where", value=col)
            conds.append(f'CAST("{col}" AS VARCHAR) = ?')
            params.append(str(value))
        if not self.lake.exists(ds):
            raise NotFound(f"nothing is stored in {name} yet", param="dataset", value=name)
        import polars as pl
        import pyarrow.compute as pc

        t = self.lake.read(ds, as_of=parse_instant(as_of, "as_of"), where=" AND ".join(conds) or None, params=params)
        if "retracted" in t.column_names:
            t = t.filter(pc.invert(pc.fill_null(t.column("retracted"), False)))
        if limit is not None:
            t = t.slice(0, limit)
        if output == "arrow":
            return t
        if output == "polars":
            return pl.from_arrow(t)
        if output != "records":
            raise InvalidInput(f"`output`: {output!r} is not records, arrow or polars", param="output")
        return t.to_pylist()

    def rules(self) -> list[Rule]:
        return list(RULES.values())

    def quarantine(self, source: str | None = None, rule: str | None = None, limit: int | None = None,
                   dataset: str | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """Refused records of every dataset: source, rule, field, raw value, message, file, line, raw record.
        With ``limit`` or ``offset``, one page in stored order (see :func:`read_quarantine`)."""
        return read_quarantine(self.lake, source=source, rule=rule, dataset=dataset, limit=limit, offset=offset)

    def health(self) -> dict[str, Any]:
        counts: dict[str, Any] = dict(self.identity.counts())
        counts["bars_daily"] = self.prices.size()["rows"]  # every stored version, from the Delta log
        return {"status": "ok", "counts": counts, "time": utc_now().isoformat()}

    # -- shortcuts to the services (the SDK as the README shows it) --------------------------------------------------
    def resolve(self, id: str, as_of: date | str | None = None) -> list[Match]:
        return self.identity.resolve(id, as_of)

    def search(self, text: str, limit: int = 20, as_of: date | str | None = None) -> list[dict[str, Any]]:
        return self.identity.search(text, limit, as_of)

    def security(self, security_id: str, as_of: date | str | None = None) -> Match:
        return self.identity.security(security_id, as_of)

    def listing(self, listing_id: str, as_of: date | str | None = None) -> Match:
        return self.identity.listing(listing_id, as_of)

    def members(self, index: str, as_of: date | str | None = None) -> list[dict[str, Any]]:
        return self.identity.members(index, as_of)

    def merges(self, id: str) -> list[dict[str, Any]]:
        """Join decisions about the listing ``id`` names (joined, refused, reversed), each with its evidence."""
        ident = (id or "").strip().upper()
        ids = {ident} if ident.startswith("MWL") else set()
        try:
            ids.add(self.identity.listing(id)["listing_id"])
        except NotFound:
            if not ids:
                raise
        rows = {(r["old_id"], r["new_id"], r["action"]): r for i in sorted(ids) for r in self.identity.merges(i)}
        return sorted(rows.values(), key=lambda r: r["decided_at"])

    def unmerge(self, listing_id: str) -> dict[str, Any]:
        """Reverse the join of a listing into another: it answers for itself again, and is not joined again."""
        return self.identity.unmerge(listing_id)

    def successor(self, kind: str, ident: str) -> str:
        return self.identity.successor(kind, ident)

    def flags(self, rule: str | None = None) -> list[dict[str, Any]]:
        return self.identity.flags(rule)

    def flag_counts(self) -> dict[str, int]:
        return self.identity.flag_counts()

    def ingest_bars(self, table: Any, **kwargs: Any) -> Any:
        self._for_writing()
        return self.prices.ingest_bars(table, **kwargs)

    def price_listing(self, id: str) -> str:
        return self.prices.listing(id)

    def actions(self, id: str, as_of: str | date | datetime | None = None) -> list[dict[str, Any]]:
        return self.prices.actions(id, as_of)

    def quality(self, id: str) -> dict[str, Any]:
        return self.prices.quality(id)

    def disagreements(self, id: str) -> list[dict[str, Any]]:
        return self.prices.disagreements(id)

    def fx(self, base: str, quote: str, start: str | date | None = None, end: str | date | None = None) -> Any:
        return self.prices.fx(base, quote, start, end)

    def export_prices(self, ids: Sequence[str] | None, path: str | Path, fmt: str = "parquet", adjust: str = "none",
                      start: str | date | None = None, end: str | date | None = None,
                      progress: Progress | None = None) -> dict[str, Any]:
        return self.prices.export(ids, path, fmt, adjust, start, end, progress=progress)

    def bars_size(self) -> dict[str, Any]:
        return self.prices.size()

    @property
    def bars_cache(self) -> Any:
        return self.prices.bars_cache

    @property
    def index(self) -> Any:
        return self.identity.index

    def adopt_provisional(self) -> int:
        return self.prices.adopt_provisional()

    def articles(self) -> Any:
        return self.news.articles()

    def feeds(self) -> Any:
        return self.news.registry()

    def add_feeds(self, targets: Sequence[str]) -> list[dict[str, Any]]:
        return self.news.feeds_add(targets)  # type: ignore[no-any-return]

    def poll_feeds(self, limit: int | None = None, **kwargs: Any) -> dict[str, Any]:
        return self.news.poll_once(limit, **kwargs)  # type: ignore[no-any-return]

    def poll_forever(self, limit: int | None = None, **kwargs: Any) -> int:
        return self.news.poll_forever(limit, **kwargs)  # type: ignore[no-any-return]
