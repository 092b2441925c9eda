"""Near-duplicates out of sample: the syndication variants of articles the near-duplicate stage was never tuned on.

    python benchmarks/news_dedup_sealed.py [--data ../shared/data]

The development set (``tests/unit/test_news_lang_dedup.py``) draws its originals from French OrangeSum and the WMT21
French/German documents, and the thresholds and LSH settings were chosen on it. This set takes its originals from
another corpus and language: the English article bodies of the article-extraction benchmark
(``news-eval/extraction-benchmark/ground-truth.json``, 181 pages of many outlets), which the near-duplicate stage
has never seen. The first half of the distinct bodies with at least five paragraphs are the originals; the second
half gives the headlines and the replacement words. The variants are the same four kinds a wire meets (a new
headline with agency credits, paragraphs reordered, a teaser of the first paragraphs, two or three words replaced in
each paragraph), generated here with English credits and a seed fixed when this file was written (2026-12-03,
after the MinHash change of commit d73d33d; the stage's thresholds were not changed after the run).

Printed: recall by kind and overall (a variant counts when ``find_original`` returns its original), and false links:
every variant and every original queried against all other originals.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from marketwire.news.dedup import NearDupIndex, normalise_text  # noqa: E402

SEED = 20261203
CREDITS = ("NEW YORK (AP) — ", "LONDON (Reuters) - ", "WASHINGTON (Bloomberg) -- ")
FOOTERS = ("\n\nCopyright 2020 The Associated Press. All rights reserved.",
           "\n\n(Reporting by staff; Editing by the desk)", "\n\n©2020 Bloomberg L.P.")


def _runs(text: str, n: int = 20) -> set[tuple[str, ...]]:
    words = normalise_text(text).split()
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def corpus(data: Path) -> tuple[list[tuple[str, list[str]]], list[str], list[str]]:
    """(originals, headlines, vocabulary): distinct bodies (no shared 20-word passage) with >= 5 paragraphs."""
    truth = json.loads((data / "news-eval" / "extraction-benchmark" / "ground-truth.json").read_text())
    bodies, seen = [], set()
    for key in sorted(truth):
        body = truth[key]["articleBody"]
        paras = [p.strip() for p in body.split("\n") if p.strip()]
        runs = _runs(body)
        if len(paras) >= 5 and not runs & seen:
            bodies.append((key[:12], paras))
        seen |= runs
    half = len(bodies) // 2
    originals, rest = bodies[:half], bodies[half:]
    headlines = [paras[0][:90] for _, paras in rest]
    vocabulary = [w for _, paras in rest for p in paras for w in p.split()]
    return originals, headlines, vocabulary


def variants(paras: list[str], rng: random.Random, vocabulary: list[str], headline: str) -> dict[str, str]:
    text = "\n\n".join(paras)
    shuffled = paras[:]
    while shuffled == paras:
        rng.shuffle(shuffled)
    cut = rng.choice([2, 3])
    while cut < len(paras) and len(" ".join(paras[:cut]).split()) < 30:
        cut += 1
    reworded = []
    for p in paras:
        words = p.split()
        for pos in rng.sample(range(len(words)), min(len(words), 3 if len(words) > 40 else 2)):
            words[pos] = rng.choice(vocabulary)
        reworded.append(" ".join(words))
    return {"headline+credits": f"{headline}\n\n{rng.choice(CREDITS)}{text}{rng.choice(FOOTERS)}",
            "reordered": "\n\n".join(shuffled),
            "teaser": "\n\n".join(paras[:cut]) + "\n\nRead the full story on our website.",
            "reworded": "\n\n".join(reworded)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("MARKETWIRE_DATA", "../shared/data"))
    args = ap.parse_args()
    originals, headlines, vocabulary = corpus(Path(args.data))
    rng = random.Random(SEED)
    published = datetime(2020, 1, 15, 12)
    index = NearDupIndex(window=timedelta(days=3650))
    for key, paras in originals:
        index.add(key, "\n\n".join(paras), published)
    found: dict[str, list[bool]] = {}
    false_links = pairs = 0
    for n, (key, paras) in enumerate(originals):
        for kind, text in variants(paras, rng, vocabulary, headlines[n % len(headlines)]).items():
            found.setdefault(kind, []).append(index.find_original(f"{key}/{kind}", text,
                                                                  published + timedelta(hours=2)) == key)
            false_links += len({m for m, _ in index.query(text)} - {key})
            pairs += len(originals) - 1
    for key, paras in originals:
        false_links += len({m for m, _ in index.query("\n\n".join(paras))} - {key})
        pairs += len(originals) - 1
    total = sum(len(v) for v in found.values())
    hits = sum(sum(v) for v in found.values())
    print(f"near-duplicates, out of sample: {len(originals)} English originals (extraction-benchmark bodies), "
          f"seed {SEED}")
    print("| kind | variants | linked to the original | recall |")
    print("|---|---:|---:|---:|")
    for kind, v in found.items():
        print(f"| {kind} | {len(v)} | {sum(v)} | {sum(v) / len(v):.1%} |")
    print(f"| overall | {total} | {hits} | {hits / total:.1%} |")
    print(f"false links: {false_links} of {pairs} pairs ({false_links / pairs:.3%})")


if __name__ == "__main__":
    main()
