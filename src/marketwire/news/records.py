"""What an article and a story look like outside the pipeline, and the one text folding every search path uses.

This module sits below the article pipeline (:mod:`marketwire.news.articles`) and the serving index
(:mod:`marketwire.news.search`): both import it, neither imports the other's internals through it.

- :data:`EXPORT_FIELDS` and :func:`export_row`: a stored article (a row of ``news_articles``) as ``news show``,
  ``news export``, ``GET /v1/news/{id}`` and the serving index hold it;
- :class:`Article` and :class:`Story`: the same shapes as typed records, which :class:`~marketwire.news.service.
  NewsService` returns (``to_dict()`` gives back exactly the JSON the surfaces print);
- :class:`Added`: what adding one page did;
- :func:`fold` and :func:`terms`: lower case without accents, for queries and texts alike.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field, fields
from typing import Any

#: the fields of an article as `news show` and `news export` print it
EXPORT_FIELDS = ("id", "url", "source", "title", "body", "language", "published", "headline", "bullets", "entities",
                 "topics", "story_id", "story_score", "novelty", "duplicate_of", "duplicate_score", "standfirst",
                 "revision", "first_seen", "extract_status", "fetch_status", "feed_id")


def export_row(r: dict[str, Any]) -> dict[str, Any]:
    """A stored article (a row of ``news_articles``) as ``news show`` prints it (:data:`EXPORT_FIELDS`)."""
    return {"id": r["article_id"], "url": r["url"], "source": r["source"], "title": r["title"], "body": r["body"],
            "language": r["language"], "published": r["published"].isoformat() if r["published"] else None,
            "headline": r.get("headline") or r["title"], "bullets": list(r["bullets"] or []),
            "entities": json.loads(r["entities"] or "[]"), "topics": json.loads(r.get("topics") or "[]"),
            "story_id": r["story_id"], "story_score": r.get("story_score"), "novelty": r.get("novelty"),
            "duplicate_of": r["duplicate_of"], "duplicate_score": r.get("duplicate_score"),
            "standfirst": list(r.get("standfirst") or []), "revision": r["revision"],
            "first_seen": r["first_seen"].isoformat() if r["first_seen"] else None,
            "extract_status": r["extract_status"], "fetch_status": r.get("fetch_status"), "feed_id": r.get("feed_id")}


@dataclass(frozen=True)
class Article:
    """One article as the wire serves it. Times are ISO 8601 in UTC; ``entities`` and ``topics`` are the JSON
    objects described in docs/news.md. Fields in :data:`EXPORT_FIELDS` order."""

    id: str
    url: str
    source: str | None
    title: str | None
    body: str | None
    language: str | None
    published: str | None
    headline: str | None
    bullets: list[str]
    entities: list[dict[str, Any]]
    topics: list[dict[str, Any]]
    story_id: str | None
    story_score: float | None
    novelty: float | None
    duplicate_of: str | None
    duplicate_score: float | None
    standfirst: list[str]
    revision: int
    first_seen: str | None
    extract_status: str | None
    fetch_status: str | None
    feed_id: str | None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Article:
        kw: dict[str, Any] = {k: d.get(k) for k in EXPORT_FIELDS}
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StoryEntity:
    """An entity linked in the articles of a story, with the number of its articles that link it."""

    kind: str
    id: str
    name: str
    articles: int


@dataclass(frozen=True)
class Story:
    """Articles about one event across outlets and languages: the first report's headline and bullets, when it was
    first and last reported, and what its articles link."""

    story_id: str
    headline: str | None
    bullets: list[str]
    first_article: str
    first_published: str
    last_published: str
    articles: int
    originals: int
    languages: list[str]
    sources: list[str]
    countries: list[str]
    entities: list[StoryEntity]
    article_ids: list[str]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Story:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["entities"] = [StoryEntity(**e) for e in d.get("entities") or []]
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Added:
    """What adding one page (a file, or a feed item's page) did. ``status``: ``new``, ``revised``, ``unchanged``,
    ``quarantined`` when the page gave no article (``article_id`` is then None; ``rule`` and ``reason`` say why
    and the page is in the quarantine under dataset ``news_articles``), or ``skipped`` for a file of a folder that
    is no page or text file (``reason`` says so)."""

    article_id: str | None
    url: str
    status: str
    duplicate_of: str | None
    language: str | None
    story_id: str | None = None
    rule: str | None = field(default=None, repr=False)
    reason: str | None = field(default=None, repr=False)

    #: the fields ``news add --format json`` prints
    FIELDS = ("article_id", "url", "status", "duplicate_of", "language", "story_id")

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.FIELDS}


@dataclass(frozen=True)
class FeedAdded:
    """A feed registered (or already registered) from one target: a URL, or an OPML file."""

    feed_id: str
    source: str  # the URL or the OPML file it came from

    def to_dict(self) -> dict[str, Any]:
        return {"feed_id": self.feed_id, "from": self.source}


# combining diacritical marks (Latin, Greek, Cyrillic accents and the like), removed after NFKD decomposition
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def fold(text: str) -> str:
    """Lower case without accents: ``Téhéran`` -> ``teheran``, ``Ελλάδα`` -> ``ελλαδα``. Queries and texts are folded
    by this one function on both search paths (the serving index and the lake), so they always agree."""
    if text.isascii():
        return text.lower().strip()
    return _MARKS.sub("", unicodedata.normalize("NFKD", text.lower())).strip()


def terms(q: str) -> list[str]:
    """The folded words and "quoted phrases" of a query (``%`` and ``_`` removed: they are LIKE wildcards)."""
    phrases = re.findall(r'"([^"]+)"', q)
    rest = re.sub(r'"[^"]*"', " ", q)
    out = [fold(p) for p in phrases] + [fold(w) for w in rest.split()]
    return [t.replace("%", "").replace("_", " ").strip() for t in out if t.strip("%_ ")]


__all__ = ["Added", "Article", "EXPORT_FIELDS", "FeedAdded", "Story", "StoryEntity", "export_row", "fold", "terms"]
