#!/usr/bin/env python
"""Story clustering on WMT21 newstest: does each article land in one story with its human translation, and only
with it? Same documents, same run: marketwire's combined clusterer, each of its two signals alone, and a
monolingual TF-IDF baseline.

Data: ``news-eval/wmt21/newstest2021.fr-de.all.xml`` (74 French articles with their German translation) and
``newstest2021.de-fr.all.xml`` (61 German articles with their French translation) in the shared data folder
(``$MARKETWIRE_DATA``, else the nearest ancestor folder of this script that holds ``shared/data``). Each
``<doc>`` gives two documents: ``<src>`` and the first ``<ref>`` (human translation); the machine-translation
``<hyp>`` outputs are ignored. The first ``<seg>`` is the title, the others the body. No publication times are
given, so every document is inside every other's window.

Metrics, for a clustering of a set of documents (pairs = a source article and its translation):

- ``pair recall``: share of pairs whose two documents share a story;
- ``docs merged``: share of documents whose story holds a document outside their own pair;
- ``unrelated pairs merged``: share of pairs of documents from different articles that share a story;
- ``docs merged with another event``: share of documents whose story holds a document outside both their pair
  and their reviewed same-event group (``SAME_EVENT`` below: nine pairs of WMT21 articles that report one event);
- ``docs/s``: documents clustered per second, embedding included (one process, one BLAS thread).

The same documents are also put through the whole article pipeline, as ``marketwire news add`` would (one text file
per document, title on the first line): there the entity stage's links (countries, people) are extra anchors, so
reports of one event written apart join more readily than in the story stage alone.

The default threshold was chosen on ``fr-de``; ``de-fr`` is the held-out check, and ``both`` puts all 270
documents through one index together (the acceptance setting).

Usage (from the repository root)::

    .venv/bin/python benchmarks/news_stories.py            # about 3 minutes; --stream 0 skips the steady-state run,
                                                           # --no-pipeline the runs through the whole pipeline
    .venv/bin/python benchmarks/news_stories.py --sweep    # plus the threshold x weight table

The table goes to stdout and to ``benchmarks/out/news_stories.txt``. The integration test
``tests/integration/test_news_stories_wmt21.py`` imports ``load_wmt21``, ``score``, ``SAME_EVENT`` and
``CachedEncoder`` from this file.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import re
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from marketwire.news.stories import (  # noqa: E402
    EMB_WEIGHT,
    STRONG,
    THRESHOLD,
    CachingEncoder,
    StoryDoc,
    StoryIndex,
    cluster,
    default_encoder,
)

FILES = {"fr-de": "newstest2021.fr-de.all.xml", "de-fr": "newstest2021.de-fr.all.xml"}


def shared_data() -> Path:
    env = os.environ.get("MARKETWIRE_DATA")
    if env:
        return Path(env)
    for parent in ROOT.parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class Pair:
    doc: str  # the WMT document id
    src: StoryDoc
    ref: StoryDoc


def load_wmt21(path: Path) -> list[Pair]:
    """The source article and its first human translation for every ``<doc>`` of a WMT21 ``.all.xml`` file."""
    pairs = []
    for doc in ET.parse(path).getroot().iter("doc"):
        did = doc.get("id") or ""
        made = []
        for tag in ("src", "ref"):
            el = doc.find(tag)
            if el is None:
                raise ValueError(f"{path.name}: document {did} has no <{tag}>")
            segs = [" ".join((s.text or "").split()) for s in el.iter("seg")]
            made.append(
                StoryDoc(id=f"{did}#{tag}", lang=el.get("lang"), title=segs[0] if segs else None, body="\n".join(segs[1:]))
            )
        pairs.append(Pair(did, made[0], made[1]))
    return pairs


# WMT21 articles that report the same event as another WMT21 article (different outlets, or one outlet twice), found
# by reading every story the clusterers built that held more than one WMT article. For a story clusterer these
# merges are right, yet the literal "outside its pair" metric counts them as errors; the table shows both.
SAME_EVENT: dict[tuple[str, ...], str] = {
    ("abendzeitung-muenchen.de.275234", "sz.151402"): "VW looks for the source of leaked recordings of internal meetings",
    ("croix.158732", "latribune.fr.61456"): "the Holroyd report on green finance handed over on 22 July",
    ("croix.158936", "lemondefr.110265"): "Le Maire announces 30 bn euros for the ecological transition in the JDD",
    ("handelsblatt.com.292698", "sz.151403"): "Scholz's action plan for financial supervision after Wirecard",
    ("journalmetro.com.42771", "lemondefr.109983"): "Finance minister Morneau repays 41,000 dollars of travel costs to WE",
    ("latribune.fr.61430", "nouvelobs.com.133503"): "the GAFA chief executives' House hearing, postponed then set",
    ("lefigaro.198491", "nouvelobs.com.133625"): "the 630 M euros aerospace investment fund is set up",
    ("nouvelobs.com.133448", "nouvelobs.com.133451"): "Wall Street closes Friday 24 July down 0.68%",
    ("faz.79602", "salzburg.com.306596"): "Bundesbank president Weidmann's weekend interview with the Funke newspapers "
    "(one article on EU joint debt, one on the recovery, both quoting the same interview)",
}


def pipeline_stories(pairs: list[Pair], home: Path) -> tuple[dict[str, str], int, float]:
    """The documents through the whole article pipeline, as ``marketwire news add`` puts text files through it
    (language, duplicates, entities and their links, summary, topics, story): doc id -> story id, the number marked
    ``duplicate_of`` another, and the seconds taken (models loaded)."""
    import marketwire

    folder = home / "files"
    folder.mkdir(parents=True, exist_ok=True)
    by_path: dict[str, str] = {}
    for p in pairs:
        for d in (p.src, p.ref):
            f = folder / (d.id.replace("#", "__") + ".txt")
            f.write_text(f"{d.title or ''}\n{d.body}\n", encoding="utf-8")
            by_path[str(f.resolve())] = d.id
    mw = marketwire.open(home / "lake")
    store = mw.articles()
    t0 = time.perf_counter()
    added = store.add(sorted(by_path))
    secs = time.perf_counter() - t0
    return {by_path[a.url]: a.story_id or "" for a in added}, sum(a.duplicate_of is not None for a in added), secs


@dataclass(frozen=True)
class Score:
    pairs: int
    docs: int
    pair_recall: float
    docs_merged: float  # share of docs whose story holds a doc outside their pair
    unrelated_merged: float  # share of unrelated doc pairs sharing a story
    docs_wrong: float  # share of docs whose story holds a doc of neither their pair nor a SAME_EVENT partner
    stories: int
    merged_groups: tuple[tuple[str, ...], ...]  # stories that hold more than one WMT document


def score(pairs: list[Pair], story_of: dict[str, str]) -> Score:
    """The metrics of the module docstring for ``story_of`` (doc id -> story id)."""
    owner = {p.src.id: p.doc for p in pairs} | {p.ref.id: p.doc for p in pairs}
    members: dict[str, list[str]] = defaultdict(list)
    for doc_id, sid in story_of.items():
        members[sid].append(doc_id)
    joined = sum(story_of[p.src.id] == story_of[p.ref.id] for p in pairs)
    merged_docs = sum(any(owner[o] != owner[d] for o in members[story_of[d]]) for d in owner)
    n = len(owner)
    same_story_pairs = sum(math.comb(len(m), 2) for m in members.values())
    within_pair_same = joined
    unrelated_total = math.comb(n, 2) - len(pairs)
    groups = tuple(sorted(tuple(sorted({owner[d] for d in m})) for m in members.values() if len({owner[d] for d in m}) > 1))
    event = {a: set(g) for g in SAME_EVENT for a in g}
    wrong = sum(any(owner[o] not in event.get(owner[d], {owner[d]}) for o in members[story_of[d]]) for d in owner)
    return Score(
        len(pairs),
        n,
        joined / len(pairs),
        merged_docs / n,
        (same_story_pairs - within_pair_same) / unrelated_total,
        wrong / n,
        len(members),
        groups,
    )


# ---------------------------------------------------------------------------------------------------------- baseline

_TOKEN = re.compile(r"\w+", re.UNICODE)


def tfidf_baseline(docs: list[StoryDoc], threshold: float = 0.3) -> dict[str, str]:
    """Monolingual TF-IDF (all words, lower-cased) with the same average-linkage rule: what plain bag-of-words does."""
    counts = [Counter(t.lower() for t in _TOKEN.findall(f"{d.title or ''} {d.body}")) for d in docs]
    df = Counter(t for c in counts for t in c)
    n = len(docs)
    vecs = []
    for c in counts:
        v = {t: (1 + math.log(k)) * math.log((n + 1) / (df[t] + 1)) for t, k in c.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        vecs.append({t: x / norm for t, x in v.items()})
    story_of: dict[str, str] = {}
    stories: dict[str, list[int]] = {}
    order = sorted(range(n), key=lambda i: docs[i].id)
    for i in order:
        best = None
        for sid, idx in stories.items():
            sims = [sum(w * vecs[j].get(t, 0.0) for t, w in vecs[i].items()) for j in idx]
            mean, top = sum(sims) / len(sims), max(sims)
            if top >= threshold and mean >= threshold and (best is None or mean > best[0]):
                best = (mean, sid)
        sid = best[1] if best else docs[i].id
        stories.setdefault(sid, []).append(i)
        story_of[docs[i].id] = sid
    return story_of


# ---------------------------------------------------------------------------------------------------------- run


class CachedEncoder(CachingEncoder):
    """The default encoder with each text embedded once per run, so the variants differ only in clustering; keeps
    the seconds spent embedding."""

    def __init__(self) -> None:
        self.seconds = 0.0

        def timed(texts: list[str]):
            t0 = time.perf_counter()
            out = default_encoder(texts)
            self.seconds += time.perf_counter() - t0
            return out

        super().__init__(timed, maxsize=10**9)


def stream(docs: list[StoryDoc], enc: CachedEncoder, n: int, per_day: int) -> str:
    """Steady state of a wire: ``n`` articles at ``per_day`` a day through one index with the default 3-day window.
    The articles are the WMT documents again under new ids and times, with their embeddings already cached, so the
    rate is the index's own cost (scoring against the window, assignment, eviction); the encoder's rate is apart."""
    import resource
    from datetime import datetime, timedelta, timezone

    start = datetime(2020, 7, 20, tzinfo=timezone.utc)
    step = timedelta(days=1) / per_day
    index = StoryIndex(encoder=enc)
    batch = []
    t0 = time.perf_counter()
    peak_window = 0
    for i in range(n):
        d = docs[i % len(docs)]
        batch.append(StoryDoc(f"{d.id}~{i // len(docs)}", d.lang, d.title, d.body, start + i * step))
        if len(batch) == 500:
            index.add_many(batch)
            batch = []
            peak_window = max(peak_window, len(index))
    index.add_many(batch)
    secs = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (
        f"Steady state: {n:,} articles at {per_day:,}/day, 3-day window (up to {peak_window:,} articles indexed): "
        f"{secs:.1f} s, {n / secs:,.0f} articles/s for the index alone (embeddings cached); peak RSS {rss:,.0f} MiB."
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "news_stories.txt")
    ap.add_argument("--sweep", action="store_true", help="also print pair recall / merges over a threshold sweep")
    ap.add_argument("--no-pipeline", dest="pipeline", action="store_false",
                    help="skip the runs through the whole article pipeline (about a minute)")
    ap.add_argument("--stream", type=int, default=20_000, help="articles in the steady-state run (0 to skip)")
    ap.add_argument("--per-day", type=int, default=4_000, help="articles per day in the steady-state run")
    args = ap.parse_args(argv)
    folder = args.data or shared_data() / "news-eval" / "wmt21"
    sets = {name: load_wmt21(folder / f) for name, f in FILES.items()}
    sets["both"] = sets["fr-de"] + sets["de-fr"]

    lines: list[str] = []

    def emit(s: str = "") -> None:
        print(s, flush=True)
        lines.append(s)

    # Timed run of the shipped configuration on all 270 documents, cold encoder (model load excluded).
    default_encoder(["warm up"])
    docs_all = [d for p in sets["both"] for d in (p.src, p.ref)]
    t0 = time.perf_counter()
    shipped = cluster(docs_all)
    shipped_secs = time.perf_counter() - t0

    enc = CachedEncoder()
    methods = {
        "marketwire (embedding + anchors, avg-link)": dict(encoder=enc),
        "embedding only (USE v3, avg-link)": dict(encoder=enc, emb_weight=1.0, threshold=0.62),
        "anchors only (names, numbers, TF-IDF)": dict(encoder=None, emb_weight=0.0, threshold=0.2),
    }
    # The single-signal baselines get their threshold by the rule that chose the shipped defaults, on fr-de only:
    # the highest pair recall with no document merged with another event, then the fewest merges outside pairs.
    fr_de = sets["fr-de"]
    fr_de_docs = [d for p in fr_de for d in (p.src, p.ref)]

    def tuned(kw: dict, grid: list[float]) -> float:
        def key(t: float) -> tuple:
            sc = score(fr_de, {k: a.story_id for k, a in cluster(fr_de_docs, threshold=t, **kw).items()})
            return (sc.docs_wrong == 0, sc.pair_recall, -sc.docs_merged, t)

        return max(grid, key=key)

    emb_kw = dict(encoder=enc, emb_weight=1.0)
    anc_kw = dict(encoder=None, emb_weight=0.0)
    emb_t = tuned(emb_kw, [round(0.5 + 0.02 * i, 2) for i in range(12)])
    anc_t = tuned(anc_kw, [round(0.1 + 0.05 * i, 2) for i in range(12)])
    methods = {
        f"marketwire: embedding + anchors (w={EMB_WEIGHT}, t={THRESHOLD}, strong={STRONG})": dict(encoder=enc),
        f"embedding only (USE v3, t={emb_t})": dict(emb_kw, threshold=emb_t),
        f"anchors only (names, numbers, TF-IDF, t={anc_t})": dict(anc_kw, threshold=anc_t),
    }
    emit(
        "| method | set | docs | pair recall | docs merged outside pair | unrelated pairs merged "
        "| docs merged with another event | stories | docs/s |"
    )
    emit("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    results = {}
    for name, kw in list(methods.items()) + [("monolingual TF-IDF baseline (all words)", None)]:
        for set_name, pairs in sets.items():
            docs = [d for p in pairs for d in (p.src, p.ref)]
            t0 = time.perf_counter()
            if kw is None:
                story_of = tfidf_baseline(docs)
            else:
                story_of = {k: a.story_id for k, a in cluster(docs, **kw).items()}
            secs = time.perf_counter() - t0
            if set_name == "both" and name.startswith("marketwire"):
                rate = f"{len(docs) / shipped_secs:,.0f}"
                assert {k: a.story_id for k, a in shipped.items()} == story_of
            elif kw is not None and kw.get("encoder") is enc:
                rate = "(cached)"
            else:
                rate = f"{len(docs) / secs:,.0f}"
            s = score(pairs, story_of)
            results[(name, set_name)] = s
            emit(
                f"| {name} | {set_name} | {s.docs} | {s.pair_recall:.1%} | {s.docs_merged:.1%} | "
                f"{s.unrelated_merged:.3%} | {s.docs_wrong:.1%} | {s.stories} | {rate} |"
            )
    emit()
    emit(
        f"Shipped configuration, all 270 documents from a cold start (model loaded): {shipped_secs:.1f} s, "
        f"{len(docs_all) / shipped_secs:.1f} docs/s (embedding {enc.seconds:.1f} s of the cached runs' encoder time)."
    )
    def merged(s: Score, label: str) -> None:
        emit(f"Stories holding more than one WMT article ({label}):")
        for g in s.merged_groups:
            titles = [next(p.src.title for p in sets["both"] if p.doc == d) for d in g]
            why = SAME_EVENT.get(g, "NOT a reviewed same-event group")
            emit("  - " + " + ".join(f"{d} ({(t or '')[:50]})" for d, t in zip(g, titles)) + f": {why}")

    merged(results[(next(iter(methods)), "both")], "story stage alone, both")

    if args.pipeline:
        import tempfile

        emit()
        emit("Through the whole pipeline (`marketwire news add` on one text file per document: language, duplicates, "
             "entities with their links as extra anchors, summary, topics, story; no securities master loaded):")
        emit()
        emit("| set | docs | pair recall | docs merged outside pair | unrelated pairs merged "
             "| docs merged with another event | marked duplicate | stories | docs/s (all stages) |")
        emit("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for set_name, pairs in sets.items():
            with tempfile.TemporaryDirectory(prefix="mw-wmt21-") as tmp:
                story_of, dups, secs = pipeline_stories(pairs, Path(tmp))
            s = score(pairs, story_of)
            emit(f"| {set_name} | {s.docs} | {s.pair_recall:.1%} | {s.docs_merged:.1%} | {s.unrelated_merged:.3%} "
                 f"| {s.docs_wrong:.1%} | {dups} | {s.stories} | {s.docs / secs:,.1f} |")
            if set_name == "both":
                pipeline_both = s
        emit()
        merged(pipeline_both, "whole pipeline, both")

    if args.sweep:
        emit()
        emit("| threshold | emb weight | set | pair recall | docs merged | unrelated merged | merged with another event |")
        emit("|---:|---:|---|---:|---:|---:|---:|")
        for w, t in itertools.product((0.4, 0.5, 0.6, 0.7), (0.45, 0.5, 0.55, 0.6)):
            for set_name in ("fr-de", "de-fr", "both"):
                pairs = sets[set_name]
                docs = [d for p in pairs for d in (p.src, p.ref)]
                story_of = {k: a.story_id for k, a in cluster(docs, encoder=enc, emb_weight=w, threshold=t).items()}
                sc = score(pairs, story_of)
                emit(
                    f"| {t} | {w} | {set_name} | {sc.pair_recall:.1%} | {sc.docs_merged:.1%} "
                    f"| {sc.unrelated_merged:.3%} | {sc.docs_wrong:.1%} |"
                )

    if args.stream:
        emit()
        emit(stream(docs_all, enc, args.stream, args.per_day))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
