#!/usr/bin/env python
"""Article summaries on 300 French OrangeSum articles: marketwire's bullets against the lead-1 and lead-2 baselines.

Data: ``news-eval/orangesum/parsed_sample/<id>.json`` of the shared data folder (``$MARKETWIRE_DATA``, else the
nearest ancestor folder of this script that holds ``shared/data``), each with ``title``, ``heading`` (the gold
abstract of one or two sentences written by the publisher) and ``article`` (the body).

Systems, on the same articles in the same run:

- ``marketwire``: ``summarize(title, article, "fr")``, the bullets joined by spaces;
- ``marketwire, 2 bullets``: the same with ``max_bullets=2``;
- ``lead-1`` / ``lead-2``: the first one / two sentences of the body (marketwire's sentence splitter).

Metric: ROUGE-1, ROUGE-2 and ROUGE-L F1 of each system's text against the gold heading, averaged over articles.
Tokens are the lower-cased ``\\w+`` matches, no stemming and no stop-word removal; n-gram counts are clipped;
ROUGE-L uses the longest common subsequence. The rules of the compressor were written while looking at the first
100 articles (sorted by id); the other 200 are reported separately as the held-out check.

Also reported for marketwire: the share of bullets that pass the faithfulness gate (it must be 100%), words per
bullet (mean and max), bullets per article, and articles per second (summarising only, files already read).

Usage (from the repository root):

    .venv/bin/python benchmarks/news_summaries.py          # a few seconds

The table goes to stdout and to ``benchmarks/out/news_summaries.txt``.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from marketwire.news.summarize import (  # noqa: E402
    MAX_WORDS,
    has_finite_verb,
    n_words,
    sentences,
    summarize,
    unfaithful,
)


def data_dir() -> Path:
    env = os.environ.get("MARKETWIRE_DATA")
    candidates = [Path(env)] if env else []
    candidates += [p / "shared" / "data" for p in ROOT.parents]
    for c in candidates:
        if (c / "news-eval" / "orangesum" / "parsed_sample").is_dir():
            return c / "news-eval" / "orangesum" / "parsed_sample"
    raise SystemExit("OrangeSum sample not found: set MARKETWIRE_DATA to the shared data folder")


def load(folder: Path) -> list[dict]:
    files = sorted(folder.glob("*.json"), key=lambda p: int(p.stem) if p.stem.isdigit() else p.stem)
    return [{"id": p.stem, **json.loads(p.read_text(encoding="utf-8"))} for p in files]


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _f(overlap: int, n_pred: int, n_gold: int) -> float:
    if not overlap or not n_pred or not n_gold:
        return 0.0
    p, r = overlap / n_pred, overlap / n_gold
    return 2 * p * r / (p + r)


def rouge_n(pred: list[str], gold: list[str], n: int) -> float:
    pc = Counter(tuple(pred[i:i + n]) for i in range(len(pred) - n + 1))
    gc = Counter(tuple(gold[i:i + n]) for i in range(len(gold) - n + 1))
    return _f(sum((pc & gc).values()), sum(pc.values()), sum(gc.values()))


def rouge_l(pred: list[str], gold: list[str]) -> float:
    if not pred or not gold:
        return 0.0
    prev = [0] * (len(gold) + 1)
    for a in pred:
        cur = [0]
        for j, b in enumerate(gold):
            cur.append(prev[j] + 1 if a == b else max(prev[j + 1], cur[j]))
        prev = cur
    return _f(prev[-1], len(pred), len(gold))


def rouge(pred: str, gold: str) -> tuple[float, float, float]:
    p, g = tokens(pred), tokens(gold)
    return rouge_n(p, g, 1), rouge_n(p, g, 2), rouge_l(p, g)


def mean3(rows: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    return tuple(statistics.fmean(r[i] for r in rows) for i in range(3)) if rows else (0.0, 0.0, 0.0)  # type: ignore


def main() -> None:
    docs = load(data_dir())
    systems: dict[str, list[str]] = {}
    stats: dict[str, dict] = {}
    t0 = time.perf_counter()
    has_finite_verb("Le chat dort.", "fr")  # loads the verb tagger once, outside the timed runs
    warmup = time.perf_counter() - t0
    for name, k in (("marketwire", 3), ("marketwire, 2 bullets", 2)):
        t0 = time.perf_counter()
        sums = [summarize(d["title"], d["article"], "fr", max_bullets=k) for d in docs]
        secs = time.perf_counter() - t0
        systems[name] = [" ".join(s.bullets) for s in sums]
        bullets = [b for s in sums for b in s.bullets]
        passing = sum(not unfaithful(b, f"{d['title']}\n{d['article']}") for d, s in zip(docs, sums) for b in s.bullets)
        words = [n_words(b) for b in bullets]
        per = Counter(len(s.bullets) for s in sums)
        stats[name] = {
            "gate": f"{passing}/{len(bullets)} ({100 * passing / max(1, len(bullets)):.1f}%)",
            "rejected": sum(len(s.rejected) for s in sums),
            "words": f"{statistics.fmean(words):.1f} / {max(words)}" if words else "-",
            "over": sum(w > MAX_WORDS for w in words),
            "per_article": f"{statistics.fmean(len(s.bullets) for s in sums):.2f} "
                           f"({', '.join(f'{n}: {per[n]}' for n in sorted(per))})",
            "aps": len(docs) / secs,
        }
    systems["lead-1"] = [" ".join(sentences(d["article"])[:1]) for d in docs]
    systems["lead-2"] = [" ".join(sentences(d["article"])[:2]) for d in docs]

    dev = set(range(min(100, len(docs))))
    lines = [f"OrangeSum sample: {len(docs)} French articles; ROUGE F1 (x100) of each system against the gold heading",
             f"(lower-cased \\w+ tokens, no stemming). dev = first {len(dev)} by id (rules written looking at them), "
             f"held-out = the other {len(docs) - len(dev)}.", "",
             "| system | R-1 all | R-2 all | R-L all | R-1 held-out | R-2 held-out | R-L held-out | words |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, preds in systems.items():
        scores = [rouge(p, d["heading"]) for p, d in zip(preds, docs)]
        a = mean3(scores)
        h = mean3([s for i, s in enumerate(scores) if i not in dev])
        w = statistics.fmean(n_words(p) for p in preds)
        lines.append(f"| {name} | {100 * a[0]:.1f} | {100 * a[1]:.1f} | {100 * a[2]:.1f} | {100 * h[0]:.1f} | "
                     f"{100 * h[1]:.1f} | {100 * h[2]:.1f} | {w:.1f} |")
    lines.append(f"| gold heading | - | - | - | - | - | - | {statistics.fmean(n_words(d['heading']) for d in docs):.1f} |")
    lines += ["", "| marketwire | gate pass | rejected by gate | words per bullet mean / max | bullets > 25 words | "
              "bullets per article (count: articles) | articles/s |", "|---|---|---:|---|---:|---|---:|"]
    for name, s in stats.items():
        lines.append(f"| {name} | {s['gate']} | {s['rejected']} | {s['words']} | {s['over']} | {s['per_article']} | "
                     f"{s['aps']:.0f} |")
    lines.append(f"\nFirst call (loads the spaCy verb tagger used to vet cuts): {warmup:.1f} s, not included above.")
    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "news_summaries.txt").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
