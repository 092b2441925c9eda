"""Summaries of the 300 French OrangeSum articles: every bullet passes the gate, is short, and the bullets score
at least as well as the lead-1 baseline against the publisher's own abstract (the benchmark's ROUGE)."""

from __future__ import annotations

import re
import statistics
from pathlib import Path
from types import ModuleType

import pytest
from conftest import benchmark_module, shared_data

from marketwire.news.summarize import MAX_WORDS, n_words, sentences, summarize, unfaithful

pytestmark = pytest.mark.integration

# Reached when written: ROUGE-1 F 19.2 for the bullets, 17.4 for lead-1, 19.5 for lead-2 (300 articles).
MIN_ROUGE1 = 0.185


def _benchmark_module() -> ModuleType:
    return benchmark_module("news_summaries")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    folder = shared_data() / "news-eval" / "orangesum" / "parsed_sample"
    if not folder.is_dir():
        pytest.skip(f"OrangeSum sample not found at {folder} (set MARKETWIRE_DATA to the shared data folder)")
    return _benchmark_module().load(Path(folder))


@pytest.fixture(scope="module")
def summaries(docs):
    return [summarize(d["title"], d["article"], "fr") for d in docs]


def test_every_bullet_passes_the_gate_and_is_short(docs, summaries):
    assert len(docs) == 300
    bullets = 0
    for d, s in zip(docs, summaries):
        src = f"{d['title']}\n{d['article']}"
        for b in s.bullets:
            bullets += 1
            assert unfaithful(b, src) == [], (d["id"], b)
            assert n_words(b) <= MAX_WORDS and b.endswith((".", "»", '"', "!", "…")), (d["id"], b)
            assert b[0].isupper() or b[0] in "«\"0123456789", (d["id"], b)
        assert s.rejected == [], (d["id"], s.rejected)
        assert s.headline == " ".join(d["title"].split())
    assert bullets > 800


def test_two_or_three_bullets_whenever_there_is_text_for_them(docs, summaries):
    usable = [len([x for x in sentences(d["article"]) if n_words(x) >= 6]) >= 2 for d in docs]
    with_two = sum(len(s.bullets) >= 2 for s, u in zip(summaries, usable) if u)
    assert with_two / sum(usable) >= 0.9
    assert all(len(s.bullets) <= 3 for s in summaries)
    assert statistics.fmean(len(s.bullets) for s in summaries) >= 2.5


def test_bullets_beat_lead_1_against_the_gold_abstract(docs, summaries):
    bench = _benchmark_module()
    ours = statistics.fmean(bench.rouge(" ".join(s.bullets), d["heading"])[0] for d, s in zip(docs, summaries))
    lead1 = statistics.fmean(bench.rouge(" ".join(sentences(d["article"])[:1]), d["heading"])[0] for d in docs)
    assert ours >= MIN_ROUGE1 and ours > lead1, (ours, lead1)


def test_rouge_matches_a_hand_count():
    bench = _benchmark_module()
    r1, r2, rl = bench.rouge("le chat dort sur le tapis", "le chat dort")
    assert r1 == pytest.approx(2 * (3 / 6) * 1 / (3 / 6 + 1))
    assert r2 == pytest.approx(2 * (2 / 5) * 1 / (2 / 5 + 1))
    assert rl == pytest.approx(r1)
    assert bench.rouge_l("a b c d".split(), "a c b d".split()) == pytest.approx(0.75)


# Reached when written (in-sample: the scope and window were chosen on these articles): 279 of 313 dropped negations
# (89%) and 1,810 of 1,944 added ones (93%) rejected; none of the 845 extractive bullets rejected for polarity (the
# test above: nothing rejected at all).
MIN_DROPPED, MIN_ADDED = 0.87, 0.91
_NEGATED = re.compile(r"\b(ne|n')\s?(\w+) (pas|jamais|plus)\b")
_VERB = re.compile(r"\b(est|a|sont|ont|était|avait) ")


def test_the_gate_rejects_real_sentences_with_their_negation_dropped_or_added(docs):
    """Real sentences of the articles turned unfaithful: "n'a pas augmenté" -> "a augmenté", "a augmenté" -> "n'a
    pas augmenté". Each, as a bullet against its own article, must be rejected."""
    dropped = added = caught_dropped = caught_added = 0
    for d in docs:
        src = f"{d['title']}\n{d['article']}"
        for sent in sentences(d["article"]):
            if len(sent.split()) > 40 or unfaithful(sent, src):
                continue
            m = _NEGATED.search(sent)
            if m:
                dropped += 1
                caught_dropped += bool(unfaithful(sent[:m.start()] + m.group(2) + sent[m.end():], src))
            elif (v := _VERB.search(sent)) is not None:
                added += 1
                neg = ("n'" if v.group(1)[0] in "aeé" else "ne ") + v.group(1) + " pas "
                caught_added += bool(unfaithful(sent[:v.start()] + neg + sent[v.end():], src))
    assert dropped > 250 and added > 1500
    assert caught_dropped / dropped >= MIN_DROPPED, (caught_dropped, dropped)
    assert caught_added / added >= MIN_ADDED, (caught_added, added)
