"""Train the compact German NER model that ships in ``marketwire/news/models/de_ner``.

The only openly licensed (CC0) German NER gold data at hand is the Europeana Newspapers corpus of the Tessmann
library (``news-eval/ner/europeana/enp_DE.lft.bio``: the Alpenzeitung and other South Tyrolean papers of the
1920s, OCR text, PER/LOC/ORG in BIO). The file has no sentence breaks, so it is cut into pseudo-sentences at
sentence-final full stops (at most 60 tokens each). It is split by position, never shuffled across the cut:

- train: the first 70% of the pseudo-sentences,
- dev:   the next 10% (spaCy picks the best checkpoint on it),
- test:  the last 20% (held out; ``benchmarks/news_ner.py`` scores on it and on nothing else of this file).

The pipeline is a blank ``de`` tokenizer, a small hash-embedding CNN (width 96, depth 4) and a transition-based
NER: no pretrained vectors, so the model is a few MB. Training stops after ``--max-steps`` or 3,000 steps
without a better dev score, whichever comes first.

    .venv/bin/python tools/train_de_ner.py [--data PATH] [--out src/marketwire/news/models/de_ner]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "src" / "marketwire" / "news" / "models" / "de_ner"
LABELS = ("PER", "LOC", "ORG")


def default_data() -> Path:
    for parent in ROOT.parents:
        p = parent / "shared" / "data" / "news-eval" / "ner" / "europeana" / "enp_DE.lft.bio"
        if p.is_file():
            return p
    return ROOT.parent / "shared" / "data" / "news-eval" / "ner" / "europeana" / "enp_DE.lft.bio"


def read_bio(path: Path, max_len: int = 60) -> list[tuple[list[str], list[str]]]:
    """Pseudo-sentences of (tokens, IOB2 tags) from a two-column BIO file without sentence breaks."""
    sents: list[tuple[list[str], list[str]]] = []
    words: list[str] = []
    tags: list[str] = []
    prev = "O"
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        w, t = parts
        t = t if t[2:] in LABELS else "O"  # one stray B-BER and three I-MISC are not entity types of ours
        if t.startswith("I-") and (prev == "O" or prev[2:] != t[2:]):
            t = "B-" + t[2:]  # IOB1 runs start with I-
        words.append(w)
        tags.append(t)
        prev = t
        if (w in (".", "!", "?") and len(words) >= 8) or len(words) >= max_len:
            sents.append((words, tags))
            words, tags, prev = [], [], "O"
    if words:
        sents.append((words, tags))
    return sents


def split(sents: list[tuple[list[str], list[str]]]) -> dict[str, list[tuple[list[str], list[str]]]]:
    n = len(sents)
    a, b = int(n * 0.7), int(n * 0.8)
    return {"train": sents[:a], "dev": sents[a:b], "test": sents[b:]}


def _docbin(nlp, sents, path: Path) -> None:  # type: ignore[no-untyped-def]
    from spacy.tokens import Doc, DocBin
    from spacy.training import biluo_tags_to_spans, iob_to_biluo

    db = DocBin()
    for words, tags in sents:
        doc = Doc(nlp.vocab, words=words)
        doc.ents = biluo_tags_to_spans(doc, iob_to_biluo(tags))
        db.add(doc)
    db.to_disk(path)


CONFIG = """
[paths]
train = null
dev = null
vectors = null
init_tok2vec = null

[system]
gpu_allocator = null
seed = 0

[nlp]
lang = "de"
pipeline = ["tok2vec","ner"]
batch_size = 1000
tokenizer = {"@tokenizers":"spacy.Tokenizer.v1"}

[components]

[components.tok2vec]
factory = "tok2vec"

[components.tok2vec.model]
@architectures = "spacy.Tok2Vec.v2"

[components.tok2vec.model.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = 96
attrs = ["NORM","PREFIX","SUFFIX","SHAPE"]
rows = [5000,1000,2500,2500]
include_static_vectors = false

[components.tok2vec.model.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = 96
depth = 4
window_size = 1
maxout_pieces = 3

[components.ner]
factory = "ner"

[components.ner.model]
@architectures = "spacy.TransitionBasedParser.v2"
state_type = "ner"
extra_state_tokens = false
hidden_width = 64
maxout_pieces = 2
use_upper = true
nO = null

[components.ner.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
width = 96
upstream = "*"

[corpora]

[corpora.train]
@readers = "spacy.Corpus.v1"
path = ${paths.train}
max_length = 0

[corpora.dev]
@readers = "spacy.Corpus.v1"
path = ${paths.dev}
max_length = 0

[training]
dev_corpus = "corpora.dev"
train_corpus = "corpora.train"
seed = ${system.seed}
dropout = 0.2
accumulate_gradient = 1
patience = 3000
max_epochs = 0
max_steps = 6000
eval_frequency = 250
frozen_components = []
annotating_components = []
before_to_disk = null

[training.batcher]
@batchers = "spacy.batch_by_words.v1"
discard_oversize = false
tolerance = 0.2
get_length = null

[training.batcher.size]
@schedules = "compounding.v1"
start = 100
stop = 1000
compound = 1.001
t = 0.0

[training.logger]
@loggers = "spacy.ConsoleLogger.v1"
progress_bar = false

[training.optimizer]
@optimizers = "Adam.v1"
beta1 = 0.9
beta2 = 0.999
L2_is_weight_decay = true
L2 = 0.01
grad_clip = 1.0
use_averages = false
eps = 0.00000001
learn_rate = 0.001

[training.score_weights]
ents_f = 1.0
ents_p = 0.0
ents_r = 0.0
ents_per_type = null

[pretraining]

[initialize]
vectors = ${paths.vectors}
init_tok2vec = ${paths.init_tok2vec}
vocab_data = null
lookups = null
before_init = null
after_init = null

[initialize.components]

[initialize.tokenizer]
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=default_data())
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--max-steps", type=int, default=6000)
    args = ap.parse_args(argv)
    if not args.data.is_file():
        print(f"training data not found at {args.data}", file=sys.stderr)
        return 2

    import spacy
    from spacy.cli.train import train

    parts = split(read_bio(args.data))
    print({k: (len(v), sum(len(w) for w, _ in v)) for k, v in parts.items()}, "(pseudo-sentences, tokens)")
    nlp = spacy.blank("de")
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        _docbin(nlp, parts["train"], t / "train.spacy")
        _docbin(nlp, parts["dev"], t / "dev.spacy")
        from spacy.cli.init_config import fill_config

        (t / "base.cfg").write_text(CONFIG, encoding="utf-8")
        fill_config(t / "config.cfg", t / "base.cfg", silent=True)
        t0 = time.monotonic()
        train(t / "config.cfg", t / "out", overrides={
            "paths.train": str(t / "train.spacy"), "paths.dev": str(t / "dev.spacy"),
            "training.max_steps": args.max_steps})
        print(f"trained in {time.monotonic() - t0:.0f} s")
        best = t / "out" / "model-best"
        if args.out.exists():
            shutil.rmtree(args.out)
        shutil.copytree(best, args.out)
    meta = args.out / "meta.json"
    import json

    m = json.loads(meta.read_text(encoding="utf-8"))
    m.update({"name": "de_ner", "version": "0.1.0", "license": "CC0-1.0 (training data); model: same as marketwire",
              "description": "Compact German NER (PER/LOC/ORG) trained on the Europeana Newspapers Tessmann corpus "
                             "(CC0), first 70% of its pseudo-sentences; see tools/train_de_ner.py",
              "sources": [{"name": "Europeana Newspapers NER corpora, enp_DE.lft", "license": "CC0"}]})
    meta.write_text(json.dumps(m, indent=2, ensure_ascii=False), encoding="utf-8")
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"model written to {args.out} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
