"""What a cold `news add` imports: the company index reads spaCy's stop-word lists without running the language
packages (French tokenizer exceptions take seconds to compile), and the lists are exactly spaCy's."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from marketwire.news.gazetteer.companies import spacy_stop_words


@pytest.mark.parametrize("lang", ["en", "fr", "de"])
def test_stop_words_read_from_the_file_are_spacys(lang: str) -> None:
    import importlib

    expected = importlib.import_module(f"spacy.lang.{lang}.stop_words").STOP_WORDS
    got = spacy_stop_words(lang)
    assert got == frozenset(expected) and len(got) > 200


def test_an_unknown_language_has_no_stop_words() -> None:
    assert spacy_stop_words("xx-not-a-language") == frozenset()


def test_building_a_company_index_does_not_load_a_language_package() -> None:
    script = textwrap.dedent("""
        import json, sys
        from marketwire.news.gazetteer.companies import CompanyIndex
        idx = CompanyIndex.from_rows([])
        print(json.dumps(sorted(m for m in sys.modules if m.startswith("spacy.lang."))))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("lang", ["de", "en", "fr"])
def test_the_small_word_lists_decide_every_threshold_as_the_large_ones(lang: str) -> None:
    """zipf() reads wordfreq's small lists: over every word of the large list, each threshold the linker compares
    with falls on the same side as with the large list (the small list is the large one above Zipf 3)."""
    import math

    from wordfreq import get_frequency_dict

    from marketwire.news.gazetteer import companies as C

    assert C.ZIPF_FLOOR > 3.0  # a threshold at or below 3 would need the large lists
    small, large = get_frequency_dict(lang, "small"), get_frequency_dict(lang, "large")
    thresholds = (C.COMMON_ZIPF, C.INITIAL_CUE_ZIPF, C.INITIAL_PLAIN_ZIPF, C.VERY_COMMON_ZIPF)
    for word, freq in large.items():
        z_large = math.log10(freq) + 9
        z_small = math.log10(small[word]) + 9 if word in small else 0.0
        assert all((z_large >= t) == (z_small >= t) for t in thresholds), (word, z_large, z_small)
    assert C.zipf("Allianz", lang) == C.zipf("allianz", lang)


def test_a_loaded_company_index_is_left_out_of_later_garbage_collections(tmp_path) -> None:
    """The index's millions of objects leave the collector's generations once loaded (built or read from the
    cache): without it every collection a later allocation triggers walks them all again."""
    script = textwrap.dedent(f"""
        import gc, json
        from marketwire.news.gazetteer.companies import CompanyIndex
        from marketwire.store.lake import Lake
        lake = Lake({str(tmp_path / "lake")!r})
        rows = [{{"issuer_id": "MWI0000000001", "name": "Siemens AG", "country": "DE"}}]
        out = []
        for _ in range(2):  # built, then read from the saved copy in a fresh cache
            before = gc.get_freeze_count()
            CompanyIndex.from_lake(lake, lambda: rows, 1)
            out.append(gc.get_freeze_count() > before)
            from marketwire.news.gazetteer import companies
            companies._cache.clear()
            gc.unfreeze()
        print(json.dumps(out))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [True, True]
