#!/usr/bin/env python
"""Search and listing over a wire of many articles: ``ArticleStore.list`` / ``show`` against SQLite FTS5.

A wire of ``--articles`` articles (default 50,000) is written straight to the ``news_articles`` table (the
pipeline's output format), so that what is measured is reading, filtering, ranking and paging, not ingest. The texts
are real: the 300 OrangeSum articles (French) and the 270 WMT21 documents (French and German) of the shared data,
each article made of paragraphs drawn from two of them, so no two bodies are equal. Publication times spread over
a year; each article carries 3-6 linked entity keys drawn from the keys the entity stage gives these texts
(countries, people) and one or two topics.

marketwire answers from its serving index (``news/search.py``: SQLite with FTS5, derived from the lake, built on the
first question and kept in step after). The peer, measured in the same run on the same texts: SQLite FTS5 (in Python's standard library) with a
``unicode61 remove_diacritics 2`` tokenizer, ranked by bm25, plus an ordinary table with an index on the time for
the listings. Both answer the same questions; the table prints the median of 5 runs of each (first run excluded),
and the peer's build time.

Usage (from the repository root)::

    .venv/bin/python benchmarks/news_search.py                  # 50,000 articles, about 2 minutes
    .venv/bin/python benchmarks/news_search.py --articles 10000

Markdown to stdout and ``benchmarks/out/news_search.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT / "src"))

KEYS = ["country:FR", "country:DE", "country:US", "country:RU", "country:IR", "country:CN", "country:GB",
        "country:IT", "country:UA", "country:IL", "person:vladimir-putin", "person:emmanuel-macron",
        "person:angela-merkel", "person:donald-trump", "person:christine-lagarde", "person:olaf-scholz"]
TOPICS = ["markets", "earnings", "politics", "macro", "central_banks", "energy", "health", "defence"]


def shared_data() -> Path:
    env = os.environ.get("MARKETWIRE_DATA")
    if env:
        return Path(env)
    return next((p / "shared" / "data" for p in ROOT.parents if (p / "shared" / "data").is_dir()), Path("shared/data"))


def texts() -> list[tuple[str, str, list[str]]]:
    """(language, title, paragraphs) of the real texts."""
    ev = shared_data() / "news-eval"
    out = []
    for p in sorted((ev / "orangesum" / "parsed_sample").glob("*.json")):
        j = json.loads(p.read_text(encoding="utf-8"))
        sents = [s.strip() + "." for s in j["article"].split(". ") if s.strip()]
        paras = [" ".join(sents[i:i + 3]) for i in range(0, len(sents), 3)]
        out.append(("fr", j.get("title") or sents[0][:80], paras))
    for p in sorted((ev / "wmt21").glob("newstest2021.*.all.xml")):
        for doc in ET.parse(p).getroot().iter("doc"):
            for tag in ("src", "ref"):
                el = doc.find(tag)
                if el is None:
                    continue
                segs = [" ".join((s.text or "").split()) for s in el.iter("seg")]
                if len(segs) > 2:
                    out.append((el.get("lang") or "", segs[0], segs[1:]))
    return out


def build_wire(home: Path, n: int, seed: int = 7) -> list[dict[str, Any]]:
    import pyarrow as pa

    import marketwire
    from marketwire.datasets.news import NEWS_ARTICLES
    from marketwire.news.articles import article_id_of

    rng = random.Random(seed)
    base = texts()
    t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    mw = marketwire.open(home)
    rows: list[dict[str, Any]] = []
    now = datetime.now(timezone.utc)
    for i in range(n):
        lang, title, paras = rng.choice(base)
        other = rng.choice([b for b in base[:50] if b[0] == lang] or base)
        body_paras = paras[: rng.randint(2, max(2, len(paras)))] + other[2][: rng.randint(1, 3)]
        rng.shuffle(body_paras)
        keys = sorted(set(rng.sample(KEYS, rng.randint(3, 6))))
        topics = [{"topic": t, "score": 0.6, "evidence": []} for t in rng.sample(TOPICS, rng.randint(1, 2))]
        published = t0 + timedelta(seconds=rng.randint(0, 365 * 86400))
        rows.append({
            "article_id": article_id_of(f"https://example.org/{i}"), "url": f"https://example.org/{i}",
            "canonical_url": f"https://example.org/{i}", "source": f"outlet-{i % 40}", "title": f"{title} ({i})",
            "body": "\n\n".join(body_paras), "language": lang, "language_method": "declared", "published": published,
            "published_raw": published.isoformat(), "first_seen": published, "content_hash": f"h{i}",
            "duplicate_of": None, "duplicate_score": None, "story_id": f"MWTBENCH{i // 3:08d}", "bullets": [],
            "entities": json.dumps([{"text": k.split(":")[1], "type": "LOC", "link": {"kind": k.split(":")[0],
                                     "id": k.split(":")[1]}} for k in keys]),
            "extract_status": "ok", "extract_reason": None, "revision": 1, "headline": title, "summary_method": None,
            "topics": json.dumps(topics), "entity_keys": keys, "story_score": None, "novelty": 1.0,
            "feed_id": None, "item_key": None, "fetch_status": None, "http_status": None, "standfirst": [],
            "knowledge_time": now, "ingested_at": now, "ingest_id": "bench",
        })
    for i in range(0, n, 10_000):
        mw.lake.append(NEWS_ARTICLES, pa.Table.from_pylist(rows[i:i + 10_000], schema=NEWS_ARTICLES.schema))
    return rows


def build_fts(path: Path, rows: list[dict[str, Any]]) -> sqlite3.Connection:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE a (id TEXT PRIMARY KEY, title TEXT, body TEXT, language TEXT, published TEXT, "
                "keys TEXT, doc TEXT)")
    con.execute("CREATE INDEX a_pub ON a (published)")
    con.execute("CREATE INDEX a_lang_pub ON a (language, published)")
    con.execute("CREATE VIRTUAL TABLE f USING fts5(title, body, content='a', content_rowid='rowid', "
                "tokenize='unicode61 remove_diacritics 2')")
    con.executemany("INSERT INTO a VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(r["article_id"], r["title"], r["body"], r["language"], r["published"].isoformat(),
                      " ".join(r["entity_keys"]), json.dumps({k: str(v) for k, v in r.items()}))
                     for r in rows])
    con.execute("INSERT INTO f (f) VALUES ('rebuild')")
    con.commit()
    return con


def timed(fn: Callable[[], Any], runs: int = 5) -> tuple[float, Any]:
    fn()
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=50_000)
    args = ap.parse_args(argv)
    import marketwire

    with tempfile.TemporaryDirectory(prefix="mw-search-") as tmp:
        t = time.perf_counter()
        rows = build_wire(Path(tmp) / "home", args.articles)
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        fts = build_fts(Path(tmp) / "fts.sqlite", rows)
        fts_s = time.perf_counter() - t
        st = marketwire.open(Path(tmp) / "home").articles()
        some_id = rows[len(rows) // 2]["article_id"]
        t = time.perf_counter()
        st.list(limit=1)  # the first question builds the serving index from the lake
        index_s = time.perf_counter() - t
        rows_lake = None
        t = time.perf_counter()
        rows_lake = st.list(limit=50, as_of=datetime.now(timezone.utc))  # point in time: answered from the lake
        lake_ms = (time.perf_counter() - t) * 1000

        def fts_q(match: str) -> Callable[[], Any]:
            return lambda: fts.execute("SELECT a.doc FROM f JOIN a ON a.rowid = f.rowid WHERE f MATCH ? "
                                       "ORDER BY bm25(f, 3.0, 1.0) LIMIT 50", (match,)).fetchall()

        cases = [
            ("latest 50", lambda: st.list(limit=50),
             lambda: fts.execute("SELECT doc FROM a ORDER BY published DESC LIMIT 50").fetchall()),
            ("latest 50, page 3", lambda: st.list(limit=50, offset=100),
             lambda: fts.execute("SELECT doc FROM a ORDER BY published DESC LIMIT 50 OFFSET 100").fetchall()),
            ("language de, latest 50", lambda: st.list(lang="de", limit=50),
             lambda: fts.execute("SELECT doc FROM a WHERE language = 'de' ORDER BY published DESC LIMIT 50").fetchall()),
            ("country RU, latest 50", lambda: st.list(country="RU", limit=50),
             lambda: fts.execute("SELECT doc FROM a WHERE ' ' || keys || ' ' LIKE '% country:RU %' "
                                 "ORDER BY published DESC LIMIT 50").fetchall()),
            ("text: banque centrale (top 50)", lambda: st.list(q="banque centrale", limit=50),
             fts_q("banque AND centrale")),
            ('text: "Wall Street" (top 50)', lambda: st.list(q='"Wall Street"', limit=50), fts_q('"wall street"')),
            ("text: a rare word, gouvernement + Téhéran", lambda: st.list(q="gouvernement teheran", limit=50),
             fts_q("gouvernement AND teheran")),
            ("one article by id", lambda: st.show(some_id),
             lambda: fts.execute("SELECT doc FROM a WHERE id = ?", (some_id,)).fetchall()),
        ]
        lines = [f"# News search over {args.articles:,} articles", "",
                 f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
                 f"Wire written in {build_s:.1f} s. marketwire's serving index built from the lake on the first "
                 f"question in {index_s:.1f} s; the SQLite FTS5 peer built in {fts_s:.1f} s. The same listing "
                 f"point in time (`as_of`, answered from the Delta table): {lake_ms:,.0f} ms for "
                 f"{len(rows_lake)} articles.", "",
                 "Results are compared, not only counted: *same* is the share of marketwire's hits the peer also "
                 "returns for the question, and *order* says whether the two lists are the same ids in the same "
                 "order.", "",
                 "| question | marketwire ms (p50) | hits | SQLite FTS5 ms (p50) | hits | same | order |",
                 "|---|---:|---:|---:|---:|---:|---|"]
        for name, ours, peer in cases:
            ms, got = timed(ours)
            pms, pgot = timed(peer)
            mine = [got["id"]] if isinstance(got, dict) else [a["id"] for a in got]
            theirs = [json.loads(r[0])["article_id"] for r in pgot]
            same = len(set(mine) & set(theirs)) / len(mine) if mine else 1.0
            lines.append(f"| {name} | {ms:,.1f} | {len(mine)} | {pms:,.1f} | {len(theirs)} | {same:.0%} | "
                         f"{'same' if mine == theirs else 'differs'} |")
            print(lines[-1], flush=True)
        fts.close()
    text = "\n".join(lines) + "\n"
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "news_search.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
