#!/usr/bin/env python
"""Article body extraction on 181 real pages: marketwire against trafilatura as shipped, same pages, same run.

Data: ``news-eval/extraction-benchmark/`` of the shared data folder (``$MARKETWIRE_DATA``, else the nearest
ancestor folder of this script that holds ``shared/data``): ``html/<id>.html.gz`` (181 article pages, UTF-8, as
fetched without JavaScript) and ``ground-truth.json`` (``{id: {"articleBody": gold text, "url": page url}}``),
from scrapinghub/article-extraction-benchmark (MIT). Secondary, if present: ``news-eval/orangesum/`` (300 French
news pages with the text the OrangeSum authors parsed from them).

Metric: the benchmark's own ``evaluate.py``, reimplemented here function for function:

1. Tokens are the matches of ``\\w+`` (Unicode word characters; case is kept; punctuation and whitespace only
   separate tokens, so paragraph breaks and formatting do not count).
2. Shingles are the runs of 4 consecutive tokens, counted as a multiset. A text of 1-3 tokens has one shingle
   made of all its tokens; an empty text has none.
3. Per page, over the union of shingles: tp = sum of min(gold count, predicted count), fp = the predicted surplus,
   fn = the gold surplus; the three are then divided by their sum so that every page weighs the same.
4. Per page, precision = tp / (tp + fp) and recall = tp / (tp + fn), except that both are 1 when fp = fn = 0, and
   precision is 0 when tp = fp = 0 (recall likewise when tp = fn = 0).
5. Precision is averaged over the pages whose prediction is not empty (tp + fp > 0): an empty answer costs recall
   only, never precision. Recall is averaged over the pages whose gold text is not empty (all 181 here).
6. F1 is the harmonic mean of the two averages (not the mean of per-page F1s).
7. As in the benchmark's current script, ``accuracy`` is the share of pages whose token sequence equals the gold
   one exactly, and each figure gets a bootstrap standard deviation (1,000 resamples of the pages, seeded here
   so that reruns print the same numbers).

Systems, each on the same in-memory pages, one after the other:

- ``marketwire``: ``marketwire.news.extract.extract(html_bytes, url).body``;
- ``trafilatura (benchmark runner)``: ``trafilatura.extract(html, include_comments=False)``, exactly what the
  benchmark's ``extractors/run_trafilatura.py`` runs;
- ``trafilatura favor_precision``: the same with ``favor_precision=True``, which is where marketwire starts from,
  so the difference between the two rows is what marketwire's repairs add;
- ``trafilatura.baseline``: trafilatura's fallback that takes JSON-LD ``articleBody``, ``<article>`` or all
  ``<p>`` text.

Speed is pages per second over the whole loop (parsing included, decompression excluded), and p50/p95 per page.

Usage (from the repository root):

    .venv/bin/python benchmarks/news_extraction.py                # about a minute
    .venv/bin/python benchmarks/news_extraction.py --only marketwire --worst 20

The Markdown goes to stdout and to ``benchmarks/out/news_extraction.md``; per-page scores of every system, the
machine and library versions to ``benchmarks/out/news_extraction.json``. The integration test
``tests/integration/test_news_extraction.py`` imports ``load_pages`` and ``score`` from this file.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SRC = REPO / "src"
OUT = HERE / "out"
if str(SRC) not in sys.path and (SRC / "marketwire").is_dir():
    sys.path.insert(0, str(SRC))

DATASET = Path("news-eval") / "extraction-benchmark"
ORANGESUM = Path("news-eval") / "orangesum"
TARGET_F1 = 0.95
SHINGLE = 4

# --- the benchmark's metric ------------------------------------------------------------------------------------

# evaluate.py compiles r"\w+" with UNICODE | MULTILINE | IGNORECASE | DOTALL; on str patterns none of those flags
# changes what \w+ matches (IGNORECASE does not fold the tokens), so the plain pattern is the same tokenizer.
_TOKEN = re.compile(r"\w+")

TpFpFn = tuple[float, float, float]


def tokens(text: str | None) -> list[str]:
    return _TOKEN.findall(text or "")


def shingles(text: str | None, n: int = SHINGLE) -> Counter[tuple[str, ...]]:
    toks = tokens(text)
    grams = (tuple(toks[i : i + n]) for i in range(max(1, len(toks) - n + 1)))
    return Counter(g for g in grams if g)


def tp_fp_fn(gold: str, pred: str) -> TpFpFn:
    """Shingle matches of one page, normalised to sum to 1 (all zero when both texts are empty)."""
    g, p = shingles(gold), shingles(pred)
    tp = float(sum((g & p).values()))
    fp = float(sum((p - g).values()))
    fn = float(sum((g - p).values()))
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def page_precision(t: TpFpFn) -> float:
    tp, fp, fn = t
    if fp == fn == 0:
        return 1.0
    if tp == fp == 0:
        return 0.0
    return tp / (tp + fp)


def page_recall(t: TpFpFn) -> float:
    tp, fp, fn = t
    if fp == fn == 0:
        return 1.0
    if tp == fn == 0:
        return 0.0
    return tp / (tp + fn)


def aggregate(rows: Sequence[TpFpFn]) -> tuple[float, float, float]:
    """(precision, recall, F1) of a set of pages, as evaluate.py's ``metrics_from_tp_fp_fns``."""
    precisions = [page_precision(t) for t in rows if t[0] + t[1] > 0]
    recalls = [page_recall(t) for t in rows if t[0] + t[2] > 0]
    p = statistics.mean(precisions) if precisions else 0.0
    r = statistics.mean(recalls) if recalls else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@dataclass
class Score:
    precision: float
    recall: float
    f1: float
    accuracy: float
    std: dict[str, float]
    per_page: dict[str, TpFpFn] = field(repr=False)


def score(gold: dict[str, str], pred: dict[str, str], n_bootstrap: int = 1000, seed: int = 0) -> Score:
    """Score predictions against gold bodies; both map page id to text, with the same ids."""
    if gold.keys() != pred.keys():
        raise ValueError("prediction ids do not match the gold ids")
    keys = sorted(gold)
    rows = [tp_fp_fn(gold[k], pred[k]) for k in keys]
    exact = [float(tokens(gold[k]) == tokens(pred[k])) for k in keys]
    p, r, f = aggregate(rows)
    rng = random.Random(seed)
    samples: dict[str, list[float]] = {"precision": [], "recall": [], "f1": [], "accuracy": []}
    for _ in range(n_bootstrap):
        idx = [rng.randrange(len(rows)) for _ in rows]
        bp, br, bf = aggregate([rows[i] for i in idx])
        for name, value in (("precision", bp), ("recall", br), ("f1", bf), ("accuracy", statistics.mean(exact[i] for i in idx))):
            samples[name].append(value)
    std = {k: statistics.stdev(v) for k, v in samples.items()} if n_bootstrap > 1 else {}
    return Score(p, r, f, statistics.mean(exact), std, dict(zip(keys, rows)))


# --- data ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    key: str
    url: str | None
    html: bytes
    gold: str


def data_root() -> Path:
    """``$MARKETWIRE_DATA``, else the nearest ancestor of this script holding ``shared/data``."""
    env = os.environ.get("MARKETWIRE_DATA")
    if env:
        root = Path(env).expanduser()
        if not root.is_dir():
            raise SystemExit(f"MARKETWIRE_DATA={env} is not a folder")
        return root
    for parent in HERE.parents:
        candidate = parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    raise SystemExit(f"no data folder: set MARKETWIRE_DATA to the shared data folder (the one holding {DATASET})")


def load_pages(folder: Path) -> list[Page]:
    """The benchmark's pages with their gold bodies, decompressed into memory, in id order."""
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth):
        html = gzip.decompress((folder / "html" / f"{key}.html.gz").read_bytes())
        pages.append(Page(key, truth[key].get("url"), html, truth[key].get("articleBody") or ""))
    return pages


# --- systems ---------------------------------------------------------------------------------------------------

Extractor = Callable[[bytes, str | None], str]


def systems() -> dict[str, Extractor]:
    import trafilatura
    from trafilatura import baseline

    from marketwire.news.extract import extract

    return {
        "marketwire": lambda html, url: extract(html, url).body,
        "trafilatura (benchmark runner)": lambda html, url: (
            trafilatura.extract(html.decode("utf-8"), include_comments=False) or ""
        ),
        "trafilatura favor_precision": lambda html, url: (
            trafilatura.extract(html.decode("utf-8"), include_comments=False, favor_precision=True) or ""
        ),
        "trafilatura.baseline": lambda html, url: baseline(html.decode("utf-8"))[1],
    }


@dataclass
class Run:
    name: str
    predictions: dict[str, str]
    seconds: float
    latencies: list[float]

    @property
    def pages_per_second(self) -> float:
        return len(self.predictions) / self.seconds if self.seconds else float("nan")


def run_system(name: str, fn: Extractor, pages: Sequence[Page]) -> Run:
    predictions: dict[str, str] = {}
    latencies: list[float] = []
    start = time.perf_counter()
    for page in pages:
        t0 = time.perf_counter()
        predictions[page.key] = fn(page.html, page.url)
        latencies.append(time.perf_counter() - t0)
    return Run(name, predictions, time.perf_counter() - start, latencies)


# --- OrangeSum (secondary) ---------------------------------------------------------------------------------------


def orangesum_pages(folder: Path) -> list[Page]:
    """French pages; gold = the parsed heading (the lede shown on the page) and article text, one per page."""
    pages = []
    for parsed in sorted((folder / "parsed_sample").glob("*.json")):
        raw = folder / "raw_html_sample" / f"{parsed.stem}.html"
        if raw.exists():
            doc = json.loads(parsed.read_text(encoding="utf-8"))
            gold = "\n\n".join(t for t in (doc.get("heading"), doc.get("article")) if t)
            pages.append(Page(parsed.stem, None, raw.read_bytes(), gold))
    return pages


# --- report ------------------------------------------------------------------------------------------------------


def markdown(header: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def pm(value: float, std: dict[str, float], key: str) -> str:
    return f"{value:.4f} ± {std[key]:.3f}" if key in std else f"{value:.4f}"


def score_table(results: Sequence[tuple[Run, Score]]) -> str:
    rows = []
    for run, s in results:
        p50 = statistics.median(run.latencies) * 1000
        p95 = sorted(run.latencies)[int(0.95 * (len(run.latencies) - 1))] * 1000
        empty = sum(1 for text in run.predictions.values() if not text.strip())
        rows.append(
            [
                f"`{run.name}`",
                pm(s.f1, s.std, "f1"),
                pm(s.precision, s.std, "precision"),
                pm(s.recall, s.std, "recall"),
                f"{s.accuracy:.3f}",
                empty,
                f"{run.pages_per_second:.1f}",
                f"{p50:.0f}",
                f"{p95:.0f}",
            ]
        )
    return markdown(["system", "F1", "precision", "recall", "exact", "empty", "pages/s", "p50 ms", "p95 ms"], rows)


def worst_table(pages: Sequence[Page], run: Run, s: Score, n: int) -> str:
    def f1(t: TpFpFn) -> float:
        p, r = page_precision(t), page_recall(t)
        return 2 * p * r / (p + r) if p + r else 0.0

    by_key = {p.key: p for p in pages}
    ranked = sorted(s.per_page.items(), key=lambda kv: f1(kv[1]))[:n]
    rows = []
    for key, t in ranked:
        page = by_key[key]
        rows.append(
            [
                key[:10],
                f"{f1(t):.3f}",
                f"{page_precision(t):.3f}",
                f"{page_recall(t):.3f}",
                f"{len(run.predictions[key]):,}",
                f"{len(page.gold):,}",
                page.url or "",
            ]
        )
    return markdown(["page", "F1", "precision", "recall", "chars out", "chars gold", "url"], rows, "lrrrrrl")


def version_of(module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # a missing package is reported as None
        return None


def machine() -> dict[str, Any]:
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    libs = ["trafilatura", "lxml", "charset-normalizer", "htmldate", "justext", "courlan"]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libs": {m: version_of(m) for m in libs},
        "utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only the systems whose name contains this text")
    parser.add_argument("--worst", type=int, default=12, help="how many worst marketwire pages to list")
    parser.add_argument("--n-bootstrap", type=int, default=1000)
    parser.add_argument("--no-orangesum", action="store_true", help="skip the French secondary check")
    args = parser.parse_args(argv)

    root = data_root()
    folder = root / DATASET
    if not folder.is_dir():
        raise SystemExit(f"{folder} not found (set MARKETWIRE_DATA to the folder holding {DATASET})")
    pages = load_pages(folder)
    gold = {p.key: p.gold for p in pages}
    chosen = {k: v for k, v in systems().items() if not args.only or args.only in k}
    print(f"{len(pages)} pages from {folder}", file=sys.stderr)

    results: list[tuple[Run, Score]] = []
    for name, fn in chosen.items():
        print(f"running {name} ...", file=sys.stderr)
        run = run_system(name, fn, pages)
        results.append((run, score(gold, run.predictions, args.n_bootstrap)))

    m = machine()
    libs = ", ".join(f"{k} {v}" for k, v in m["libs"].items() if v)
    out = [
        "# Article extraction: scrapinghub article-extraction-benchmark (181 pages)",
        "",
        "Metric: 4-gram shingle precision/recall per page, averaged, F1 of the averages (the benchmark's evaluate.py); "
        "± is the bootstrap standard deviation. `exact`: share of pages whose tokens equal the gold ones. "
        f"Target F1 >= {TARGET_F1}.",
        "",
        score_table(results),
    ]
    ours = next(((r, s) for r, s in results if r.name == "marketwire"), None)
    if ours is not None and args.worst > 0:
        out += ["", f"## Worst {args.worst} pages for marketwire", "", worst_table(pages, ours[0], ours[1], args.worst)]

    orange: list[tuple[Run, Score]] = []
    if not args.no_orangesum and (root / ORANGESUM / "parsed_sample").is_dir():
        opages = orangesum_pages(root / ORANGESUM)
        ogold = {p.key: p.gold for p in opages}
        for name in ("marketwire", "trafilatura (benchmark runner)"):
            if name in chosen:
                print(f"running {name} on OrangeSum ...", file=sys.stderr)
                run = run_system(name, chosen[name], opages)
                orange.append((run, score(ogold, run.predictions, args.n_bootstrap)))
        if orange:
            out += [
                "",
                f"## Secondary: OrangeSum, {len(opages)} French news pages",
                "",
                "Gold is the heading and article text the OrangeSum authors parsed from each page (not a benchmark's "
                "annotation); same metric.",
                "",
                score_table(orange),
            ]

    out += [
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores; {m['platform']}; Python {m['python']}. Libraries: {libs}. Run {m['utc']}.",
    ]
    report = "\n".join(out)
    print(report)

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "news_extraction.md").write_text(report + "\n", encoding="utf-8")
    raw = {
        "machine": m,
        "benchmark": {
            run.name: {
                "precision": s.precision,
                "recall": s.recall,
                "f1": s.f1,
                "accuracy": s.accuracy,
                "std": s.std,
                "pages_per_second": run.pages_per_second,
                "per_page": {k: {"tp_fp_fn": t, "chars": len(run.predictions[k])} for k, t in s.per_page.items()},
            }
            for run, s in results
        },
        "orangesum": {run.name: {"precision": s.precision, "recall": s.recall, "f1": s.f1} for run, s in orange},
    }
    (OUT / "news_extraction.json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
