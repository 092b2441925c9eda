"""News: the feeds the wire follows, the state of each feed's polling, and the items the feeds published.

All three are append-only like every dataset: a feed that is renamed, a poll that ends, a feed switched off are new
versions of the same key and the latest ``knowledge_time`` wins. Reading the table without ``latest`` gives the
history, which is how a feed's polling record (every status, every error) is inspected.

An item is stored once, when it is first seen (``first_seen``); later polls compare keys against what is stored
and append only new ones, so an item edited by the publisher keeps the first version the wire saw.
"""

from __future__ import annotations

import pyarrow as pa

from marketwire.datasets.base import Dataset

S = pa.string()
I32 = pa.int32()
I64 = pa.int64()
TS = pa.timestamp("us", tz="UTC")


def f(name: str, typ: pa.DataType, nullable: bool = True) -> pa.Field:
    return pa.field(name, typ, nullable=nullable)


FEEDS = Dataset(
    name="feeds",
    description="The feeds the news wire polls: one record per feed, versioned when its title, language or "
                "activity changes.",
    fields=(
        f("feed_id", S, False), f("url", S, False), f("canonical_url", S, False), f("title", S), f("language", S),
        f("added_at", TS, False), f("added_via", S, False), f("active", pa.bool_(), False),
    ),
    key=("feed_id",),
    column_docs={
        "feed_id": "MWF + base32 of the SHA-256 of the canonical URL (16 characters): the same URL always gets the same id",
        "url": "the URL as first given",
        "canonical_url": "scheme and host lower-cased, default port and fragment dropped, empty path as /",
        "title": "the title the feed declares, learned at the first successful poll",
        "language": "the language the feed declares (not detected from its text)",
        "added_via": "how the feed was added: cli, api, opml:<file name>",
        "source": "news-feeds:<added_via> for an add, news-poll for a version written by the poller",
    },
)

FEED_STATE = Dataset(
    name="feed_state",
    description="The polling state of one feed after its latest poll: validators for the next conditional GET, "
                "the outcome, consecutive failures and when to poll next.",
    fields=(
        f("feed_id", S, False), f("etag", S), f("last_modified", S), f("last_status", S, False),
        f("last_http_status", I32), f("failures", I32, False), f("last_polled", TS, False), f("next_poll", TS, False),
        f("last_error", S), f("items_seen", I64, False), f("entries_in_feed", I32), f("parse_status", S),
        f("failed_payload", pa.binary()),
    ),
    key=("feed_id",),
    column_docs={
        "last_status": "the fetch status (ok, not_modified, http_error, timeout ...) or unparseable when the body "
                       "came but was not a feed",
        "failures": "consecutive failed polls; 0 after any ok or not_modified poll",
        "next_poll": "last_polled + the normal interval, or + an exponential backoff after failures",
        "items_seen": "new items stored from this feed, over all polls",
        "entries_in_feed": "entries the latest successful parse found in the document",
        "parse_status": "ok, bozo_ok (broken document, entries recovered) or unparseable",
        "failed_payload": "the body of a poll whose parse failed (first 1 MiB), kept for inspection; null otherwise. "
                          "Older versions keep theirs: read with latest=False to see past failures",
    },
)

FEED_ITEMS = Dataset(
    name="feed_items",
    description="Items published by the feeds, one record per item the first time the wire saw it.",
    fields=(
        f("feed_id", S, False), f("item_key", S, False), f("guid", S), f("link", S), f("title", S), f("summary", S),
        f("content_html", S), f("published", TS), f("published_raw", S), f("updated", TS), f("authors", S),
        f("categories", S), f("first_seen", TS, False), f("raw", S),
    ),
    key=("feed_id", "item_key"),
    valid_time=("published",),
    column_docs={
        "item_key": "the entry's guid/id, else its link, else sha1: + SHA-1 of title and raw published date",
        "published": "publication time in UTC when the feed's date could be read (localized month names included)",
        "published_raw": "the date string exactly as the feed gave it",
        "authors": "author names joined by '; '",
        "categories": "category terms joined by '; '",
        "first_seen": "when the poller first stored the item",
        "raw": "the entry as the feed parser read it, as JSON",
    },
)

NEWS_ARTICLES = Dataset(
    name="news_articles",
    description="Articles: the text extracted from a page (or a text file), its language and duplicate links. "
                "An edited article read again is a new version of the same id.",
    fields=(
        f("article_id", S, False), f("url", S, False), f("canonical_url", S, False),
        f("title", S), f("body", S), f("language", S), f("language_method", S), f("published", TS),
        f("published_raw", S), f("first_seen", TS, False), f("content_hash", S, False), f("duplicate_of", S),
        f("duplicate_score", pa.float64()), f("story_id", S), f("bullets", pa.list_(S)), f("entities", S),
        f("extract_status", S), f("extract_reason", S), f("revision", I32, False),
        f("headline", S), f("summary_method", S), f("topics", S), f("entity_keys", pa.list_(S)),
        f("story_score", pa.float64()), f("novelty", pa.float64()), f("feed_id", S), f("item_key", S),
        f("fetch_status", S), f("http_status", I32), f("standfirst", pa.list_(S)),
    ),
    key=("article_id",),
    valid_time=("published",),
    column_docs={
        "article_id": "MWA + base32 of the SHA-256 of the canonical URL (a local file: its absolute path)",
        "duplicate_of": "the id of the earliest article this one copies (same text, or a near-copy), else null",
        "bullets": "2-3 extractive bullets of at most 25 words; every name and number in them occurs in the source",
        "entities": "JSON list of distinct entities {text, type, link: {kind, id, name, confidence, method, evidence} "
                    "or null, mentions, spans}; spans are offsets into title + two newlines + body",
        "headline": "the summary's headline: the title, else the compressed first sentence",
        "summary_method": "extractive, or plugin:NAME when a summary plug-in is switched on",
        "topics": "JSON list of {topic, score, evidence} from the topic taxonomy, best first",
        "entity_keys": "kind:id of every linked entity (country:RU, person:vladimir-putin, issuer:..., listing:...), for filters",
        "story_id": "MWT + base32 hash of the first article of the story this article reports (across outlets and "
                    "languages); a duplicate shares its original's story",
        "story_score": "similarity to the story's closest earlier article when it joined one; null for a story's first",
        "novelty": "1.0 for a story's first report; lower for later articles repeating it; 0 for a duplicate",
        "feed_id": "the feed whose item led to this article, when it came from a feed",
        "item_key": "that feed item's key",
        "fetch_status": "for an article fetched from a feed item: the fetcher's status (ok, http_error, timeout, "
                        "blocked ...); a page that failed keeps the item's own text as its body",
        "http_status": "the HTTP status of the page fetch, when there was one",
        "revision": "1 for the first text seen, +1 for each edit read later",
        "standfirst": "the publisher's own summary bullets, when the page sets them between headline and text (kept "
                      "out of the body)",
        "source": "the outlet (publisher) the article came from",
    },
)

NEWS_PAGES = Dataset(
    name="news_pages",
    description="The raw pages behind the articles, as fetched: kept so any extraction can be inspected and redone.",
    fields=(
        f("article_id", S, False), f("revision", I32, False), f("url", S, False), f("final_url", S),
        f("fetched_at", TS, False), f("http_status", I32), f("content_type", S), f("status", S, False),
        f("raw", pa.binary()),
    ),
    key=("article_id", "revision"),
    column_docs={
        "revision": "the article revision this page produced",
        "status": "the fetcher's status for the page (ok, http_error, timeout, too_large, blocked ...)",
        "raw": "the response body as received (at most the fetcher's size cap); null when nothing arrived",
    },
)

NEWS_DATASETS: tuple[Dataset, ...] = (FEEDS, FEED_STATE, FEED_ITEMS, NEWS_ARTICLES, NEWS_PAGES)
