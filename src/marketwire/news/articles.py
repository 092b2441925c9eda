"""Articles: pages, text files or feed items in; extracted, identified, deduplicated, linked, summarised stories out.

This is the chain the wire runs for every article, one stage after another, each a module of its own:

1. **read** - extract the text of an HTML page (:mod:`marketwire.news.extract`) or read a text file (the first line is
   the title); a feed item whose page could not be fetched keeps the item's own title and summary as its text, with
   the fetch status saying so;
2. **language** (:mod:`marketwire.news.lang`), from the text, the page's declaration and the feed's;
3. **duplicates** (:mod:`marketwire.news.dedup`) - the original an article copies: the same normalised text, else a
   MinHash near-copy published no later;
4. **entities** (:mod:`marketwire.news.entities`) - people, places, organisations, linked to countries, people and
   the securities master;
5. **summary** (:mod:`marketwire.news.summarize`) - a headline and 2-3 bullets that pass the faithfulness gate;
6. **topics** (:mod:`marketwire.news.topics`);
7. **story** (:mod:`marketwire.news.stories`) - the story the article reports, across outlets and languages, and
   its novelty;
8. **store** - an append to ``news_articles`` (and ``news_pages`` for fetched pages), point in time.

Reading the same address again with the same text adds nothing; with an edited text it adds the next revision of
the same id. :attr:`ArticleStore.timings` accumulates the seconds spent per stage.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import json
import logging
import re
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from marketwire.datasets.news import FEED_ITEMS, FEEDS, NEWS_ARTICLES, NEWS_PAGES
from marketwire.datasets.reference import QUARANTINE
from marketwire.engine.core import Engine, Job
from marketwire.errors import InvalidInput, NotFound, SourceError
from marketwire.identity.service import company_rows, company_version
from marketwire.news.dedup import NearDupIndex, canonical_url, content_hash
from marketwire.news.extract import MAX_BODY_CHARS, MAX_INPUT_BYTES, extract
from marketwire.news.lang import detect
from marketwire.news.records import EXPORT_FIELDS, Added, export_row, fold, terms
from marketwire.news.search import ArticleIndex
from marketwire.sources.base import Refusal
from marketwire.store import Lake
from marketwire.timeparse import parse_instant

log = logging.getLogger(__name__)

#: the pipeline's stages, in order, as :attr:`ArticleStore.timings` names them
STAGES = ("fetch", "read", "language", "duplicates", "entities", "summary", "topics", "story", "store")

#: how far around a new article's time the story stage looks for the story it belongs to
STORY_WINDOW = timedelta(days=3)


def article_id_of(address: str) -> str:
    digest = hashlib.sha256(address.encode("utf-8")).digest()
    return "MWA" + base64.b32encode(digest).decode("ascii")[:16]


#: the dataset the pipeline's refusals are quarantined under
DATASET = NEWS_ARTICLES.name
#: how much of a refused page's text its quarantine record keeps
RAW_PREFIX_CHARS = 2048
#: extraction (and fetch) outcomes that leave a page without an article, and the rule that refuses it
REFUSAL_RULES = {"no_text": "news.no_text", "not_html": "news.unparseable", "not_text": "news.unparseable",
                 "failed": "news.unparseable", "too_large": "news.too_large"}
FETCH_RULES = {"refused_ssrf": "news.ssrf_refused", "too_large": "news.too_large"}


@dataclass
class Page:
    """One input of the pipeline: a page's bytes (or a text file's), where it came from and how it was fetched."""

    address: str  # the URL, or a local file's absolute path
    data: bytes | None
    source: str | None = None
    published: str | None = None
    is_html: bool | None = None  # None: sniffed from the bytes
    feed_id: str | None = None
    item_key: str | None = None
    feed_language: str | None = None
    fetch_status: str | None = None
    http_status: int | None = None
    final_url: str | None = None
    content_type: str | None = None
    fallback_title: str | None = None  # a feed item's own title and text, used when the page gives no article
    fallback_body: str | None = None
    fetched_at: datetime | None = None
    fetch_error: str | None = None

    @property
    def is_url(self) -> bool:
        return "://" in self.address


def _parse_time(value: str | None) -> datetime | None:
    """A publication time (:mod:`marketwire.timeparse`: a date is the start of its day); None if it is not one."""
    try:
        return parse_instant(value, "published")
    except InvalidInput:
        return None


#: file suffixes ``news add`` reads from a folder: HTML pages and text files (the first line the title)
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
READABLE = HTML_SUFFIXES + (".txt", ".text", ".md")
#: files put through the pipeline together by ``news add`` (progress is reported after each batch)
ADD_BATCH = 32


def expand_targets(targets: Iterable[str]) -> tuple[list[Path], list[tuple[Path, Added]]]:
    """Files to read and files passed over: a file is read as given (its bytes say whether it is a page); a folder
    gives its files with a :data:`READABLE` suffix, recursively in name order, and names every other file as
    skipped. A URL is :class:`InvalidInput`; a path that does not exist, :class:`SourceError`."""
    files: list[Path] = []
    skipped: list[tuple[Path, Added]] = []
    seen: set[Path] = set()
    for t in targets:
        if "://" in t:
            raise InvalidInput(f"`targets`: {t} is a URL; add it as a feed (marketwire news feeds add) or save "
                               "the page and add the file", param="targets", value=t)
        path = Path(t)
        if not path.exists():
            raise SourceError(f"{t}: cannot read (no such file or folder)", file=t)
        if not path.is_dir():
            if path.resolve() not in seen:
                seen.add(path.resolve())
                files.append(path)
            continue
        found = 0
        for p in sorted(path.rglob("*")):
            rel = p.relative_to(path).parts
            if any(part.startswith(".") for part in rel) or not p.is_file() or p.resolve() in seen:
                continue
            seen.add(p.resolve())
            if p.suffix.lower() in READABLE:
                files.append(p)
                found += 1
            else:
                skipped.append((p, Added(None, str(p.resolve()), "skipped", None, None,
                                         reason=f"not a page or text file ({p.suffix or 'no suffix'}); "
                                                f"a folder gives only {', '.join(READABLE)}")))
        if not found and not any(s[0].is_relative_to(path) for s in skipped):
            raise InvalidInput(f"`targets`: {t} is a folder with no file in it", param="targets", value=t)
    return files, skipped


def _target_order(targets: Iterable[str]) -> Callable[[str], tuple[int, str]]:
    """Results in the order of the targets given, a folder's files in name order."""
    roots = [Path(t).resolve() for t in targets]

    def key(p: str) -> tuple[int, str]:
        rp = Path(p).resolve()
        for i, r in enumerate(roots):
            if rp == r or rp.is_relative_to(r):
                return i, str(rp)
        return len(roots), str(rp)
    return key


def _paragraphs(text: str) -> str:
    """A text file's body with one blank line between paragraphs: where the file separates paragraphs by blank
    lines, a block's lines are one paragraph (hard-wrapped text); where it has none, every line is a paragraph."""
    text = text.strip()
    if re.search(r"\n[ \t]*\n", text):
        blocks = re.split(r"\n[ \t]*\n+", text)
        return "\n\n".join(" ".join(b.split()) if not _listy(b) else b.strip() for b in blocks if b.strip())
    return "\n\n".join(line.strip() for line in text.split("\n") if line.strip())


def _listy(block: str) -> bool:
    """A block of bullet or numbered lines, kept line by line."""
    lines = [ln for ln in block.split("\n") if ln.strip()]
    return len(lines) > 1 and all(re.match(r"\s*(?:[-*•–]|\d+[.)])\s", ln) for ln in lines)


def _looks_binary(data: bytes) -> bool:
    """Bytes that are not text: a NUL, or mostly control characters or undecodable bytes, in the first 8 kB."""
    head = data[:8192]
    if not head:
        return False
    if b"\x00" in head:
        return True
    text = head.decode("utf-8", errors="replace")
    bad = sum(1 for c in text if c == "\ufffd" or (ord(c) < 32 and c not in "\t\n\r\f"))
    return bad > 0.1 * len(text)


def _html_text(fragment: str | None) -> str:
    """The text of a feed item's HTML summary (tags dropped, entities decoded, paragraphs kept)."""
    if not fragment:
        return ""
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except Exception:  # not markup after all
        return fragment.strip()
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    blocks = []
    for el in root.iter("p", "li", "h1", "h2", "h3", "blockquote"):
        text = " ".join(el.text_content().split())
        if text:
            blocks.append(text)
    return "\n\n".join(blocks) if blocks else " ".join(root.text_content().split())


_STATE_COLUMNS = ("article_id", "title", "body", "content_hash", "published", "first_seen", "revision",
                  "duplicate_of", "language", "entities", "story_id")


class _IngestState:
    """The stored articles as the pipeline needs them (latest revision by id, first article by content hash, the
    near-duplicate index), at one version of the articles table."""

    def __init__(self, version: int | None, vectors: Path | None = None) -> None:
        self.version = version
        self.by_id: dict[str, dict[str, Any]] = {}
        self.by_hash: dict[str, str] = {}
        self.index = NearDupIndex(window=None)
        self.vectors = vectors
        self._encoder: Any = None

    @property
    def encoder(self) -> Any:
        """The story stage's sentence encoder, remembering the vectors of recent articles across batches (and, with
        a ``vectors`` file, across processes)."""
        if self._encoder is None:
            from marketwire.news.stories import CachingEncoder, VectorStore, cache_weights_in

            if self.vectors is not None:  # the lake's cache keeps the encoder's weights unpacked (stories.py)
                cache_weights_in(self.vectors.parent.parent / "models")
            self._encoder = CachingEncoder(store=VectorStore(self.vectors) if self.vectors is not None else None)
        return self._encoder

    def remember(self, r: dict[str, Any]) -> None:
        self.by_id[r["article_id"]] = {k: r.get(k) for k in _STATE_COLUMNS}
        self.by_hash.setdefault(r["content_hash"], r["article_id"])


class ArticleStore:
    """The article pipeline over one lake. ``engine`` writes the pipeline's refusals to the quarantine (default: an
    engine of its own over the same lake); ``companies`` replaces the company index read from the master;
    ``index_path`` is the serving index's file (default: ``cache/news/articles.sqlite`` beside the lake)."""

    def __init__(self, lake: Lake, *, companies: Any = None, engine: Engine | None = None,
                 index_path: Path | None = None) -> None:
        self.lake = lake
        self.engine = engine if engine is not None else Engine(lake)
        self.index_path = index_path
        self._companies = companies
        self._ann: Any = None
        self._state: _IngestState | None = None
        self._search: Any = None
        self.timings: dict[str, float] = defaultdict(float)

    # -- stages that need models, built once per store ------------------------------------------------
    def _annotator(self) -> Any:
        if self._ann is None:
            from marketwire.news.entities import CompanyIndex, EntityAnnotator

            companies = self._companies if self._companies is not None else CompanyIndex.from_lake(
                self.lake, lambda: company_rows(self.lake), company_version(self.lake))
            self._ann = EntityAnnotator(companies)
        return self._ann

    def _stored(self) -> list[dict[str, Any]]:
        if not self.lake.exists(NEWS_ARTICLES):
            return []
        return self.lake.read(NEWS_ARTICLES, columns=list(_STATE_COLUMNS)).to_pylist()

    def _ingest_state(self) -> _IngestState:
        """What the duplicate and story stages know of the stored articles, read once and then kept up to date by
        :meth:`ingest` itself; read again only when another writer has changed the table since."""
        version = self.lake.version(NEWS_ARTICLES)
        if self._state is not None and self._state.version == version:
            return self._state
        state = _IngestState(version, self.index_path.with_name("story-vectors.sqlite")
                             if self.index_path is not None else None)
        if self._state is not None:
            state._encoder = self._state._encoder  # vectors depend on the text alone: still good
        for r in sorted(self._stored(), key=lambda r: (r["published"] or r["first_seen"], r["article_id"])):
            state.remember(r)
            if r["body"]:
                state.index.add(r["article_id"], f"{r['title'] or ''}\n\n{r['body'] or ''}",
                                r["published"] or r["first_seen"])
        self._state = state
        return state

    # -- inputs ----------------------------------------------------------------------------------------
    def add(self, targets: list[str], *, source: str | None = None, published: str | datetime | None = None,
            progress: Callable[[int, int], None] | None = None) -> list[Added]:
        """Local HTML pages or text files, or folders of them. (URLs are fetched by the poller; here a URL is an
        error, not a fetch.)

        A folder is read recursively, in name order: the files it knows how to read (:data:`READABLE` suffixes);
        every other file is named in the result with status ``skipped`` and the reason (hidden files and folders,
        such as ``.git``, are passed over). ``published`` (a date or an instant, :mod:`marketwire.timeparse`) is the
        publication time of pages that do not state one; text that is not a time is :class:`InvalidInput` naming
        ``published``. A file that gives no article (empty, not text, nothing left after extraction, too large) is
        quarantined, not stored: its :class:`Added` has status ``quarantined`` and the rule. ``progress(done,
        total)`` is called after each batch of :data:`ADD_BATCH` files."""
        when = parse_instant(published, "published")
        stamp = when.isoformat() if when is not None else None
        files, skipped = expand_targets(targets)
        out: dict[str, Added] = {str(p): a for p, a in skipped}
        done = 0
        for i in range(0, len(files), ADD_BATCH):
            pages = []
            for path in files[i:i + ADD_BATCH]:
                try:
                    data = path.read_bytes()
                except OSError as e:
                    raise SourceError(f"{path}: cannot read ({e.strerror})", file=str(path)) from e
                is_html = path.suffix.lower() in HTML_SUFFIXES or \
                    data[:512].lstrip().lower().startswith((b"<!doctype", b"<html"))
                pages.append(Page(address=str(path.resolve()), data=data, is_html=is_html,
                                  source=source or path.parent.name or "files", published=stamp))
            for path, a in zip(files[i:i + ADD_BATCH], self.ingest(pages, source="news-files"), strict=True):
                out[str(path)] = a
            done += len(pages)
            if progress is not None:
                progress(done, len(files))
        order = [str(p) for p in files] + [str(p) for p, _ in skipped]
        return [out[k] for k in sorted(order, key=_target_order(targets))]

    async def fetch_items(self, fetcher: Any, *, limit: int | None = None, batch: int = 200,
                          feed_ids: Sequence[str] | None = None) -> dict[str, Any]:
        """Fetch the article page of every feed item not yet read, and put each through the pipeline.

        A page that fails (HTTP error, timeout, refused by the SSRF guard, too large, not an article) still makes
        an article when the item has text of its own: the item's title and summary are its text and
        ``fetch_status`` / ``extract_status`` say what happened; the raw response, when one arrived, is kept in
        ``news_pages``. An item left with no text at all is quarantined with the rule that says why (and is not
        fetched again).
        """
        from marketwire.news.fetch import FetchRequest

        todo = self.pending_items(feed_ids=feed_ids)
        if limit is not None:
            todo = todo[:limit]
        report: dict[str, Any] = {"items": len(todo), "articles": 0, "duplicates": 0, "quarantined": 0,
                                  "statuses": defaultdict(int), "seconds": 0.0}
        before = dict(self.timings)  # a long-lived store (the poller's) reports this call's seconds only
        t0 = time.perf_counter()
        for i in range(0, len(todo), batch):
            chunk = todo[i:i + batch]
            t = time.perf_counter()
            results = await fetcher.fetch_many([FetchRequest(it["link"]) for it in chunk])
            self.timings["fetch"] += time.perf_counter() - t
            pages = []
            for it, res in zip(chunk, results, strict=True):
                report["statuses"][res.status] += 1
                pages.append(Page(
                    address=it["link"], data=res.body, source=it.get("source"), feed_id=it["feed_id"],
                    item_key=it["item_key"], feed_language=it.get("feed_language"), fetch_status=res.status,
                    http_status=res.http_status, final_url=res.final_url, content_type=res.headers.content_type,
                    fallback_title=it.get("title"), fallback_body=_html_text(it.get("content_html") or it.get("summary")),
                    published=it["published"].isoformat() if it.get("published") else None,
                    fetched_at=datetime.now(timezone.utc), fetch_error=res.error))
            added = self.ingest(pages, source="news-poll")
            report["articles"] += sum(a.status in ("new", "revised") for a in added)
            report["quarantined"] += sum(a.status == "quarantined" for a in added)
            report["duplicates"] += sum(a.duplicate_of is not None for a in added)
        report["seconds"] = round(time.perf_counter() - t0, 3)
        report["statuses"] = dict(report["statuses"])
        report["stage_seconds"] = {k: round(v - before.get(k, 0.0), 3) for k, v in self.timings.items()}
        return report

    def pending_items(self, feed_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Feed items with a link whose article has not been read yet, oldest first."""
        if not self.lake.exists(FEED_ITEMS):
            return []
        where, params = "link IS NOT NULL", []
        if feed_ids:
            where += f" AND feed_id IN ({', '.join('?' for _ in feed_ids)})"
            params += list(feed_ids)
        items = self.lake.read(FEED_ITEMS, where=where, params=params, columns=[
            "feed_id", "item_key", "link", "title", "summary", "content_html", "published", "first_seen"]).to_pylist()
        done = set()
        if self.lake.exists(NEWS_ARTICLES):
            done = set(self.lake.read(NEWS_ARTICLES, columns=["article_id"]).column("article_id").to_pylist())
        refused = self._refused_addresses()
        feeds = self._feed_meta()
        out, seen = [], set()
        for it in sorted(items, key=lambda r: (r["first_seen"], r["feed_id"], r["item_key"])):
            link = it["link"].strip()
            if not link.lower().startswith(("http://", "https://")) or link in refused:
                continue
            aid = article_id_of(canonical_url(link))
            if aid in done or aid in seen:
                continue
            seen.add(aid)
            meta = feeds.get(it["feed_id"], {})
            out.append({**it, "link": link, "source": meta.get("title") or meta.get("host"),
                        "feed_language": meta.get("language")})
        return out

    def _refused_addresses(self) -> set[str]:
        """The pages the pipeline quarantined (an item whose page gave no article is read once, like any other)."""
        if not self.lake.exists(QUARANTINE):
            return set()
        t = self.lake.read(QUARANTINE, where="dataset = ? AND file IS NOT NULL", params=[DATASET], columns=["file"])
        return set(t.column("file").to_pylist())

    def _feed_meta(self) -> dict[str, dict[str, Any]]:
        if not self.lake.exists(FEEDS):
            return {}
        rows = self.lake.read(FEEDS, columns=["feed_id", "url", "title", "language"]).to_pylist()
        return {r["feed_id"]: {**r, "host": urlsplit(r["url"]).hostname} for r in rows}

    # -- the pipeline ------------------------------------------------------------------------------------
    def ingest(self, pages: Iterable[Page], *, source: str = "news", job: Job | None = None) -> list[Added]:
        """Put pages through every stage and store the new and revised articles; quarantine the pages that give
        no article, and the stated times that are not times, through the engine's quarantine (``job``: a delivery
        of the caller's to add them to; default a delivery of ``source`` of this call, flushed before returning)."""
        own = job is None
        job = job if job is not None else self.engine.job(source)
        try:
            added = self._ingest(pages, job)
        except BaseException:
            self._state = None  # a batch that failed half way: read the table again next time
            raise
        if own:
            job.flush_quarantine()
        return added

    def _ingest(self, pages: Iterable[Page], job: Job) -> list[Added]:
        now = job.now
        tick = time.perf_counter
        state = self._ingest_state()
        by_id, by_hash, index = state.by_id, state.by_hash, state.index
        rows: list[dict[str, Any]] = []
        raw_pages: list[dict[str, Any]] = []
        out: list[Added] = []
        batch_ids: set[str] = set()
        kept_story: dict[str, str] = {}  # a revised article stays in the story it was given
        # earliest first, so that within one batch an original is stored before the copies that follow it
        pages = list(pages)
        order = sorted(range(len(pages)), key=lambda i: (_parse_time(pages[i].published) or now, pages[i].address))
        slot: dict[int, int] = {}
        for i in order:
            page = pages[i]
            slot[i] = len(out)
            t = tick()
            rec = self._read(page)
            self.timings["read"] += tick() - t
            refusal = rec.pop("_refusal")
            if refusal is not None:
                job.refuse([refusal])
                if not refusal.kept:
                    out.append(Added(None, page.address, "quarantined", None, None, rule=refusal.rule,
                                     reason=refusal.message))
                    continue
            t = tick()
            text = f"{rec['title'] or ''}\n\n{rec['body'] or ''}"
            guess = detect(text, declared=rec.pop("_declared"), feed_declared=page.feed_language,
                           url=page.address if page.is_url else None)
            rec["language"], rec["language_method"] = guess.code, guess.method
            self.timings["language"] += tick() - t
            aid = rec["article_id"]
            prev = by_id.get(aid)
            if aid in batch_ids or (prev is not None and prev["content_hash"] == rec["content_hash"]):
                out.append(Added(aid, page.address, "unchanged", prev["duplicate_of"] if prev else None, None,
                                 prev["story_id"] if prev else None))
                continue
            t = tick()
            first_seen = prev["first_seen"] if prev else now
            when = rec["published"] or first_seen
            original = by_hash.get(rec["content_hash"])
            score = 1.0 if original else None
            if original is None and rec["body"]:
                found = index.find_original(aid, text, when)
                if found:
                    original = found
                    score = next((s for i, s in index.query(text) if i == found), None)
            if original == aid:
                original, score = None, None
            rec.update(duplicate_of=original, duplicate_score=score,
                       revision=(prev["revision"] + 1) if prev else 1, first_seen=first_seen)
            # the state follows the latest text, as a fresh read of the table would: a revision replaces the hash and
            # the near-duplicate entry of the text it revises
            if prev is not None and by_hash.get(prev["content_hash"]) == aid:
                del by_hash[prev["content_hash"]]
            by_hash.setdefault(rec["content_hash"], aid)
            if rec["body"]:
                index.add(aid, text, when)
            else:
                index.remove(aid)
            if prev is not None and prev.get("story_id"):
                kept_story[aid] = prev["story_id"]
            self.timings["duplicates"] += tick() - t
            rows.append(rec)
            batch_ids.add(aid)
            if page.is_url and (page.data is not None or page.fetch_status):
                raw_pages.append({"article_id": aid, "revision": rec["revision"], "url": page.address,
                                  "final_url": page.final_url, "fetched_at": page.fetched_at or now,
                                  "http_status": page.http_status, "content_type": page.content_type,
                                  "status": page.fetch_status or "ok", "raw": page.data})
            out.append(Added(aid, page.address, "revised" if prev else "new", original, rec["language"]))
        if rows:
            self._enrich(rows)
            self._stories(rows, list(by_id.values()), now, state.encoder, kept_story)
            story = {r["article_id"]: r["story_id"] for r in rows}
            for a in out:
                if a.article_id in story and a.status != "unchanged":
                    a.story_id = story[a.article_id]
            t = tick()
            prov = {"knowledge_time": job.knowledge_time, "ingested_at": now, "ingest_id": job.ingest_id}
            self.lake.append(NEWS_ARTICLES, pa.Table.from_pylist([{**r, **prov} for r in rows],
                                                                 schema=NEWS_ARTICLES.schema))
            if raw_pages:
                self.lake.append(NEWS_PAGES, pa.Table.from_pylist(
                    [{**p, **prov, "source": "fetch"} for p in raw_pages], schema=NEWS_PAGES.schema))
            for r in rows:
                state.remember(r)
            version = self.lake.version(NEWS_ARTICLES)
            # our own append is one commit: anything more is another writer's, which a fresh read must pick up
            expected = 0 if state.version is None else state.version + 1
            state.version = version
            if version != expected:
                self._state = None
            self.timings["store"] += tick() - t
        return [out[slot[i]] for i in range(len(pages))]  # in the order given

    def _read(self, page: Page) -> dict[str, Any]:
        """Stage 1: the text of one page (or file, or feed item), with where it came from."""
        data = page.data or b""
        is_html = page.is_html if page.is_html is not None else (
            data[:512].lstrip().lower().startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<meta"))
            or b"<p" in data[:4096].lower() or "html" in (page.content_type or ""))
        declared, reason = None, None
        standfirst: list[str] = []
        title: str | None
        if page.data is None:
            title, body, raw_published, status = None, "", None, "no_page"
            reason = f"page not fetched: {page.fetch_status}" + (f" ({page.fetch_error})" if page.fetch_error else "")
        elif len(data) > MAX_INPUT_BYTES:
            title, body, raw_published, status = None, "", None, "too_large"
            reason = f"input is {len(data):,} bytes, over the {MAX_INPUT_BYTES:,} cap; not parsed"
        elif is_html:
            ex = extract(data, url=page.final_url or (page.address if page.is_url else Path(page.address).as_uri()))
            title, body, declared, standfirst = ex.title, ex.body, ex.language, list(ex.standfirst)
            raw_published, status, reason = ex.published, ex.status, ex.reason
        elif _looks_binary(data):
            title, body, raw_published, status = None, "", None, "not_text"
            reason = "not text: binary or undecodable bytes"
        else:
            text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
            first, _, rest = text.partition("\n")
            title, body = first.strip() or None, _paragraphs(rest)
            raw_published, status = None, "ok" if rest.strip() else "no_text"
            reason = None if rest.strip() else ("the file is empty" if not text.strip() else
                                                "a title line and no text after it")
        if len(body) > MAX_BODY_CHARS:
            reason = f"the article text is {len(body):,} characters, over the {MAX_BODY_CHARS:,} cap; not stored"
            body, status = "", "too_large"
        fallback = not body and bool(page.fallback_body)
        if fallback:  # the feed item's own text, marked as such
            title = title or page.fallback_title
            body = page.fallback_body or ""
            status = "feed_text"
        given = page.published or raw_published
        published = _parse_time(given)
        canonical = canonical_url(page.address if page.is_url else Path(page.address).as_uri())
        refusal = None
        if not body:
            refusal = self._refusal(page, status, reason, title)
        elif given and published is None:
            refusal = Refusal("news.bad_published", f"`published`: {given!r} is not a date or an instant; the article "
                              "is stored without a publication time", page.address, None,
                              self._raw(page, status, reason, title), field="published", value=given, dataset=DATASET,
                              kept=True)
        return {"_refusal": refusal,
            "article_id": article_id_of(canonical if page.is_url else page.address), "url": page.address,
            "canonical_url": canonical, "source": page.source or "files", "title": title, "body": body,
            "_declared": declared, "published": published, "published_raw": given,
            "content_hash": content_hash(title, body), "story_id": None, "bullets": [], "entities": "[]",
            "extract_status": status, "extract_reason": reason, "feed_id": page.feed_id, "item_key": page.item_key,
            "fetch_status": page.fetch_status, "http_status": page.http_status, "standfirst": standfirst,
        }

    @staticmethod
    def _raw(page: Page, status: str, reason: str | None, title: str | None) -> dict[str, Any]:
        """What a quarantine record keeps of a page: where it came from, what happened, and the start of its text."""
        data = page.data or b""
        return {"address": page.address, "final_url": page.final_url, "feed_id": page.feed_id,
                "item_key": page.item_key, "fetch_status": page.fetch_status, "http_status": page.http_status,
                "content_type": page.content_type, "extract_status": status, "reason": reason, "title": title,
                "item_title": page.fallback_title, "bytes": len(data) if page.data is not None else None,
                "text": data[:RAW_PREFIX_CHARS * 4].decode("utf-8", errors="replace")[:RAW_PREFIX_CHARS]}

    def _refusal(self, page: Page, status: str, reason: str | None, title: str | None) -> Refusal:
        """The quarantine record of a page that gave no article, with the rule that says why."""
        raw = self._raw(page, status, reason, title)
        if page.data is None:
            rule = FETCH_RULES.get(page.fetch_status or "", "news.fetch_failed")
            return Refusal(rule, f"{reason}; the feed item has no text of its own", page.address, None, raw,
                           field="url", value=page.address, dataset=DATASET)
        if status == "not_html" and not page.data.strip():
            status, reason = "no_text", "the page is empty"
        rule = REFUSAL_RULES.get(status, "news.no_text")
        if rule == "news.too_large":
            return Refusal(rule, reason or "too large", page.address, None, raw, field="page",
                           value=str(len(page.data)), dataset=DATASET)
        if rule == "news.unparseable":
            return Refusal(rule, reason or f"not readable ({status})", page.address, None, raw, field="page",
                           value=page.data[:64].decode("utf-8", errors="replace"), dataset=DATASET)
        return Refusal(rule, reason or "no article text", page.address, None, raw, field="body", value="",
                       dataset=DATASET)

    def _enrich(self, rows: list[dict[str, Any]]) -> None:
        """Stages 4-6: entities, summary and topics of the new and revised articles."""
        from marketwire.news.summarize import summarize
        from marketwire.news.topics import classify

        tick = time.perf_counter
        t = tick()
        todo = [r for r in rows if r["body"] or r["title"]]
        annotated = self._annotator().annotate_many([(r["title"], r["body"] or "", r["language"]) for r in todo])
        for r, ents in zip(todo, annotated, strict=True):
            r["entities"] = json.dumps(ents, ensure_ascii=False)
            keys = {f"{e['link']['kind']}:{e['link']['id']}" for e in ents if e.get("link")}
            r["entity_keys"] = sorted(keys)
        self.timings["entities"] += tick() - t
        t = tick()
        for r in todo:
            s = summarize(r["title"], r["body"] or "", r["language"])
            r["headline"], r["bullets"], r["summary_method"] = s.headline, list(s.bullets), s.method
        self.timings["summary"] += tick() - t
        t = tick()
        for r in todo:
            r["topics"] = json.dumps(classify(r["title"], r["body"] or "", r["language"]), ensure_ascii=False)
        self.timings["topics"] += tick() - t

    def _stories(self, rows: list[dict[str, Any]], stored: list[dict[str, Any]], now: datetime,
                 encoder: Any = None, kept: dict[str, str] | None = None) -> None:
        """Stage 7: the story each article reports. Stored articles near the new ones in time are replayed into a
        story index in publication order, so an article joins the story its closest earlier match belongs to."""
        from marketwire.news.stories import StoryDoc, StoryIndex, story_id

        t = time.perf_counter()

        def when(r: dict[str, Any]) -> datetime:
            return r["published"] or r["first_seen"] or now

        new_ids = {r["article_id"] for r in rows}
        times = [when(r) for r in rows]
        lo, hi = min(times) - STORY_WINDOW, max(times) + STORY_WINDOW
        context = [r for r in stored if r["article_id"] not in new_ids and r["story_id"]
                   and (r["published"] is None or lo <= when(r) <= hi)]
        story_of = {r["article_id"]: r["story_id"] for r in context}
        if not context and len(rows) == 1 and not (kept and rows[0]["article_id"] in kept):
            # nothing to compare with: the article opens its story (what the index would say), and the sentence
            # encoder, the slowest model to load, is not needed
            r = rows[0]
            r["story_id"] = story_id(r["article_id"])
            r["story_score"], r["novelty"] = (r["duplicate_score"], 0.0) if r["duplicate_of"] else (None, 1.0)
            self.timings["story"] += time.perf_counter() - t
            return
        index = StoryIndex(window=STORY_WINDOW) if encoder is None else StoryIndex(window=STORY_WINDOW, encoder=encoder)
        # by time; at equal times stored articles first (by id), then the new ones in the order they were read
        docs = [(r, False) for r in sorted(context, key=lambda r: r["article_id"])] + [(r, True) for r in rows]
        docs.sort(key=lambda x: when(x[0]))
        for r, is_new in docs:
            ents = r["entities"]
            doc = StoryDoc(id=r["article_id"], lang=r["language"], title=r["title"], body=r["body"] or "",
                           published=r["published"], entities=json.loads(ents) if isinstance(ents, str) else ents)
            a = index.add(doc)
            if not is_new:
                continue
            if kept and r["article_id"] in kept:  # a revision keeps its story id, with its new score
                r["story_id"] = kept[r["article_id"]]
                r["story_score"], r["novelty"] = (a.score if a.matched else None), a.novelty
            elif r["duplicate_of"]:  # a copy belongs to its original's story and adds nothing new
                r["story_id"] = story_of.get(r["duplicate_of"]) or a.story_id
                r["story_score"], r["novelty"] = r["duplicate_score"], 0.0
            else:
                r["story_id"] = story_of.get(a.matched, a.story_id) if a.matched else a.story_id
                r["story_score"], r["novelty"] = (a.score if a.matched else None), a.novelty
            story_of[r["article_id"]] = r["story_id"]
        self.timings["story"] += time.perf_counter() - t

    # -- reads ------------------------------------------------------------------------------------------
    def search_index(self) -> Any:
        """The SQLite serving index of the current wire (``news/search.py``), kept in step with the lake."""
        if self._search is None:
            self._search = ArticleIndex(self.lake, self.index_path)
        return self._search

    def _indexed(self, question: Callable[[Any], Any]) -> Any:
        """``question(index)``, or None when the serving index cannot be used here (a read-only home, a locked or
        damaged file): the caller then answers from the lake, only slower."""
        try:
            return question(self.search_index())
        except (sqlite3.Error, OSError) as e:
            log.warning("news serving index %s unusable (%s: %s); answering from the lake",
                        getattr(self._search, "path", "?"), type(e).__name__, e)
            return None

    def show(self, article_id: str, as_of: datetime | None = None) -> dict[str, Any]:
        if not self.lake.exists(NEWS_ARTICLES):
            raise NotFound(f"no article {article_id}", param="id", value=article_id)
        aid = article_id.strip().upper()
        docs = self._indexed(lambda ix: ix.by_ids([aid])) if as_of is None else None
        if docs is None:
            docs = [export_row(r) for r in self.lake.read(NEWS_ARTICLES, where="article_id = ?", params=[aid],
                                                          as_of=as_of).to_pylist()]
        if not docs:
            raise NotFound(f"no article {article_id}", param="id", value=article_id)
        return docs[0]

    def list(self, *, q: str | None = None, lang: str | None = None, country: str | None = None,
             listing: str | None = None, links: Sequence[str] | None = None, entity: str | None = None,
             source: str | None = None, topic: str | None = None, story: str | None = None,
             since: datetime | None = None, until: datetime | None = None, unique: bool = False,
             as_of: datetime | None = None, limit: int | None = None, offset: int = 0) -> builtins.list[dict[str, Any]]:
        """Articles matching every filter given, newest first (best text match first when ``q`` is given).

        ``q`` is words (or "quoted phrases"), each of which must occur in the title or body, case and accents
        ignored. ``country`` is an ISO alpha-2 code; ``listing`` a listing, security or issuer id of the master,
        matched as given (:meth:`NewsService.list <marketwire.news.service.NewsService.list>` resolves any
        identifier); ``links`` link keys (``issuer:MWI...``) of which the article must carry one; ``entity`` a link
        key such as ``person:vladimir-putin`` or words of an entity's name; ``since`` and ``until`` bound the
        publication time (both included); ``unique`` leaves out duplicates; ``as_of`` answers with what the wire
        knew at that time.
        """
        if not self.lake.exists(NEWS_ARTICLES):
            return []
        if offset < 0 or (limit is not None and limit < 0):
            raise InvalidInput("`limit` and `offset` must not be negative", param="limit")
        filters: dict[str, Any] = dict(q=q, lang=lang, country=country, listing=listing, links=links, entity=entity,
                                       source=source, topic=topic, story=story, since=since, until=until, unique=unique)
        if as_of is None:  # the current wire: the serving index
            found = self._indexed(lambda ix: ix.articles(**filters, limit=limit, offset=offset))
            if found is not None:
                return found  # type: ignore[no-any-return]
        conds, params = self._filters(**filters)
        rows = self.lake.read(NEWS_ARTICLES, where=" AND ".join(conds) or None, params=params, as_of=as_of).to_pylist()
        words = terms(q) if q else []
        rows.sort(key=lambda r: (_rank(r, words), r["published"] or r["first_seen"]), reverse=True)
        rows = rows[offset:]
        return [export_row(r) for r in (rows[:limit] if limit else rows)]

    def _filters(self, *, q: str | None, lang: str | None, country: str | None, listing: str | None,
                 links: Sequence[str] | None, entity: str | None, source: str | None, topic: str | None,
                 story: str | None, since: datetime | None, until: datetime | None, unique: bool
                 ) -> tuple[builtins.list[str], builtins.list[Any]]:
        conds: builtins.list[str] = []
        params: builtins.list[Any] = []
        for term in terms(q) if q else []:
            conds.append("(strip_accents(lower(coalesce(title, ''))) LIKE ? OR "
                         "strip_accents(lower(coalesce(body, ''))) LIKE ?)")
            params += [f"%{term}%", f"%{term}%"]
        if lang:
            conds.append("language = ?")
            params.append(lang.lower())
        if country:
            conds.append("list_contains(entity_keys, ?)")
            params.append(f"country:{country.strip().upper()}")
        if listing:
            ident = listing.strip()
            conds.append("(list_contains(entity_keys, ?) OR list_contains(entity_keys, ?) OR "
                         "list_contains(entity_keys, ?))")
            params += [f"listing:{ident}", f"security:{ident}", f"issuer:{ident}"]
        if links is not None:
            conds.append("len(list_intersect(entity_keys, ?)) > 0")
            params.append(list(links))
        if entity:
            if re.fullmatch(r"[a-z_]+:\S+", entity.strip()):
                conds.append("list_contains(entity_keys, ?)")
                params.append(entity.strip())
            else:
                conds.append("strip_accents(lower(entities)) LIKE ?")
                params.append(f'%"text": "%{fold(entity)}%')
        if source:
            conds.append("lower(source) = ?")
            params.append(source.strip().lower())
        if topic:
            conds.append("topics LIKE ?")
            params.append(f'%"topic": "{topic.strip().lower()}"%')
        if story:
            conds.append("story_id = ?")
            params.append(story.strip().upper())
        if since:
            conds.append("coalesce(published, first_seen) >= ?")
            params.append(since)
        if until:
            conds.append("coalesce(published, first_seen) <= ?")
            params.append(until)
        if unique:
            conds.append("duplicate_of IS NULL")
        return conds, params

    def stories(self, *, q: str | None = None, lang: str | None = None, country: str | None = None,
                listing: str | None = None, links: Sequence[str] | None = None, entity: str | None = None,
                source: str | None = None, topic: str | None = None, since: datetime | None = None,
                until: datetime | None = None, as_of: datetime | None = None, limit: int | None = 50
                ) -> builtins.list[dict[str, Any]]:
        """Stories (articles grouped across outlets and languages), newest first: the first report's headline and
        bullets, every article of the story, its languages, sources, countries and linked entities."""
        if not self.lake.exists(NEWS_ARTICLES):
            return []
        filters: dict[str, Any] = dict(q=q, lang=lang, country=country, listing=listing, links=links, entity=entity,
                                       source=source, topic=topic, since=since, until=until)
        if as_of is None:
            ids = self._indexed(lambda ix: ix.story_ids(**filters, story=None, unique=False, limit=limit))
            if ids is not None:
                return self._story_rows(ids, None)
        arts = self.list(**filters, as_of=as_of)
        wanted: dict[str, None] = {}
        for a in arts:
            if a["story_id"]:
                wanted.setdefault(a["story_id"])
        ids = list(wanted)[:limit] if limit else list(wanted)
        return self._story_rows(ids, as_of)

    def story(self, story_id: str, as_of: datetime | None = None) -> dict[str, Any]:
        rows = self._story_rows([story_id.strip().upper()], as_of)
        if not rows:
            raise NotFound(f"no story {story_id}", param="id", value=story_id)
        return rows[0]

    def _story_rows(self, ids: builtins.list[str], as_of: datetime | None) -> builtins.list[dict[str, Any]]:
        if not ids or not self.lake.exists(NEWS_ARTICLES):
            return []
        docs = self._indexed(lambda ix: ix.by_story(ids)) if as_of is None else None
        if docs is None:
            docs = [export_row(r) for r in self.lake.read(
                NEWS_ARTICLES, where=f"story_id IN ({', '.join('?' for _ in ids)})", params=ids,
                as_of=as_of).to_pylist()]
        groups: dict[str, builtins.list[dict[str, Any]]] = defaultdict(list)
        for d in docs:
            groups[d["story_id"]].append(d)

        def when(d: dict[str, Any]) -> str:
            return str(d["published"] or d["first_seen"])  # ISO 8601 in UTC: sorts as time does

        out = []
        for sid in ids:
            arts = sorted(groups.get(sid, []), key=lambda d: (when(d), d["id"]))
            if not arts:
                continue
            first = arts[0]
            links: dict[str, dict[str, Any]] = {}
            for d in arts:
                for e in d["entities"]:
                    if e.get("link"):
                        key = f"{e['link']['kind']}:{e['link']['id']}"
                        ent = links.setdefault(key, {"kind": e["link"]["kind"], "id": e["link"]["id"],
                                                     "name": e["link"].get("name") or e["text"], "articles": 0})
                        ent["articles"] += 1
            times = [when(d) for d in arts]
            out.append({
                "story_id": sid, "headline": first["headline"] or first["title"], "bullets": list(first["bullets"]),
                "first_article": first["id"], "first_published": min(times), "last_published": max(times),
                "articles": len(arts), "originals": sum(d["duplicate_of"] is None for d in arts),
                "languages": sorted({d["language"] for d in arts if d["language"]}),
                "sources": sorted({d["source"] for d in arts if d["source"]}),
                "countries": sorted(k.split(":", 1)[1] for k in links if k.startswith("country:")),
                "entities": sorted(links.values(), key=lambda e: (-e["articles"], e["kind"], e["id"])),
                "article_ids": [d["id"] for d in arts],
            })
        out.sort(key=lambda s: s["last_published"], reverse=True)
        return out


def _rank(r: dict[str, Any], words: list[str]) -> float:
    if not words:
        return 0.0
    title, body = fold(r["title"] or ""), fold(r["body"] or "")
    n = max(len(body.split()), 1)
    return sum(3.0 * title.count(t) + body.count(t) * 100.0 / (n + 100.0) for t in words)


__all__ = ["ArticleStore", "Added", "Page", "EXPORT_FIELDS", "STAGES", "article_id_of", "export_row", "fold"]
