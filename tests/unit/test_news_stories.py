"""Story clustering on small hand-written French, German and English reports: translations join, same-topic
stories with other names and numbers stay apart, the time window splits, ids are deterministic, novelty falls."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from marketwire.errors import InvalidInput
from marketwire.news.stories import (
    STRONG,
    Assignment,
    StoryDoc,
    StoryIndex,
    anchors,
    cluster,
    normalise_number,
    story_id,
)

pytestmark = pytest.mark.unit

T0 = datetime(2024, 3, 7, 13, 0, tzinfo=timezone.utc)

ECB_FR = StoryDoc(
    "ecb-fr",
    "fr",
    "La BCE maintient ses taux à 4,50% et revoit l'inflation en baisse",
    "FRANCFORT (Reuters) - La Banque centrale européenne a laissé jeudi son principal taux de refinancement à 4,50%, "
    "pour la quatrième réunion consécutive. Christine Lagarde a indiqué que l'inflation devrait ralentir à 2,3% en "
    "2024, contre 2,7% prévu en décembre. La croissance de la zone euro est attendue à 0,6% cette année.",
    T0,
)
ECB_DE = StoryDoc(
    "ecb-de",
    "de",
    "EZB belässt Zinsen bei 4,50 Prozent und senkt Inflationsprognose",
    "FRANKFURT (Reuters) - Die Europäische Zentralbank hat ihren Leitzins am Donnerstag zum vierten Mal in Folge bei "
    "4,50 % belassen. Christine Lagarde sagte, die Inflation werde 2024 auf 2,3 % sinken, nach 2,7 % in der "
    "Dezember-Prognose. Für die Eurozone wird in diesem Jahr ein Wachstum von 0,6 % erwartet.",
    T0 + timedelta(minutes=40),
)
ECB_EN = StoryDoc(
    "ecb-en",
    "en",
    "ECB holds rates at 4.50% and lowers its inflation forecast",
    "FRANKFURT (Reuters) - The European Central Bank left its main refinancing rate at 4.50% on Thursday for a "
    "fourth meeting in a row. Christine Lagarde said inflation should slow to 2.3% in 2024, down from the 2.7% "
    "forecast in December. Euro zone growth is expected at 0.6% this year.",
    T0 + timedelta(hours=2),
)
# Same topic (a central bank decision), other bank, names and numbers.
BOJ_EN = StoryDoc(
    "boj-en",
    "en",
    "Bank of Japan ends negative rates, lifts short-term rate to 0.1%",
    "TOKYO (Reuters) - The Bank of Japan raised its short-term interest rate to a range of 0 to 0.1% on Tuesday, "
    "ending eight years of negative rates. Governor Kazuo Ueda said the bank would keep buying Japanese government "
    "bonds at about 6 trillion yen a month and that financial conditions would stay accommodative.",
    T0 + timedelta(hours=3),
)
FED_FR = StoryDoc(
    "fed-fr",
    "fr",
    "La Fed laisse ses taux inchangés entre 5,25% et 5,50%",
    "WASHINGTON (Reuters) - La Réserve fédérale américaine a maintenu mercredi ses taux entre 5,25% et 5,50%. "
    "Jerome Powell a déclaré que le FOMC prévoyait toujours trois baisses en 2024, le chômage étant attendu à 4% "
    "et l'inflation PCE à 2,4%.",
    T0 + timedelta(hours=1),
)


def test_story_id_is_mws_plus_16_base32_of_the_first_doc() -> None:
    sid = story_id("ecb-fr")
    assert sid.startswith("MWT") and len(sid) == 19
    assert set(sid[3:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert sid == story_id("ecb-fr") != story_id("ecb-de")


def test_translations_join_one_story_and_unrelated_same_topic_stays_apart() -> None:
    got = cluster([ECB_DE, BOJ_EN, ECB_EN, FED_FR, ECB_FR])
    assert got["ecb-fr"].story_id == got["ecb-de"].story_id == got["ecb-en"].story_id == story_id("ecb-fr")
    assert got["boj-en"].story_id == story_id("boj-en")
    assert got["fed-fr"].story_id == story_id("fed-fr")
    assert len({a.story_id for a in got.values()}) == 3


def test_novelty_is_one_for_the_first_report_and_low_for_a_translation() -> None:
    index = StoryIndex()
    first = index.add(ECB_FR)
    assert first == Assignment(story_id("ecb-fr"), 0.0, 1.0, None)
    second = index.add(ECB_DE)
    assert second.matched == "ecb-fr" and second.story_id == first.story_id
    assert 0.5 <= second.score <= 1.0
    assert second.novelty == pytest.approx(1.0 - second.score, abs=1e-4)
    assert second.novelty < 0.5
    third = index.add(ECB_EN)
    assert third.matched in {"ecb-fr", "ecb-de"} and third.novelty < 0.5
    assert index.stories() == {first.story_id: ["ecb-fr", "ecb-de", "ecb-en"]}


def test_order_of_the_input_list_does_not_change_the_result() -> None:
    docs = [ECB_FR, ECB_DE, ECB_EN, BOJ_EN, FED_FR]
    assert cluster(docs) == cluster(list(reversed(docs)))


def test_time_window_splits_the_same_text_days_apart() -> None:
    late = StoryDoc("ecb-de-late", "de", ECB_DE.title, ECB_DE.body, T0 + timedelta(days=5))
    got = cluster([ECB_FR, late], window=timedelta(days=3))
    assert got["ecb-de-late"].story_id == story_id("ecb-de-late")
    assert cluster([ECB_FR, late], window=timedelta(days=6))["ecb-de-late"].story_id == story_id("ecb-fr")


def test_documents_without_a_time_are_inside_every_window() -> None:
    undated = StoryDoc("ecb-de-undated", "de", ECB_DE.title, ECB_DE.body, None)
    got = cluster([ECB_FR, undated], window=timedelta(hours=1))
    # cluster() adds undated documents first, so the undated one opens the story.
    assert got["ecb-fr"].story_id == got["ecb-de-undated"].story_id == story_id("ecb-de-undated")


def test_an_empty_body_gets_its_own_story_and_is_not_indexed() -> None:
    index = StoryIndex()
    index.add(ECB_FR)
    empty = index.add(StoryDoc("empty", "fr", ECB_FR.title, "  \n ", T0))
    assert empty == Assignment(story_id("empty"), 0.0, 1.0, None)
    assert len(index) == 1
    assert index.add(ECB_DE).matched == "ecb-fr"


def test_old_documents_are_evicted_from_the_window() -> None:
    index = StoryIndex(window=timedelta(days=1))
    index.add(ECB_FR)
    index.add(StoryDoc("boj-later", "en", BOJ_EN.title, BOJ_EN.body, T0 + timedelta(days=2)))
    assert len(index) == 1


@pytest.mark.parametrize(
    ("raw", "lang", "value"),
    [
        ("26.469,89", "fr", "26469.89"),
        ("26,469.89", "en", "26469.89"),
        ("26\u202f469,89", "fr", "26469.89"),
        ("0,68", "de", "0.68"),
        ("0.68", None, "0.68"),
        ("41.000", "de", "41000"),
        ("41,000", "en", "41000"),
        ("1,500", "fr", "1.5"),
        ("1.234.567", None, "1234567"),
        ("4,50", "fr", "4.5"),
        ("7", "en", None),
    ],
)
def test_numbers_are_normalised_across_locales(raw: str, lang: str | None, value: str | None) -> None:
    assert normalise_number(raw, lang) == value


def test_anchors_fold_names_and_skip_sentence_initial_common_words() -> None:
    got = anchors("Müller-Brot: Aktie fällt", "Die Aktie von Müller fiel um 3,5 %. Die Börse in München war ruhig.", "de")
    assert got["w:muller"] == 2 and got["w:munchen"] == 1 and got["n:3.5"] == 1
    assert "w:die" not in got  # sentence-initial only, never capitalised inside a sentence
    linked = anchors(None, "x", None, [{"text": "EZB", "type": "ORG", "link": {"kind": "org", "id": "Q8901"}}])
    assert linked["e:org:Q8901"] == 2


def test_linked_entities_are_evidence_across_languages() -> None:
    index = StoryIndex(encoder=None, emb_weight=0.0, threshold=0.3)
    ent = [{"text": "x", "type": "ORG", "link": {"kind": "security", "id": "MWS0000000000000001"}}]
    index.add(StoryDoc("a", "fr", "Résultats", "un texte sans nom propre", T0, ent))
    joined = index.add(StoryDoc("b", "de", "Ergebnis", "ein text ohne namen", T0, ent))
    apart = index.add(StoryDoc("c", "de", "Ergebnis", "ein text ohne namen", T0, None))
    assert joined.matched == "a" and apart.matched is None


def test_a_close_match_to_one_article_is_enough_whatever_the_story_average() -> None:
    """Average linkage alone would split a translation from its original once the original has joined a story of
    other outlets; a match at ``strong`` or more to one article joins that article's story."""
    import numpy as np

    def unit(*xs: float) -> np.ndarray:
        v = np.zeros(512, dtype=np.float32)
        v[:len(xs)] = xs
        return v / np.linalg.norm(v)

    # cosines: x.y 0.6 (y joins x), x.z 0.83, y.z 0.05, so z's average over the story is 0.44 < 0.5
    vectors = {"x": unit(1, 0, 0), "y": unit(0.6, 0.8, 0), "z": unit(0.9, -0.6125, 0)}

    def enc(texts: list[str]) -> np.ndarray:
        return np.stack([vectors[t.split()[0]] for t in texts])

    docs = [StoryDoc(k, "fr", k, f"{k} corps", T0) for k in ("x", "y", "z")]
    for strong, joins in ((0.66, True), (1.0, False)):
        index = StoryIndex(encoder=enc, emb_weight=1.0, strong=strong)
        x, y, z = index.add_many(docs)
        assert y.story_id == x.story_id  # 0.6 >= 0.5
        assert (z.story_id == x.story_id) is joins and (z.matched == "x") is joins
    index = StoryIndex(encoder=enc, emb_weight=1.0)
    assert index.strong == STRONG
    assert StoryIndex(threshold=0.8).strong == 0.8  # never below the threshold


def test_bad_parameters_are_refused_with_the_parameter_named() -> None:
    with pytest.raises(InvalidInput, match="strong"):
        StoryIndex(threshold=0.5, strong=0.4)
    with pytest.raises(InvalidInput, match="threshold"):
        StoryIndex(threshold=1.5)
    with pytest.raises(InvalidInput, match="window"):
        StoryIndex(window=timedelta(0))


def test_the_example_in_the_docs_runs() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "news-stories.md").read_text(encoding="utf-8")
    block = text.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(block, "docs/news-stories.md", "exec"), {})


def test_caching_encoder_embeds_each_text_once_and_forgets_the_oldest() -> None:
    import numpy as np

    from marketwire.news.stories import CachingEncoder

    seen: list[str] = []

    def enc(texts: list[str]) -> np.ndarray:
        seen.extend(texts)
        return np.stack([np.full(512, float(len(t)), dtype=np.float32) for t in texts])

    cache = CachingEncoder(enc, maxsize=2)
    assert cache(["a", "bb", "a"])[:, 0].tolist() == [1.0, 2.0, 1.0] and seen == ["a", "bb"]
    assert cache(["bb", "ccc"])[:, 0].tolist() == [2.0, 3.0] and seen == ["a", "bb", "ccc"]
    cache(["a"])  # "a" was the least recently used of three: forgotten, embedded again
    assert seen == ["a", "bb", "ccc", "a"]
