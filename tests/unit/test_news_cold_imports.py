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
