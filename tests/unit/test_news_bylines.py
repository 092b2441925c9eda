"""Bylines, publication stamps and credits: recognised as lines, cut from summaries, never a bullet."""

from __future__ import annotations

import pytest

from marketwire.news.bylines import credit_spans, is_credit_line, strip
from marketwire.news.summarize import summarize

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("line", [
    "AFP, publié le mercredi 01 juillet 2020 à 15h57.",
    "Orange avec Media Services, publié le jeudi 02 juillet 2020 à 21h59",
    "Orange avec Media Services",
    "Par Marie Martin (AFP)",
    "Von Anna Weber, dpa",
    "By Jane Smith and Tom Brown",
    "Veröffentlicht am 02.07.2020 um 15:57 Uhr",
    "Updated July 1, 2020 at 3:57 pm ET",
    "Source : AFP",
    "Reporting by Tom Brown; Editing by Jane Smith",
    "dpa-AFX",
    "© Reuters 2024",
])
def test_credit_lines(line):
    assert is_credit_line(line)


@pytest.mark.parametrize("line", [
    "By the end of the year, Siemens expects higher sales.",
    "By Tuesday, Siemens had sold 5,000 trains to India and China.",
    "Par ailleurs, Airbus a livré 50 avions.",
    "Von Januar bis März stieg der Umsatz von Bayer um 5 Prozent.",
    "Orange a publié ses résultats le 2 juillet 2020 à Paris.",
    "Le 2 juillet 2020, Danone a annoncé un plan.",
    "Shell said on July 1, 2020 at 10:00 that it would sell assets.",
    "Siemens",
])
def test_story_lines_are_not_credits(line):
    assert not is_credit_line(line)


def test_dateline_credit_is_a_span_and_is_cut_from_what_a_summary_quotes():
    text = "PARIS (Reuters) - Sanofi said it would buy a biotech.\nTOKYO, July 2 (Reuters) - Toyota sold more cars."
    assert [text[a:b] for a, b in credit_spans(text)] == ["(Reuters) - ", "(Reuters) - "]
    assert strip(text) == "Sanofi said it would buy a biotech.\nToyota sold more cars."


def test_a_byline_is_never_a_bullet():
    body = ("AFP, publié le mercredi 01 juillet 2020 à 15h57.\n\n"
            "Le laboratoire Sanofi a annoncé mercredi le rachat d'une biotech américaine pour deux milliards.\n\n"
            "Le titre gagnait 1,2% à la Bourse de Paris, porté par l'annonce du rachat de la biotech.\n\n"
            "Le groupe prévoit de finaliser l'opération avant la fin de l'année, selon un communiqué.")
    s = summarize("Sanofi rachète une biotech", body, "fr")
    assert s.bullets and not any("publié" in b or "AFP" in b for b in s.bullets)
