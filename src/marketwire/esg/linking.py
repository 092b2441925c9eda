"""Entity resolution of ESG source entities to the master's issuers, only through the identity service.

Order of evidence (the first that decides wins; each link keeps its method, confidence and evidence):

1. **ISIN**, then **LEI**: ``identity.resolve`` of the identifier; an identifier the master holds links with
   confidence 1.0 when the entity's name agrees with its holder's (an identifier it does not know falls through to
   the name). Names that agree only through their first word (:func:`first_word_only`: ``Duke Energy`` and the
   holder ``Duke Royalty``) do not: the identifier alone is not trusted and the entity waits for review with the
   holder and the issuers its name points to as candidates.
2. **Ticker** (sources keyed by symbol): the resolved listing's issuer, 0.97 when the source's name agrees with the
   master's (:func:`marketwire.sources.classify.same_entity_name`), else it waits for review.
3. **Name**: names are normalised across languages and legal forms (AG, SE, S.A., plc, Inc., N.V., GmbH, SpA,
   Oyj, AB, K.K., Aktiengesellschaft, Société Anonyme ...; accents folded, ``&`` as ``and``, share-class
   descriptors dropped). An exact normalised match to exactly one equity issuer of the entity's country links
   with 0.97; one issuer of unknown country, or several issuers of the country of which exactly one has an ISIN,
   0.90. Anything else (no exact match, a match in another country only, several equal candidates) is below the
   threshold: the entity waits in the review queue with its best candidates (fuzzy scores within the first
   word's block, rapidfuzz ``token_sort_ratio``), never dropped and never guessed.

Sector is recorded as evidence (the master's issuers carry no sector in the rows identity exposes to verticals),
and does not move the confidence.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from marketwire.errors import Ambiguous, InvalidIdentifier, MarketwireError, NotFound
from marketwire.sources.classify import norm_name, same_entity_name

#: a link at or above this confidence is made; below it the entity waits for review
THRESHOLD = 0.9

#: legal forms and descriptors in the languages the sources use, dropped before comparing names
LEGAL_FORMS = {
    "inc", "incorporated", "corp", "corporation", "co", "cos", "company", "companies", "ltd", "limited", "plc",
    "llc", "lp", "llp", "the", "and", "of", "holding", "holdings", "hldgs", "group", "grp", "groupe", "gruppe", "grupo", "gruppo",
    "ag", "aktiengesellschaft", "se", "sa", "nv", "bv", "naamloze", "vennootschap", "gmbh",
    "kg", "kgaa", "mbh", "spa", "srl", "sarl", "sas", "societe", "anonyme", "sociedad", "anonima", "sab", "cv",
    "de", "oyj", "abp", "oy", "ab", "publ", "aktiebolag", "asa", "as", "aps", "kk", "kabushiki", "kaisha", "tbk",
    "pt", "pcl", "bhd", "berhad", "nl", "sca", "scs", "sae", "saa", "vna", "on", "inh", "akt", "na", "eo",
    "dm", "adr", "ads", "reg", "registered", "shs", "ord", "class", "cl", "new", "pjsc", "ojsc", "jsc", "pao",
    "sp", "spzoo", "ltda", "cia", "ltee", "limitee", "kgaa",
}
#: share-class and currency descriptors of venue names (``LUFTHANSA AG VNA O.N.``, ``AXA S.A. INH. EO 2,29``):
#: a number right after one of them is a nominal value, not part of the name
_DESCRIPTORS = {"dm", "eo", "dl", "ls", "sf", "on", "o", "n", "inh", "vna", "na", "reg", "nam", "akt", "hk", "yc"}
#: descriptors of venue names that are words of a company name when they open it (``New Palace International``)
_NAME_WORDS = {"new", "class", "national"}
_ALIASES = {"intl": "international", "mfg": "manufacturing", "natl": "national", "svcs": "services"}


#: letters NFKD does not decompose (Polish, Danish, Norwegian, German, Icelandic, Croatian, French): spelled out
_LETTERS = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "đ": "d",
                          "Đ": "D", "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "TH", "ı": "i"})


def fold(text: str) -> str:
    """Accents and the letters NFKD keeps (``ł``, ``ø``, ``ß`` ...) folded to ASCII (``Spółka`` -> ``Spolka``)."""
    return unicodedata.normalize("NFKD", text.translate(_LETTERS)).encode("ascii", "ignore").decode()


_PAREN = re.compile(r"\(.*?\)")
_SLASHED = re.compile(r"\b([a-z])\s*/\s*([a-z])\b")
_SPA = re.compile(r"\bs\.?\s*p\.?\s*a\b\.?")  # S.p.A, S. p. A., SpA: one token (a lone "p" is an initial: J P Morgan)
_SPZOO = re.compile(r"\bsp\.?\s*z\.?\s*o\.?\s*o\.?")
_ON = re.compile(r"\bo\.\s*n\.")
_DOTTED = re.compile(r"\b([a-z])\.(?=[a-z]\.)")
_INITIAL = re.compile(r"\b([a-z])\.")
_SPLIT = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=1 << 17)
def normalise(name: str | None) -> str:
    """A company name reduced for comparison: accents folded, lower case, legal forms and descriptors dropped."""
    if not name:
        return ""
    n = fold(name).lower()
    n = _PAREN.sub(" ", n)  # "(Saudi Aramco)", "(publ)"
    n = n.replace("&", " and ").replace("'", "")
    n = _SLASHED.sub(r"\1\2", n)  # A/S, S/A
    n = _SPZOO.sub(" spzoo ", n)
    n = _SPA.sub(" spa ", n)
    n = _ON.sub(" on ", n)  # O.N. (ohne Nennwert) of German venue names
    n = _DOTTED.sub(r"\1", n)  # S.p.A., N.V. -> spa, nv
    n = _INITIAL.sub(r"\1", n)
    toks = [_ALIASES.get(t, t) for t in _SPLIT.split(n) if t]
    kept = []
    after_descriptor = False
    for i, t in enumerate(toks):
        if t.isdigit() and after_descriptor:
            continue
        after_descriptor = t in _DESCRIPTORS or (after_descriptor and t.isdigit())
        if t not in LEGAL_FORMS or (i == 0 and t in _NAME_WORDS):
            kept.append(t)
    return " ".join(kept) or " ".join(toks) or norm_name(name)


#: legal forms of private companies: an entity with one of these is not the listed issuer of the same name (it is
#: a subsidiary) unless the issuer's own name has that form too
PRIVATE_FORMS = {"gmbh", "mbh", "bv", "sarl", "sas", "srl", "sl", "llc", "spzoo", "sro", "kft", "oy", "ltda", "sasu"}
#: the countries whose law a legal form belongs to (a form of another country than the issuer's: a subsidiary)
FORM_COUNTRIES = {
    "gmbh": {"DE", "AT", "CH", "LI", "LU"}, "mbh": {"DE", "AT", "CH"}, "ag": {"DE", "AT", "CH", "LI", "LU"},
    "aktiengesellschaft": {"DE", "AT", "CH", "LI"}, "kgaa": {"DE", "AT", "LU"}, "sas": {"FR", "LU"},
    "sasu": {"FR"}, "spa": {"IT", "CL"}, "srl": {"IT", "RO", "MD", "AR"}, "bv": {"NL", "BE"},
    "nv": {"NL", "BE", "CW", "SR"}, "plc": {"GB", "IE", "JE", "GG", "IM", "CY", "MT", "NG", "LK", "BM"},
    "inc": {"US", "CA", "PH", "KR", "TW", "JP", "BM", "KY", "VG", "MH", "PR", "PA", "LR"},
    "llc": {"US", "RU", "UA", "GE", "AZ", "KZ", "AM", "AE", "OM", "QA"}, "ab": {"SE"}, "oyj": {"FI"},
    "oy": {"FI"}, "asa": {"NO"}, "sl": {"ES"},
    # société / sociedad / spółka akcyjna: civil-law Europe and Latin America, never a common-law country's
    "sa": {"FR", "BE", "LU", "CH", "ES", "PT", "PL", "GR", "MC", "AR", "BR", "CL", "CO", "MX", "PE", "UY", "EC",
           "PY", "BO", "VE", "GT", "CR", "PA", "DO", "MA", "TN", "SN", "CI"}, "spzoo": {"PL"}, "sro": {"CZ", "SK"}, "kft": {"HU"},
    # "Ltd" is used across the common-law world and by East Asian companies ("Co., Ltd."), never in the US
    "ltd": {"GB", "IE", "HK", "IN", "AU", "NZ", "SG", "ZA", "CN", "JP", "KR", "TW", "TH", "IL", "BM", "KY", "VG", "JE",
            "GG", "IM", "CY", "MT", "NG", "KE", "MY", "PK", "BD", "LK", "CA", "MO", "PH", "ID", "VN", "GI", "MU"},
}
FORM_COUNTRIES["limited"] = FORM_COUNTRIES["ltd"]
#: company words that say a name is a legal entity's, not a brand's ("Yamato Holdings Co" is not "Yamato Corp")
_GENERIC_FORMS = {"co", "corp", "corporation", "company", "incorporated", "inc", "ltd", "limited", "plc"}
#: words that tell a holding or a group apart from its operating company
_LAYERS = {"holding", "holdings", "group", "groupe", "gruppe", "grupo", "gruppo", "groep", "grp", "hldgs"}
#: a master name that is an instrument, not a company (bonds and certificates with dates or rates in the name)
_INSTRUMENT = re.compile(r"\d{1,2}/\d{1,2}|\bFLR\b|\bZERO\b|\d+[,.]\d+\s*%", re.IGNORECASE)


def _layers(name: str | None) -> set[str]:
    """The holding or group layer a name states, in one spelling (``Grp``, ``Groupe`` -> group; ``Hldgs`` ->
    holding)."""
    return {"holding" if w.startswith(("hold", "hldg")) else "group" for w in _words(name) & _LAYERS}


def legal_forms(name: str | None) -> set[str]:
    """The legal-form tokens a name carries (``Siemens Aktiengesellschaft`` -> {aktiengesellschaft})."""
    if not name:
        return set()
    t = fold(name).lower()
    t = re.sub(r"\bsp\.?\s*z\.?\s*o\.?\s*o\.?", " spzoo ", t)
    t = re.sub(r"\bs\.?\s*r\.?\s*o\.?(?=\s|$)", " sro ", t)
    t = t.replace(".", "")
    toks = set(re.split(r"[^a-z0-9]+", t))
    return toks & (set(FORM_COUNTRIES) | PRIVATE_FORMS)


def _words(name: str | None) -> set[str]:
    t = fold(name or "").lower()
    return set(re.split(r"[^a-z0-9]+", t)) - {""}


def form_conflict(entity_name: str | None, issuer_name: str | None, issuer_country: str | None) -> str | None:
    """Why the entity is likely another legal entity than the issuer (a subsidiary, an operating company of a listed
    holding, a national company of a foreign group), or None."""
    ef, inf = legal_forms(entity_name), legal_forms(issuer_name)
    private = (ef & PRIVATE_FORMS) - inf
    if private:
        return f"the entity's legal form ({', '.join(sorted(private))}) is a private company's; the issuer's is not"
    if ef & {"ltd", "limited"} and "plc" in inf:
        return "a private limited company (Ltd) beside a public limited company (plc) of the same name"
    layers = _layers(entity_name) ^ _layers(issuer_name)
    if (ef or _words(entity_name) & _GENERIC_FORMS) and layers:
        return (f"one name says {', '.join(sorted(layers))} and the other does not: a holding and its operating "
                "company are different legal entities")
    national_e = [FORM_COUNTRIES[f] for f in ef if f in FORM_COUNTRIES]
    national_i = [FORM_COUNTRIES[f] for f in inf if f in FORM_COUNTRIES]
    if national_e and national_i and not set.union(*national_e) & set.union(*national_i):
        return "the two names carry legal forms of different countries"
    if issuer_country:
        foreign = [f for f in ef if f in FORM_COUNTRIES and issuer_country not in FORM_COUNTRIES[f] and f not in inf]
        if foreign:
            return (f"the entity's legal form ({', '.join(sorted(foreign))}) is not of the issuer's country "
                    f"({issuer_country}): likely a subsidiary")
    return None


#: spellings of one legal form (``Limited`` and ``Ltd``, ``Corporation`` and ``Corp`` ...)
_FAMILY = {"limited": "ltd", "corporation": "corp", "incorporated": "inc", "aktiengesellschaft": "ag",
           "companies": "company", "cos": "company", "co": "company"}
#: national legal forms whose law names a country (``corp`` as ``inc``): when an entity's name and the issuer's own
#: name carry the same one, and the issuer's country is one of the form's, the form confirms the country
CONFIRMING = {**{_FAMILY.get(k, k): v for k, v in FORM_COUNTRIES.items()}, "corp": FORM_COUNTRIES["inc"],
              "tbk": {"ID"}}
#: every legal-form token (generic, national, private), in family spelling
ALL_FORMS = {_FAMILY.get(k, k) for k in set(FORM_COUNTRIES) | PRIVATE_FORMS | _GENERIC_FORMS} | {
    "sa", "se", "spa", "nv", "asa", "oyj", "ab", "tbk", "pcl", "bhd", "berhad", "pjsc", "jsc", "sab", "lp", "llp",
    "kgaa", "sca", "ltda", "company"}


def forms_of(name: str | None) -> set[str]:
    """Every legal-form token of a name, in family spelling (``Kimberly-Clark Corporation`` -> {corp})."""
    if not name:
        return set()
    t = fold(name).lower()
    t = re.sub(r"\bsp\.?\s*z\.?\s*o\.?\s*o\.?", " spzoo ", t).replace(".", "")
    return {_FAMILY.get(x, x) for x in re.split(r"[^a-z0-9]+", t)} & ALL_FORMS


def form_country(entity_name: str | None, issuer: Issuer) -> str | None:
    """The legal form that confirms the issuer's country for an entity whose own country is unknown or only its
    registry's (an EU ETS account is held in the administering state): a national form both the entity's name and
    one of the issuer's names carry, of the issuer's country; else None."""
    if not issuer.country:
        return None
    ef = {f for f in forms_of(entity_name) if f in CONFIRMING}
    if not ef:
        return None
    # the issuer's current name decides when it carries a form (a listing's older name, e.g. ``Alcoa Inc.`` of a
    # recycled ticker, is not the issuer's); else any of its names (venue names often drop the form)
    inf = forms_of(issuer.name)
    if not inf:
        for n in issuer.names:
            inf |= forms_of(n)
    for f in sorted(ef & inf):
        if issuer.country in CONFIRMING[f]:
            return f
    return None


def formless_issuer(entity_name: str | None, issuer: Issuer) -> str | None:
    """Why an entity whose name carries a legal form is not a US issuer none of whose names carries one: a US
    issuer's names in the master are the names registered with the SEC and its venues, so when none has a form the
    registered name has none (``Phillips 66``, ``ConocoPhillips``) and ``Phillips 66 Company`` is another legal
    entity of the group (its operating company). Elsewhere the master's names are often short venue or translated
    names without the form (``Sumitomo Chemical``, ``EDENRED EO 2``), which says nothing about the legal name."""
    ef = forms_of(entity_name)
    if issuer.country != "US" or not ef or not issuer.names or any(forms_of(n) for n in issuer.names):
        return None
    return (f"the entity's name carries a legal form ({', '.join(sorted(ef))}) and no name of the US issuer carries "
            "any: the issuer's registered name has none, so the entity is another legal entity of the group")


def other_forms(entity_name: str | None, issuer: Issuer) -> str | None:
    """Why an entity whose country does not confirm the match is not the issuer: both names carry legal forms and
    they have none in common (``ST MICROELECTRONICS SA``, a French company of the group, and ``STMicroelectronics
    N.V.``; ``Arconic Inc`` and ``Arconic Corporation``)."""
    ef = forms_of(entity_name) - {"company"}
    inf: set[str] = set()
    for n in issuer.names:
        inf |= forms_of(n)
    inf -= {"company"}
    if ef and inf and not ef & inf:
        return (f"the names carry different legal forms ({', '.join(sorted(ef))} / {', '.join(sorted(inf))}) and "
                "no country confirms them: likely another legal entity")
    return None


def names_agree(a: str | None, b: str | None) -> bool:
    """Do two names plausibly name one company (renames keeping the brand, abbreviations, legal forms apart)?"""
    from rapidfuzz import fuzz

    if same_entity_name(a, b):
        return True
    na, nb = normalise(a), normalise(b)
    return bool(na and nb) and fuzz.token_set_ratio(na, nb) >= 80


def _corresponds(x: str, y: str) -> bool:
    """Are two words of names one word written two ways: an abbreviation (same first letter, the shorter's letters
    in order in the longer: ``mat``/``materials``, ``finl``/``financial``), a shared stem of four letters or more
    (``european``/``europacific``), or spelling noise (``spgs``/``sgps``)?"""
    from rapidfuzz import fuzz

    s, w = (x, y) if len(x) <= len(y) else (y, x)
    if s[0] == w[0]:
        rest = iter(w)
        if all(c in rest for c in s):
            return True
    return (len(s) >= 4 and w.startswith(s[:4])) or fuzz.ratio(x, y) >= 75


def first_word_only(a: str | None, b: str | None) -> str | None:
    """Why two names agree only through their first word, or None: both normalised names open with the same word
    and each keeps, after it, a word the other has in no form (``Duke Energy`` / ``Duke Royalty``, ``Mitsubishi UFJ
    Lease`` / ``Mitsubishi Materials``). Words one name adds to the other (``Deckers`` / ``Deckers Outdoor``),
    abbreviations (``MITSUBISHI MAT.``), venue descriptors and nominal values are not distinctive. Such names are
    usually two companies of one family or one word (a trading name or a rename looks the same and goes to review
    too: the names cannot tell them apart)."""
    ta, tb = normalise(a).split(), normalise(b).split()
    if not ta or not tb or ta[0] != tb[0] or "".join(ta) == "".join(tb):
        return None

    def distinct(toks: list[str], other: list[str]) -> list[str]:
        return [t for t in toks[1:] if t not in other and t not in _DESCRIPTORS and not t.isdigit()]

    ra, rb = distinct(ta, tb), distinct(tb, ta)
    for x in list(ra):
        y = next((y for y in rb if _corresponds(x, y)), None)
        if y is not None:
            ra.remove(x)
            rb.remove(y)
    if ra and rb:
        return f"only the first word {ta[0]!r} agrees: {' '.join(ra)!r} against {' '.join(rb)!r}"
    return None


class Identity(Protocol):
    def resolve(self, id: str, as_of: Any = None) -> list[dict[str, Any]]: ...

    def company_rows(self) -> list[dict[str, Any]]: ...


@dataclass
class Issuer:
    issuer_id: str
    name: str
    country: str | None
    security_id: str | None = None
    isin: bool = False
    listings: int = 0
    index_member: bool = False
    names: set[str] = field(default_factory=set)
    tickers: set[str] = field(default_factory=set)


@dataclass
class Link:
    entity_id: str
    status: str
    issuer_id: str | None
    security_id: str | None
    issuer_name: str | None
    method: str | None
    confidence: float
    raw_name: str | None
    country: str | None
    sector: str | None
    evidence: dict[str, Any]
    candidates: list[dict[str, Any]]

    def record(self) -> dict[str, Any]:
        return {"entity_id": self.entity_id, "status": self.status, "issuer_id": self.issuer_id,
                "security_id": self.security_id, "issuer_name": self.issuer_name, "method": self.method,
                "confidence": round(self.confidence, 4), "raw_name": self.raw_name, "country": self.country,
                "sector": self.sector, "evidence": json.dumps(self.evidence, ensure_ascii=False, sort_keys=True),
                "candidates": json.dumps(self.candidates, ensure_ascii=False)}


_EQUITY = {"equity", "stock", "common", "preferred", None}


class Linker:
    """Links entities (dicts with entity_id, name, country, sector and optional isin, lei, ticker) to issuers."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self._issuers: dict[str, Issuer] | None = None
        self._by_norm: dict[str, list[str]] = {}
        self._blocks: dict[str, list[str]] = {}
        self._by_compact: dict[str, list[str]] = {}

    # -- the master's issuers, indexed by normalised name --------------------------------------------------------
    def _index(self) -> dict[str, Issuer]:
        if self._issuers is not None:
            return self._issuers
        issuers: dict[str, Issuer] = {}
        for r in self.identity.company_rows():
            if r.get("type") not in _EQUITY:
                continue
            iid = r["issuer_id"]
            it = issuers.get(iid)
            if it is None:
                it = issuers[iid] = Issuer(iid, r.get("issuer_name") or r.get("security_name") or "",
                                           r.get("issuer_country"), r.get("security_id"))
            it.isin = it.isin or bool(r.get("isin"))
            if r.get("isin") and it.security_id != r.get("security_id") and not it.isin:
                it.security_id = r.get("security_id")
            it.listings += 1 if r.get("listing_id") else 0
            it.index_member = it.index_member or bool(r.get("index_member"))
            if r.get("ticker"):
                it.tickers.add(str(r["ticker"]).upper())
            for n in (r.get("issuer_name"), r.get("security_name"), r.get("listing_name")):
                if n and not _INSTRUMENT.search(n):
                    it.names.add(n)
        by_norm: dict[str, set[str]] = defaultdict(set)
        for it in issuers.values():
            for n in it.names:
                k = normalise(n)
                if k:
                    by_norm[k].add(it.issuer_id)
        self._by_norm = {k: sorted(v) for k, v in by_norm.items()}
        by_compact: dict[str, set[str]] = defaultdict(set)
        for k, v in self._by_norm.items():
            by_compact[k.replace(" ", "")] |= set(v)
        self._by_compact = {k: sorted(v) for k, v in by_compact.items()}
        blocks: dict[str, list[str]] = defaultdict(list)
        for k in self._by_norm:
            blocks[k.split()[0]].append(k)
        self._blocks = dict(blocks)
        self._issuers = issuers
        return issuers

    def same_company(self, issuer_id: str) -> list[str]:
        """Other issuers of the master that are the same company as ``issuer_id``: a name equal once normalised and
        written without spaces (``J P Morgan Chase & Co`` and ``JPMorgan Chase & Co.``), the same country (or one
        unknown) and a ticker in common. The master can hold one company as two issuers (a venue's directory name
        and a reference file's name that its name key does not join); an ESG query by any id of the company reads
        the links of all of them."""
        issuers = self._index()
        it = issuers.get(issuer_id)
        if it is None or not it.tickers:
            return []
        out: set[str] = set()
        for n in it.names:
            c = normalise(n).replace(" ", "")
            if len(c) < 4:
                continue
            for j in self._by_compact.get(c, ()):
                o = issuers[j]
                if j != issuer_id and (not o.country or not it.country or o.country == it.country) and \
                        o.tickers & it.tickers:
                    out.add(j)
        return sorted(out)

    # -- one entity ----------------------------------------------------------------------------------------------
    def link(self, e: dict[str, Any]) -> Link:
        name, country, sector = e.get("name"), e.get("country"), e.get("sector")
        ev: dict[str, Any] = {"name": name, "country": country, "sector": sector}
        if e.get("installation_countries"):
            ev["installation_countries"] = e["installation_countries"]
        for scheme in ("isin", "lei"):
            ident = e.get(scheme)
            if not ident:
                continue
            ev[scheme] = ident
            m = self._resolve(ident)
            if isinstance(m, dict) and m.get("issuer_id"):
                held = m.get("issuer_name") or m.get("name")
                ev[f"{scheme}_match"] = held
                ev["name_agrees"] = names_agree(name, held)
                conflict = form_conflict(name, held, m.get("country"))
                if conflict:
                    ev["form_conflict"] = conflict
                if ev["name_agrees"] and not conflict and name:
                    # a shared first word is not enough for an identifier held by a company of another name: one
                    # name of the holder must agree beyond it (sources carry identifiers of related companies)
                    only_first = self._first_word_only(name, m["issuer_id"], held)
                    if only_first:
                        ev["name_agrees"] = False
                        ev["first_word_only"] = only_first
                    else:
                        ev["agreeing_name"] = self._agreeing_name(name, m["issuer_id"], held)
                if (ev["name_agrees"] and not conflict) or not name:
                    return self._made(e, m["issuer_id"], m.get("security_id"), held, scheme, 1.0, ev, [])
                # sources carry wrong identifiers (a tracker's ISIN of another company): never linked on the
                # identifier alone when the names disagree; the holder is offered as a candidate, with the issuers
                # the name alone points to
                ev["why_review"] = conflict or (
                    f"the {scheme.upper()} {ident} is {held!r} in the master, not {name!r}" +
                    (f" ({ev['first_word_only']}): the identifier alone is not trusted"
                     if ev.get("first_word_only") else ""))
                holder = {"issuer_id": m["issuer_id"], "name": held, "country": m.get("country"), "score": 100.0,
                          "has_isin": True, "listings": len(m.get("listings") or [])}
                by_name = [c for c in self._name_candidates(name) if c["issuer_id"] != m["issuer_id"]]
                return Link(e["entity_id"], "review", None, None, None, None, 0.6, name, e.get("country"),
                            e.get("sector"), ev, [holder, *by_name][:5])
            ev[f"{scheme}_result"] = m if isinstance(m, str) else "not in the master"
        if e.get("ticker"):
            ev["ticker"] = e["ticker"]
            # tickers are recycled: the holder on the source's date, else (the master first saw the listing later)
            # today's; either way the names must agree below
            m = self._resolve(e["ticker"], e.get("as_of"))
            if isinstance(m, str) and e.get("as_of") is not None:
                m = self._resolve(e["ticker"])
            if isinstance(m, dict) and m.get("issuer_id"):
                agrees = same_entity_name(name, m.get("issuer_name") or m.get("name"))
                ev["ticker_match"] = m.get("issuer_name") or m.get("name")
                ev["name_agrees"] = agrees
                if agrees:
                    return self._made(e, m["issuer_id"], m.get("security_id"), ev["ticker_match"], "ticker", 0.97,
                                      ev, [])
            else:
                ev["ticker_result"] = m if isinstance(m, str) else "not in the master"
        return self._by_name(e, ev)

    def _holder_names(self, issuer_id: str, held: str | None) -> list[str]:
        it = self._index().get(issuer_id)
        return [n for n in dict.fromkeys([held, *(sorted(it.names) if it else [])]) if n]

    def _first_word_only(self, name: str, issuer_id: str, held: str | None) -> str | None:
        """Why the names of an identifier's holder agree with the entity's only through the first word (none of
        the holder's names agrees beyond it), or None."""
        whys = [first_word_only(name, n) for n in self._holder_names(issuer_id, held)]
        return whys[0] if whys and all(whys) else None

    def _agreeing_name(self, name: str, issuer_id: str, held: str | None) -> str | None:
        return next((n for n in self._holder_names(issuer_id, held) if not first_word_only(name, n)), None)

    def _name_candidates(self, name: str | None) -> list[dict[str, Any]]:
        key = normalise(name)
        issuers = self._index()
        return self._candidates(key, [issuers[i] for i in self._by_norm.get(key, ())])

    def _resolve(self, ident: str, as_of: Any = None) -> dict[str, Any] | str:
        try:
            ms = self.identity.resolve(ident, as_of)
        except Ambiguous as x:
            cands = x.fields.get("candidates") or []
            issuers = {c.get("issuer_id") for c in cands}
            if len(issuers) == 1 and cands:
                return dict(cands[0])
            return f"ambiguous ({len(issuers)} issuers)"
        except (NotFound, InvalidIdentifier) as x:
            return str(x)
        except MarketwireError as x:
            return str(x)
        return ms[0] if ms else "not in the master"

    def _by_name(self, e: dict[str, Any], ev: dict[str, Any]) -> Link:
        link = self._by_name_only(e, ev)
        if link.status != "linked":
            return link
        it = self._index()[link.issuer_id or ""]
        why = form_conflict(e.get("name"), it.name, it.country) or formless_issuer(e.get("name"), it)
        if why is None and not ev.get("country_agrees"):
            why = other_forms(e.get("name"), it)
        key = str(ev.get("normalised", ""))
        if why is None and not ev.get("country_agrees") and not ev.get("country_from_legal_form") and \
                (len(key.split()) == 1 or len(key.replace(" ", "")) <= 5):
            why = "a one-word or very short name without the country to confirm it"
        if why is None:
            return link
        ev["why_review"] = why
        ev.pop("same_company", None)
        cands = link.candidates or [self._cand(it, 100.0)]
        return Link(link.entity_id, "review", None, None, None, None, min(link.confidence, 0.8), link.raw_name,
                    link.country, link.sector, ev, cands)

    def _by_form(self, name: str | None, exact: list[Issuer], ev: dict[str, Any]) -> Issuer | None:
        """The one issuer of the name whose country the entity's legal form confirms (see :func:`form_country`),
        or of several such, the only one with an ISIN; None otherwise."""
        confirmed = [(it, f) for it in exact if (f := form_country(name, it))]
        if len(confirmed) > 1:
            confirmed = [(it, f) for it, f in confirmed if it.isin]
            if len(confirmed) == 1:
                ev["chosen_because"] = "the only issuer of that name and legal form with an ISIN"
        if len(confirmed) != 1:
            return None
        it, f = confirmed[0]
        ev["country_from_legal_form"] = f"{f}: a form of {it.country} law that the issuer's own name carries"
        return it

    def _by_name_only(self, e: dict[str, Any], ev: dict[str, Any]) -> Link:
        issuers = self._index()
        name, country = e.get("name"), e.get("country")
        # an EU ETS account is held in the administering state: that country is the registry's, not the company's
        registry = e.get("country_role") == "registry"
        if registry:
            ev["country_role"] = "registry"
        key = normalise(name)
        ev["normalised"] = key
        exact = [issuers[i] for i in self._by_norm.get(key, ())]
        if not exact and len(key.replace(" ", "")) >= 8:
            # written with or without spaces ("HEIDELBERG CEMENT", "HeidelbergCement"; "J P Morgan", "JPMorgan")
            exact = [issuers[i] for i in self._by_compact.get(key.replace(" ", ""), ())]
            if exact:
                ev["matched_without_spaces"] = True
        cands = self._candidates(key, exact)
        if exact:
            same = [it for it in exact if country and it.country == country]
            unknown = [it for it in exact if not it.country]
            ev["exact_issuers"] = len(exact)
            if len(same) == 1:
                ev["country_agrees"] = True
                return self._made(e, same[0].issuer_id, same[0].security_id, same[0].name, "name", 0.97, ev, cands)
            if len(same) > 1:
                with_isin = [it for it in same if it.isin]
                if len(with_isin) == 1:
                    ev["country_agrees"] = True
                    ev["chosen_because"] = "the only issuer of that name and country with an ISIN"
                    return self._made(e, with_isin[0].issuer_id, with_isin[0].security_id, with_isin[0].name,
                                      "name", 0.9, ev, cands)
                ev["why_review"] = f"{len(same)} issuers of that name in {country}"
            elif (not country or registry) and (by_form := self._by_form(name, exact, ev)) is not None:
                return self._made(e, by_form.issuer_id, by_form.security_id, by_form.name, "name", 0.9, ev, cands)
            elif not country and len(exact) == 1:
                ev["country_agrees"] = None
                return self._made(e, exact[0].issuer_id, exact[0].security_id, exact[0].name, "name", 0.9, ev,
                                  cands)
            elif country and not registry and not same and len(unknown) == 1 and len(exact) == 1:
                ev["country_agrees"] = None
                return self._made(e, unknown[0].issuer_id, unknown[0].security_id, unknown[0].name, "name", 0.9,
                                  ev, cands)
            else:
                ev["why_review"] = "the name matches issuers of other countries only" if country and not same \
                    else f"{len(exact)} issuers of that name"
        else:
            ev["why_review"] = "no issuer of the master has this normalised name"
        best = cands[0]["score"] / 100.0 * 0.85 if cands else 0.0
        return Link(e["entity_id"], "review", None, None, None, None, best, name, country, e.get("sector"), ev,
                    cands)

    def _candidates(self, key: str, exact: list[Issuer], limit: int = 5) -> list[dict[str, Any]]:
        from rapidfuzz import fuzz, process

        issuers = self._index()
        out: dict[str, dict[str, Any]] = {}
        for it in exact:
            out[it.issuer_id] = self._cand(it, 100.0)
        if key:
            block = self._blocks.get(key.split()[0], [])
            for k, score, _ in process.extract(key, block, scorer=fuzz.token_sort_ratio, limit=limit,
                                               score_cutoff=60):
                for iid in self._by_norm[k]:
                    if iid not in out:
                        out[iid] = self._cand(issuers[iid], float(score))
        return sorted(out.values(), key=lambda c: (-c["score"], not c["has_isin"], -c["listings"]))[:limit]

    @staticmethod
    def _cand(it: Issuer, score: float) -> dict[str, Any]:
        return {"issuer_id": it.issuer_id, "name": it.name, "country": it.country, "score": round(score, 1),
                "has_isin": it.isin, "listings": it.listings}

    def _made(self, e: dict[str, Any], issuer_id: str, security_id: str | None, issuer_name: str | None,
              method: str, conf: float, ev: dict[str, Any], cands: list[dict[str, Any]]) -> Link:
        status = "linked" if conf >= THRESHOLD else "review"
        if status == "linked":
            also = self.same_company(issuer_id)
            if also:
                ev["same_company"] = also
        return Link(e["entity_id"], status, issuer_id if status == "linked" else None,
                    security_id if status == "linked" else None, issuer_name if status == "linked" else None,
                    method if status == "linked" else None, conf, e.get("name"), e.get("country"), e.get("sector"),
                    ev, cands or ([{"issuer_id": issuer_id, "name": issuer_name, "score": 100.0}]
                                  if status == "review" else []))


__all__ = ["LEGAL_FORMS", "THRESHOLD", "Link", "Linker", "first_word_only", "fold", "form_country",
           "formless_issuer", "forms_of", "normalise"]
