"""The wire's serving index: the latest version of every article in SQLite, with an FTS5 full-text index.

The lake's ``news_articles`` Delta table stays the record (every version, bitemporal); this index is derived from
it and can be deleted at any time. It lives beside the lake (``<home>/cache/news/articles.sqlite``) and answers the
questions the CLI, REST and web pages ask of the current wire (``news list``, ``news show``, ``news stories``) in
milliseconds instead of a scan of the table (``benchmarks/news_search.py``). Point-in-time questions (``as_of``)
are answered from the lake.

- **Kept in step, by Delta commits.** Before each question the index compares the table's Delta version with the
  one it last read. If the table moved, it lists the table's data files, reads the article ids in the files it has
  not seen, and replaces those articles with their latest version. Commits are seen whatever their timestamps (two
  writers whose batches overlap, a clock set back); if files it had seen are gone (the table was compacted), it
  rebuilds. Any process may do this (SQLite WAL, a busy timeout), so a poller writing and a server reading share one
  index.
- **Text search** is FTS5 over the title and body folded the same way as the query (lower case, accents and other
  combining marks removed: ``Téhéran`` = ``teheran``, ``Ελλάδα`` = ``ελλαδα``). Every word of ``q`` must occur as a
  word or the start of one (``banque`` finds ``banques``); "quoted phrases" must occur as written. Ranking is bm25
  with the title weighted 3 to 1, then the newest first. A query with no letter or digit in it is refused.
- **Filters** are indexed columns (language, lower-cased source, story, publication time) and a table of tags
  (``country:RU``, ``person:...``, ``issuer:...``, ``topic:markets``).

A lake on remote storage gets an index in a temporary folder for the life of the process.

The index records the table version it holds (``meta.version``) and moves to a new one in one SQLite transaction,
so a process killed during a sync leaves the previous state (SQLite's journal rolls the rest back). A file that is
not a readable SQLite database is deleted and built again from the lake.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import tempfile
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marketwire.datasets.news import NEWS_ARTICLES
from marketwire.errors import InvalidInput
from marketwire.news.records import EXPORT_FIELDS, export_row, fold

if TYPE_CHECKING:
    from marketwire.store import Lake

#: bump when the index's tables change (an index of another format is rebuilt); the exported fields count too, as
#: the index holds each article as ``news show`` prints it
FORMAT = "2:" + ",".join(EXPORT_FIELDS)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS a (
    rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, t TEXT NOT NULL, language TEXT, source TEXT,
    story_id TEXT, duplicate_of TEXT, entity_text TEXT, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS a_t ON a (t);
CREATE INDEX IF NOT EXISTS a_lang_t ON a (language, t);
CREATE INDEX IF NOT EXISTS a_source_t ON a (source, t);
CREATE INDEX IF NOT EXISTS a_story ON a (story_id);
CREATE TABLE IF NOT EXISTS tags (tag TEXT NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY (tag, rid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_rid ON tags (rid);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS f USING fts5(title, body, tokenize='unicode61 remove_diacritics 2');
"""

log = logging.getLogger(__name__)

_paths_lock = threading.Lock()
_locks: dict[str, threading.Lock] = {}
_remote_paths: dict[str, Path] = {}  # lake root -> its index, for lakes on remote storage (one per process)


def fts_query(q: str) -> str | None:
    """``q`` as an FTS5 query: every word a prefix, every phrase exact, all of them required; None if there is no
    letter or digit to search for. Each part is an FTS5 string (quotes doubled), so the index's own tokenizer splits
    it as it split the text (``S-400`` is the phrase ``s 400``) and nothing in ``q`` is read as an operator."""
    phrases = re.findall(r'"([^"]+)"', q)
    rest = re.sub(r'"[^"]*"', " ", q).split()
    parts = []
    for p in phrases:
        if re.search(r"\w", fold(p)):
            parts.append('"' + fold(p).replace('"', '""') + '"')
    for w in rest:
        if re.search(r"\w", fold(w)):
            parts.append('"' + fold(w).replace('"', '""') + '"*')
    return " AND ".join(parts) if parts else None


def _iso(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    ts = ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)
    return ts.isoformat()


class ArticleIndex:
    """The SQLite serving index of one lake's articles; see the module docstring."""

    def __init__(self, lake: Lake, path: Path | None = None) -> None:
        self.lake = lake
        if path is None:
            root = lake.root.removeprefix("file://")
            if "://" in root:
                with _paths_lock:
                    if lake.root not in _remote_paths:
                        _remote_paths[lake.root] = Path(tempfile.mkdtemp(prefix="marketwire-news-")) / "articles.sqlite"
                    path = _remote_paths[lake.root]
            else:
                path = Path(root).parent / "cache" / "news" / "articles.sqlite"
        self.path = path
        with _paths_lock:
            self._lock = _locks.setdefault(str(path), threading.Lock())

    # -- connection and sync ---------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            return self._open()
        except sqlite3.DatabaseError as e:  # not a database (damaged): the index is derived, so build it again
            log.warning("news index %s cannot be read (%s); rebuilding it from the lake", self.path, e)
            self._delete()
            return self._open()

    def _delete(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)

    def status(self) -> dict[str, Any]:
        """The index on disk against the lake: whether it exists and passes SQLite's check, the table version it
        holds and the lake's."""
        out: dict[str, Any] = {"path": str(self.path), "exists": self.path.exists(), "readable": None,
                               "version": None, "lake_version": self.lake.version(NEWS_ARTICLES)}
        if not out["exists"]:
            return out
        try:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
            try:
                ok = con.execute("PRAGMA quick_check").fetchone()
                seen = con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            finally:
                con.close()
            out["readable"] = bool(ok and ok[0] == "ok")
            out["version"] = int(seen[0]) if seen else None
        except sqlite3.DatabaseError:
            out["readable"] = False
        return out

    def repair(self) -> None:
        """Delete an index that cannot be read, then bring it up to the lake's table."""
        if self.status()["readable"] is False:
            self._delete()
        self.connect().close()

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.executescript(_SCHEMA)
        fmt = con.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if fmt is None or fmt[0] != FORMAT:
            with con:
                self._clear(con)
                con.execute("INSERT INTO meta VALUES ('format', ?)", (FORMAT,))
        return con

    @staticmethod
    def _clear(con: sqlite3.Connection) -> None:
        for table in ("a", "tags", "f", "files"):
            con.execute(f"DELETE FROM {table}")
        con.execute("DELETE FROM meta WHERE key != 'format'")

    def connect(self) -> sqlite3.Connection:
        """A connection to an index that holds everything the lake's table holds now."""
        con = self._connect()
        version = self.lake.version(NEWS_ARTICLES)
        seen = con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        if version is not None and (seen is None or int(seen[0]) != version):
            with self._lock:
                seen = con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
                if seen is None or int(seen[0]) != version:
                    self._sync(con, version)
        return con

    def _sync(self, con: sqlite3.Connection, version: int) -> None:
        with con:
            con.execute("BEGIN IMMEDIATE")  # one writer at a time, across processes; then look again
            seen_version = con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
            if seen_version is not None and int(seen_version[0]) == version:
                return
            current = {str(p) for p in self.lake.files(NEWS_ARTICLES).column("path").to_pylist()}
            seen = {p for (p,) in con.execute("SELECT path FROM files")}
            if seen - current:  # files gone: the table was compacted or rewritten; start again
                self._clear(con)
                seen = set()
            if not seen:
                rows = self.lake.read(NEWS_ARTICLES).to_pylist()
                self._put_many(con, rows, export_row)
            else:
                for i in range(0, len(ids := self._ids_in(current - seen)), 1000):
                    part = ids[i:i + 1000]
                    rows = self.lake.read(NEWS_ARTICLES, where=f"article_id IN ({', '.join('?' for _ in part)})",
                                          params=part).to_pylist()
                    for r in rows:
                        self._put(con, r, export_row(r))
            con.executemany("INSERT OR IGNORE INTO files VALUES (?)", [(p,) for p in current - seen])
            con.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (str(version),))

    def _ids_in(self, paths: set[str]) -> list[str]:
        """The article ids held in some data files of the table."""
        dataset = self.lake.dataset(NEWS_ARTICLES)
        ids: set[str] = set()
        if dataset is None or not paths:
            return []
        for frag in dataset.get_fragments():
            if any(frag.path == p or frag.path.endswith("/" + p) for p in paths):
                ids.update(frag.to_table(columns=["article_id"]).column("article_id").to_pylist())
        return sorted(ids)

    @staticmethod
    def _row(r: dict[str, Any], doc: dict[str, Any]) -> tuple[tuple[Any, ...], set[str]]:
        names = [e.get("text") or "" for e in doc["entities"] if isinstance(e, dict)]
        names += [(e.get("link") or {}).get("name") or "" for e in doc["entities"] if isinstance(e, dict)]
        entity_text = " | ".join(fold(n) for n in names if n)
        tags = set(r.get("entity_keys") or [])
        tags |= {f"topic:{t['topic']}" for t in doc["topics"] if isinstance(t, dict) and t.get("topic")}
        return ((r["article_id"], _iso(r["published"] or r["first_seen"]), r["language"],
                 (r["source"] or "").lower(), r["story_id"], r["duplicate_of"], entity_text,
                 json.dumps(doc, ensure_ascii=False)), tags)

    def _put_many(self, con: sqlite3.Connection, rows: list[dict[str, Any]], export: Any) -> None:
        """Every row into an empty index, in three bulk statements."""
        a_rows, tag_rows, text_rows = [], [], []
        for rid, r in enumerate(rows, start=1):
            values, tags = self._row(r, export(r))
            a_rows.append((rid, *values))
            tag_rows += [(t, rid) for t in tags]
            text_rows.append((rid, fold(r["title"] or ""), fold(r["body"] or "")))
        con.executemany("INSERT INTO a (rowid, id, t, language, source, story_id, duplicate_of, entity_text, doc) "
                        "VALUES (?,?,?,?,?,?,?,?,?)", a_rows)
        con.executemany("INSERT OR IGNORE INTO tags VALUES (?, ?)", tag_rows)
        con.executemany("INSERT INTO f (rowid, title, body) VALUES (?, ?, ?)", text_rows)

    @classmethod
    def _put(cls, con: sqlite3.Connection, r: dict[str, Any], doc: dict[str, Any]) -> None:
        old = con.execute("SELECT rowid FROM a WHERE id = ?", (r["article_id"],)).fetchone()
        if old:
            con.execute("DELETE FROM f WHERE rowid = ?", old)
            con.execute("DELETE FROM tags WHERE rid = ?", old)
            con.execute("DELETE FROM a WHERE rowid = ?", old)
        values, tags = cls._row(r, doc)
        cur = con.execute(
            "INSERT INTO a (id, t, language, source, story_id, duplicate_of, entity_text, doc) VALUES (?,?,?,?,?,?,?,?)",
            values)
        rid = cur.lastrowid
        con.executemany("INSERT OR IGNORE INTO tags VALUES (?, ?)", [(t, rid) for t in tags])
        con.execute("INSERT INTO f (rowid, title, body) VALUES (?, ?, ?)",
                    (rid, fold(r["title"] or ""), fold(r["body"] or "")))

    # -- questions ---------------------------------------------------------------------------------------
    def _where(self, *, q: str | None, lang: str | None, country: str | None, listing: str | None,
               entity: str | None, source: str | None, topic: str | None, story: str | None,
               since: datetime | None, until: datetime | None, unique: bool,
               links: Sequence[str] | None = None) -> tuple[str, list[Any], bool]:
        conds: list[str] = []
        params: list[Any] = []
        text = False
        if q is not None and q.strip():
            match = fts_query(q)
            if match is None:
                raise InvalidInput(f"`q`: {q!r} holds no word to search for", param="q", value=q)
            conds.append("f MATCH ?")
            params.append(match)
            text = True
        if lang:
            conds.append("a.language = ?")
            params.append(lang.strip().lower())
        tag_filters = []
        if country:
            tag_filters.append([f"country:{country.strip().upper()}"])
        if listing:
            ident = listing.strip()
            tag_filters.append([f"listing:{ident}", f"security:{ident}", f"issuer:{ident}"])
        if links is not None:
            if links:
                tag_filters.append(list(links))
            else:
                conds.append("0")  # no key: nothing can match
        if entity:
            if re.fullmatch(r"[a-z_]+:\S+", entity.strip()):
                tag_filters.append([entity.strip()])
            else:
                conds.append("a.entity_text LIKE ?")
                params.append(f"%{fold(entity)}%")
        if topic:
            tag_filters.append([f"topic:{topic.strip().lower()}"])
        for options in tag_filters:
            conds.append(f"a.rowid IN (SELECT rid FROM tags WHERE tag IN ({', '.join('?' for _ in options)}))")
            params += options
        if source:
            conds.append("a.source = ?")
            params.append(source.strip().lower())
        if story:
            conds.append("a.story_id = ?")
            params.append(story.strip().upper())
        if since:
            conds.append("a.t >= ?")
            params.append(_iso(since))
        if until:
            conds.append("a.t <= ?")
            params.append(_iso(until))
        if unique:
            conds.append("a.duplicate_of IS NULL")
        return (" WHERE " + " AND ".join(conds)) if conds else "", params, text

    def articles(self, *, limit: int | None = None, offset: int = 0, **filters: Any) -> list[dict[str, Any]]:
        """Articles matching every filter, best text match first with ``q``, else newest first."""
        where, params, text = self._where(**filters)
        src = "f JOIN a ON a.rowid = f.rowid" if text else "a"
        order = "bm25(f, 3.0, 1.0), a.t DESC, a.id DESC" if text else "a.t DESC, a.id DESC"
        sql = f"SELECT a.doc FROM {src}{where} ORDER BY {order} LIMIT ? OFFSET ?"
        con = self.connect()
        try:
            rows = con.execute(sql, [*params, -1 if not limit else limit, offset]).fetchall()
        except sqlite3.OperationalError as e:
            if text and str(e).startswith("fts5"):
                raise InvalidInput(f"`q`: {filters.get('q')!r} is not a query the index can run ({e})",
                                   param="q", value=filters.get("q")) from e
            raise
        finally:
            con.close()
        return [json.loads(d) for (d,) in rows]

    def story_ids(self, *, limit: int | None = None, **filters: Any) -> list[str]:
        """The stories with an article matching every filter, the most recently reported first."""
        where, params, text = self._where(**filters)
        src = "f JOIN a ON a.rowid = f.rowid" if text else "a"
        extra = " AND" if where else " WHERE"
        sql = (f"SELECT a.story_id, max(a.t) AS last FROM {src}{where}{extra} a.story_id IS NOT NULL "
               f"GROUP BY a.story_id ORDER BY last DESC, a.story_id DESC LIMIT ?")
        con = self.connect()
        try:
            return [s for (s, _) in con.execute(sql, [*params, -1 if not limit else limit]).fetchall()]
        finally:
            con.close()

    def by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        return self._docs("id", ids)

    def by_story(self, story_ids: list[str]) -> list[dict[str, Any]]:
        return self._docs("story_id", story_ids)

    def _docs(self, column: str, values: list[str]) -> list[dict[str, Any]]:
        if not values:
            return []
        con = self.connect()
        try:
            out = []
            for i in range(0, len(values), 500):
                part = values[i:i + 500]
                out += con.execute(f"SELECT doc FROM a WHERE {column} IN ({', '.join('?' for _ in part)})",
                                   part).fetchall()
        finally:
            con.close()
        return [json.loads(d) for (d,) in out]


__all__ = ["ArticleIndex", "FORMAT", "fold", "fts_query"]
