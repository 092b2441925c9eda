"""Bylines, datelines and publisher credits: the lines and phrases of an article that say who wrote it, when and
for whom, and are not part of what it reports.

- **Lines** (a paragraph of its own, under 200 characters): a byline (``Par Jean Dupont``, ``Von Anna Weber, dpa``,
  ``By Jane Smith and Tom Brown``), a publication stamp (``AFP, publié le mercredi 01 juillet 2020 à 15h57``,
  ``Orange avec Media Services, publié le ...``, ``Veröffentlicht am 02.07.2020 um 15:57 Uhr``, ``Updated July 1,
  2020``), a credit (``Source : AFP``, ``Quelle: Reuters``, ``Photo: ...``, ``© AFP``, ``(avec AFP)``,
  ``Reporting by ...; Editing by ...``) or an agency name alone.
- **Datelines and inline credits**: ``PARIS (Reuters) -``, ``Frankfurt (dpa) -``, ``TOKYO, July 2 (Reuters) -``: the
  credit in parentheses and the dash after it (the place before it is where the story happened and stays).

:func:`credit_spans` returns these as character ranges of a text; the entity stage links nothing inside them (a
byline's ``Orange avec Media Services`` is not Orange S.A., a ``(Reuters)`` credit is not Thomson Reuters) and the
summary stage never makes a bullet of them (:func:`strip`).
"""

from __future__ import annotations

import re

__all__ = ["AGENCIES", "credit_spans", "is_credit_line", "strip"]

#: news agencies and publishers' wire services whose names appear in credits
AGENCIES = (r"(?i:reuters|afp|ap|dpa|dpa-afx|awp|ansa|efe|bloomberg|apa|sda|ats|belga|anp|kyodo|xinhua|jiji|yonhap"
            r"|associated\s+press|agence\s+france[-\s]presse|media\s+services|relaxnews|afp[-\s]services|reuters\s+breakingviews"
            r"|bfm|cnbc|ft|wsj|dow\s+jones|nikkei|pti|ians)")

_MONTHS = (r"(?i:janv(?:ier)?|f[ée]vr(?:ier)?|mars|avr(?:il)?|mai|juin|juil(?:let)?|ao[uû]t|sept(?:embre)?|oct(?:obre)?"
           r"|nov(?:embre)?|d[ée]c(?:embre)?|jan(?:uary|uar)?|feb(?:ruary|ruar)?|m[äa]rz|march|apr(?:il)?|may|june?|"
           r"july?|juli|aug(?:ust)?|sep(?:tember)?|okt(?:ober)?|october|dez(?:ember)?|december)\.?")
_DAYS = (r"(?i:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|thursday|friday|saturday"
         r"|sunday|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|mon|tue|wed|thu|fri|sat|sun)\.?")
#: a date or a time as bylines write them
_WHEN = (rf"(?:{_DAYS},?\s+)?(?:\d{{1,2}}(?:er)?\.?\s+{_MONTHS}\s+\d{{4}}|{_MONTHS}\s+\d{{1,2}},?\s+\d{{4}}"
         r"|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}-\d{2}-\d{2})"
         r"(?:,?\s*(?:à|at|um|-|,)?\s*\d{1,2}\s*(?:h|:)\s*\d{2}(?:\s*(?i:uhr|am|pm|a\.m\.|p\.m\.|gmt|utc|cet|cest|et|"
         r"bst|mez|mesz))?)?|\d{1,2}\s*(?:h|:)\s*\d{2}(?:\s*(?i:uhr|am|pm|gmt|utc|cet|cest|et|bst|mez|mesz))?")
_STAMP = (r"(?i:publi[ée](?:e|s)?\s+le|mis\s+[àa]\s+jour\s+le|modifi[ée]\s+le|actualis[ée]\s+le|ver[öo]ffentlicht"
          r"(?:\s+am)?|aktualisiert(?:\s+am)?|zuletzt\s+aktualisiert(?:\s+am)?|stand:?|published(?:\s+on)?|"
          r"updated(?:\s+on)?|posted(?:\s+on)?|last\s+updated|first\s+published(?:\s+on)?|erstellt\s+am)")
_NAME = r"[A-ZÀ-ÖØ-Þ][\w'’.-]*(?:\s+(?:de|du|des|la|le|van|von|der|den|di|da|al|bin)){0,2}(?:\s+[A-ZÀ-ÖØ-Þ][\w'’.-]*){0,3}"
_NAMES = rf"{_NAME}(?:\s*(?:,|et|and|und|&)\s*{_NAME}){{0,3}}"
_LINE = re.compile(
    rf"""^\s*[(\[]?\s*(?:
        (?i:par|by|von|texte?\s*:|auteur\s*:|author\s*:|autor(?:in)?\s*:|reporting\s+by|writing\s+by)\s+{_NAMES}
            (?:\s*(?:[,|/–—-]|\(|(?i:avec|with|mit|pour|for|für|in|à|en))\s*
               (?:{AGENCIES}|{_STAMP}[^.!?]{{0,60}}|{_WHEN}|{_NAME})\)?){{0,3}}
      | (?:[^,|–—]{{0,60}}[,|–—-]\s*)?{_STAMP}\s*:?\s*(?:[^\d\n]{{0,20}}?)(?:{_WHEN})[^.!?]{{0,60}}
      | (?:{_WHEN})(?:\s*[,|–—-]\s*[^\W\d][\w -]{{0,25}})?
      | (?i:source|sources|quelle|quellen|cr[ée]dits?(?:\s+photo)?|photo|photos|foto|fotos|bild|image|copyright|©|\(c\))
            \s*[:©]?\s*.{{0,120}}
      | (?i:avec|with|mit(?:\s+material\s+von)?|d'apr[èe]s|according\s+to)\s+{AGENCIES}(?:\s*(?:/|,|et|and|und)\s*\w+)*
      | (?:[\w.'’-]+\s+){{0,4}}(?i:avec|with|mit)\s+{AGENCIES}
      | {AGENCIES}(?:\s*(?:/|,|-|(?i:et|and|und))\s*{AGENCIES})*
      | .{{0,120}}\b(?i:editing|edited|reporting|writing|additional\s+reporting)\s+(?i:by)\b.{{0,200}}
    )\s*[)\]]?\s*[.;]?\s*$""",
    re.X)
#: a dateline's credit: "PARIS (Reuters) -", "Frankfurt/Main (dpa-AFX) -", "TOKYO, July 2 (Reuters) -"
_INLINE = re.compile(rf"\((?:{AGENCIES})(?:\s*[/,]\s*[^)]{{0,40}})?\)\s*[-–—:]*\s*")
_DATELINE_PREFIX = re.compile(rf"^\s*[A-ZÀ-ÖØ-Þ][\w'’./ -]{{0,40}}(?:,\s*[^()\n]{{0,30}})?\s*\((?:{AGENCIES})"
                              rf"(?:\s*[/,]\s*[^)]{{0,40}})?\)\s*[-–—:]+\s*")
MAX_LINE = 200


def is_credit_line(line: str) -> bool:
    """Whether ``line`` (one paragraph) is a byline, a publication stamp, a credit or an agency name alone."""
    s = line.strip()
    return bool(s) and len(s) <= MAX_LINE and _LINE.match(s) is not None


def credit_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of ``text`` that are bylines, publication stamps, credits and dateline credits, in order."""
    out: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        end = pos + len(line)
        if is_credit_line(line):
            out.append((pos, end))
        else:
            for m in _INLINE.finditer(line):
                out.append((pos + m.start(), pos + m.end()))
        pos = end + 1
    return out


def strip(text: str) -> str:
    """``text`` without its credit lines and with dateline credits cut from the start of their paragraph (``PARIS
    (Reuters) - Sanofi said ...`` -> ``Sanofi said ...``): what a summary may quote."""
    lines = []
    for line in text.split("\n"):
        if is_credit_line(line):
            continue
        lines.append(_DATELINE_PREFIX.sub("", line, count=1))
    return "\n".join(lines)
