"""Curated name lists for entity linking, shipped as package data, and the word-sequence matcher over them.

- ``demonyms.csv``: per country (ISO 3166 alpha-2), the adjectives and nouns of nationality in English, French and
  German. French forms are given masculine singular and inflected here (``iranien`` -> ``iranienne``, ``iraniens``,
  ``iraniennes``); German adjectives are given in their base form and inflected (``russisch`` -> ``russische``,
  ``russischen`` ...); capitalised German and English forms are nouns and are taken as written.
- ``places.csv``: country aliases CLDR does not carry (``USA``, ``Grande-Bretagne``, ``Weißrussland``), capitals
  (``Moscou``, ``Teheran``) and seats of government (``Kremlin``, ``White House``), per language (``*`` = all).
- ``people.csv``: about 160 heads of state and government, ministers of finance, central bankers and chief
  executives of large listed companies, with spellings per language and surnames that may stand alone.
- ``products.csv``: regular expressions for weapon systems and other model designations (``S-400``, ``F-35``) that
  are typed PRODUCT, never places; and ``stopwords.csv``: spans a model must not return as an entity (``État``).
- ``company_aliases.csv``: short names of companies that the securities master does not carry as a name of the
  right issuer (``BMW`` -> Bayerische Motoren Werke, ``Google`` -> Alphabet), each mapped to a master name.

Country names themselves come from CLDR through babel (``babel.Locale(lang).territories``), not from these files.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

#: the words of a text, as the matcher sees them
WORD = re.compile(r"\w+", re.UNICODE)
#: what may separate two words of one multi-word name
GAP = re.compile(r"[\s\-'’.&,]{1,3}")
#: CLDR territories that are not countries (EU, the world, unknown, pseudo-locales)
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ", "AQ", "BV", "HM", "CP", "DG", "EA", "IC", "TA", "QU"}
#: languages whose CLDR country names are matched when an article's language is unknown
ALL_LANGS = ("en", "fr", "de", "es", "it", "nl", "pt")


def fold(word: str) -> str:
    """A word reduced for matching: no accents, case folded (``Émirats`` -> ``emirats``, ``Straße`` -> ``strasse``)."""
    w = unicodedata.normalize("NFKD", word)
    return "".join(c for c in w if not unicodedata.combining(c)).casefold()


def key_of(name: str) -> tuple[str, ...]:
    return tuple(fold(w) for w in WORD.findall(name))


@dataclass(frozen=True)
class Entry:
    kind: str            # country | person | surname | capital | seat | demonym
    id: str              # ISO alpha-2 or the people table's id
    name: str            # canonical name
    type: str            # PER | LOC | ORG | MISC
    method: str          # cldr | alias | demonym | capital | seat | full_name | surname
    confidence: float
    case: str = "cap"    # cap: first letter upper case in the text; any; exact: the text as written
    surface: str = ""    # the form as listed (for case "exact")
    alone: bool = True   # surnames: may link without the full name in the article


@dataclass
class Match:
    start: int
    end: int
    text: str
    entry: Entry
    first_word: int      # index of the first word in the text's word list


@dataclass
class Gazetteer:
    names: dict[tuple[str, ...], list[Entry]] = field(default_factory=dict)
    longest: int = 1

    def add(self, name: str, entry: Entry) -> None:
        k = key_of(name)
        if not k:
            return
        lst = self.names.setdefault(k, [])
        if entry not in lst:
            lst.append(entry)
        self.longest = max(self.longest, len(k))

    def find(self, text: str, words: list[re.Match[str]] | None = None) -> Iterator[Match]:
        """Longest matches, left to right, that meet their case rule."""
        ws = words if words is not None else list(WORD.finditer(text))
        folded = [fold(w.group()) for w in ws]
        i = 0
        while i < len(ws):
            hit = None
            for n in range(min(self.longest, len(ws) - i), 0, -1):
                entries = self.names.get(tuple(folded[i:i + n]))
                if not entries:
                    continue
                if n > 1 and not all(GAP.fullmatch(text[ws[j].end():ws[j + 1].start()])
                                     for j in range(i, i + n - 1)):
                    continue
                start, end = ws[i].start(), ws[i + n - 1].end()
                surface = text[start:end]
                ok = [e for e in entries if _case_ok(e, surface)]
                if ok:
                    hit = (n, start, end, surface, ok)
                    break
            if hit is None:
                i += 1
                continue
            n, start, end, surface, ok = hit
            for e in ok:
                yield Match(start, end, surface, e, i)
            i += n


def _case_ok(e: Entry, surface: str) -> bool:
    if e.case == "any":
        return True
    if e.case == "exact":
        return surface.replace(" ", "") == e.surface.replace(" ", "")
    first = surface[:1]
    return first.isupper() or first.isdigit()


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(ln for ln in text.splitlines() if not ln.startswith("#")))  # "#": a comment


def _split(cell: str | None) -> list[str]:
    return [x.strip() for x in (cell or "").split("|") if x.strip()]


def fr_forms(base: str) -> list[str]:
    """Masculine singular French adjective -> its four forms (regular patterns; irregulars are listed in the CSV)."""
    if base.endswith("e"):
        return [base, base + "s"]
    if base.endswith("s"):
        return [base, base + "e", base + "es"]
    if base.endswith(("ien", "on", "en")):
        return [base, base + "ne", base + "s", base + "nes"]
    return [base, base + "e", base + "s", base + "es"]


def de_forms(base: str) -> list[str]:
    return [base] + [base + s for s in ("e", "en", "er", "es", "em")]


@cache
def demonyms() -> dict[str, dict[str, list[str]]]:
    """``{iso2: {lang: [forms]}}``, inflected."""
    out: dict[str, dict[str, list[str]]] = {}
    for r in _rows("demonyms.csv"):
        d: dict[str, list[str]] = {}
        d["en"] = _split(r["en"])
        d["fr"] = [f for b in _split(r["fr"]) for f in fr_forms(b)]
        d["de"] = [f for b in _split(r["de"]) for f in (de_forms(b) if b[:1].islower() else [b])]
        out[r["iso2"]] = d
    return out


@cache
def country_names(lang: str) -> dict[str, str]:
    """CLDR names of countries in ``lang``: ``{iso2: name}``."""
    import babel

    try:
        terr = babel.Locale.parse(lang).territories
    except (ValueError, babel.UnknownLocaleError):
        return {}
    return {k: v for k, v in terr.items() if len(k) == 2 and k.isalpha() and k not in _NOT_COUNTRIES}


@cache
def people() -> list[dict[str, str]]:
    return [r for r in _rows("people.csv") if r.get("id")]


@cache
def products() -> list[tuple[re.Pattern[str], str]]:
    return [(re.compile(r["pattern"]), r["type"]) for r in _rows("products.csv")]


@cache
def stopwords() -> frozenset[str]:
    return frozenset(fold(r["text"]) for r in _rows("stopwords.csv"))


@cache
def for_language(lang: str | None) -> Gazetteer:
    """The gazetteer an article in ``lang`` is matched against (``None``: every language we carry)."""
    g = Gazetteer()
    langs = ALL_LANGS if lang is None else tuple(dict.fromkeys((lang, "en")))
    english = {iso: fold(n) for iso, n in country_names("en").items()}
    for lg in langs:
        for iso, name in country_names(lg).items():
            # a name that is the English name of another country is that country's ("Georgia" is GE, not a US
            # state here, and nobody else's)
            if lg != "en" and fold(name) in english.values() and english.get(iso) != fold(name):
                continue
            g.add(name, Entry("country", iso, country_names("en").get(iso, name), "LOC", "cldr", 0.95))
    en_names = country_names("en")
    for r in _rows("places.csv"):
        if r["lang"] not in ("*",) + langs:
            continue
        kind = r["kind"]
        conf, typ = {"alias": (0.9, "LOC"), "capital": (0.6, "LOC"), "seat": (0.55, "ORG")}[kind]
        for n in _split(r["names"]):
            exact = n.replace(".", "").isupper() and len(n.replace(".", "")) <= 4
            g.add(n, Entry("country" if kind == "alias" else kind, r["iso2"], en_names.get(r["iso2"], r["iso2"]),
                           typ, kind, conf, case="exact" if exact else "cap", surface=n))
    dem = demonyms()
    for iso, forms in dem.items():
        for lg in langs:
            for f in forms.get(lg, []):
                case = "cap" if (lg == "en" or f[:1].isupper()) else "any"
                g.add(f, Entry("demonym", iso, en_names.get(iso, iso), "MISC", "demonym", 0.8, case=case))
    for p in people():
        forms = [p["name"]] + _split(p["variants"])
        for f in forms:
            exact = f.replace(".", "").isupper() and len(f) <= 4  # MBS, MBZ
            g.add(f, Entry("person", p["id"], p["name"], "PER", "full_name", 0.95,
                           case="exact" if exact else "cap", surface=f))
        for s in _split(p["surnames"]):
            g.add(s, Entry("surname", p["id"], p["name"], "PER", "surname", 0.75, alone=p["surname_alone"] == "1"))
    return g
