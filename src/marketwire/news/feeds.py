"""The feeds registry and the poll cycle.

The registry lives in the lake (:mod:`marketwire.datasets.news`): ``feeds`` says what to poll, ``feed_state`` how
the last poll went and when to poll next, ``feed_items`` what the feeds published. Nothing is kept in memory
between polls, so a poller can stop at any point and the next one continues from the lake.

One poll cycle (:meth:`FeedRegistry.poll_once`) takes the feeds that are due and works through them in batches
(``batch_size``, 500 by default): one ``fetch_many`` per batch with conditional GET (the ETag and Last-Modified of
the previous answer), then parsing, then one append per dataset. Only a batch's bodies and parsed entries are ever
held, so memory stays flat whether 50 or 10,000 feeds are due. Per feed:

* ``ok`` with a feed in it: items whose key is not stored yet are appended (the key is the guid, else the link,
  else a hash of title and date), state gets the new validators, ``failures`` goes back to 0 and the feed is due
  again after ``interval``;
* ``not_modified``: nothing is parsed or stored but the state, due again after ``interval``;
* a fetch error or an unparseable body: ``failures`` grows by one and the next poll moves out exponentially
  (``interval * 2**failures``, capped at ``max_backoff``, never sooner than a Retry-After). An unparseable body is
  kept in the state record's ``failed_payload`` column (first 1 MiB): it stays with the record that reports the
  failure, travels with the lake to object storage, and older failures remain in the table's history.

No feed can stop the cycle: the fetcher and the parser report problems as statuses, and anything unexpected while
handling one feed becomes that feed's ``internal_error``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa

from marketwire.datasets.base import Dataset
from marketwire.datasets.news import FEED_ITEMS, FEED_STATE, FEEDS
from marketwire.errors import InvalidInput
from marketwire.news.fetch import Fetcher, FetchRequest, FetchResult, retry_after_seconds
from marketwire.news.parse import ParsedEntry, ParsedFeed, parse_feed
from marketwire.store.lake import Lake

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = timedelta(minutes=15)
MAX_BACKOFF = timedelta(hours=24)
BATCH_SIZE = 500
FAILED_PAYLOAD_MAX = 1024 * 1024
_STATE_COLUMNS = [f.name for f in FEED_STATE.fields if f.name != "failed_payload"]
_SUCCESS = ("ok", "bozo_ok", "not_modified")


def canonical_feed_url(url: str) -> str:
    """The form of a feed URL its id is computed from: scheme and host lower-cased, default port, fragment and
    surrounding blanks dropped, an empty path written ``/``. Path and query are kept as given (servers may care)."""
    raw = url.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"`url`: cannot read {url!r} ({exc})", param="url") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"`url`: a feed URL needs http or https and a host, got {url!r}", param="url")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        host = f"{host}:{port}"
    if parts.username is not None:
        host = f"{parts.username}{':' + parts.password if parts.password is not None else ''}@{host}"
    return urlunsplit((scheme, host, parts.path or "/", parts.query, ""))


def feed_id_of(url: str) -> str:
    """``MWF`` + 16 base32 characters of the SHA-256 of the canonical URL (80 bits: no collision in practice)."""
    digest = hashlib.sha256(canonical_feed_url(url).encode("utf-8")).digest()
    return "MWF" + base64.b32encode(digest).decode("ascii")[:16]


def item_key(entry: ParsedEntry) -> str:
    """The guid (Atom id) when there is one, else the link, else ``sha1:`` + a hash of title and raw date."""
    if entry.id:
        return entry.id
    if entry.link:
        return entry.link
    text = f"{entry.title or ''}\x1f{entry.published_raw or ''}"
    return "sha1:" + hashlib.sha1(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Feed:
    """A registered feed joined with its latest polling state (state fields are ``None``/0 before the first poll)."""

    feed_id: str
    url: str
    canonical_url: str
    title: str | None = None
    language: str | None = None
    active: bool = True
    added_via: str = "cli"
    added_at: datetime | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_status: str | None = None
    last_polled: datetime | None = None
    next_poll: datetime | None = None
    failures: int = 0
    items_seen: int = 0
    entries_in_feed: int | None = None
    parse_status: str | None = None


@dataclass
class PollReport:
    """What one poll cycle did. ``statuses`` counts feeds by outcome: ``ok``, ``bozo_ok`` (broken but read),
    ``not_modified``, ``unparseable`` and the fetcher's error statuses (``http_error``, ``timeout`` ...)."""

    due: int = 0
    polled: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    new_items: int = 0
    entries_parsed: int = 0
    bytes_fetched: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: {"fetch": 0.0, "parse": 0.0, "store": 0.0, "total": 0.0})

    @property
    def errors(self) -> dict[str, int]:
        return {k: v for k, v in self.statuses.items() if k not in _SUCCESS}

    @property
    def items_per_second(self) -> float:
        """New items stored per second of the whole cycle."""
        total = self.seconds.get("total", 0.0)
        return self.new_items / total if total > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "due": self.due, "polled": self.polled, "statuses": dict(self.statuses), "errors": self.errors,
            "new_items": self.new_items, "entries_parsed": self.entries_parsed, "bytes_fetched": self.bytes_fetched,
            "seconds": dict(self.seconds), "items_per_second": self.items_per_second,
        }


@dataclass
class _Outcome:
    """One feed's poll, before it is written."""

    feed: Feed
    result: FetchResult
    parsed: ParsedFeed | None = None
    status: str = ""


class FeedRegistry:
    """The feeds of one lake: add them, import OPML, list what is due, poll."""

    def __init__(self, lake: Lake, *, interval: timedelta = DEFAULT_INTERVAL, max_backoff: timedelta = MAX_BACKOFF,
                 batch_size: int = BATCH_SIZE) -> None:
        if batch_size < 1:
            raise InvalidInput("batch_size must be at least 1", param="batch_size")
        self.lake = lake
        self.interval = interval
        self.max_backoff = max_backoff
        self.batch_size = batch_size

    # -- the registry ------------------------------------------------------------------------------------------

    def add(self, urls: str | Iterable[str], source: str = "cli") -> list[str]:
        """Register feeds; returns their ids in input order. A feed already registered (same canonical URL) is
        left as it is, so adding twice is a no-op. Raises :class:`InvalidInput` for a URL that is not http(s)."""
        given = [urls] if isinstance(urls, str) else list(urls)
        ids = [feed_id_of(u) for u in given]
        known = self._feed_ids()
        now = datetime.now(UTC)
        rows: list[dict[str, Any]] = []
        for url, fid in zip(given, ids):
            if fid in known:
                continue
            known.add(fid)
            rows.append({
                "feed_id": fid, "url": url.strip(), "canonical_url": canonical_feed_url(url), "added_at": now,
                "added_via": source, "active": True, **_provenance(now, f"news-feeds:{source}", now),
            })
        self._append(FEEDS, rows)
        return ids

    def import_opml(self, opml: str | Path | bytes) -> list[str]:
        """Register every feed (``outline`` with an ``xmlUrl``, at any depth) of an OPML file or document.

        Raises :class:`InvalidInput` naming the file and line for a document that is not well-formed XML or not
        OPML. Outlines whose URL is not http(s) are skipped with a warning naming their line.
        """
        from lxml import etree

        if isinstance(opml, bytes):
            data, name = opml, "<opml bytes>"
        else:
            path = Path(opml)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise InvalidInput(f"`opml`: cannot read {path}: {exc.strerror or exc}", param="opml") from exc
            name = path.name
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        try:
            root = etree.fromstring(data, parser)
        except etree.XMLSyntaxError as exc:
            line = f" line {exc.lineno}:" if exc.lineno else ""
            raise InvalidInput(f"`opml`: {name}:{line} not well-formed XML ({exc.msg})", param="opml") from exc
        tag = etree.QName(root).localname.lower() if isinstance(root.tag, str) else ""
        if tag != "opml":
            raise InvalidInput(f"`opml`: {name}: line {root.sourceline}: not an OPML document (root element <{tag}>)",
                               param="opml")
        urls: list[str] = []
        for outline in root.iter("{*}outline"):
            url = next((v for k, v in outline.attrib.items() if str(k).lower() == "xmlurl"), None)
            if not url or not str(url).strip():
                continue
            try:
                canonical_feed_url(str(url))
            except InvalidInput as exc:
                log.warning("%s: line %s: skipped outline: %s", name, outline.sourceline, exc.message)
                continue
            urls.append(str(url))
        if not urls:
            raise InvalidInput(f"`opml`: {name}: no feed found (no outline with an http(s) xmlUrl)", param="opml")
        return list(dict.fromkeys(self.add(urls, source=f"opml:{name}")))

    def feeds(self, *, include_inactive: bool = False) -> list[Feed]:
        """Every registered feed with its latest state."""
        states = {r["feed_id"]: r for r in self.lake.read(FEED_STATE, columns=_STATE_COLUMNS).to_pylist()}
        out = []
        for r in self.lake.read(FEEDS).to_pylist():
            if not r["active"] and not include_inactive:
                continue
            s = states.get(r["feed_id"], {})
            out.append(Feed(
                feed_id=r["feed_id"], url=r["url"], canonical_url=r["canonical_url"], title=r["title"],
                language=r["language"], active=r["active"], added_via=r["added_via"], added_at=r["added_at"],
                etag=s.get("etag"), last_modified=s.get("last_modified"), last_status=s.get("last_status"),
                last_polled=s.get("last_polled"), next_poll=s.get("next_poll"), failures=s.get("failures") or 0,
                items_seen=s.get("items_seen") or 0, entries_in_feed=s.get("entries_in_feed"),
                parse_status=s.get("parse_status"),
            ))
        return out

    def due(self, now: datetime | None = None) -> list[Feed]:
        """Active feeds never polled or whose ``next_poll`` has come, the longest-waiting first."""
        now = now or datetime.now(UTC)
        never = datetime.min.replace(tzinfo=UTC)
        due = [f for f in self.feeds() if f.next_poll is None or f.next_poll <= now]
        return sorted(due, key=lambda f: (f.next_poll or never, f.feed_id))

    def next_due(self) -> datetime | None:
        """When the next active feed falls due (now or earlier for one that is already due); None without feeds."""
        feeds = self.feeds()
        if not feeds:
            return None
        never = datetime.min.replace(tzinfo=UTC)
        return min(f.next_poll or never for f in feeds)

    # -- polling -----------------------------------------------------------------------------------------------

    async def poll_once(self, fetcher: Fetcher, now: datetime | None = None, limit: int | None = None) -> PollReport:
        """Poll every due feed once (at most ``limit``), ``batch_size`` feeds at a time. ``now`` is the poll's
        clock for scheduling (``last_polled``, ``next_poll``, ``first_seen``); records are stamped with the wall
        clock as their ``knowledge_time``."""
        started = time.monotonic()
        now = now or datetime.now(UTC)
        due = self.due(now)
        if limit is not None:
            due = due[: max(0, limit)]
        report = PollReport(due=len(due))
        # batches are pipelined: while one batch is parsed (in worker processes) and stored, the next is fetched
        previous: asyncio.Task[None] | None = None
        try:
            for i in range(0, len(due), self.batch_size):
                batch = due[i : i + self.batch_size]
                t = time.monotonic()
                results = await fetcher.fetch_many([FetchRequest(f.url, f.etag, f.last_modified) for f in batch])
                report.seconds["fetch"] += time.monotonic() - t
                if previous is not None:
                    await previous
                previous = asyncio.create_task(self._parse_and_store(batch, results, now, report))
            if previous is not None:
                await previous
        finally:
            if previous is not None and not previous.done():
                previous.cancel()
        report.seconds["total"] = time.monotonic() - started
        return report

    async def _parse_and_store(self, batch: Sequence[Feed], results: Sequence[FetchResult], now: datetime,
                               report: PollReport) -> None:
        t = time.monotonic()
        outcomes = [_Outcome(feed, result, status=result.status) for feed, result in zip(batch, results)]
        todo = [o for o in outcomes if o.result.status == "ok"]
        args = [(o.result.body or b"", o.result.final_url,
                 {"content-type": o.result.headers.content_type or "", "content-location": o.result.final_url})
                for o in todo]
        parsed = await _parse_all(args)
        for o, p in zip(todo, parsed):
            report.bytes_fetched += len(o.result.body or b"")
            o.parsed = p
            o.status = p.status
            report.entries_parsed += len(p.entries)
        report.seconds["parse"] += time.monotonic() - t

        t = time.monotonic()
        self._store(outcomes, now, report)
        report.seconds["store"] += time.monotonic() - t
        report.polled += len(batch)

    def _store(self, outcomes: Sequence[_Outcome], now: datetime, report: PollReport) -> None:
        wall = datetime.now(UTC)
        with_items = [o.feed.feed_id for o in outcomes if o.parsed is not None and o.parsed.entries]
        stored = self._stored_keys(with_items)
        items: list[dict[str, Any]] = []
        states: list[dict[str, Any]] = []
        feed_updates: list[dict[str, Any]] = []
        for o in outcomes:
            try:
                new = self._new_items(o, stored.get(o.feed.feed_id, set()), now, wall)
                states.append(self._state(o, len(new), now, wall))
                items.extend(new)
                if o.parsed is not None and o.parsed.ok:
                    update = _feed_update(o.feed, o.parsed, wall)
                    if update is not None:
                        feed_updates.append(update)
            except Exception as exc:  # one feed's surprise must not cost the batch
                log.exception("news poll: cannot store feed %s (%s)", o.feed.feed_id, o.feed.url)
                o.status = "internal_error"
                states.append(self._failure_state(o.feed, now, wall, f"internal error: {type(exc).__name__}: {exc}"))
            report.statuses[o.status] += 1
        report.new_items += self._append(FEED_ITEMS, items)
        self._append(FEED_STATE, states)
        self._append(FEEDS, feed_updates)

    def _new_items(self, o: _Outcome, stored: set[str], now: datetime, wall: datetime) -> list[dict[str, Any]]:
        if o.parsed is None:
            return []
        rows = []
        for e in o.parsed.entries:
            key = item_key(e)
            if key in stored:
                continue
            stored.add(key)  # a feed listing one item twice stores it once
            rows.append({
                "feed_id": o.feed.feed_id, "item_key": key, "guid": e.id, "link": e.link, "title": e.title,
                "summary": e.summary, "content_html": e.content_html, "published": e.published,
                "published_raw": e.published_raw, "updated": e.updated, "authors": "; ".join(e.authors) or None,
                "categories": "; ".join(e.categories) or None, "first_seen": now, "raw": e.raw_json(),
                **_provenance(wall, "news-poll", wall),
            })
        return rows

    def _state(self, o: _Outcome, new_items: int, now: datetime, wall: datetime) -> dict[str, Any]:
        feed, result, parsed = o.feed, o.result, o.parsed
        if o.status not in _SUCCESS:
            error = result.error
            payload = None
            if parsed is not None:  # fetched, but not a feed
                error = parsed.bozo_reason or "unparseable"
                payload = (result.body or b"")[:FAILED_PAYLOAD_MAX]
            state = self._failure_state(feed, now, wall, error or o.status, retry_after=_retry_after(result))
            state.update(last_status=o.status, last_http_status=result.http_status, failed_payload=payload,
                         parse_status=parsed.status if parsed is not None else feed.parse_status)
            return state
        return {
            "feed_id": feed.feed_id, "etag": result.headers.etag, "last_modified": result.headers.last_modified,
            "last_status": result.status, "last_http_status": result.http_status, "failures": 0, "last_polled": now,
            "next_poll": now + self.interval, "last_error": parsed.bozo_reason if parsed is not None else None,
            "items_seen": feed.items_seen + new_items,
            "entries_in_feed": len(parsed.entries) if parsed is not None else feed.entries_in_feed,
            "parse_status": parsed.status if parsed is not None else feed.parse_status,
            **_provenance(wall, "news-poll", wall),
        }

    def _failure_state(self, feed: Feed, now: datetime, wall: datetime, error: str,
                       retry_after: float | None = None) -> dict[str, Any]:
        """A failed poll: validators and counters carried over, ``failures`` + 1, the next poll backed off."""
        failures = feed.failures + 1
        return {
            "feed_id": feed.feed_id, "etag": feed.etag, "last_modified": feed.last_modified,
            "last_status": "internal_error", "failures": failures, "last_polled": now,
            "next_poll": now + self.backoff(failures, retry_after), "last_error": error[:2000],
            "items_seen": feed.items_seen, "entries_in_feed": feed.entries_in_feed, "parse_status": feed.parse_status,
            **_provenance(wall, "news-poll", wall),
        }

    def backoff(self, failures: int, retry_after: float | None = None) -> timedelta:
        """The wait after ``failures`` consecutive failures: ``interval * 2**failures`` up to ``max_backoff``,
        and never shorter than the server's Retry-After."""
        wait = min(self.max_backoff, self.interval * 2 ** min(failures, 30))
        if retry_after is not None:
            wait = max(wait, timedelta(seconds=retry_after))
        return wait

    # -- lake access -------------------------------------------------------------------------------------------

    def _feed_ids(self) -> set[str]:
        return set(self.lake.read(FEEDS, columns=["feed_id"], latest=False).column("feed_id").to_pylist())

    def _stored_keys(self, feed_ids: Sequence[str]) -> dict[str, set[str]]:
        """Item keys already stored for these feeds (every version: an existence test needs no latest-per-key)."""
        if not feed_ids or not self.lake.exists(FEED_ITEMS):
            return {}
        table = self.lake.read(FEED_ITEMS, columns=["feed_id", "item_key"], latest=False,
                               where="list_contains(?, feed_id)", params=[list(feed_ids)])
        out: dict[str, set[str]] = {}
        for fid, key in zip(table.column("feed_id").to_pylist(), table.column("item_key").to_pylist()):
            out.setdefault(fid, set()).add(key)
        return out

    def _append(self, ds: Dataset, rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        return self.lake.append(ds, pa.Table.from_pylist(rows, schema=ds.schema))


#: below this many feeds in a batch, parsing stays in this process (starting workers costs more than it saves)
PARALLEL_PARSE_MIN = 32
_PARSE_POOL: Any = None


def _parse_pool() -> Any:
    """Worker processes for feedparser, which is pure Python: threads would share one core."""
    global _PARSE_POOL
    if _PARSE_POOL is None:
        import multiprocessing
        import os
        from concurrent.futures import ProcessPoolExecutor

        _PARSE_POOL = ProcessPoolExecutor(max_workers=max(1, os.cpu_count() or 1),
                                          mp_context=multiprocessing.get_context("spawn"))
    return _PARSE_POOL


async def _parse_all(args: Sequence[tuple[bytes, str, dict[str, str]]]) -> list[ParsedFeed]:
    if len(args) < PARALLEL_PARSE_MIN:
        return [parse_feed(*a) for a in args]
    loop = asyncio.get_running_loop()
    pool = _parse_pool()
    return list(await asyncio.gather(*(loop.run_in_executor(pool, parse_feed, *a) for a in args)))


def _provenance(knowledge_time: datetime, source: str, ingested_at: datetime) -> dict[str, Any]:
    return {
        "knowledge_time": knowledge_time,
        "ingested_at": ingested_at,
        "source": source,
        "ingest_id": f"{source}:{ingested_at.strftime('%Y%m%dT%H%M%S.%fZ')}",
    }


def _feed_update(feed: Feed, parsed: ParsedFeed, wall: datetime) -> dict[str, Any] | None:
    """A new FEEDS version when the feed's declared title or language changed (learned at the first good poll)."""
    title = parsed.title or feed.title
    language = parsed.language or feed.language
    if (title, language) == (feed.title, feed.language):
        return None
    return {
        "feed_id": feed.feed_id, "url": feed.url, "canonical_url": feed.canonical_url, "title": title,
        "language": language, "added_at": feed.added_at or wall, "added_via": feed.added_via, "active": feed.active,
        **_provenance(wall, "news-poll", wall),
    }


def _retry_after(result: FetchResult) -> float | None:
    return retry_after_seconds(result.headers.retry_after)
