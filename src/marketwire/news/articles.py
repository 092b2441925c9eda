"""Articles: pages or text files in, extracted text, language and duplicate links out, stored point in time.

This is the chain the wire runs for every article: extract (HTML) or read (text: the first line is the title) ->
detect the language -> find the original it copies (same normalised text, else a MinHash near-copy published no
later) -> store. Reading the same address again with the same text adds nothing; with an edited text it adds the
next revision of the same id.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from marketwire.datasets.news import NEWS_ARTICLES
from marketwire.errors import InvalidInput, NotFound, SourceError
from marketwire.news.dedup import NearDupIndex, canonical_url, content_hash
from marketwire.news.extract import extract
from marketwire.news.lang import detect
from marketwire.store import Lake

#: the fields of an article as `news show` and `news export` print it
EXPORT_FIELDS = ("id", "url", "source", "title", "body", "language", "published", "bullets", "entities", "story_id",
                 "duplicate_of", "revision", "first_seen", "extract_status")


def article_id_of(address: str) -> str:
    digest = hashlib.sha256(address.encode("utf-8")).digest()
    return "MWA" + base64.b32encode(digest).decode("ascii")[:16]


@dataclass
class Added:
    article_id: str
    url: str
    status: str  # "new", "revised", "unchanged"
    duplicate_of: str | None
    language: str | None


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


class ArticleStore:
    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    def _stored(self) -> list[dict[str, Any]]:
        if not self.lake.exists(NEWS_ARTICLES):
            return []
        return self.lake.read(NEWS_ARTICLES, columns=["article_id", "title", "body", "content_hash", "published",
                                                      "first_seen", "revision", "duplicate_of"]).to_pylist()

    def add(self, targets: list[str], *, source: str | None = None, published: str | None = None) -> list[Added]:
        """Local HTML pages or text files. (URLs are fetched by the poller; here a URL is an error, not a fetch.)"""
        now = datetime.now(timezone.utc)
        stored = self._stored()
        by_id = {r["article_id"]: r for r in stored}
        by_hash: dict[str, str] = {}
        index = NearDupIndex(window=None)
        for r in sorted(stored, key=lambda r: (r["published"] or r["first_seen"], r["article_id"])):
            by_hash.setdefault(r["content_hash"], r["article_id"])
            index.add(r["article_id"], f"{r['title'] or ''}\n\n{r['body'] or ''}", r["published"] or r["first_seen"])
        rows, out = [], []
        for t in targets:
            if "://" in t:
                raise InvalidInput(f"`targets`: {t} is a URL; add it as a feed (marketwire news feeds add) or save "
                                   "the page and add the file", param="targets", value=t)
            path = Path(t)
            try:
                data = path.read_bytes()
            except OSError as e:
                raise SourceError(f"{t}: cannot read ({e.strerror})", file=t) from e
            address = str(path.resolve())
            rec = self._record(path, data, address, source, published, now)
            aid = rec["article_id"]
            prev = by_id.get(aid)
            if prev is not None and prev["content_hash"] == rec["content_hash"]:
                out.append(Added(aid, address, "unchanged", prev["duplicate_of"], None))
                continue
            text = f"{rec['title'] or ''}\n\n{rec['body'] or ''}"
            when = rec["published"] or now
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
                       revision=(prev["revision"] + 1) if prev else 1,
                       first_seen=prev["first_seen"] if prev else now)
            rows.append(rec)
            by_hash.setdefault(rec["content_hash"], aid)
            if rec["body"] and aid not in index:
                index.add(aid, text, when)
            out.append(Added(aid, address, "revised" if prev else "new", original, rec["language"]))
        if rows:
            prov = {"knowledge_time": now, "ingested_at": now, "source": source or "files",
                    "ingest_id": "news-" + now.strftime("%Y%m%d%H%M%S%f")}
            table = pa.Table.from_pylist([{**r, **{k: v for k, v in prov.items() if k != "source"},
                                           "source": r["source"]} for r in rows], schema=NEWS_ARTICLES.schema)
            self.lake.append(NEWS_ARTICLES, table)
        return out

    def _record(self, path: Path, data: bytes, address: str, source: str | None, published: str | None,
                now: datetime) -> dict[str, Any]:
        is_html = path.suffix.lower() in (".html", ".htm") or data[:512].lstrip().lower().startswith((b"<!doctype", b"<html"))
        if is_html:
            ex = extract(data, url=path.resolve().as_uri())
            title, body, declared = ex.title, ex.body, ex.language
            raw_published, status, reason = ex.published, ex.status, ex.reason
        else:
            text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
            first, _, rest = text.partition("\n")
            title, body, declared = first.strip() or None, rest.strip(), None
            raw_published, status, reason = None, "ok" if rest.strip() else "no_text", None
        guess = detect(f"{title or ''}\n{body or ''}", declared=declared)
        given = published or raw_published
        return {
            "article_id": article_id_of(address), "url": address, "canonical_url": canonical_url(path.resolve().as_uri()),
            "source": source or path.parent.name or "files", "title": title, "body": body, "language": guess.code,
            "language_method": guess.method, "published": _parse_time(given), "published_raw": given,
            "content_hash": content_hash(title, body), "story_id": None, "bullets": [], "entities": "[]",
            "extract_status": status, "extract_reason": reason,
        }

    # -- reads ------------------------------------------------------------------------------------------
    def show(self, article_id: str) -> dict[str, Any]:
        if not self.lake.exists(NEWS_ARTICLES):
            raise NotFound(f"no article {article_id}", param="id", value=article_id)
        rows = self.lake.read(NEWS_ARTICLES, where="article_id = ?", params=[article_id.strip().upper()]).to_pylist()
        if not rows:
            raise NotFound(f"no article {article_id}", param="id", value=article_id)
        return _export(rows[0])

    def list(self, *, q: str | None = None, lang: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        if not self.lake.exists(NEWS_ARTICLES):
            return []
        conds, params = [], []
        if q:
            conds.append("(title ILIKE ? OR body ILIKE ?)")
            params += [f"%{q}%", f"%{q}%"]
        if lang:
            conds.append("language = ?")
            params.append(lang.lower())
        rows = self.lake.read(NEWS_ARTICLES, where=" AND ".join(conds) or None, params=params).to_pylist()
        rows.sort(key=lambda r: (r["published"] or r["first_seen"]), reverse=True)
        return [_export(r) for r in rows[:limit] if r] if limit else [_export(r) for r in rows]


def _export(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r["article_id"], "url": r["url"], "source": r["source"], "title": r["title"], "body": r["body"],
            "language": r["language"], "published": r["published"].isoformat() if r["published"] else None,
            "bullets": list(r["bullets"] or []), "entities": json.loads(r["entities"] or "[]"),
            "story_id": r["story_id"], "duplicate_of": r["duplicate_of"], "revision": r["revision"],
            "first_seen": r["first_seen"].isoformat() if r["first_seen"] else None,
            "extract_status": r["extract_status"]}
