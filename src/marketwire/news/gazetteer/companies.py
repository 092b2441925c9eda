"""Companies of the securities master as a name index for articles: issuer names, explicit tickers, ISINs.

- **Names.** Every name an issuer, its securities and its listings carry is reduced the way the master matches
  names (:func:`marketwire.sources.classify.norm_name`: no accents, punctuation or legal forms) and then loses the
  venue's share-line noise at its end (``SIEMENS AG NA O.N.`` -> ``siemens``, ``LVMH EO 0,3`` -> ``lvmh``). A
  leading all-capitals word of a longer name is a variant too (``LVMH Moët Hennessy`` -> ``LVMH``). Where two
  issuers share a name, the more notable one wins (an index member, then one with an ISIN, then more listings).
  Only equity-like securities count (equity, ADR, preferred); funds, ETFs and warrants that carry a company's name
  do not.
- **One-word names** are where false friends live (``OMS`` the WHO, ``Sport``, ``Design``, ``CSU`` the party, all
  names of some listed company somewhere). A one-word name links only to a *notable* issuer (an index member, an
  ISIN, or listings on several venues: :data:`MIN_NOTABLE`), or through the curated aliases
  (``gazetteer/company_aliases.csv``: ``BMW`` -> Bayerische Motoren Werke, ``Google`` -> Alphabet). A one-word name
  that is also a common word in French, English or German (Zipf frequency >= :data:`COMMON_ZIPF` in ``wordfreq``:
  ``Total``, ``Orange``, ``Apple``) links only where the NER model calls exactly that word an organisation or a
  product; a common acronym (``FBI``, ``TVA``, ``ARD``) only to an index member or through an alias.
- **Tickers** are read only in explicit patterns: ``(NASDAQ: AAPL)``, ``(AAPL.O)``, ``$AAPL`` and ``Apple (AAPL)``
  (the latter only when AAPL is a ticker of the company just named). A bare capitalised word is never a ticker.
- **ISINs** are found by pattern and kept only with a valid check digit (python-stdnum).
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marketwire.news import gazetteer as G
from marketwire.news.spans import Span, link
from marketwire.refdata import DEFAULT_MICS
from marketwire.sources.classify import norm_name

if TYPE_CHECKING:
    from marketwire.store import Lake

#: share-line and venue noise at the end of a directory name
_JUNK = {"na", "on", "o", "n", "eo", "dl", "sf", "inh", "vz", "st", "adr", "ads", "sp", "reg", "shs", "bearer", "vna",
         "dm", "spons",
         "registered", "aktiengesellschaft", "societe", "europeenne", "ord", "cl", "class", "b", "c", "b1", "sa",
         "eur", "usd", "nam", "akt", "rc", "dr", "ag", "se", "spon", "sponsored", "unsp", "vorzug", "pref"}
_EQUITY = {"equity", "adr", "preferred", None}
_SEP = re.compile(r"[\s\-'’.&,/]+")
#: words a master name's key leaves out ("Procter & Gamble" and "Procter and Gamble" are one key): in text they join
#: the words of a name and are not part of its key
_JOINERS = frozenset({"and"})
#: exchange names in "(NASDAQ: AAPL)" -> MIC
EXCHANGES = {"NASDAQ": "XNAS", "NASDAQGS": "XNAS", "NASDAQGM": "XNAS", "NYSE": "XNYS", "NYSE AMERICAN": "XASE",
             "AMEX": "XASE", "NYSE ARCA": "ARCX", "LSE": "XLON", "LON": "XLON", "TSX": "XTSE", "XETRA": "XETR",
             "ETR": "XETR", "FRA": "XFRA", "EPA": "XPAR", "EURONEXT PARIS": "XPAR", "EURONEXT": "XPAR",
             "SIX": "XSWX", "SWX": "XSWX", "BIT": "XMIL", "BME": "XMAD", "TSE": "XTKS", "HKEX": "XHKG",
             "ASX": "XASX", "OTC": None, "OTCQX": None}
#: Reuters instrument code suffixes -> MIC
RIC = {"O": "XNAS", "OQ": "XNAS", "N": "XNYS", "PA": "XPAR", "DE": "XETR", "L": "XLON", "AS": "XAMS",
       "MI": "XMIL", "MC": "XMAD", "S": "XSWX", "SW": "XSWX", "T": "XTKS", "HK": "XHKG", "TO": "XTSE",
       "BR": "XBRU", "VI": "XWBO", "ST": "XSTO", "CO": "XCSE", "HE": "XHEL", "OL": "XOSL", "AX": "XASX"}

_EX = "|".join(sorted((re.escape(k) for k in EXCHANGES), key=len, reverse=True))
PAT_EXCHANGE = re.compile(rf"\((?:{_EX})\s*:\s*([A-Z][A-Z0-9]{{0,5}}(?:[.\-][A-Z])?)\)", re.I)
PAT_RIC = re.compile(rf"\(([A-Z][A-Z0-9]{{0,5}})\.({'|'.join(RIC)})\)")
PAT_CASHTAG = re.compile(r"(?<![\w$])\$([A-Z]{1,5}(?:\.[A-Z])?)\b")
PAT_PAREN = re.compile(r"\s*\(([A-Z]{1,5}(?:\.[A-Z])?)\)")
PAT_ISIN = re.compile(r"\b[A-Z]{2}[A-Z0-9]{9}[0-9]\b")


#: a one-word name links only to an issuer at least this notable (see :func:`notability`), unless an alias names it
MIN_NOTABLE = 4.0
#: a word at least this frequent (Zipf scale: 4 = once per 100,000 words) in the article's language (in fr, en or de
#: when it is unknown) is a common word
COMMON_ZIPF = 4.0
#: an issuer at least this notable is one of the best-known companies of its market: an index member, a large or
#: mega capitalisation, or a company listed on many venues
PROMINENT = 100.0
INDEX_MEMBER = PROMINENT  # the name this threshold had when only index membership reached it
#: points of a market-capitalisation class (FinanceDatabase: Mega > $200bn, Large $10-200bn, Mid $2-10bn ...)
CAP_POINTS = {"mega cap": 100.0, "large cap": 100.0, "mid cap": 30.0, "small cap": 8.0, "micro cap": 2.0,
              "nano cap": 0.0}
#: a common word at the start of a sentence links on context words alone only below this frequency ("Total",
#: "Orange" open sentences as common words; "Siemens", "Bayer" do not)
INITIAL_CUE_ZIPF = 4.5
#: a one-word name opening a sentence, at least this frequent as a word ("Sage advice ..."), links only where the
#: sentence speaks of business or the model calls it an organisation
INITIAL_PLAIN_ZIPF = 3.5


#: a word at least this frequent is one of the few thousand commonest words ("Sport", "Groupe", "People"): as a
#: company name it links only to an index member or through an alias
VERY_COMMON_ZIPF = 4.8


@lru_cache(maxsize=65536)
def zipf(word: str, lang: str | None = None) -> float:
    """How common ``word`` is in ``lang`` on the Zipf scale (``wordfreq``, whose frequency lists ship inside the
    package); in French, English or German, whichever is highest, for any other or an unknown language.

    From wordfreq's *small* lists: the same values as its large lists for every word above Zipf 3, and 0 below, where
    the large lists give at most 3. Every decision here compares with :data:`ZIPF_FLOOR` or more, so each is the
    same as with the large lists (tested over every word of them), at a twentieth of the load time (the German
    large list alone took 0.7 s of every cold ``news add``)."""
    from wordfreq import zipf_frequency

    w = word.casefold()
    langs = (lang,) if lang in ("fr", "en", "de") else ("fr", "en", "de")
    return max(zipf_frequency(w, lg, wordlist="small") for lg in langs)


#: the lowest Zipf value a decision above compares with: wordfreq's small lists hold every word above Zipf 3
ZIPF_FLOOR = min(COMMON_ZIPF, INITIAL_CUE_ZIPF, INITIAL_PLAIN_ZIPF, VERY_COMMON_ZIPF)


def notability(*, index_member: bool, market_cap: str | None, has_isin: bool, listings: int, venues: int) -> float:
    """How well known an issuer is, from what the master knows of it in every market: index membership (100), its
    market-capitalisation class where a source gives one (:data:`CAP_POINTS`), an ISIN (10), and the number of its
    listings and of distinct venues (1 each, at most 20 each)."""
    return ((100.0 if index_member else 0.0) + CAP_POINTS.get((market_cap or "").strip().lower(), 0.0)
            + (10.0 if has_isin else 0.0) + min(listings, 20) + min(venues, 20))


#: the markets whose companies an article in this language means first when a name is shared
HOME_MARKETS = {"de": frozenset({"DE", "AT", "CH"}), "fr": frozenset({"FR", "BE", "CH", "LU"})}

#: descriptive words at the end of a company's name that its short name leaves out (folded)
_GENERIC = frozenset({"technologies", "technology", "group", "groupe", "gruppe", "holding", "holdings", "motor",
                      "motors", "electronics", "industries", "international", "corporation", "company", "enterprises",
                      "incorporated", "corp", "inc", "plc", "limited", "ltd", "co",
                      # legal forms written out ("Merck Kommanditgesellschaft auf Aktien", "Hermes International
                      # Societe en commandite par actions", "EssilorLuxottica Societe anonyme")
                      "kommanditgesellschaft", "auf", "aktien", "aktiengesellschaft", "societe", "en", "commandite",
                      "par", "actions", "anonyme", "europeenne"})

#: words that say a capitalised name is a company where it stands (the sentence around it), folded; German compounds
#: ending in one of :data:`_CUE_SUFFIXES` count too ("Siemens-Aktie", "Pharmakonzern")
_CUES = frozenset("""
shares share stock stocks investors analysts revenue revenues sales profit profits earnings quarter quarterly dividend
guidance outlook forecast ceo chief executive company group firm maker carmaker automaker chipmaker drugmaker insurer
lender bank retailer bid takeover acquisition merger deal contract orders factory plant jobs workers employees staff
billion bn million market listed results margin buyback shareholders board subsidiary supplier customers production
deliveries delivered shipments output conglomerate operator airline brewer miner producer manufacturer
action actions titre titres bourse cac investisseurs analystes chiffre affaires benefice benefices resultat resultats
trimestre semestre dividende previsions objectif objectifs pdg patron directeur groupe societe entreprise constructeur
fabricant laboratoire assureur banque distributeur geant rachat fusion offre contrat commande commandes usine usines
emplois salaries milliard milliards millions marge actionnaires filiale fournisseur clients ventes livraisons
equipementier chimiste petrolier operateur compagnie brasseur minier industriel
aktie aktien borse boerse dax anleger analysten umsatz gewinn ergebnis quartal dividende prognose chef vorstand konzern
unternehmen hersteller autobauer versicherer handler ubernahme fusion auftrag auftrage werk werke stellen mitarbeiter
beschaftigte milliarden millionen mrd mio marge aktionare tochter zulieferer kunden produktion absatz auslieferungen
""".split())
_CUE_SUFFIXES = ("konzern", "aktie", "aktien", "hersteller", "bauer", "versicherer", "chef", "umsatz", "gewinn",
                 "geschaft", "sparte", "tochter", "werk", "werte", "titel")


#: the suffixes with the German plural and genitive endings ("Autokonzerne", "des Konzerns", "Autoaktien")
_CUE_ENDINGS = tuple(suffix + ending for suffix in _CUE_SUFFIXES for ending in ("", "e", "n", "s", "en", "es", "ns"))

#: German compounds opening with one of these say business too ("Absatzziel", "Umsatzplus", "Gewinnwarnung")
_CUE_PREFIXES = ("aktien", "umsatz", "gewinn", "absatz", "konzern", "quartal", "borsen", "dividend")


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    a = max(text.rfind(c, 0, start) for c in ".!?\n") + 1
    ends = [i for i in (text.find(c, end) for c in ".!?\n") if i != -1]
    return a, (min(ends) if ends else len(text))


_AND = re.compile(r"\s*(?:,|,?\s+(?:and|et|und|sowie|or|ou|oder|as well as|ainsi que))\s+|\s*,\s*", re.I)


def _listed_with(text: str, x: tuple[int, int], y: tuple[int, int]) -> bool:
    """Whether two names stand side by side in a list ("Volkswagen und Bayer", "ASML, Infineon and SAP")."""
    a, b = (x, y) if x[0] < y[0] else (y, x)
    return _AND.fullmatch(text[a[1]:b[0]]) is not None


def business_cue(text: str, start: int, end: int) -> bool:
    """Whether the sentence around ``text[start:end]`` holds a word that says a company is meant (shares, revenue,
    Konzern, chiffre d'affaires ...)."""
    a, b = _sentence(text, start, end)
    return _has_cue(text[a:start] + " " + text[end:b])


def _has_cue(text: str) -> bool:
    for m in G.WORD.finditer(text):
        w = G.fold(m.group())
        if w in _CUES or (len(w) > 6 and w.endswith(_CUE_ENDINGS)) or \
                (len(w) > 8 and any(w.startswith(c) for c in _CUE_PREFIXES)):
            return True
    return False


def company_key(name: str | None) -> tuple[str, ...]:
    toks = [t for t in norm_name(name).split() if t not in _JOINERS]
    while len(toks) > 1 and (toks[-1] in _JUNK or toks[-1].isdigit() or len(toks[-1]) == 1):
        toks.pop()
    return tuple(toks)


@dataclass
class Issuer:
    id: str
    name: str
    score: float = 0.0
    listings: dict[tuple[str, str | None], str] = field(default_factory=dict)  # (ticker, mic) -> listing_id
    isins: dict[str, str] = field(default_factory=dict)                       # isin -> security_id
    market_cap: str | None = None  # the largest capitalisation class a source gives any of its listings
    country: str | None = None     # ISO 3166 alpha-2 of the issuer, where the master knows it
    index_member: bool = False


class CompanyIndex:
    """Issuer names, tickers and ISINs of the securities master, for linking article text."""

    def __init__(self) -> None:
        self.issuers: dict[str, Issuer] = {}
        self.names: dict[tuple[str, ...], list[tuple[str, float]]] = {}  # key -> [(issuer_id, variant weight)]
        self.tickers: dict[str, list[tuple[str | None, str, str]]] = {}   # ticker -> [(mic, listing_id, issuer)]
        self.isins: dict[str, tuple[str, str]] = {}                       # isin -> (security_id, issuer_id)
        self.longest = 1
        self.aliases: set[tuple[str, ...]] = set()  # name keys that come from the curated aliases
        self._blocked: frozenset[str] = frozenset()

    # -- building ----------------------------------------------------------------------------------
    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, Any]]) -> CompanyIndex:
        """One row per listing (or per issuer): ``issuer_id`` and ``issuer_name`` are required; optional are
        ``security_id``, ``security_name``, ``type``, ``isin``, ``listing_id``, ``ticker``, ``mic``,
        ``listing_name``, ``issuer_country``, ``index_member`` (bool), ``market_cap`` (a class: Mega Cap, Large
        Cap ...) and ``aliases`` (a list of other names)."""
        idx = cls()
        named: dict[str, set[str]] = {}
        n_list: dict[str, int] = {}
        venues: dict[str, set[str]] = {}
        for r in rows:
            if r.get("type") not in _EQUITY:
                continue
            iid = r["issuer_id"]
            iss = idx.issuers.get(iid)
            if iss is None:
                iss = idx.issuers[iid] = Issuer(iid, r.get("issuer_name") or r.get("security_name") or iid)
            names = named.setdefault(iid, set())
            for n in [r.get("issuer_name"), r.get("security_name"), r.get("listing_name")] + list(r.get("aliases") or []):
                if n:
                    names.add(n)
            if r.get("listing_id") and r.get("ticker"):
                iss.listings[(r["ticker"].upper(), r.get("mic"))] = r["listing_id"]
                n_list[iid] = n_list.get(iid, 0) + 1
                if r.get("mic"):
                    venues.setdefault(iid, set()).add(r["mic"])
            if r.get("isin") and r.get("security_id"):
                iss.isins[r["isin"]] = r["security_id"]
            if r.get("index_member"):
                iss.index_member = True
            if r.get("issuer_country") and not iss.country:
                iss.country = r["issuer_country"]
            cap = r.get("market_cap")
            if cap and CAP_POINTS.get(cap.strip().lower(), -1.0) > CAP_POINTS.get((iss.market_cap or "").lower(), -1.0):
                iss.market_cap = cap.strip()
        for iid, iss in idx.issuers.items():
            iss.score = notability(index_member=iss.index_member, market_cap=iss.market_cap, has_isin=bool(iss.isins),
                                   listings=n_list.get(iid, 0), venues=len(venues.get(iid, ())))
            for (t, mic), lid in iss.listings.items():
                idx.tickers.setdefault(t, []).append((mic, lid, iid))
            for isin, sid in iss.isins.items():
                idx.isins[isin] = (sid, iid)
            for n in named.get(iid, ()):
                idx._add_name(n, iid)
        idx._add_aliases()
        for lst in idx.names.values():
            # a curated alias first; then the more notable issuer, an exact name counting a little more than a
            # shortened one (the small "INFINEON" of one venue loses to Infineon Technologies AG)
            lst.sort(key=lambda x: (-(x[1] > 1.0), -(idx.issuers[x[0]].score + 1.0) * x[1], x[0]))
        idx._blocked = _blocked_words()
        return idx

    def _add_name(self, name: str, iid: str) -> None:
        key = company_key(name)
        variants = [(key, 1.0)]
        words = name.split()
        if len(words) >= 2 and re.fullmatch(r"[A-Z][A-Z0-9&]{2,5}", words[0]):
            variants.append(((G.fold(words[0]),), 0.9))
        short = key
        while len(short) > 1 and short[-1] in _GENERIC:
            short = short[:-1]
        if short != key:  # "Infineon Technologies" -> "Infineon", "Toyota Motor" -> "Toyota"
            variants.append((short, 0.95))
        for k, w in variants:
            if not k:
                continue
            lst = self.names.setdefault(k, [])
            have = next((x for x in lst if x[0] == iid), None)
            if have is None or have[1] < w:  # one entry per issuer, with its strongest variant
                if have is not None:
                    lst.remove(have)
                lst.append((iid, w))
                self.longest = max(self.longest, len(k))

    def _add_aliases(self) -> None:
        """The curated short names, each put ahead of every other issuer under its key (weight 1.05 > 1.0). Only
        issuers that carry the target name itself count (not one whose name merely starts with its acronym)."""
        for row in G._rows("company_aliases.csv"):
            target = [(iid, w) for iid, w in self.names.get(company_key(row["name"]), []) if w >= 1.0]
            key = company_key(row["alias"])
            if not target or not key:
                continue  # the master does not hold that company (a small or partial master)
            lst = self.names.setdefault(key, [])
            for iid, _ in target:
                lst[:] = [x for x in lst if x[0] != iid]
                lst.append((iid, 1.05))
            self.aliases.add(key)
            self.longest = max(self.longest, len(key))

    @classmethod
    def from_lake(cls, lake: Lake, rows: Callable[[], list[dict[str, Any]]], version: Any) -> CompanyIndex:
        """The index of the lake's current master, rebuilt only when the master changed: ``rows`` gives the
        identity service's company rows, ``version`` the master's state they are of."""
        stamp = (lake.root, version)
        with _cache_lock:
            hit = _cache.get(lake.root)
            if hit and hit[0] == stamp:
                return hit[1]
        idx = _load_saved(lake, stamp)
        if idx is None:
            idx = cls.from_rows(rows())
            _save(lake, stamp, idx)
        # the index is millions of small objects that live as long as the process and hold no cycles: moved out of
        # the collector's generations, so the collections that later allocations (a spaCy model's load, every
        # article) trigger do not walk them again each time (that was a second or more of a cold `news add`);
        # released by reference counting when the master changes and the index is replaced
        gc.freeze()
        with _cache_lock:
            _cache[lake.root] = (stamp, idx)
        return idx

    # -- matching ----------------------------------------------------------------------------------
    def find(self, text: str, words: list[re.Match[str]], model: list[Span], *, model_ran: bool = True,
             lang: str | None = None) -> list[Span]:
        """Company mentions of ``text``. ``model`` holds the NER model's spans; ``model_ran`` is False where no model
        read the text (a language without one), and then a common word links only to a prominent issuer or an alias;
        ``lang`` is the language whose word frequencies say which names are common words."""
        out: list[Span | None] = []
        out.extend(self._names(text, words, model, model_ran, lang))
        out.extend(self._tickers(text))
        for m in PAT_ISIN.finditer(text):
            out.append(self._isin(m))
        return [s for s in out if s is not None]

    def _names(self, text: str, words: list[re.Match[str]], model: list[Span], model_ran: bool,
               lang: str | None = None) -> list[Span]:
        found: list[Span] = []
        # one-word names held back only for being common words: linked after all when the article names the same
        # issuer plainly elsewhere ("Siemens AG ... Siemens")
        held: list[tuple[int, int, str, str]] = []
        for item in self._name_hits(text, words, model, model_ran, lang):
            if isinstance(item, Span):
                found.append(item)
            else:
                held.append(item)
        linked = {sp.link["id"] for sp in found if sp.link and sp.link["confidence"] >= 0.7}
        for start, end, iid, surface in held:
            method = None
            if iid in linked:
                method = "name_again"
            elif self.issuers[iid].score >= PROMINENT and any(
                    sp.link and sp.link["confidence"] >= 0.7 and sp.link["id"] != iid and
                    _listed_with(text, (start, end), (sp.start, sp.end)) for sp in found):
                method = "name_among_companies"  # "Volkswagen und Bayer gewannen": listed with another company
            if method:
                found.append(Span(start, end, "ORG", "company",
                                  link("issuer", iid, self.issuers[iid].name, 0.7, method, surface),
                                  ("issuer", iid)))
        return found

    def _name_hits(self, text: str, words: list[re.Match[str]], model: list[Span], model_ran: bool,
                   lang: str | None) -> Iterable[Span | tuple[int, int, str, str]]:
        keep = [(i, G.fold(w.group())) for i, w in enumerate(words)
                if (norm_name(w.group()) or w.group().isdigit()) and G.fold(w.group()) not in _JOINERS]
        j = 0
        while j < len(keep):
            hit = None
            for n in range(min(self.longest, len(keep) - j), 0, -1):
                part = keep[j:j + n]
                cands = self.names.get(tuple(f for _, f in part))
                if not cands:
                    continue
                ws = [words[i] for i, _ in part]
                if not all(_gap_ok(text[a.end():b.start()]) for a, b in zip(ws, ws[1:])):
                    continue
                first = ws[0].group()
                if not (first[:1].isupper() or first[:1].isdigit()):
                    continue
                if n == 1 and (first.casefold() in self._blocked or len(first) < 3) and \
                        (part[0][1],) not in self.aliases:
                    continue  # a stop word, a country or a two-letter word, unless a curated alias ("VW", "GE")
                hit = (n, ws, cands)
                break
            if hit is None:
                j += 1
                continue
            n, ws, cands = hit
            j += n
            start, end = ws[0].start(), ws[-1].end()
            # a legal form right after the name belongs to it ("Apple Inc.", "Siemens AG")
            k = words.index(ws[-1]) + 1
            suffix = False
            while k < len(words) and _legal_word(text, words[k]) and _suffix_gap_ok(text[end:words[k].start()], suffix):
                end, suffix, k = words[k].end(), True, k + 1
            if suffix and end < len(text) and text[end] == ".":
                end += 1
            iid, weight = self._pick(cands, lang)
            iss = self.issuers[iid]
            surface = text[start:end]
            single = n == 1
            key = tuple(f for _, f in keep[j - n:j])
            initial = _opens_sentence(text, start)
            prominent = iss.score >= PROMINENT
            cue = False
            if single and not suffix:
                ticker = PAT_PAREN.match(text, end)
                vouched = ticker is not None and any(t == ticker.group(1) for t, _ in iss.listings)
                alias = key in self.aliases
                common = zipf(first, lang)
                if not vouched and not alias:
                    if iss.score < MIN_NOTABLE:
                        continue  # "OMS", "Design": a one-word name of a little-known issuer
                    if common >= COMMON_ZIPF and not prominent and (first.isupper() or common >= VERY_COMMON_ZIPF):
                        continue  # "FBI", "TVA", "CSU"; "Sport", "Groupe"
                if not vouched and any(m.type in ("PER", "LOC") and m.start <= start and end <= m.end and
                                       (m.start, m.end) != (start, end) and
                                       not _has_cue(text[m.start:start] + " " + text[end:m.end])
                                       for m in model):
                    continue  # part of a longer name of a person or a place ("Ferdinand Porsche", "Léonard de Vinci")
                cue = business_cue(text, start, end)
                if not vouched and common >= COMMON_ZIPF and not first.isupper():
                    exact = [m.type for m in model if (m.start, m.end) == (start, end)]
                    says_company = any(t in ("ORG", "PRODUCT") for t in exact)
                    # a prominent company named where the sentence speaks of business, and the model does not call
                    # the word a person or a place: "Siemens-Aktie", "der Versicherer Allianz", "Bayer hat den Umsatz"
                    by_context = prominent and cue and not any(t in ("PER", "LOC") for t in exact) and \
                        (not initial or common < INITIAL_CUE_ZIPF)
                    if model_ran and not says_company and not by_context:
                        yield (start, end, iid, surface)  # "Orange" the colour, "Total" the word; unless named again
                        continue
                    if not model_ran and not alias and not prominent:
                        continue  # no model to ask: only the best-known companies
            if not single:
                conf = 0.85
            elif first.isupper() and len(first) >= 3:
                conf = 0.75
            elif (prominent or iss.score >= 15) and (not initial or cue or zipf(first, lang) < INITIAL_PLAIN_ZIPF):
                conf = 0.7
            else:
                conf = 0.6
            if single and key in self.aliases:
                conf = max(conf, 0.8)  # a curated short name of a well-known company
            if suffix:
                conf += 0.1
            rival = next((c for c in cands if c[0] != iid), None)
            if rival is not None and (iid, weight) == cands[0] and self.issuers[rival[0]].score >= iss.score * 0.8 \
                    and rival[1] >= weight:  # two issuers as well known by the name (not settled by home market)
                conf -= 0.1
            if weight < 0.95:  # a leading acronym ("LVMH" of a longer name) is weaker than the name itself
                conf *= weight
            method = "name"
            lk = link("issuer", iid, iss.name, min(conf, 0.97), method, surface)
            m = PAT_PAREN.match(text, end)
            if m and any(t == m.group(1) for t, _ in iss.listings):
                lk["confidence"], lk["method"] = 0.98, "name+ticker"
                lk["evidence"].append(m.group(1))
            yield Span(start, end, "ORG", "company", lk, ("issuer", iid))

    def _pick(self, cands: list[tuple[str, float]], lang: str | None) -> tuple[str, float]:
        """The issuer a name means: the first candidate, unless it is foreign to the article's language and a
        prominent issuer of that language's home markets carries the name as well (``Merck`` in German is Merck
        KGaA of Darmstadt, in English Merck & Co.)."""
        top = cands[0]
        home = HOME_MARKETS.get(lang or "")
        if not home or self.issuers[top[0]].country in home or top[1] > 1.0:
            return top
        for c in cands[1:]:
            iss = self.issuers[c[0]]
            if iss.country in home and iss.score >= PROMINENT and c[1] >= min(top[1], 0.95):
                return c
        return top

    def _tickers(self, text: str) -> Iterable[Span]:
        for pat, conf, method in ((PAT_EXCHANGE, 0.95, "exchange_ticker"), (PAT_RIC, 0.9, "ric"),
                                  (PAT_CASHTAG, 0.8, "cashtag")):
            for m in pat.finditer(text):
                ticker = m.group(1).upper()
                if pat is PAT_EXCHANGE:
                    ex = re.sub(r"\s+", " ", m.group(0)[1:m.group(0).index(":")].strip().upper())
                    mics: tuple[str | None, ...] = (EXCHANGES.get(ex),)
                elif pat is PAT_RIC:
                    mics = (RIC[m.group(2)],)
                else:
                    mics = DEFAULT_MICS
                hit = self.listing(ticker, mics)
                if hit is None:
                    continue
                lid, iid = hit
                yield Span(m.start(1), m.end(1), "ORG", "company",
                           link("listing", lid, self.issuers[iid].name, conf, method, m.group(0).strip()),
                           ("issuer", iid))

    def listing(self, ticker: str, mics: tuple[str | None, ...]) -> tuple[str, str] | None:
        """The listing of ``ticker`` on the first of ``mics`` that has one (None in ``mics``: any US venue)."""
        rows = self.tickers.get(ticker.upper(), [])
        for mic in mics:
            want = DEFAULT_MICS if mic is None else (mic,)
            for w in want:
                for rmic, lid, iid in rows:
                    if rmic == w:
                        return lid, iid
        return None

    def _isin(self, m: re.Match[str]) -> Span | None:
        from stdnum import isin as stdisin

        code = m.group()
        if not stdisin.is_valid(code):
            return None
        hit = self.isins.get(code)
        if hit:
            sid, iid = hit
            return Span(m.start(), m.end(), "ORG", "company",
                        link("security", sid, self.issuers[iid].name, 0.99, "isin", code), ("issuer", iid))
        return Span(m.start(), m.end(), "MISC", "company", link("isin", code, code, 0.9, "isin_checksum", code),
                    ("isin", code))


#: legal forms that may follow a company's name ("Siemens AG", "Apple Inc.", "BP p.l.c." is read letter by letter)
LEGAL_FORMS = frozenset({
    "ag", "sa", "se", "nv", "bv", "spa", "sas", "sarl", "sca", "gmbh", "kgaa", "ab", "asa", "oyj", "as", "a/s",
    "inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "plc", "llc", "lp", "llp",
})


def _legal_word(text: str, word: re.Match[str]) -> bool:
    """A legal form (``AG``, ``Inc``), or one capital letter of a dotted one (``S`` of ``S.A.``)."""
    w = word.group()
    if len(w) == 1:  # one letter of S.A., N.V.: dotted and next to another dotted capital (not "M. Zuckerberg")
        p = word.start()
        return w.isupper() and (_DOTTED_NEXT.match(text, p) is not None or _DOTTED_PREV.search(text[max(0, p - 3):p])
                                is not None)
    return w[:1].isupper() and G.fold(w) in LEGAL_FORMS


_DOTTED_NEXT = re.compile(r"[A-Z]\. ?[A-Z]\.")
_DOTTED_PREV = re.compile(r"[A-Z]\. ?$")


def _suffix_gap_ok(gap: str, inside: bool) -> bool:
    """What may stand between a name and its legal form ("Apple Inc", "Apple, Inc", "Danone S.A."): a space or a
    comma and a space, on the same line; inside the legal form also a full stop ("S.A")."""
    if "\n" in gap:
        return False
    return gap in (" ", ", ", "\u00a0") or (inside and gap in (".", ". "))


def _gap_ok(gap: str) -> bool:
    """What may stand between two words of a name: separators, legal words and "and", 12 characters at most."""
    if len(gap) > 12:
        return False
    rest = _SEP.sub(" ", gap).split()
    return all(not norm_name(w) or G.fold(w) in _JOINERS for w in rest)


def _opens_sentence(text: str, start: int) -> bool:
    """Whether a name at ``start`` opens its text, line or sentence: the last character before it, blanks and
    carriage returns skipped, is none, a line feed, or a sentence mark with a blank after it ("rose.  Vinci",
    "Titre\r\nVinci"; not "Hier.Vinci")."""
    i = start
    while i > 0 and text[i - 1] in _BLANKS:
        i -= 1
    return i == 0 or text[i - 1] in "\n" or (i < start and text[i - 1] in ".!?")


_BLANKS = frozenset(" \t\r\u00a0")


def isin_spans(text: str) -> list[tuple[int, int, str]]:
    """Valid ISINs in ``text`` (used where no master is loaded)."""
    from stdnum import isin as stdisin

    return [(m.start(), m.end(), m.group()) for m in PAT_ISIN.finditer(text) if stdisin.is_valid(m.group())]


def spacy_stop_words(lang: str) -> frozenset[str]:
    """spaCy's stop words of ``lang``, read from the installed spaCy's ``lang/<lang>/stop_words.py`` alone: importing
    it as ``spacy.lang.<lang>.stop_words`` would run the language package first, and French tokenizer exceptions
    take seconds to compile, on every cold ``news add`` that never reads French."""
    import importlib.util

    spec = importlib.util.find_spec("spacy")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    path = Path(next(iter(spec.submodule_search_locations))) / "lang" / lang / "stop_words.py"
    part = importlib.util.spec_from_file_location(f"_marketwire_spacy_stop_words_{lang}", path)
    if part is None or part.loader is None or not path.is_file():
        return frozenset()
    module = importlib.util.module_from_spec(part)
    part.loader.exec_module(module)
    return frozenset(getattr(module, "STOP_WORDS", ()))


def _blocked_words() -> frozenset[str]:
    """Words a one-word company name must not be: stop words, countries, demonyms, capitals, people."""
    words = {w.casefold() for lang in ("en", "fr", "de") for w in spacy_stop_words(lang)}
    g = G.for_language(None)
    words |= {k[0] for k in g.names if len(k) == 1}
    return frozenset(words)


_cache_lock = threading.Lock()
_cache: dict[str, tuple[Any, CompanyIndex]] = {}


#: bump when the saved index changes shape (a file of another format is rebuilt, never misread)
SAVED_FORMAT = 3


def _saved_path(lake: Lake, stamp: Any) -> Path | None:
    """Beside the lake (``<home>/cache/news``) for a local lake; None for remote storage."""
    if "://" in lake.root and not lake.root.startswith("file://"):
        return None
    root = Path(lake.root.removeprefix("file://"))
    digest = hashlib.sha256(repr((SAVED_FORMAT, stamp, _aliases_digest())).encode()).hexdigest()[:16]
    return root.parent / "cache" / "news" / f"companies-{digest}.pickle"


def _aliases_digest() -> str:
    """The aliases table's content: a saved index built with another table is rebuilt."""
    from importlib import resources

    data = resources.files(G.__package__).joinpath("company_aliases.csv").read_bytes()
    return hashlib.sha256(data).hexdigest()[:16]


def _load_saved(lake: Lake, stamp: Any) -> CompanyIndex | None:
    """The index saved by an earlier process for this exact master version (building it takes seconds)."""
    p = _saved_path(lake, stamp)
    if p is None or not p.is_file():
        return None
    enabled = gc.isenabled()
    gc.disable()  # the index is millions of small objects, none cyclic garbage: collections would triple the load
    try:
        with p.open("rb") as f:
            idx = pickle.load(f)  # noqa: S301 - our own file, in the user's own cache folder
        return idx if isinstance(idx, CompanyIndex) else None
    except Exception:  # a truncated or foreign file is rebuilt
        return None
    finally:
        if enabled:
            gc.enable()


def _save(lake: Lake, stamp: Any, idx: CompanyIndex) -> None:
    p = _saved_path(lake, stamp)
    if p is None:
        return
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        for old in p.parent.glob("companies-*.pickle"):
            old.unlink(missing_ok=True)
        tmp = p.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        with tmp.open("wb") as f:
            pickle.dump(idx, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, p)
    except OSError:  # a read-only home still works, only slower
        pass
