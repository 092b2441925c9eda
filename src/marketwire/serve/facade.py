"""The facade: every query marketwire answers, whoever asks (SDK, CLI, REST)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from marketwire.config import resolve_home
from marketwire.datasets import reference as R
from marketwire.errors import Ambiguous, InvalidIdentifier, InvalidInput, MarketwireError, NotFound
from marketwire.identity.index import MasterIndex
from marketwire.identity.parse import parse, problem
from marketwire.pipeline import IngestReport, Pipeline, Progress
from marketwire.serve.prices import PricesMixin
from marketwire.sources.classify import norm_name
from marketwire.store import Lake
from marketwire.verify.rules import RULES, Rule

#: Venues a bare ticker (no venue, no suffix) prefers when it matches listings in several markets
DEFAULT_MICS = ("XNYS", "XNAS", "XASE", "ARCX", "BATS", "IEXG")


def parse_date(value: str | date | None, param: str = "as_of") -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if len(str(value)) >= 10 else date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"`{param}`: {value} is not a date (use YYYY-MM-DD)", param=param, value=str(value)) \
            from None


def parse_time(value: str | datetime | date | None, param: str = "as_of") -> datetime | None:
    """An ISO date or time as an aware UTC datetime (a date is its midnight UTC; a naive time is UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        try:
            dt = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"`{param}`: {value} is not a date or time (use YYYY-MM-DD or ISO 8601)",
                               param=param, value=str(value)) from None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


class Marketwire(PricesMixin):
    """The embedded platform over one lake folder. ``marketwire.open(home)`` returns one."""

    def __init__(self, home: str | Path | None = None) -> None:
        self.home = resolve_home(home)
        # the engines every operation needs, loaded once when the lake is opened (deltalake's writer imports
        # pandas on its first write, holding the interpreter lock for 0.2 s in the middle of an ingest)
        import deltalake  # noqa: F401
        import duckdb  # noqa: F401
        import pandas  # noqa: F401

        self.lake = Lake(self.home / "lake")
        self.pipeline = Pipeline(self.lake)
        self.index = MasterIndex(self.lake, self.home / "cache")

    # -- loading ----------------------------------------------------------------------------------
    def ingest(self, source: str, paths: Sequence[str | Path], as_of: date | str | None = None,
               progress: Progress | None = None, rebuild: bool = True, **options: Any) -> IngestReport:
        """Run ``source`` over ``paths`` (files or folders; none: the source's public URL).

        ``rebuild=False`` defers deriving the master (issuers, securities, listings...) to :meth:`rebuild`,
        for loading many sources in a row. Price sources take ``preset``, ``symbol``, ``basis``, ``mic`` and
        ``currency`` options, and ``as_of`` is then the knowledge time of the delivery (default: now).
        """
        from marketwire.sources import get_source

        if get_source(source).dataset in ("bars_daily", "fx_rates"):
            return self.ingest_prices(source, paths, as_of=as_of, **options)
        if options:
            raise InvalidInput(f"`{next(iter(options))}`: not an option of source {source!r}",
                               param=next(iter(options)))
        try:
            report = self.pipeline.ingest(source, [str(p) for p in paths], parse_date(as_of), progress, rebuild)
        finally:
            self.index.invalidate()
        if rebuild:
            self._warm(progress)
            self.adopt_provisional()
        return report

    def _warm(self, progress: Progress | None) -> None:
        """Build the lookup cache now, not on the first query after a change."""
        if progress:
            progress("master: lookup cache", 7, 8)
        self.index.connection()

    def rebuild(self, progress: Progress | None = None) -> int:
        """Derive the master from every observation; returns the number of new flags."""
        try:
            n = self.pipeline.rebuild(progress)
        finally:
            self.index.invalidate()
        self._warm(progress)
        self.adopt_provisional()
        return n

    def articles(self) -> Any:
        """The news articles (add files, show, list, export) over this lake."""
        from marketwire.news.articles import ArticleStore

        return ArticleStore(self.lake)

    def feeds(self) -> Any:
        """The news feeds registry (add, import OPML, poll) over this lake."""
        from marketwire.news.feeds import FeedRegistry

        return FeedRegistry(self.lake)

    def add_feeds(self, targets: Sequence[str]) -> list[dict[str, Any]]:
        """Feed URLs, or OPML files (every xmlUrl outline); adding a feed twice changes nothing."""
        reg = self.feeds()
        out: list[dict[str, Any]] = []
        for t in targets:
            ids = reg.import_opml(Path(t)) if Path(t).is_file() else reg.add(t)
            out += [{"feed_id": f, "from": t} for f in ids]
        return out

    def poll_feeds(self, limit: int | None = None, *, articles: bool = True, fetch_policy: Any = None,
                   ssrf_policy: Any = None, store: Any = None) -> dict[str, Any]:
        """One polling cycle over the due feeds, then (``articles``) the pages of their new items through the
        article pipeline (``store``: an ``ArticleStore`` to reuse, with its models and what it knows of the
        stored articles). The default SSRF policy admits public addresses only."""
        import asyncio

        from marketwire.news.fetch import Fetcher

        async def cycle() -> Any:
            async with Fetcher(fetch_policy, ssrf_policy) as fetcher:
                rep = (await self.feeds().poll_once(fetcher, limit=limit)).to_dict()
                if articles:
                    rep["articles"] = await (store or self.articles()).fetch_items(fetcher)
                return rep

        return asyncio.run(cycle())  # type: ignore[no-any-return]

    def poll_forever(self, limit: int | None = None, *, articles: bool = True, fetch_policy: Any = None,
                     ssrf_policy: Any = None, cycles: int | None = None, stop: Any = None,
                     on_cycle: Any = None, max_sleep: float = 900.0) -> int:
        """Polling cycles (:meth:`poll_feeds`) until ``stop`` (a ``threading.Event``) is set or ``cycles`` have run,
        sleeping between cycles until the next feed falls due (at least 1 s, at most ``max_sleep``). A cycle that
        fails, whatever the error, is reported to ``on_cycle`` as ``{"error", "code"}`` and logged, and the poller
        waits 2, 4, 8 ... seconds (at most ``max_sleep``) before the next: it does not die of a bad cycle, nor spin
        on one. ``on_cycle(report)`` is called after each cycle. Returns the number of cycles run."""
        import logging
        import threading

        log = logging.getLogger("marketwire.news.poller")
        stop = stop or threading.Event()
        store = self.articles() if articles else None  # one store for every cycle: models and state kept
        done = failures = 0
        while not stop.is_set():
            started = datetime.now(timezone.utc)
            try:
                rep: dict[str, Any] = self.poll_feeds(limit, articles=articles, fetch_policy=fetch_policy,
                                                      ssrf_policy=ssrf_policy, store=store)
                nxt = self.feeds().next_due() if self.lake.exists("feeds") else None
                wait = max_sleep if nxt is None else (nxt - datetime.now(timezone.utc)).total_seconds()
                failures = 0
            except Exception as e:  # noqa: BLE001 - a poller reports a bad cycle and carries on
                failures += 1
                code = e.code if isinstance(e, MarketwireError) else type(e).__name__
                message = e.message if isinstance(e, MarketwireError) else str(e)
                rep = {"error": message, "code": code}
                log.exception("polling cycle %d failed", done + 1)
                wait = 2.0 ** failures
            rep["cycle"], rep["started"] = done + 1, started.isoformat()
            done += 1
            if on_cycle is not None:
                on_cycle(rep)
            if cycles is not None and done >= cycles:
                break
            stop.wait(min(max(wait, 1.0), max_sleep))
        return done

    def sources(self) -> list[dict[str, Any]]:
        from marketwire.sources import list_sources

        return [s.__dict__ for s in list_sources()]

    def rules(self) -> list[Rule]:
        return list(RULES.values())

    # -- identity ---------------------------------------------------------------------------------
    def resolve(self, id: str, as_of: date | str | None = None) -> list[dict[str, Any]]:
        """What ``id`` named on ``as_of`` (default today). One match, or :class:`Ambiguous` with candidates."""
        when = parse_date(as_of) or date.today()
        p = parse(id)
        if p.schemes == ("own",):
            return [self._own(p.value, when)]
        hot = self.index.hot()
        rows = hot.lookup(p.value, when, p.schemes)
        if not rows and p.checked:
            rule = problem(p)
            if rule:
                raise InvalidIdentifier(f"`id`: {id} is not a valid {p.checked.upper()} ({rule})", param="id",
                                        rule=rule, value=id)
        suspect = [r for r in rows if r["scheme"] in ("isin", "cusip") and
                   set(r["flags"] or ()) & {"isin.country_mismatch", "isin.multiple_issuers", "cusip.multiple_issuers"}]
        if suspect and len(suspect) < len(rows):
            # the clean holder of an ISIN or CUSIP wins over records that carry it by mistake (they stay flagged)
            rows = [r for r in rows if r not in suspect]
        if not rows and p.schemes and "ticker" in p.schemes and p.value.isdigit():
            rows = hot.lookup(p.value.lstrip("0") or "0", when, ("cik",))
        if not rows:
            known = hot.exists_any(p.value)
            raise NotFound(f"{id!r} names nothing known on {when.isoformat()}"
                           + (" (it is known at other dates; try another as_of)" if known else ""),
                           param="id", value=id, as_of=when.isoformat())
        matches = self._matches(rows, when)
        if len(matches) > 1 and p.bare_ticker:
            home = [m for m in matches if m.get("mic") in DEFAULT_MICS]
            if len(home) == 1:
                matches = home
        if len(matches) > 1:
            raise Ambiguous(f"{id!r} names {len(matches)} instruments on {when.isoformat()}; "
                            "qualify it (ticker@MIC, ISIN) or pick a candidate", param="id",
                            candidates=matches)
        return matches

    def _own(self, ident: str, when: date) -> dict[str, Any]:
        kind = {"L": "listing", "S": "security", "I": "issuer"}[ident[2]]
        current = self.successor(kind, ident)
        ms = self._matches([{"entity_kind": kind, "entity_id": current, "scheme": "own"}], when)
        if not ms:
            raise NotFound(f"no {kind} {ident}", param="id", value=ident)
        if current != ident:
            ms[0]["merged_from"] = ident
        return ms[0]

    def successor(self, kind: str, ident: str) -> str:
        """The id that now stands for ``ident`` (itself, unless later evidence merged it into another)."""
        seen = {ident}
        while True:
            rows = self.lake.read(R.ID_REGISTRY, where="kind = ? AND key = ?", params=[f"merged:{kind}", ident],
                                  columns=["id"]).column("id").to_pylist() if self.lake.exists(R.ID_REGISTRY) else []
            if not rows or rows[0] in seen:
                return ident
            ident = rows[0]
            seen.add(ident)

    def _matches(self, rows: list[dict[str, Any]], when: date) -> list[dict[str, Any]]:
        out: dict[tuple[str | None, str | None], dict[str, Any]] = {}
        for r in rows:
            kind, ident = r["entity_kind"], r["entity_id"]
            if kind == "listing":
                lst = self.index.hot().one("listings", ident)
                if lst is None:
                    continue
                m = self._describe(lst["security_id"], lst, when)
            elif kind == "security":
                m = self._describe(ident, None, when)
            else:
                for sid in self.index.hot().securities_of(ident):
                    d = self._describe(sid, None, when)
                    if d:
                        d["matched_by"] = r["scheme"]
                        out[(d["security_id"], None)] = d
                continue
            if m:
                m["matched_by"] = r["scheme"]
                out[(m["security_id"], m["listing_id"])] = m
        # a security-level match makes its listing-level matches redundant
        secs_only = {s for s, l in out if l is None}
        return [m for (s, l), m in out.items() if l is None or s not in secs_only]

    def _describe(self, security_id: str, listing: dict[str, Any] | None, when: date) -> dict[str, Any] | None:
        sec = self.index.hot().one("securities", security_id)
        if sec is None:
            return None
        iss = self.index.hot().one("issuers", sec["issuer_id"]) or {}
        hot = self.index.hot()
        cols = ("listing_id", "ticker", "mic", "currency", "status", "valid_from", "valid_to")
        lst_rows = [{c: r[c] for c in cols} for r in hot.listings_of(security_id)]
        entity_ids = [security_id, sec["issuer_id"]] + ([listing["listing_id"]] if listing else [])
        ids = hot.ids_of(entity_ids, when)
        identifiers: dict[str, str] = {}
        for r in ids:
            if r["scheme"] in ("name", "symbol"):
                continue
            identifiers.setdefault(r["scheme"], r["value"])
        names = [r["value"] for r in ids if r["scheme"] == "name"]
        live = [lr for lr in lst_rows if (lr["valid_from"] is None or lr["valid_from"] <= when)
                and (lr["valid_to"] is None or lr["valid_to"] > when)]
        for lr in live:
            tick = [r["value"] for r in hot.ids_of([lr["listing_id"]], when) if r["scheme"] == "ticker"]
            if tick:
                lr["ticker"] = tick[0]
            lr["status"] = "active"  # live on the as-of date
        flag_ids = entity_ids + ([lr["listing_id"] for lr in lst_rows] if listing is None else [])
        status = listing["status"] if listing else sec["status"]
        if listing and listing["valid_to"] is not None and listing["valid_to"] <= when:
            status = "delisted"
        elif listing:
            status = "active" if listing["valid_to"] is None or listing["valid_to"] > when else listing["status"]
        return {
            "issuer_id": sec["issuer_id"], "security_id": security_id,
            "listing_id": listing["listing_id"] if listing else None,
            "name": names[0] if names and listing else (sec["name"] or iss.get("name")),
            "issuer_name": iss.get("name"), "type": sec["type"], "status": status,
            "ticker": identifiers.get("ticker"), "mic": listing["mic"] if listing else None,
            "currency": listing["currency"] if listing else None, "country": iss.get("country"),
            "identifiers": identifiers, "listings": live, "flags": hot.flags_of(flag_ids),
            "valid_from": listing["valid_from"] if listing else sec["valid_from"],
            "valid_to": listing["valid_to"] if listing else sec["valid_to"],
        }

    def security(self, security_id: str, as_of: date | str | None = None) -> dict[str, Any]:
        d = self._describe(self.successor("security", security_id), None, parse_date(as_of) or date.today())
        if d is None:
            raise NotFound(f"no security {security_id}", param="security_id", value=security_id)
        return d

    def listing(self, listing_id: str, as_of: date | str | None = None) -> dict[str, Any]:
        lst = self.index.hot().one("listings", self.successor("listing", listing_id))
        d = self._describe(lst["security_id"], lst, parse_date(as_of) or date.today()) if lst else None
        if d is None:
            raise NotFound(f"no listing {listing_id}", param="listing_id", value=listing_id)
        return d

    def search(self, text: str, limit: int = 20, as_of: date | str | None = None) -> list[dict[str, Any]]:
        """Fuzzy search over names (every name a listing had) and exact tickers."""
        from rapidfuzz import fuzz

        q = (text or "").strip()
        if not q:
            raise InvalidInput("`q`: empty search text", param="q")
        when = parse_date(as_of)
        toks = [t for t in q.upper().split() if t]
        cond = " AND ".join(["key LIKE ?"] * len(toks))
        rows = self.index.rows(
            f"SELECT entity_id, value, scheme FROM ids WHERE (scheme = 'name' AND {cond}) "
            "OR (scheme IN ('ticker', 'symbol') AND key = ?) LIMIT 2000",
            [f"%{t}%" for t in toks] + [q.upper()])
        if len(rows) < limit:
            rows += self.index.rows(
                "SELECT entity_id, value, scheme FROM ids WHERE scheme = 'name' "
                "AND jaro_winkler_similarity(key, ?) >= 0.88 LIMIT 500", [q.upper()])
        best: dict[str, tuple[float, str]] = {}
        for r in rows:
            sc = 100.0 if r["scheme"] != "name" else float(fuzz.WRatio(q.lower(), r["value"].lower()))
            if sc > best.get(r["entity_id"], (-1.0, ""))[0]:
                best[r["entity_id"]] = (sc, r["value"])
        if not best:
            return []
        cands = self.index.rows(
            "SELECT l.listing_id, l.security_id, l.ticker, l.mic, l.name, l.status, l.currency, l.valid_from, "
            "l.valid_to, (SELECT count(*) FROM listings x WHERE x.security_id = l.security_id) AS n_listings, "
            "coalesce(e.country = s.country, false) AS home_venue "
            "FROM listings l JOIN securities s USING (security_id) LEFT JOIN exchanges e ON e.mic = l.mic "
            "WHERE l.listing_id IN (SELECT unnest(?))", [list(best)])
        qn = norm_name(q)

        def rank(c: dict[str, Any]) -> tuple[float, int, int, int, bool, date, int, str]:
            sc, matched = best[c["listing_id"]]
            sc = max(sc, float(fuzz.ratio(qn, norm_name(matched))))
            best[c["listing_id"]] = (sc, matched)
            live = (c["valid_to"] is None) if when is None else \
                ((c["valid_from"] is None or c["valid_from"] <= when) and (c["valid_to"] is None or c["valid_to"] > when))
            # best name first; then live, widely listed securities; within one, its home venue, oldest listing
            return (-sc, 0 if live else 1, -c["n_listings"], 0 if c["home_venue"] else 1, c["mic"] is None,
                    c["valid_from"] or date.min, len(c["ticker"] or ""), c["ticker"] or "")

        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for c in sorted(cands, key=rank):
            if when and not ((c["valid_from"] is None or c["valid_from"] <= when) and
                             (c["valid_to"] is None or c["valid_to"] > when)):
                continue
            if c["security_id"] in seen:  # one hit per security: its best listing
                continue
            seen.add(c["security_id"])
            c.pop("home_venue", None)
            out.append({"score": round(best[c["listing_id"]][0], 1), **c})
            if len(out) >= limit:
                break
        return out

    def members(self, index: str, as_of: date | str | None = None) -> list[dict[str, Any]]:
        when = parse_date(as_of) or date.today()
        rows = self.index.rows(
            'SELECT "index", ticker, listing_id, name, valid_from, valid_to FROM membership WHERE "index" = ? '
            "AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?) ORDER BY ticker",
            [index.upper(), when, when])
        if not rows and not self.index.rows('SELECT 1 FROM membership WHERE "index" = ? LIMIT 1', [index.upper()]):
            raise NotFound(f"no index {index!r} is loaded", param="index", value=index)
        return rows

    def quarantine(self, source: str | None = None, rule: str | None = None, limit: int | None = None,
                   dataset: str | None = None) -> list[dict[str, Any]]:
        if not self.lake.exists(R.QUARANTINE):
            return []
        conds, params = [], []
        if dataset:
            conds.append("dataset = ?")
            params.append(dataset)
        if source:
            conds.append("source = ?")
            params.append(source)
        if rule:
            conds.append("rule = ?")
            params.append(rule)
        t = self.lake.read(R.QUARANTINE, where=" AND ".join(conds) or None, params=params,
                           columns=["source", "dataset", "rule", "field", "value", "message", "file", "line",
                                    "raw", "knowledge_time", "ingest_id"])
        rows = t.to_pylist()
        rows.sort(key=lambda r: (r["source"], r["file"] or "", r["line"] or 0, r["rule"]))
        return rows[:limit] if limit else rows

    def flags(self, rule: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT entity_kind, entity_id, rule, field, value, message FROM flags"
        return self.index.rows(sql + (" WHERE rule = ?" if rule else "") + " ORDER BY rule, entity_id",
                               [rule] if rule else [])

    def flag_counts(self) -> dict[str, int]:
        rows = self.index.rows("SELECT rule, count(*) AS n FROM flags GROUP BY rule ORDER BY rule")
        return {r["rule"]: r["n"] for r in rows}

    def health(self) -> dict[str, Any]:
        counts = {name: self.index.rows(f"SELECT count(*) AS n FROM {name}")[0]["n"]
                  for name in ("issuers", "securities", "listings", "ids", "membership")}
        counts["bars_daily"] = self.bars_size()["rows"]  # every stored version, from the Delta log
        return {"status": "ok", "counts": counts,
                "time": datetime.now(timezone.utc).isoformat()}
