"""Near-duplicate index cases that the mutation run of news/dedup.py showed untested (see docs/mutation/dedup.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

from marketwire.news.dedup import SAMPLE_SIZE, NearDupIndex, canonical_url, normalise_text, shingles, strip_credits
from test_news_lang_dedup import _orangesum

_BODY = "\n\n".join(
    f"Paragraphe {i}: la Banque centrale européenne a laissé ses taux directeurs inchangés jeudi à Francfort, "
    f"citant une inflation encore élevée dans la zone euro et une croissance faible au trimestre numéro {i}."
    for i in range(5)
)


def test_evict_before_counts_each_dropped_entry_once() -> None:
    t0 = datetime(2024, 5, 2, 8)
    index = NearDupIndex(window=None)
    for i in range(5):
        index.add(f"a{i}", f"Dépêche {i}: sujet distinct numéro {i}, mots propres alpha{i} beta{i} gamma{i}.",
                  t0 + timedelta(hours=i))
    assert index.evict_before(t0 + timedelta(hours=3)) == 3
    assert len(index) == 2 and "a2" not in index and "a3" in index
    assert index.evict_before(t0 + timedelta(hours=3)) == 0  # nothing left before the cutoff


def test_find_original_accepts_an_original_published_the_same_minute() -> None:
    """Wire copies often carry the original's own timestamp: an original published at the same time as the copy is
    still its original (no later than), one published a minute after it is not."""
    t0 = datetime(2024, 3, 7, 12, 30)
    index = NearDupIndex()
    index.add("orig", _BODY, t0)
    copy = "BCE: statu quo sur les taux\n\n" + _BODY + "\n\n(Reuters)"
    assert index.find_original("copy", copy, t0) == "orig"
    assert index.find_original("copy", copy, t0 - timedelta(minutes=1)) is None


def test_canonical_url_keeps_credentials_and_lowers_only_the_host() -> None:
    assert canonical_url("HTTPS://Bob:S3cret@News.Example.COM:443/Markets/?utm_source=x&b=2&a=1#top") == (
        "https://Bob:S3cret@news.example.com/Markets?a=1&b=2"
    )
    assert canonical_url("http://bob@example.com:8080/a/./b/../c/") == "http://bob@example.com:8080/a/c"
    # a port is kept unless it is the scheme's default, whether above or below it
    assert canonical_url("https://example.com:80/a") == "https://example.com:80/a"
    assert canonical_url("https://example.com:8443/a") == "https://example.com:8443/a"
    assert canonical_url("http://example.com:80/a") == "http://example.com/a"


def test_credit_lines_are_stripped_only_when_short() -> None:
    """A copyright line under 200 characters is a credit; a 200-character paragraph that merely mentions the agency
    is text and stays."""
    head = "Copyright Reuters 2024, "
    short = head + "x" * (199 - len(head))
    long = head + "x" * (200 - len(head))
    assert len(short) == 199 and len(long) == 200
    assert strip_credits(f"Le texte.\n{short}").strip() == "Le texte."
    assert strip_credits(f"Le texte.\n{long}").strip() == f"Le texte.\n{long}"


def test_a_headline_shorter_than_a_shingle_still_gets_one_shingle() -> None:
    assert len(shingles("Wall Street recule")) == 1
    assert len(shingles("un deux trois quatre cinq")) == 1
    assert len(shingles("un deux trois quatre cinq six")) == 2
    assert shingles("") == [] and shingles("(Reuters)") == []


def test_a_teaser_behind_a_new_standfirst_is_found_by_its_second_lead() -> None:
    """A republished teaser opens with its own standfirst (a whole first paragraph of new text), then the original's
    first paragraphs. Its own lead shares nothing with the original and its whole-text Jaccard is low; only the lead
    taken after its first paragraph matches the original's lead."""
    docs = _orangesum()
    original = docs[10]["article"] + "\n\n" + docs[11]["article"] + "\n\n" + docs[12]["article"]
    standfirst = " ".join(docs[40]["article"].split()[:60])
    teaser = standfirst + "\n\n" + " ".join(original.split()[:70])
    index = NearDupIndex(window=None)
    index.add("orig", original, datetime(2020, 7, 1))
    [m] = index.matches(teaser)
    assert m.article_id == "orig" and m.jaccard < 0.12 and m.containment >= 0.35


def test_match_reports_exact_jaccard_and_containment_rounded_to_four_places() -> None:
    """Under SAMPLE_SIZE shingles the entry's sample is its whole set, so the reported figures are exact."""
    docs = _orangesum()
    words = docs[20]["article"].split()
    a = " ".join(words[:150])
    b = " ".join(words[:120] + docs[21]["article"].split()[:17])
    sa, sb = set(shingles(a)), set(shingles(b))
    assert len(sa) < SAMPLE_SIZE
    index = NearDupIndex(window=None)
    index.add("a", a, datetime(2020, 7, 1))
    [m] = index.matches(b)
    inter = len(sa & sb)
    assert m.jaccard == round(inter / len(sa | sb), 4)
    assert m.containment == round(inter / min(len(sa), len(sb)), 4)
    assert m.containment != round(inter / min(len(sa), len(sb)), 5)  # the exact value has more than four places


def test_default_window_is_seven_days() -> None:
    t0 = datetime(2024, 5, 1)
    index = NearDupIndex()
    index.add("old", "Dépêche ancienne: la récolte de blé recule en Beauce, selon les coopératives agricoles.", t0)
    index.add("mid", "Dépêche moyenne: le trafic du port du Havre progresse au premier trimestre, dit le port.",
              t0 + timedelta(hours=12))
    index.add("new", "Dépêche récente: la SNCF annonce de nouveaux trains entre Paris et Berlin.",
              t0 + timedelta(days=7, hours=6))
    assert "old" not in index and "mid" in index and "new" in index


def test_the_cap_evicts_the_oldest_live_entry_not_a_re_added_one() -> None:
    """Re-adding an id at a later time leaves a stale slot in the time heap; the cap must skip it and evict the
    oldest *live* entry."""
    t0 = datetime(2024, 5, 1)
    texts = [f"Dépêche {i}: sujet distinct numéro {i}, mots propres alpha{i} beta{i} gamma{i} delta{i}." for i in range(5)]
    capped = NearDupIndex(window=None, max_entries=3)
    for i in range(3):
        capped.add(f"a{i}", texts[i], t0 + timedelta(hours=i))
    capped.add("a0", texts[3], t0 + timedelta(hours=5))  # a corrected a0, now the newest
    capped.add("a3", texts[4], t0 + timedelta(hours=6))
    assert len(capped) == 3 and "a0" in capped and "a1" not in capped and "a2" in capped and "a3" in capped


def _behind_standfirst(item_words: list[str]) -> str:
    """A query whose first paragraph is a 60-word standfirst from another report and whose second paragraph is the
    item followed by five more words: its second lead is mostly the item, its whole-text Jaccard below 0.25."""
    docs = _orangesum()
    return " ".join(docs[41]["article"].split()[:60]) + "\n\n" + " ".join(item_words + docs[42]["article"].split()[:5])


def test_containment_links_only_items_of_at_least_min_shingles() -> None:
    """An item entirely contained in a longer text is linked by containment from MIN_SHINGLES shingles on (19 words:
    15 shingles) and not below (18 words: 14 shingles), where a shared phrase is too short to be evidence."""
    words = normalise_text(_orangesum()[30]["article"]).split()
    for n, linked in ((19, True), (18, False)):
        item = " ".join(words[:n])
        assert len(set(shingles(item))) == n - 4
        index = NearDupIndex(window=None)
        index.add("item", item, datetime(2020, 7, 1))
        found = index.matches(_behind_standfirst(words[:n]))
        if linked:
            assert [m.article_id for m in found] == ["item"] and found[0].jaccard < 0.25 and found[0].containment == 1.0
        else:
            assert found == []


def test_a_one_shingle_headline_matches_its_retyped_copy() -> None:
    index = NearDupIndex(window=None)
    index.add("h", "Wall Street recule", datetime(2020, 7, 1))
    [m] = index.matches("WALL STREET RECULE !")
    assert (m.article_id, m.jaccard, m.containment) == ("h", 1.0, 1.0)


def test_containment_estimated_from_a_sample_never_exceeds_one() -> None:
    """Over SAMPLE_SIZE shingles the entry keeps a sample and the intersection is an estimate, which can overshoot
    the smaller text's size; the reported containment is capped at 1."""
    docs = _orangesum()
    big = "\n\n".join(docs[i]["article"] for i in range(50, 56))
    assert len(set(shingles(big))) > 2 * SAMPLE_SIZE
    words = big.split()
    index = NearDupIndex(window=None)
    index.add("big", big, datetime(2020, 7, 1))
    seen = []
    for n in range(40, 400, 15):
        [m] = index.matches(" ".join(words[:n]))
        seen.append(m.containment)
    assert max(seen) == 1.0 and all(0.5 < c <= 1.0 for c in seen), seen


def test_matches_are_immutable_values() -> None:
    """A Match is a value (hashable, frozen): callers put matches in sets and dict keys."""
    import dataclasses

    import pytest

    index = NearDupIndex(window=None)
    index.add("h", "Wall Street recule", datetime(2020, 7, 1))
    [m] = index.matches("Wall Street recule")
    assert {m, dataclasses.replace(m)} == {m}
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.jaccard = 0.0  # type: ignore[misc]


def test_a_late_arrival_does_not_move_the_window_back() -> None:
    """The window runs from the newest publication time seen: an article that arrives late, dated more than the
    window before that, is evicted at once, and the newer entries stay."""
    t0 = datetime(2024, 5, 1)
    index = NearDupIndex(window=timedelta(days=7))
    index.add("a", "Dépêche a: la récolte de blé recule en Beauce, selon les coopératives agricoles.", t0)
    index.add("b", "Dépêche b: le trafic du port du Havre progresse au premier trimestre.", t0 + timedelta(days=10))
    assert "a" not in index and "b" in index
    index.add("late", "Dépêche tardive: la SNCF annonce de nouveaux trains de nuit.", t0 + timedelta(days=1))
    assert "late" not in index and "b" in index
    index.add("recent", "Dépêche récente: Airbus livre plus d'avions en avril qu'en mars.", t0 + timedelta(days=9))
    assert "recent" in index and "b" in index


def test_a_long_paragraph_mentioning_copyright_is_text() -> None:
    para = "Copyright et droits voisins: " + "la directive européenne impose aux plateformes de rémunérer la presse. " * 4
    assert len(para) > 250
    assert strip_credits(f"Le texte.\n{para}") == f"Le texte.\n{para}"


def test_an_entry_re_added_later_survives_the_eviction_of_its_old_slot() -> None:
    t0 = datetime(2024, 5, 1)
    index = NearDupIndex(window=timedelta(days=7))
    index.add("a", "Dépêche a: la récolte de blé recule en Beauce, selon les coopératives agricoles.", t0)
    index.add("a", "Dépêche a corrigée: la récolte de blé recule en Beauce et en Brie, selon les coopératives.",
              t0 + timedelta(days=10))
    index.add("b", "Dépêche b: le trafic du port du Havre progresse au premier trimestre.", t0 + timedelta(days=10))
    assert "a" in index and "b" in index and len(index) == 2
    assert index.evict_before(t0 + timedelta(days=5)) == 0 and "a" in index


def test_eviction_skips_the_slots_of_removed_entries() -> None:
    t0 = datetime(2024, 5, 1)
    index = NearDupIndex(window=timedelta(days=7), max_entries=2)
    index.add("a", "Dépêche a: la récolte de blé recule en Beauce, selon les coopératives agricoles.", t0)
    index.add("b", "Dépêche b: le trafic du port du Havre progresse au premier trimestre.", t0 + timedelta(days=1))
    index.remove("a")
    index.add("c", "Dépêche c: la SNCF annonce de nouveaux trains de nuit vers Berlin.", t0 + timedelta(days=2))
    index.add("d", "Dépêche d: Airbus livre plus d'avions en avril qu'en mars.", t0 + timedelta(days=3))
    assert sorted(i for i in "abcd" if i in index) == ["c", "d"]
    assert index.evict_before(t0 + timedelta(days=30)) == 2 and len(index) == 0


def test_find_original_ignores_the_queried_id_compared_by_value() -> None:
    """Ids read back from a store are equal strings, not the same objects as the ones indexed."""
    t0 = datetime(2024, 3, 7, 12)
    index = NearDupIndex()
    index.add("orig", _BODY, t0)
    same_id = "".join(["or", "ig"])
    assert same_id == "orig" and id(same_id) != id("orig")  # equal, not the same object
    assert index.find_original(same_id, _BODY, t0) is None


def test_an_entry_of_exactly_sample_size_shingles_is_compared_exactly() -> None:
    """The sample is the whole shingle set up to and including SAMPLE_SIZE shingles: an entry of exactly 512 gets
    exact figures, not an estimate from fewer."""
    words = [f"mot{i}" for i in range(SAMPLE_SIZE + 4)]  # 512 five-word shingles
    entry = " ".join(words)
    assert len(set(shingles(entry))) == 512 == SAMPLE_SIZE
    query = " ".join(words[:400] + [f"autre{i}" for i in range(116)])  # shares the first 396 shingles
    index = NearDupIndex(window=None)
    index.add("e", entry, datetime(2024, 5, 2, 8))
    [m] = index.matches(query)
    assert m.article_id == "e"
    assert m.jaccard == round(396 / (512 + 512 - 396), 4) and m.containment == round(396 / 512, 4)


def test_similarity_to_an_empty_shingle_set_is_zero_not_an_error() -> None:
    """The similarity helper's guard: an empty sample or an empty query set scores 0 on both measures. (The index
    never calls it so: empty texts are neither indexed nor queried.)"""
    import numpy as np

    from marketwire.news.dedup import _Entry, _similarity

    some = np.unique(np.asarray(shingles(_BODY), dtype=np.uint64))
    empty = np.zeros(0, dtype=np.uint64)
    assert _similarity(_Entry(datetime(2024, 5, 2), int(some.size), some), empty) == (0.0, 0.0)
    assert _similarity(_Entry(datetime(2024, 5, 2), 0, empty), some) == (0.0, 0.0)
    assert _similarity(_Entry(datetime(2024, 5, 2), int(some.size), some), some) == (1.0, 1.0)
