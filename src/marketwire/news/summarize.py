"""Headline and bullets for an article: extractive sentences, compressed by rules, behind a faithfulness gate.

1. The body is split into sentences. Sentences that are too short, questions, boilerplate or the headline again
   are not candidates.
2. Each candidate is scored by centrality (a TextRank over TF-IDF cosine similarities of the sentences), position
   (the lead of a news story carries its news) and closeness to the title.
3. The best sentences are taken greedily, skipping any too close to one already taken. Each is compressed by rules
   for its language (see :func:`compress`) to at most :data:`MAX_WORDS` words, or skipped when that cannot be done
   cleanly. The bullets keep the order of the article.
4. Every bullet, ours or a plug-in's, must pass :func:`unfaithful`: each name and number in it occurs in the source,
   and it keeps the polarity of the source sentence it comes from (no negation added, none dropped).
   A bullet that fails is dropped and listed in :attr:`Summary.rejected` with its reasons.

A summary backend (:mod:`marketwire.news.plugins`) is used only when one is selected; its failing bullets are
replaced by extractive ones.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from marketwire.errors import InvalidInput
from marketwire.news import bylines, plugins

#: the longest bullet, in words
MAX_WORDS = 25
#: a bullet shorter than this (in words, after compression) says too little to stand alone
MIN_WORDS = 6
#: candidates closer than this (TF-IDF cosine) to the title or to a bullet already taken are not taken
REDUNDANT = 0.5
#: weights of centrality, position and closeness to the title in a sentence's score
WEIGHTS = (0.35, 0.45, 0.2)


@dataclass
class Summary:
    headline: str
    bullets: list[str]
    method: str  # "extractive" or "plugin:NAME"
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (candidate bullet, reason) dropped by the gate


# --- text helpers --------------------------------------------------------------------------------------------------

_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "’": "'", "‘": "'", "ʼ": "'"})


def _norm(text: str) -> str:
    return unicodedata.normalize("NFC", text or "").translate(_SPACES)


def _clean(text: str) -> str:
    return " ".join(_norm(text).split())


def n_words(text: str) -> int:
    """Words as a reader counts them: whitespace-separated items holding a letter or a digit."""
    return sum(1 for w in text.split() if any(c.isalnum() for c in w))


_ABBREV = {"m", "mm", "mme", "mmes", "mlle", "dr", "pr", "prof", "st", "ste", "mr", "mrs", "ms", "jr", "sr", "inc",
           "corp", "co", "ltd", "no", "nr", "vs", "etc", "av", "gen", "sen", "rep", "gov", "ca", "bzw", "vgl", "z.b",
           "u.a", "d.h", "s.a", "dir", "hr", "fr", "jan", "feb", "fév", "janv", "févr", "sept", "oct", "nov", "déc",
           "dec", "mio", "mrd", "bn", "mn", "cf", "p", "pp", "n°", "art", "min", "max", "approx", "e.g", "i.e", "u.s",
           "j.-c", "mt", "mgr", "me"}
_DE_MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
              "November", "Dezember", "Jahrestag")
_BOUNDARY = re.compile(r"([.!?…]+[»\"”')\]]*)(\s+)(?=[«\"“(\[]?\s?[A-ZÀ-ÖØ-Þ0-9])"
                       r"|(?<=[a-zà-öø-ÿ%)][a-zà-öø-ÿ%)\"»])([.!?…]+[»\"”]*)()(?=[«\"“]?[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ'])")


def sentences(text: str) -> list[str]:
    """Split a text into sentences, keeping abbreviations (M., Dr., z.B.), initials and German ordinals whole."""
    out: list[str] = []
    for para in re.split(r"\n\s*\n|\n(?=\s*[-•*]\s)|\n", _norm(text)):
        para = " ".join(para.split())
        start = 0
        for m in _BOUNDARY.finditer(para):
            g = 1 if m.group(1) is not None else 3  # with a space after the stop, or glued to the next sentence
            before = para[start:m.start(g)]
            last = before.rsplit(" ", 1)[-1].lstrip("«\"“(")
            after = para[m.end():m.end() + 12]
            if m.group(g) == "." and (last.lower() in _ABBREV or (len(last) == 1 and last.isalpha())
                                      or (last.isdigit() and len(last) <= 2 and after.startswith(_DE_MONTHS))):
                continue
            out.append(para[start:m.end(g)].strip())
            start = m.end()
        if para[start:].strip():
            out.append(para[start:].strip())
    return [s for s in out if s]


# --- the faithfulness gate -----------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")
_NUM = re.compile(r"(?<![\w.,])(\d{1,3}(?:[ ]\d{3})+(?:[.,]\d+)?|\d+(?:[.,']\d+)*)(?!\w)(\s*(?:%|pour ?cent\b|"
                  r"prozent\b|per ?cent\b|pct\b))?", re.I)
_ELISION = {"l", "d", "j", "n", "s", "c", "m", "t", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu"}
_INITIAL_OK = {  # function words a bullet may start with although the source lacks them
    "le", "la", "les", "l", "un", "une", "des", "du", "de", "ce", "cette", "ces", "il", "elle", "ils", "elles", "on",
    "en", "dans", "pour", "selon", "après", "avant", "mais", "et", "the", "a", "an", "this", "these", "that", "it",
    "he", "she", "they", "we", "in", "at", "for", "after", "but", "and", "der", "die", "das", "ein", "eine",
    "er", "sie", "es", "wir", "im", "nach", "vor", "am", "auch", "aber", "und"}


def _strip_word(w: str) -> str:
    if "'" in w:
        parts = w.split("'")
        if parts[0].lower() in _ELISION and len(parts) > 1:
            parts = parts[1:]
        if len(parts) > 1 and parts[-1].lower() == "s":
            parts = parts[:-1]
        w = "'".join(parts)
    return w


def _values(num: str) -> set[str]:
    """Every value a written number can mean: 0,68 = 0.68; 26.469,89 = 26,469.89 = 26469.89; 1,150 = 1150 or 1.15."""
    s = num.replace(" ", "").replace("'", "")
    cands: list[str] = []
    if "." in s and "," in s:
        dec = "." if s.rfind(".") > s.rfind(",") else ","
        cands.append(s.replace("," if dec == "." else ".", "").replace(dec, "."))
    elif "." in s or "," in s:
        sep = "." if "." in s else ","
        parts = s.split(sep)
        if len(parts) > 2 or len(parts[1]) == 3:
            cands.append("".join(parts))
        if len(parts) == 2:
            cands.append(parts[0] + "." + parts[1])
    else:
        cands.append(s)
    out = set()
    for c in cands:
        try:
            d = Decimal(c)
        except InvalidOperation:
            continue
        out.add(format(d.normalize(), "f") if d == d.to_integral_value() or "." in c else c)
        out.add(format(d.normalize(), "f"))
    return out


@dataclass(frozen=True)
class _Facts:
    words: frozenset[str]
    folded: frozenset[str]
    keys: frozenset[str]
    numbers: frozenset[str]
    percents: frozenset[str]


def _numbers(text: str) -> list[tuple[str, set[str], bool]]:
    masked = _WORD.sub(lambda m: " " * len(m.group()) if _mixed(m.group()) else m.group(), text)
    return [(m.group(0).strip(), _values(m.group(1)), bool(m.group(2))) for m in _NUM.finditer(masked)]


def _mixed(w: str) -> bool:
    return any(c.isdigit() for c in w) and any(c.isalpha() for c in w)


@lru_cache(maxsize=64)
def _facts(source: str) -> _Facts:
    text = _norm(source)
    words: set[str] = set()
    for m in _WORD.finditer(text):
        w = _strip_word(m.group())
        words.add(w)
        words.update(p for p in re.split(r"[-']", w) if p)
    nums, pcts = set(), set()
    for _surface, vals, pct in _numbers(text):
        nums |= vals
        if pct:
            pcts |= vals
    return _Facts(frozenset(words), frozenset(w.casefold() for w in words),
                  frozenset(w.replace("-", "").casefold() for w in words if _mixed(w)), frozenset(nums), frozenset(pcts))


#: words that negate what follows (or, in German, what precedes at a clause's end); plus en "-n't" and fr "n'"
_NEGATIONS = frozenset({
    "not", "no", "never", "neither", "nor", "without", "cannot", "none", "nobody", "nothing",
    "ne", "pas", "jamais", "aucun", "aucune", "sans", "ni", "nullement", "rien",
    "nicht", "kein", "keine", "keinen", "keinem", "keiner", "keines", "nie", "niemals", "ohne", "weder", "nichts"})
#: how many content words on each side of a negation make its scope
_SCOPE = 2
#: how many tokens from its scope a negation may stand ("n'a pas été relevé", "hat die Zinsen nicht gesenkt")
_NEAR = 4


def _is_negation(tok: str) -> bool:
    t = tok.casefold()
    return t in _NEGATIONS or t.endswith("n't") or (t.startswith("n'") and len(t) > 2)


#: short function words never taken as a negation's scope (fr "ne ... plus" negates, so "plus" is no scope either)
_NOT_SCOPE = frozenset({"plus", "que", "qui", "les", "des", "une", "ses", "son", "leur", "leurs", "the", "and", "for",
                        "its", "his", "her", "their", "der", "die", "das", "und", "den", "dem", "ein", "sein", "seine",
                        "ihre", "ihr"})


def _content(tok: str) -> bool:
    return len(tok) >= 3 and tok not in _NOT_SCOPE and not _is_negation(tok)


def _tokens(text: str) -> list[tuple[str, int]]:
    """Casefolded words with the number of the clause (between , ; : and dashes) each stands in."""
    out = []
    for c, clause in enumerate(re.split(r"[,;:()\u2013\u2014]| - ", text)):
        out.extend((m.group().casefold(), c) for m in _WORD.finditer(clause))
    return out


def _negated(toks: list[tuple[str, int]]) -> list[tuple[int, list[str]]]:
    """Each negation in ``toks`` with its scope: the next content words of its clause, else (a German "nicht" at a
    clause's end) the ones before it."""
    out = []
    for i, (t, c) in enumerate(toks):
        if _is_negation(t):
            after = [x for x, cx in toks[i + 1:] if cx == c and _content(x)][:_SCOPE]
            scope = after or [x for x, cx in toks[:i] if cx == c and _content(x)][-_SCOPE:]
            if scope:
                out.append((i, scope))
    return out


def _negated_near(toks: list[tuple[str, int]], words: list[str]) -> bool | None:
    """Whether a negation stands within :data:`_NEAR` tokens of an occurrence of one of ``words`` (None: none of
    them is there)."""
    at = [k for k, (t, _c) in enumerate(toks) if t in words]
    if not at:
        return None
    return any(_is_negation(t) for k in at for t, _c in toks[max(0, k - _NEAR):k + _NEAR + 1])


def _polarity_problems(bullet: str, source: str) -> list[str]:
    """A negation the bullet adds, or one it drops while keeping what was negated, against the source sentence
    sharing most content words with the bullet (no check when none shares two; where several share as many, the
    bullet passes if it agrees with one of them: "The Fed cut rates." from "The Fed did not cut rates in June. The
    Fed cut rates in July."). A negation's scope is the two content words after it in its clause (before it at a
    clause's end, where German puts "nicht"); a scope both texts keep must be negated in both or in neither."""
    btoks = _tokens(bullet)
    bwords = {t for t, _c in btoks if _content(t)}
    tied: list[list[tuple[str, int]]] = []
    shared = 1
    for sent in sentences(source):
        toks = _tokens(sent)
        n = len(bwords & {t for t, _c in toks if _content(t)})
        if n > shared:
            tied, shared = [toks], n
        elif tied and n == shared:
            tied.append(toks)
    found = [_polarity_against(btoks, bwords, best) for best in tied]
    return [] if not found or [] in found else found[0]


def _polarity_against(btoks: list[tuple[str, int]], bwords: set[str], best: list[tuple[str, int]]) -> list[str]:
    """The polarity problems of a bullet (its tokens and content words) against one source sentence."""
    for i, scope in _negated(best):
        if all(t in bwords for t in scope) and _negated_near(btoks, scope) is False:
            return [f"negation dropped: the source says '{best[i][0]} {' '.join(scope)}'"]
    b_neg = _negated(btoks)
    for j, scope in b_neg:
        near = _negated_near(best, scope)
        if near is False or (near is None and len(b_neg) > len(_negated(best))):
            return [f"negation '{btoks[j][0]} {' '.join(scope)}' not in the source sentence"]
    return []


def unfaithful(bullet: str, source: str) -> list[str]:
    """What in ``bullet`` the source does not back: names and numbers it lacks. ``[]`` means the bullet passes.

    Names are capitalised words not at a sentence start, acronyms and tokens mixing letters and digits (S-400, G7);
    a capitalised word at a sentence start must occur in the source in any case. Numbers are compared by value
    across locale formats (0,68 % = 0.68%, 26.469,89 = 26,469.89); a percentage must be a percentage in the source.
    """
    facts = _facts(source)
    text = _norm(bullet)
    problems: list[str] = []

    def add(p: str) -> None:
        if p not in problems:
            problems.append(p)

    for m in _WORD.finditer(text):
        raw = m.group()
        w = _strip_word(raw)
        if not w or not any(c.isalpha() for c in w):
            continue
        initial = re.search(r"(^|[.!?:]\s+[«\"“(]?\s?|^[«\"“(]\s?)$", text[:m.start()]) is not None
        if _mixed(w):
            if w not in facts.words and w.replace("-", "").casefold() not in facts.keys:
                add(f"name {w} not in source")
            continue
        acronym = len(w) > 1 and w.replace("-", "").isupper()
        if not (w[0].isupper() or acronym):
            continue
        parts = [p for p in w.split("-") if p]
        if initial and not acronym:
            if w.casefold() in facts.folded or w.lower() in _INITIAL_OK or all(p.casefold() in facts.folded
                                                                                for p in parts):
                continue
            add(f"name {w} not in source")
            continue
        if w in facts.words or all(p in facts.words or not p[0].isupper() for p in parts):
            continue
        if w.casefold() in facts.folded and any(x.casefold() == w.casefold() and x[0].isupper() for x in facts.words):
            continue
        add(f"name {w} not in source")
    for surface, vals, pct in _numbers(text):
        pool = facts.percents if pct else facts.numbers
        if not (vals & pool):
            add(f"number {surface} not in source")
    for p in _polarity_problems(text, _norm(source)):
        add(p)
    return problems


# --- compression ---------------------------------------------------------------------------------------------------

_LEAD = {
    "fr": r"(?:(?:Pendant ce temps|En même temps|Dans le même temps|Par ailleurs|De plus|En outre|Cependant|Toutefois|"
          r"Néanmoins|Pourtant|Ainsi|Enfin|Ensuite|D'ailleurs|Du reste|En effet|De son côté|De leur côté|Pour sa part|"
          r"Parallèlement|Finalement|Au final|Par conséquent|Dès lors|Autrement dit|En revanche|Certes|Or|Donc|"
          r"Aussi|Entre-temps|En attendant|Concrètement|Selon lui|Selon elle|Pour autant|Quant à lui|Quant à elle),\s+"
          r"|(?:Mais|Et|Or)\s+)",
    "en": r"(?:(?:Meanwhile|In the meantime|At the same time|However|In addition|Additionally|Also|Moreover|"
          r"Furthermore|Still|Separately|Nevertheless|Nonetheless|Indeed|In fact|Besides|Likewise|Similarly|"
          r"Instead|Meantime|Elsewhere|Overall|Finally|Then|So|Thus|Therefore|Consequently|As a result|Of course|"
          r"On the other hand|For its part|For their part),\s+|(?:But|And|Yet)\s+)",
    "de": r"(?:(?:Allerdings|Jedoch|Zudem|Außerdem|Unterdessen|Inzwischen|Gleichzeitig|Derweil|Indes|Dennoch|Trotzdem|"
          r"Daher|Deshalb|Folglich|Immerhin|Schließlich|Zugleich|Demnach|Ferner),\s+|(?:Aber|Und|Doch|Denn)\s+)",
}
# German puts the finite verb second: "Unterdessen hat die Bank ..." becomes "Die Bank hat ..." (subject moved up)
_DE_V2 = re.compile(r"^(?:Unterdessen|Inzwischen|Gleichzeitig|Derweil|Indes|Zudem|Außerdem|Allerdings|Jedoch|Dennoch|"
                    r"Trotzdem|Zugleich|Ferner|Immerhin|Schließlich)\s+(\w+)\s+((?:er|sie|es|wir|ihr|man)|"
                    r"(?:der|die|das|ein|eine|dieser|diese|dieses)\s+(?:[a-zäöüß]+\s+)?[A-ZÄÖÜ][\w-]*|"
                    r"[A-ZÄÖÜ][\w-]+(?:\s+[A-ZÄÖÜ][\w-]+)?)(?=,|\s+[a-zäöüß0-9])(?!\s+(?:und|oder)\b)")
_ATTRIBUTION = {
    "fr": r",\s*(?:(?:a|ont|avait|avaient|aurait|auraient|va|vont)(?:-t)?-(?:il|elle|ils|elles|on)\b|"
          r"(?:a|ont|avait|avaient|aurait)\s+(?:\w+\s+)?(?:déclaré|indiqué|affirmé|annoncé|expliqué|souligné|précisé|"
          r"estimé|ajouté|assuré|confié|rappelé|jugé|prévenu|martelé|insisté|dit|fait savoir|écrit|raconté|confirmé|"
          r"réagi|tweeté|dénoncé|averti|relevé|observé|noté|commenté|détaillé|reconnu|regretté|lancé|poursuivi)\b|"
          r"(?:déclare|indique|affirme|explique|souligne|précise|estime|ajoute|assure|annonce|rapporte|note|"
          r"poursuit|relève|observe|détaille|rappelle|confie|résume|commente|prévient|insiste)(?:-t)?-(?:il|elle|"
          r"ils|elles|on)\b|(?:indique|précise|annonce|explique|affirme|rapporte|souligne|rappelle|estime|note|"
          r"ajoute|détaille|relève|confirme|assure)\s+(?:le|la|l'|les|un|une|dans|encore|aussi|jeudi|lundi|mardi|"
          r"mercredi|vendredi|samedi|dimanche|[A-ZÉ]\w+)|selon\s|d'après\s|rapporte\s)[^«»\"]*$",
    "en": r",\s*(?:(?:he|she|they|it|we|I|the\s+\w+(?:\s+\w+)?|[A-Z][\w.-]*(?:\s+[A-Z][\w.-]*)*)\s+(?:said|says|told|"
          r"added|noted|explained|wrote|stated|announced|argued|warned|insisted|tweeted)\b|(?:said|says|according to|"
          r"added|noted|told|wrote|explained|warned|the\s+\w+\s+said)\b)[^\"“”]*$",
    "de": r",\s*(?:(?:sagte|sagt|erklärte|erklärt|teilte|teilt|betonte|betont|schrieb|meinte|berichtete|berichtet|"
          r"sagten|erklärten|fügte|hieß es|heißt es|so|wie\s+(?:\w+\s+){0,5}(?:sagte|mitteilte|erklärte|berichtete|"
          r"berichtet|meldete|mitteilt))\b|laut\s|nach Angaben\s|zufolge\b)[^„“\"]*$",
}
_TAIL_REL = {
    "fr": r",\s*(?:qui|dont|ce qui|ce que|lequel|laquelle|lesquels|lesquelles|où|notamment|tout en|alors que|"
          r"tandis que|soit|afin de|afin que|avec|sans|après avoir|en\s+\w+ant)\b[^«»\"“”]*$",
    "en": r",\s*(?:which|who|whose|where|while|including|such as|as well as|after|amid|following|with|without|"
          r"making|leaving|bringing|adding|saying|\w+ing)\b[^\"“”]*$",
    "de": r",\s*(?:der|die|das|dem|den|deren|dessen|welche|welcher|welches|wo|wobei|womit|während|nachdem|sodass|"
          r"so dass|um|weil|da|obwohl|wenn|was)\b[^„“\"]*$",
}
_LEAD_PP = {  # a leading adverbial phrase up to its comma, dropped only when the sentence is too long
    "fr": r"^(?:Lors d(?:e|u|es|')|Après|Avant|Suite à|À la suite d(?:e|u|es|')|Dans|Pendant|Depuis|Malgré|Face à|"
          r"Au cours d(?:e|u|es|')|En (?:raison|marge|dépit)|À l'issue d(?:e|u|es|')|Outre|Selon|D'après|Pour)\b"
          r"[^,;:«»()]{2,90},\s+(?=[a-zà-öø-ÿ]*\s*[A-ZÀ-ÖØ-Þa-zà-öø-ÿ])",
    "en": r"^(?:After|Before|During|In|On|At|Following|Despite|Amid|Since|Under|With|According to|For)\b"
          r"[^,;:()\"]{2,90},\s+",
}
_APPOSITION = re.compile(r"(?<=[A-ZÀ-ÖØ-Þ][\w'-]),\s+(?![^,]*\b(?:et|and|und|a|ont|est|is|was|ist|war)\s)[^,;:()«»\"“”„]"
                         r"{2,70},\s+(?=[a-zà-öø-ÿ])")
_MID_REL = {
    "fr": r",\s+(?:qui|dont|lequel|laquelle)\s[^,;:()«»\"“”]{3,110},\s+(?=[a-zà-öø-ÿ])",
    "en": r",\s+(?:who|which|whose)\s[^,;:()\"“”]{3,110},\s+(?=[a-z])",
    "de": r",\s+(?:der|die|das|dem|den|deren|dessen)\s[^,;:()„“\"”]{3,110},\s+(?=[a-zäöüß])",
}
_CUT_AFTER = {
    "fr": r"(?:et|mais|alors|tandis|car|puisque|pour|avant|après|ce|qui|dont|où|lorsque|quand|même|bien|selon|soit|"
          r"notamment|avec|sans|afin|en\s+\w+ant|tout en|malgré|comme|parce|sauf|face|contre)",
    "en": r"(?:and|but|while|as|which|who|after|before|because|since|although|though|with|including|amid|following|"
          r"to|so|when|where|despite|even|unlike|compared|according|\w+ing)",
    "de": r"(?:und|aber|während|weil|da|nachdem|wobei|sodass|denn|als|wie|um|obwohl|der|die|das|wenn|was|womit|"
          r"sowie|doch|zumal|bevor|seit)",
}


_BARE_CUT = {  # subordinators that open a clause without a comma before them
    "fr": r"alors que|tandis que|bien que|parce que|afin de|afin que|pour que|puisque|avant de|après avoir",
    "en": r"while|because|although|whereas|as part of|in order to",
}


def _lead_off(s: str, lang: str) -> str:
    if lang == "de":
        m = _DE_V2.match(s)
        if m:
            subj = m.group(2)
            return subj[0].upper() + subj[1:] + " " + m.group(1) + s[m.end():]
    pat = _LEAD.get(lang)
    if pat:
        s = re.sub("^" + pat, "", s, count=1)
    return s


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _finish(s: str) -> str | None:
    s = s.strip().rstrip(",;:–—- ").strip()
    s = re.sub(r"\s+([,.;:])", r"\1", s)
    if not s or s.rstrip("»\"” ").endswith("?"):
        return None
    if s[-1] not in ".!?…" and not (s[-1] in "»\"”" and len(s) > 1 and s[-2] in ".!?"):
        s += "."
    s = s[0].upper() + s[1:]
    return s if _balanced(s) else None


def _balanced(s: str) -> bool:
    """Whether every quote and bracket opened in ``s`` is closed. German quotes open with „ and close with “ (or ”),
    so where „ occurs, “ is a closing mark; elsewhere “ opens and ” closes."""
    if "„" in s:
        curly = s.count("„") == s.count("“") + s.count("”")
    else:
        curly = s.count("“") == s.count("”")
    return curly and not (s.count("«") != s.count("»") or s.count("(") != s.count(")") or s.count('"') % 2)


def has_finite_verb(text: str, lang: str) -> bool:
    """Whether ``text`` holds a finite verb (so a cut did not leave a subject without its verb). True if unknown.

    The tagger is the one of the spaCy pipeline the entity stage loads (one copy of each model per process); for
    languages without one (or without the model installed) cuts are judged by the rules alone."""
    if lang not in ("fr", "en"):
        return True
    from marketwire.news.entities import pipeline

    nlp = pipeline(lang)
    if nlp is None:
        return True
    doc = nlp(text, disable=[p for p in nlp.pipe_names if p == "ner"])
    if lang == "en":
        return any(t.tag_ in ("VBD", "VBZ", "VBP", "MD") for t in doc)
    return any("Fin" in t.morph.get("VerbForm") for t in doc)


def compress(sentence: str, lang: str | None, max_words: int = MAX_WORDS) -> str | None:
    """The sentence shortened by rules to at most ``max_words`` words, ending with a period; ``None`` if it cannot.

    Always dropped: bracketed asides, a leading connective ("Pendant ce temps,", "Meanwhile,", "Unterdessen" with the
    subject moved before the verb), an attribution tail (", a-t-il déclaré", ", he said", ", sagte er"). Then, while
    the sentence is too long: appositions after a name, relative clauses between commas, a trailing relative or
    participial clause, and at last a cut at a comma or semicolon that opens a new clause. Only whole spans are
    removed, so every word kept is the source's.
    """
    lang = lang if lang in _LEAD else ""
    s = _clean(sentence)
    if s.endswith("?") or not _balanced(s):
        return None
    s = " ".join(re.sub(r"\s*\([^()]*\)|\s*\[[^\[\]]*\]", " ", s).split())
    s = _lead_off(s, lang)
    end = re.search(r"[.!…]+$", s)
    body = s[:end.start()] if end else s
    if lang:
        body = re.sub(_ATTRIBUTION[lang], "", body, count=1)
    steps = []
    if lang:
        steps = [lambda b: _APPOSITION.sub(" ", b),
                 lambda b: _cap(re.sub(_LEAD_PP[lang], "", b, count=1)) if lang in _LEAD_PP else b,
                 lambda b: re.sub(_MID_REL[lang], " ", b),
                 lambda b: re.sub(_TAIL_REL[lang], "", b, count=1)]
    for k, step in enumerate(steps):
        if n_words(body) <= max_words:
            break
        shorter = step(body)
        last = k == len(steps) - 1  # the trailing-clause cut may strand a subject: its result needs a verb
        if n_words(shorter) >= MIN_WORDS and shorter != body and (not last or has_finite_verb(shorter, lang)):
            body = shorter
    if n_words(body) > max_words:
        cut = _cut(body, lang, max_words)
        if cut is None:
            return None
        body = cut
    out = _finish(body)
    if out is None or n_words(out) > max_words or n_words(out) < min(MIN_WORDS, max_words):
        return None
    return out


def _cut(body: str, lang: str, max_words: int) -> str | None:
    """The longest prefix of ``body`` ending at a clause boundary with at most ``max_words`` words, or ``None``."""
    opener = _CUT_AFTER.get(lang)
    found: list[str] = []
    bare = _BARE_CUT.get(lang)
    pattern = r"\s*(;|:|\s[–—]\s|,)\s*" + (rf"|\s+(?=(?:{bare})\s)" if bare else "")
    for m in re.finditer(pattern, body):
        prefix = body[:m.start()]
        words = n_words(prefix)
        if words > max_words:
            break
        rest = body[m.end():]
        ok = m.group(1) in (";", None) or (opener is not None and re.match(opener + r"\b", rest, flags=re.I) is not None)
        if ok and words >= 8:
            found.append(prefix)
    return next((p for p in reversed(found) if has_finite_verb(p, lang)), None)


# --- selection -----------------------------------------------------------------------------------------------------

_STOP = set("""le la les l un une des du de d et ou en au aux a à ce cette ces se sa son ses leur leurs qui que qu
dont où il elle ils elles on ne pas plus pour par sur dans avec est sont été être ont avait fait comme mais aussi
y nous vous je tout tous très the a an and or of to in on at for by with is are was were be been has have had it
its this that these those as from but not will would can could said says der die das den dem des ein eine einer
und oder in im am an auf für von mit ist sind war wurde werden hat haben sich nicht auch zu zum zur bei nach als
es er sie wir""".split())
_BOILER = re.compile(r"https?://|www\.|©|\b(?:lire aussi|à lire|voir aussi|read more|click here|subscribe|"
                     r"abonnez|newsletter|cookies?|mehr zum thema|lesen sie auch)\b", re.I)
_LANG_HINTS = {"fr": {"le", "la", "les", "des", "est", "une", "dans", "pour", "qui", "du"},
               "en": {"the", "and", "of", "to", "is", "was", "for", "that", "with", "on"},
               "de": {"der", "die", "das", "und", "ist", "nicht", "mit", "von", "den", "ein"}}


def guess_lang(text: str) -> str | None:
    """fr, en or de by function words, for callers that do not know the language; ``None`` when unsure."""
    words = re.findall(r"\w+", text.lower()[:3000])
    counts = {lang: sum(w in hints for w in words) for lang, hints in _LANG_HINTS.items()}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] >= 3 else None


def _terms(text: str) -> list[str]:
    return [w[:7] for w in re.findall(r"[^\W\d_]{2,}", text.lower()) if w not in _STOP]


def _rank(sents: list[str], title: str) -> tuple[list[float], list[list[float]], list[float]]:
    """Score per sentence, the sentences' cosine similarity matrix and each sentence's similarity to the title."""
    import numpy as np

    docs = [_terms(s) for s in sents]
    vocab: dict[str, int] = {}
    for d in docs:
        for t in d:
            vocab.setdefault(t, len(vocab))
    n = len(sents)
    if not vocab:
        return [0.0] * n, [[0.0] * n for _ in range(n)], [0.0] * n
    m = np.zeros((n + 1, len(vocab)))
    for i, d in enumerate(docs):
        for t in d:
            m[i, vocab[t]] += 1
    for t in _terms(title):
        if t in vocab:
            m[n, vocab[t]] += 1
    df = (m[:n] > 0).sum(axis=0)
    m = np.log1p(m) * (np.log((n + 1) / (df + 1)) + 1)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    m = m / np.where(norms == 0, 1, norms)
    sim = m @ m.T
    s = sim[:n, :n].copy()
    np.fill_diagonal(s, 0)
    rows = s.sum(axis=1, keepdims=True)
    p = np.full(n, 1 / n)
    trans = s / np.where(rows == 0, 1, rows)
    for _ in range(30):
        p = 0.15 / n + 0.85 * (trans.T @ p)
    central = p / p.max() if p.max() > 0 else p
    title_sim = sim[n, :n] if norms[n, 0] > 0 else np.zeros(n)
    position = np.array([1.0 / (1 + i) ** 0.7 for i in range(n)])
    wc, wp, wt = WEIGHTS
    score = wc * central + wp * position + wt * title_sim
    return score.tolist(), sim[:n, :n].tolist(), title_sim.tolist()


def _extractive(title: str, body: str, lang: str | None, want: int, taken: list[str]) -> list[str]:
    sents = sentences(bylines.strip(body))  # a byline, a dateline or a credit is never a bullet
    if not sents:
        return []
    scores, sim, title_sim = _rank(sents, title)
    usable = [i for i, s in enumerate(sents) if n_words(s) >= MIN_WORDS and not s.rstrip("»\"” ").endswith("?")
              and not _BOILER.search(s) and (not title or title_sim[i] < 0.75)]
    order = sorted(usable, key=lambda i: -scores[i])
    chosen: list[tuple[int, str]] = []
    taken_terms = [set(_terms(t)) for t in taken]
    for i in order:
        if len(chosen) >= want:
            break
        if any(sim[i][j] >= REDUNDANT for j, _ in chosen):
            continue
        terms = set(_terms(sents[i]))
        if any(terms and len(terms & t) / len(terms) >= 0.6 for t in taken_terms):
            continue
        short = compress(sents[i], lang)
        if short is not None:
            chosen.append((i, short))
    return [s for _, s in sorted(chosen)]


def headline_of(title: str | None, body: str, lang: str | None) -> str:
    """The title, trimmed; else the first sentence of the body, compressed (or cut after MAX_WORDS words)."""
    if title and title.strip():
        return _clean(title)
    for s in sentences(bylines.strip(body))[:3]:
        short = compress(s, lang)
        if short:
            return short
    words = _clean(body).split()
    return " ".join(words[:MAX_WORDS]) + (" …" if len(words) > MAX_WORDS else "")


def summarize(title: str | None, body: str, lang: str | None, *, max_bullets: int = 3,
              backend: str | None = None) -> Summary:
    """Headline and up to ``max_bullets`` bullets (2-3 when the body has two usable sentences) that pass the gate.

    ``backend`` (else ``$MARKETWIRE_SUMMARIZER``) selects a plug-in; unset, only the extractive method runs.
    """
    if not isinstance(max_bullets, int) or max_bullets < 1:
        raise InvalidInput(f"`max_bullets`: {max_bullets!r} is not a positive whole number", param="max_bullets")
    body = body or ""
    lang = (lang or "").split("-")[0].lower() or guess_lang(body)
    source = f"{title or ''}\n{body}"
    headline = headline_of(title, body, lang)
    rejected: list[tuple[str, str]] = []
    bullets: list[str] = []
    method = "extractive"
    want = min(max_bullets, 3)
    name = plugins.summarizer_choice(backend)
    backend_obj = plugins.get_summarizer(name) if name else None
    if backend_obj is not None:
        try:
            proposed = list(backend_obj.summarize(title, body, lang, max_bullets))
        except Exception as e:  # a plug-in's failure costs its bullets, not the article
            proposed = []
            rejected.append(("", f"backend {name} failed: {type(e).__name__}: {e}"))
        for cand in proposed[:max_bullets]:
            b = _clean(str(cand)).lstrip("•-* ").strip()
            problems = unfaithful(b, source)
            if n_words(b) > MAX_WORDS:
                problems.append(f"{n_words(b)} words, more than {MAX_WORDS}")
            if not b:
                problems.append("empty")
            if problems:
                rejected.append((b, "; ".join(problems)))
            else:
                bullets.append(b)
        if bullets:
            method = f"plugin:{name}"
        want = min(max_bullets, max(2, len(proposed)))
    if len(bullets) < want:
        for b in _extractive(title or "", body, lang, want - len(bullets), bullets):
            problems = unfaithful(b, source)
            if problems:
                rejected.append((b, "; ".join(problems)))
            else:
                bullets.append(b)
    return Summary(headline=headline, bullets=bullets, method=method, rejected=rejected)
