"""Near-duplicate index cases that the mutation run of news/dedup.py showed untested (see docs/mutation.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

from marketwire.news.dedup import NearDupIndex

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
