"""The news service: the one entry point the SDK, the CLI, REST and the web pages use for news.

``mw.news`` is a :class:`NewsService` over the lake. It wraps the article pipeline
(:class:`~marketwire.news.articles.ArticleStore`) and the feeds registry (:class:`~marketwire.news.feeds.FeedRegistry`)
and does what every surface needs done the same way:

- **times** go through :mod:`marketwire.timeparse`: ``since`` a date means the start of that day (UTC), ``until``
  and ``as_of`` the end of it, so ``until=2024-08-08`` includes the whole 8th; both bounds are inclusive; text that
  is not a time is :class:`~marketwire.errors.InvalidInput` naming the parameter (``published`` included: a bad
  publication time is refused, never dropped);
- **``listing``** takes any identifier the identity service resolves (a listing, security or issuer id, a ticker,
  an ISIN ...) and matches articles linked to the issuer, the security or any of its listings; one that names
  nothing is :class:`~marketwire.errors.NotFound` (an id of ours that articles carry still matches them, even
  when the master no longer knows it);
- **refusals** (a page that gives no article, a stated time that is not a time) are quarantined through the
  ingest engine under dataset ``news_articles`` (rules ``news.*``, docs/rules.md);
- **polling**: :meth:`poll_once` and :meth:`poll_forever` (the poller loop with its backoff), the SSRF policy built
  here from the ``allow`` list.

Results are typed records (:class:`~marketwire.news.records.Article`, :class:`~marketwire.news.records.Story`,
:class:`~marketwire.news.records.Added`, :class:`~marketwire.news.records.FeedAdded`,
:class:`~marketwire.news.feeds.Feed`); ``to_dict()`` gives the JSON the surfaces print. Poll reports are dicts
(their shape is documented in docs/news.md).
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from marketwire.datasets.news import FEEDS
from marketwire.datasets.news import NEWS_ARTICLES
from marketwire.engine.core import Engine
from marketwire.errors import Ambiguous, InvalidInput, MarketwireError, NotFound
from marketwire.errors import Rows, outside_coverage
from marketwire.news.articles import ArticleStore
from marketwire.news.records import Added, Article, FeedAdded, Story
from marketwire.store import Lake
from marketwire.timeparse import parse_instant, utc_now

if TYPE_CHECKING:  # the feeds, fetching and SSRF modules load only when feeds are used (news add needs none)
    from marketwire.news.feeds import Feed, FeedRegistry
    from marketwire.news.fetch import FetchPolicy
    from marketwire.news.ssrf import Policy

log = logging.getLogger("marketwire.news.poller")

#: an id of ours (issuer, security or listing), matched as articles carry it
OWN_ID = re.compile(r"^MW[ISL][0-9A-Z]{10}$")

Time = str | date | datetime | None


class Identity(Protocol):
    """What the news service asks of the identity service."""

    def resolve(self, id: str, as_of: Any = None) -> list[dict[str, Any]]: ...


class NewsService:
    """News over one lake. ``engine`` quarantines the pipeline's refusals; ``identity`` resolves ``listing``
    filters; ``home`` holds the serving index (``<home>/cache/news``)."""

    def __init__(self, lake: Lake, engine: Engine, identity: Identity | None, home: str | Path | None = None) -> None:
        self.lake = lake
        self.engine = engine
        self.identity = identity
        self.home = Path(home) if home is not None else None
        self._store: ArticleStore | None = None
        self._store_lock = threading.Lock()

    # -- the parts it wraps ---------------------------------------------------------------------------------------
    def articles(self) -> ArticleStore:
        """A new article pipeline over the lake (its own models and ingest state), for callers that drive the
        pipeline themselves. The service's own methods share one long-lived store."""
        return ArticleStore(self.lake, engine=self.engine, index_path=self._index_path())

    def registry(self) -> FeedRegistry:
        """The feeds registry over the lake."""
        from marketwire.news.feeds import FeedRegistry

        return FeedRegistry(self.lake)

    @property
    def store(self) -> ArticleStore:
        """The service's article store: models, ingest state and serving index kept across calls."""
        with self._store_lock:
            if self._store is None:
                self._store = self.articles()
            return self._store

    def _index_path(self) -> Path | None:
        if self.home is None or "://" in self.lake.root.removeprefix("file://"):
            return None  # a remote lake: the index picks a temporary folder
        return self.home / "cache" / "news" / "articles.sqlite"

    # -- articles in ----------------------------------------------------------------------------------------------
    def add(self, targets: Sequence[str | Path], source: str | None = None, published: Time = None,
            progress: Callable[[int, int], None] | None = None) -> list[Added]:
        """Local HTML pages or text files, or folders of them (read recursively), through the pipeline. ``source``:
        the outlet (default: each file's folder name); ``published``: the publication time of pages that state none
        (a date is its start); ``progress(done, total)``: called as batches of files are stored.

        One :class:`Added` per file, in the order given (a folder's files in name order); a file that gives no
        article has status ``quarantined`` and is in the quarantine (``marketwire quarantine --dataset
        news_articles``); a file of a folder that is no page or text file has status ``skipped`` and the reason."""
        when = parse_instant(published, "published")
        if not targets:
            raise InvalidInput("`targets`: no file given", param="targets")
        return self.store.add([str(t) for t in targets], source=source, published=when, progress=progress)

    # -- articles out ---------------------------------------------------------------------------------------------
    def show(self, id: str, as_of: Time = None) -> Article:
        """One article (its latest version, or the version the wire knew at ``as_of``)."""
        return Article.from_dict(self.store.show(id, as_of=parse_instant(as_of, "as_of")))

    def list(self, *, q: str | None = None, lang: str | None = None, country: str | None = None,
             listing: str | None = None, entity: str | None = None, source: str | None = None,
             topic: str | None = None, story: str | None = None, since: Time = None, until: Time = None,
             as_of: Time = None, limit: int | None = None, offset: int = 0, unique: bool = False) -> builtins.list[Article]:
        """Articles matching every filter given, newest first (best text match first with ``q``).

        ``q``: words or "quoted phrases" that must all occur (case and accents ignored); ``lang``: ISO 639-1;
        ``country``: ISO alpha-2 of a linked country; ``listing``: any identifier the identity service resolves;
        ``entity``: a link key (``person:vladimir-putin``) or words of a linked name; ``source``: the outlet;
        ``topic``: a topic code; ``story``: a story id; ``since`` / ``until``: publication time bounds, both
        included; ``as_of``: what the wire knew then; ``unique``: leave out duplicates."""
        kw = self._filters(q=q, lang=lang, country=country, listing=listing, entity=entity, source=source,
                           topic=topic, since=since, until=until, as_of=as_of)
        if limit is not None and limit < 0:
            raise InvalidInput(f"`limit`: {limit} is negative", param="limit", value=str(limit))
        if offset < 0:
            raise InvalidInput(f"`offset`: {offset} is negative", param="offset", value=str(offset))
        if offset > MAX_OFFSET:
            raise InvalidInput(f"`offset`: {offset} is beyond {MAX_OFFSET}; narrow the query with filters",
                               param="offset", value=str(offset)[:40])
        rows = self.store.list(**kw, story=story, unique=unique, limit=limit, offset=offset)
        if not rows and (kw["since"] or kw["until"]):
            return self._outside_wire(kw["since"], kw["until"], kw["as_of"])
        return [Article.from_dict(r) for r in rows]

    def _outside_wire(self, since: datetime | None, until: datetime | None, as_of: datetime | None
                      ) -> builtins.list[Article]:
        """An empty answer whose time bounds lie outside the wire's publication times says so (a note with the
        wire's first and last publication time; :class:`~marketwire.errors.OutsideCoverage` in the SDK)."""
        if not self.lake.exists(NEWS_ARTICLES):
            return Rows([], {"note": "the news wire is empty: add articles with `marketwire news add`"})
        t = self.lake.read(NEWS_ARTICLES, columns=["published"], as_of=as_of)
        seen = [p for p in t.column("published").to_pylist() if p is not None]
        if not seen:
            return Rows([])
        first, last = min(seen), max(seen)
        if (since is not None and since > last) or (until is not None and until < first):
            return Rows([], outside_coverage(
                f"the news wire holds articles published from {first.isoformat()} to {last.isoformat()}; "
                f"nothing from {since.isoformat() if since else '...'} to {until.isoformat() if until else '...'}",
                what="news", **{"from": first, "to": last}))
        return Rows([])

    def stories(self, *, q: str | None = None, lang: str | None = None, country: str | None = None,
                listing: str | None = None, entity: str | None = None, source: str | None = None,
                topic: str | None = None, since: Time = None, until: Time = None, as_of: Time = None,
                limit: int | None = 50) -> builtins.list[Story]:
        """Stories with an article matching every filter (as :meth:`list`), the most recently reported first."""
        kw = self._filters(q=q, lang=lang, country=country, listing=listing, entity=entity, source=source,
                           topic=topic, since=since, until=until, as_of=as_of)
        if limit is not None and limit < 0:
            raise InvalidInput(f"`limit`: {limit} is negative", param="limit", value=str(limit))
        return [Story.from_dict(s) for s in self.store.stories(**kw, limit=limit)]

    def story(self, id: str, as_of: Time = None) -> Story:
        """One story: its articles, languages, sources and linked entities."""
        return Story.from_dict(self.store.story(id, as_of=parse_instant(as_of, "as_of")))

    def export(self, as_of: Time = None) -> Iterator[Article]:
        """Every article (its latest version, or as the wire knew it at ``as_of``), newest first."""
        when = parse_instant(as_of, "as_of")
        for r in self.store.list(as_of=when):
            yield Article.from_dict(r)

    # -- filters --------------------------------------------------------------------------------------------------
    def _filters(self, *, listing: str | None, since: Time, until: Time, as_of: Time, **rest: Any) -> dict[str, Any]:
        _check_text(listing=listing, **rest)
        kw: dict[str, Any] = dict(rest)
        kw["since"] = parse_instant(since, "since")
        kw["until"] = parse_instant(until, "until")
        kw["as_of"] = parse_instant(as_of, "as_of")
        if kw["since"] and kw["until"] and kw["since"] > kw["until"]:
            raise InvalidInput(f"`since`: {kw['since'].isoformat()} is after `until` ({kw['until'].isoformat()})",
                               param="since", value=str(since))
        if listing is not None and listing.strip():
            kw["links"] = self.links_of(listing, kw["as_of"])
        return kw

    def links_of(self, listing: str, as_of: datetime | None = None) -> builtins.list[str]:
        """The link keys an article about ``listing`` carries: the issuer, the security and every listing of what
        the identity service resolves ``listing`` to (on ``as_of``'s day, default today).

        Our own ids (``MWI``/``MWS``/``MWL`` + 10 characters) also match as given, so articles linked before a
        rebuild of the master keep matching. :class:`NotFound` when the text names nothing the master knows and
        nothing an article carries; :class:`Ambiguous` when it names instruments of several issuers."""
        text = listing.strip()
        own = OWN_ID.match(text.upper()) is not None
        keys: set[str] = set()
        if own:
            ident = text.upper()
            keys |= {f"listing:{ident}", f"security:{ident}", f"issuer:{ident}"}
        try:
            matches = self._resolve(text, as_of)
        except NotFound as e:
            if own and self.store.list(links=sorted(keys), limit=1):
                return sorted(keys)
            raise NotFound(f"`listing`: {e.message}", **{**e.fields, "param": "listing", "value": text}) from None
        for m in matches:
            for kind in ("issuer", "security", "listing"):
                if m.get(f"{kind}_id"):
                    keys.add(f"{kind}:{m[f'{kind}_id']}")
            for lst in m.get("listings") or []:
                if isinstance(lst, dict) and lst.get("listing_id"):
                    keys.add(f"listing:{lst['listing_id']}")
            if m.get("merged_from"):
                keys.add(f"{_kind_of(m['merged_from'])}:{m['merged_from']}")
        return sorted(keys)

    def _resolve(self, text: str, as_of: datetime | None) -> builtins.list[dict[str, Any]]:
        if self.identity is None:
            raise NotFound(f"{text!r} cannot be resolved: no identity service", param="listing", value=text)
        day = as_of.date() if as_of is not None else None
        try:
            return self.identity.resolve(text, day)
        except Ambiguous as e:
            candidates = e.fields.get("candidates") or []
            if len({c.get("issuer_id") for c in candidates}) == 1:
                return list(candidates)  # one company on several venues: its news is the same news
            raise Ambiguous(f"`listing`: {e.message}", **{**e.fields, "param": "listing"}) from None
        except NotFound:
            raise
        except MarketwireError as e:
            raise type(e)(f"`listing`: {e.message}", **{**e.fields, "param": "listing"}) from None

    # -- feeds ----------------------------------------------------------------------------------------------------
    def feeds_add(self, targets: Iterable[str | Path], via: str = "cli") -> builtins.list[FeedAdded]:
        """Feed URLs, or OPML files (every ``xmlUrl`` outline). Adding a feed twice changes nothing."""
        reg = self.registry()
        out: builtins.list[FeedAdded] = []
        for t in targets:
            ids = reg.import_opml(Path(t)) if Path(t).is_file() else reg.add(str(t), source=via)
            out += [FeedAdded(f, str(t)) for f in ids]
        return out

    def feeds(self, include_inactive: bool = False) -> builtins.list[Feed]:
        """The registered feeds with their polling state."""
        return self.registry().feeds(include_inactive=include_inactive)

    # -- polling --------------------------------------------------------------------------------------------------
    @staticmethod
    def ssrf_policy(allow: Iterable[str] = ()) -> Policy:
        """The fetcher's SSRF policy: public addresses, plus the networks and hosts of ``allow`` (``10.0.0.0/8``,
        ``feeds.intranet``, ``127.0.0.1:8080``). A bad entry is :class:`InvalidInput` naming ``allow``."""
        from marketwire.news.ssrf import Policy

        return Policy(allow=list(allow))

    def poll_once(self, limit: int | None = None, articles: bool = True, allow: Iterable[str] = (), *,
                  fetch_policy: FetchPolicy | None = None, ssrf_policy: Policy | None = None) -> dict[str, Any]:
        """One polling cycle over the feeds that are due (at most ``limit``), then (``articles``) the pages of
        their new items through the article pipeline. ``allow`` opens private networks or hosts to the fetcher
        (``ssrf_policy`` replaces the whole policy; ``fetch_policy`` the politeness and timeouts)."""
        policy = ssrf_policy if ssrf_policy is not None else self.ssrf_policy(allow)
        if limit is not None and limit < 0:
            raise InvalidInput(f"`limit`: {limit} is negative", param="limit", value=str(limit))
        store = self.store if articles else None

        async def cycle() -> dict[str, Any]:
            from marketwire.news.fetch import Fetcher

            async with Fetcher(fetch_policy, policy) as fetcher:
                rep = (await self.registry().poll_once(fetcher, limit=limit)).to_dict()
                if store is not None:
                    rep["articles"] = await store.fetch_items(fetcher)
                return rep

        return asyncio.run(cycle())

    def poll_forever(self, limit: int | None = None, *, articles: bool = True, allow: Iterable[str] = (),
                     cycles: int | None = None, stop: threading.Event | None = None,
                     on_cycle: Callable[[dict[str, Any]], Any] | None = None, max_sleep: float = 900.0,
                     fetch_policy: FetchPolicy | None = None, ssrf_policy: Policy | None = None) -> int:
        """Polling cycles (:meth:`poll_once`) until ``stop`` is set or ``cycles`` have run, sleeping between cycles
        until the next feed falls due (at least 1 s, at most ``max_sleep``).

        A cycle that fails, whatever the error, is reported to ``on_cycle`` as ``{"error", "code"}`` and logged,
        and the poller waits 2, 4, 8 ... seconds (at most ``max_sleep``) before the next: it neither dies of a bad
        cycle nor spins on one. ``on_cycle(report)`` is called after each cycle, with ``cycle`` (1, 2 ...) and
        ``started``. Returns the number of cycles run. A bad ``allow`` entry is refused before the first cycle."""
        policy = ssrf_policy if ssrf_policy is not None else self.ssrf_policy(allow)
        stop = stop if stop is not None else threading.Event()
        done = failures = 0
        while not stop.is_set():
            started = utc_now()
            wait: float
            try:
                rep = self.poll_once(limit, articles, fetch_policy=fetch_policy, ssrf_policy=policy)
                nxt = self.registry().next_due() if self.lake.exists(FEEDS) else None
                wait = max_sleep if nxt is None else (nxt - utc_now()).total_seconds()
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


def _kind_of(ident: str) -> str:
    return {"L": "listing", "S": "security", "I": "issuer"}.get(ident[2:3], "listing")


__all__ = ["Identity", "NewsService", "OWN_ID"]


#: bounds of a query (docs/bounds.md): a filter's length, the deepest offset
MAX_FILTER = 200
MAX_OFFSET = 100_000


def _check_text(**filters: Any) -> None:
    """A filter that is too long or holds a control character (a NUL byte) is refused, naming it, before any work."""
    for name, value in filters.items():
        if not isinstance(value, str):
            continue
        if len(value) > MAX_FILTER:
            raise InvalidInput(f"`{name}`: {len(value)} characters; at most {MAX_FILTER}", param=name)
        bad = next((c for c in value if ord(c) < 32 or ord(c) == 127), None)
        if bad is not None:
            raise InvalidInput(f"`{name}`: holds the control character U+{ord(bad):04X}", param=name)
