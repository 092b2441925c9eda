"""Story clustering on WMT21 newstest: 135 French and German articles and their human translations (270 documents).

Each article must share a story with its translation (>= 95% of pairs) and no article may be merged with a report of
another event (<= 2% of documents). The literal "any document outside its pair" rate is asserted separately: WMT21
holds nine groups of articles that report one event (``SAME_EVENT`` in ``benchmarks/news_stories.py``, each
reviewed), and a story clusterer is right to merge those, so that rate cannot reach 2% here (see
docs/news-stories.md). The default threshold was chosen on fr-de; de-fr is held out.
"""

from __future__ import annotations

from types import ModuleType

import pytest
from conftest import benchmark_module, shared_data

from marketwire.news.stories import cluster

pytestmark = pytest.mark.integration

MIN_PAIR_RECALL = 0.95
MAX_DOCS_WITH_ANOTHER_EVENT = 0.02
# Measured 2.7% / 3.3% / 3.0%, all of it in reviewed same-event groups; the ceilings catch new merges.
MAX_DOCS_OUTSIDE_PAIR = {"fr-de": 0.04, "de-fr": 0.04, "both": 0.04}


def _benchmark_module() -> ModuleType:
    return benchmark_module("news_stories")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return _benchmark_module()


@pytest.fixture(scope="module")
def wmt21(bench: ModuleType) -> dict[str, list]:
    folder = shared_data() / "news-eval" / "wmt21"
    paths = {name: folder / f for name, f in bench.FILES.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        pytest.skip(f"WMT21 newstest files not found: {', '.join(missing)} (set MARKETWIRE_DATA)")
    sets = {name: bench.load_wmt21(p) for name, p in paths.items()}
    sets["both"] = sets["fr-de"] + sets["de-fr"]
    return sets


@pytest.fixture(scope="module")
def encoder(bench: ModuleType):  # one embedding per text for the whole module
    return bench.CachedEncoder()


def test_the_data_is_what_the_benchmark_describes(wmt21: dict[str, list]) -> None:
    assert (len(wmt21["fr-de"]), len(wmt21["de-fr"])) == (74, 61)
    assert {(p.src.lang, p.ref.lang) for p in wmt21["fr-de"]} == {("fr", "de")}
    assert {(p.src.lang, p.ref.lang) for p in wmt21["de-fr"]} == {("de", "fr")}


@pytest.mark.parametrize("set_name", ["fr-de", "de-fr", "both"])
def test_translations_share_a_story_and_other_events_stay_apart(set_name: str, wmt21, bench, encoder) -> None:
    pairs = wmt21[set_name]
    docs = [d for p in pairs for d in (p.src, p.ref)]
    got = cluster(docs, encoder=encoder)
    s = bench.score(pairs, {k: a.story_id for k, a in got.items()})
    assert s.pair_recall >= MIN_PAIR_RECALL, s
    assert s.docs_wrong <= MAX_DOCS_WITH_ANOTHER_EVENT, s
    assert s.docs_merged <= MAX_DOCS_OUTSIDE_PAIR[set_name], s
    assert set(s.merged_groups) <= set(bench.SAME_EVENT), s.merged_groups
    # novelty: a story's first document is new, a translation joining it repeats it
    for p in pairs:
        first, second = sorted((p.src.id, p.ref.id))
        if got[first].story_id == got[second].story_id and got[second].matched == first:
            assert got[second].novelty == pytest.approx(1 - got[second].score, abs=1e-4)
    assert all(a.novelty == 1.0 for a in got.values() if a.matched is None)


def test_through_the_whole_pipeline(wmt21: dict[str, list], bench: ModuleType, tmp_path) -> None:
    """The 270 documents as ``marketwire news add`` takes them (text files, every stage): linked entities are extra
    anchors there, so more same-event reports join; translations still join and other events stay apart."""
    pairs = wmt21["both"]
    story_of, duplicates, _ = bench.pipeline_stories(pairs, tmp_path)
    s = bench.score(pairs, story_of)
    assert duplicates == 0  # a translation is not a near-copy
    assert s.pair_recall >= MIN_PAIR_RECALL, s
    assert s.docs_wrong <= MAX_DOCS_WITH_ANOTHER_EVENT, s
    assert set(s.merged_groups) <= set(bench.SAME_EVENT), s.merged_groups
