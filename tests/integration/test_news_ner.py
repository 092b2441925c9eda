"""French NER on a fixed sample of the WikiNEuRal test set (shared data): the layer keeps F1 at 0.80 or more."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from conftest import shared_data  # type: ignore[import-not-found]

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_french_f1_on_wikineural_sample():
    gold = shared_data() / "news-eval" / "ner" / "wikineural" / "fr-test.conllu"
    if not gold.is_file():
        pytest.skip(f"WikiNEuRal French test set not found at {gold} (set MARKETWIRE_DATA)")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import news_ner  # type: ignore[import-not-found]

    t0 = time.monotonic()
    sents = [s for _, s in zip(range(1000), news_ner.read_conllu(gold))]
    r = news_ner.score("fr", sents)
    assert len(sents) == 1000
    assert r["marketwire"]["gold"] > 1400
    assert r["marketwire"]["f1"] >= 0.80, r
    assert r["marketwire"]["f1"] >= r["model"]["f1"] - 0.01, r  # the layer does not cost the model's F1
    assert time.monotonic() - t0 < 60
