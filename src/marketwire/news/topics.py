"""Topics of an article from multilingual (fr, de, en) lexicons: which of a small taxonomy it is about, and why.

Each topic has a list of terms: word stems or short regular expressions, matched on word boundaries, case-blind
except for terms written with a capital (acronyms such as ``AI``, ``SEC``, ``OPA``, and ``Fed``). Each term has a
weight: 1 for a term that alone points to the topic, less for a term that only supports it. For each topic::

    raw = sum over distinct matched terms of  weight * (1 + 0.5 * ln(hits in the text)) + 1.5 * weight if in the title
    score = 1 - exp(-raw / 3)

A topic is kept when its score reaches :data:`THRESHOLD` (about two distinct strong terms, or one in the title and
one in the body). The evidence is the list of matched words as they appear, most frequent first.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

#: a topic is kept from this score up
THRESHOLD = 0.5
TITLE_WEIGHT = 1.5

#: code -> (label, description)
TAXONOMY: dict[str, tuple[str, str]] = {
    "markets": ("Markets", "Stock, bond and currency markets: indices, trading, prices of securities"),
    "earnings": ("Earnings", "Company results: revenue, profit, guidance, dividends"),
    "mergers_acquisitions": ("Mergers & acquisitions", "Takeovers, mergers, buyouts, stake sales and disposals"),
    "defence": ("Defence", "Armed forces, weapons, military cooperation and conflicts"),
    "politics": ("Politics", "Governments, heads of state, elections, parliaments, diplomacy"),
    "macro": ("Macroeconomy", "Growth, inflation, employment and trade figures, public finances"),
    "central_banks": ("Central banks", "Monetary policy, policy rates, central bank decisions and officials"),
    "energy": ("Energy", "Oil, gas, power, nuclear and renewable energy"),
    "technology": ("Technology", "Software, semiconductors, artificial intelligence, telecoms, digital platforms"),
    "health": ("Health", "Diseases and epidemics, hospitals, medicines, vaccines, the pharmaceutical industry"),
    "legal_regulation": ("Legal & regulation", "Courts, lawsuits, investigations, regulators, fines, new rules"),
    "commodities": ("Commodities", "Metals, agricultural products and other raw materials"),
    "crypto": ("Crypto-assets", "Bitcoin and other crypto-assets, blockchains, exchanges for them"),
    "climate_esg": ("Climate & ESG", "Climate change, emissions, pollution, sustainability and ESG"),
    "labour": ("Labour", "Jobs, wages, strikes, unions, layoffs"),
}

_W = 1.0
_S = 0.5  # a supporting term
_LEXICON: dict[str, list[tuple[str, float]]] = {
    "markets": [
        (r"bourses?", _W), (r"cac ?40", _W), (r"dax", _W), (r"dow jones", _W), (r"s&p ?500", _W), (r"nasdaq", _W),
        (r"wall street", _W), (r"stoxx", _W), (r"nikkei", _W), (r"ftse", _W), (r"indices? boursiers?", _W),
        (r"stock markets?", _W), (r"stock exchanges?", _W), (r"shares", _S), (r"stocks", _S), (r"equities", _W),
        (r"börsen?\w*", _W), (r"aktien\w*", _S), (r"anleihen", _W), (r"bonds", _S), (r"obligataires?", _W),
        (r"cours de (?:l'action|bourse)", _W), (r"action \w+ a (?:grimpé|chuté|bondi|reculé)", _W),
        (r"investisseurs", _S), (r"investors", _S), (r"anleger", _S), (r"séance", _S), (r"trading", _S),
        (r"points? de base", _S), (r"basis points", _S), (r"rendements?", _S), (r"yields?", _S), (r"renditen?", _S),
        (r"devises", _S), (r"currenc(?:y|ies)", _S), (r"wechselkurs\w*", _W), (r"taux de change", _W),
    ],
    "earnings": [
        (r"chiffre d'affaires", _W), (r"bénéfices?(?: net)?", _W), (r"résultats? (?:net|trimestriels?|annuels?|"
         r"semestriels?|financiers?)", _W), (r"trimestres?", _S), (r"perte nette", _W), (r"marge opérationnelle", _W),
        (r"dividendes?", _S), (r"ebitda", _W), (r"ebit", _W), (r"revenue", _W), (r"earnings", _W),
        (r"net (?:income|profit|loss)", _W), (r"quarterly (?:results|profit|revenue)", _W), (r"profits?", _S),
        (r"guidance", _W), (r"earnings per share", _W), (r"(?:first|second|third|fourth)[- ]quarter", _W),
        (r"umsatz\w*", _W), (r"gewinn\w*", _W), (r"quartal\w*", _S), (r"nettogewinn", _W), (r"jahresergebnis", _W),
        (r"prognose", _S), (r"betriebsergebnis", _W), (r"dividende", _S), (r"prévisions annuelles", _W),
        (r"objectifs? annuels?", _S), (r"outlook", _S),
    ],
    "mergers_acquisitions": [
        (r"rachat", _W), (r"racheter", _W), (r"rachète", _W), (r"fusion(?:ner)?", _W), (r"OPA", _W),
        (r"offre publique d'achat", _W), (r"acquisitions?", 0.75), (r"takeover", _W), (r"mergers?", _W),
        (r"acquires?", _W), (r"acquired", _W), (r"buyout", _W), (r"takeover bid", _W), (r"übernahme\w*", _W),
        (r"übernehmen", _W), (r"übernimmt", _W), (r"fusion\w*", _W), (r"kaufangebot", _W), (r"cession", _S),
        (r"divest\w*", _W), (r"stake", _S), (r"participation majoritaire", _W), (r"beteiligung", _S),
        (r"deal valued", _W), (r"milliards? d'euros? pour racheter", _W), (r"M&A", _W),
    ],
    "defence": [
        (r"militaires?", _W), (r"armées?", _S), (r"armes?", _W), (r"armements?", _W), (r"missiles?", _W),
        (r"drones?", _S), (r"avions? de combat", _W), (r"défense (?:aérienne|antimissile)", _W),
        (r"ministère des armées", _W), (r"frappes? aériennes?", _W), (r"guerre", _S), (r"otan", _W), (r"nato", _W),
        (r"s-\d{3}", _W), (r"military", _W), (r"weapons?", _W), (r"arms", _S), (r"troops", _W),
        (r"defen[cs]e (?:ministry|minister|spending|contractor|industry)", _W), (r"air defen[cs]e", _W),
        (r"fighter jets?", _W), (r"airstrikes?", _W), (r"war", _S), (r"rüstung\w*", _W), (r"militär\w*", _W),
        (r"waffen\w*", _W), (r"bundeswehr", _W), (r"verteidigung\w*", _W), (r"raketen\w*", _W), (r"krieg\w*", _S),
        (r"soldats?", _S), (r"soldiers?", _S), (r"soldaten", _S),
    ],
    "politics": [
        (r"présidente?s?", _S), (r"gouvernements?", _W), (r"ministres?", _S), (r"premier ministre", _W),
        (r"élections?", _W), (r"électoral\w*", _W), (r"parlement\w*", _W), (r"députés?", _W), (r"sénat\w*", _W),
        (r"diplomati\w+", _W), (r"chefs? d'état", _W), (r"visite d'état", _W), (r"kremlin", _W), (r"élysée", _W),
        (r"maison blanche", _W), (r"white house", _W), (r"sommet", _S), (r"summit", _S), (r"alliance", _S),
        (r"president", _S), (r"government", _W), (r"minister", _S), (r"prime minister", _W), (r"elections?", _W),
        (r"parliament\w*", _W), (r"congress", _W), (r"lawmakers", _W), (r"diplomatic", _W), (r"regierung\w*", _W),
        (r"kanzler\w*", _W), (r"bundestag", _W), (r"wahl(?:en|kampf)?", _W), (r"präsident\w*", _S),
        (r"minister\w*", _S), (r"partei\w*", _S), (r"partis? politiques?", _W), (r"opposition", _S),
        (r"dirigeants", _S), (r"coalition", _S),
    ],
    "macro": [
        (r"inflation", _W), (r"PIB", _W), (r"GDP", _W), (r"BIP", _W), (r"croissance économique", _W),
        (r"economic growth", _W), (r"wirtschaftswachstum", _W), (r"récession", _W), (r"recession", _W),
        (r"rezession", _W), (r"chômage", _W), (r"unemployment", _W), (r"arbeitslos\w*", _W),
        (r"prix à la consommation", _W), (r"consumer prices?", _W), (r"verbraucherpreise", _W),
        (r"balance commerciale", _W), (r"trade (?:deficit|surplus|balance)", _W), (r"handelsbilanz", _W),
        (r"dette publique", _W), (r"déficit public", _W), (r"public debt", _W), (r"konjunktur\w*", _W),
        (r"insee", _W), (r"eurostat", _W), (r"destatis", _W), (r"ifo", _W), (r"PMI", _W), (r"économie", _S),
        (r"economy", _S), (r"wirtschaft", _S),
    ],
    "central_banks": [
        (r"BCE", _W), (r"ECB", _W), (r"EZB", _W), (r"Fed", _W), (r"réserve fédérale", _W), (r"federal reserve", _W),
        (r"banques? centrales?", _W), (r"central banks?", _W), (r"notenbank\w*", _W), (r"zentralbank\w*", _W),
        (r"bundesbank", _W), (r"bank of england", _W), (r"bank of japan", _W), (r"banque de france", _W),
        (r"taux directeurs?", _W), (r"policy rates?", _W), (r"key (?:interest )?rates?", _W), (r"leitzins\w*", _W),
        (r"taux d'intérêt", _S), (r"interest rates?", _S), (r"zinsen", _S), (r"zinserhöhung\w*", _W),
        (r"zinssenkung\w*", _W), (r"politique monétaire", _W), (r"monetary policy", _W), (r"geldpolitik", _W),
        (r"lagarde", _W), (r"powell", _W), (r"FOMC", _W), (r"rate (?:cut|hike)s?", _W),
        (r"(?:hausse|baisse) des taux", _W),
    ],
    "energy": [
        (r"pétrole", _W), (r"pétroli\w+", _W), (r"gaz naturel", _W), (r"gaz", _S), (r"opep\+?", _W),
        (r"opec\+?", _W), (r"brent", _W), (r"WTI", _W), (r"électricité", _W), (r"énergies?", _W),
        (r"énergétiques?", _W), (r"raffineries?", _W), (r"GNL", _W), (r"LNG", _W), (r"renouvelables?", _S),
        (r"centrales? (?:nucléaires?|électriques?)", _W), (r"oil", _W), (r"crude", _W), (r"natural gas", _W),
        (r"gas", _S), (r"electricity", _W), (r"energy", _W), (r"power plants?", _W), (r"refiner(?:y|ies)", _W),
        (r"renewables?", _S), (r"\w*öl(?:preis|förderung|konzern)\w*", _W), (r"erdgas", _W), (r"strom\w*", _W),
        (r"energie\w*", _W), (r"erneuerbare\w*", _S), (r"barils?", _W), (r"barrels?", _W), (r"barrel", _W),
    ],
    "technology": [
        (r"intelligence artificielle", _W), (r"IA", _W), (r"AI", _W), (r"artificial intelligence", _W),
        (r"künstliche\w* intelligenz", _W), (r"KI", _W), (r"semi-conducteurs?", _W), (r"semiconductors?", _W),
        (r"halbleiter\w*", _W), (r"puces?", _S), (r"chips?", _S), (r"logiciels?", _W), (r"software", _W),
        (r"cloud", _W), (r"smartphones?", _W), (r"numérique", _S), (r"digital\w*", _S), (r"cyber\w*", _W),
        (r"start-?ups?", _S), (r"apple", _S), (r"google", _S), (r"microsoft", _S), (r"nvidia", _W), (r"tsmc", _W),
        (r"data ?centers?", _W), (r"centres? de données", _W), (r"rechenzentr\w*", _W), (r"5G", _S),
        (r"télécoms?", _S), (r"telecoms?", _S),
    ],
    "health": [
        (r"santé", _W), (r"health", _W), (r"gesundheit\w*", _W), (r"vaccins?", _W), (r"vaccines?", _W),
        (r"impfstoff\w*", _W), (r"covid(?:-19)?", _W), (r"coronavirus", _W), (r"pandémie", _W), (r"pandemic", _W),
        (r"pandemie", _W), (r"épidémie", _W), (r"hôpita(?:l|ux)", _W), (r"hospitals?", _W), (r"kranken\w+", _W),
        (r"médicaments?", _W), (r"drugs?", _S), (r"medikament\w*", _W), (r"pharma\w*", _W), (r"patients?", _S),
        (r"virus", _S), (r"malades?", _S), (r"essais? cliniques?", _W), (r"clinical trials?", _W),
        (r"klinische\w* stud\w+", _W), (r"cancer", _S), (r"krebs", _S),
    ],
    "legal_regulation": [
        (r"tribuna(?:l|ux)", _W), (r"procès", _W), (r"justice", _S), (r"juges?", _W), (r"plaintes?", _W),
        (r"condamnée?s?", _W), (r"enquêtes?", _S), (r"amendes?", _W), (r"régulateurs?", _W), (r"réglementation", _W),
        (r"autorité de la concurrence", _W), (r"AMF", _W), (r"courts?", _S), (r"lawsuits?", _W), (r"judges?", _W),
        (r"sued", _W), (r"convicted", _W), (r"investigations?", _S), (r"regulators?", _W), (r"regulation", _W),
        (r"antitrust", _W), (r"SEC", _W), (r"penalt(?:y|ies)", _S), (r"gericht\w*", _W), (r"klage\w*", _W),
        (r"verurteilt\w*", _W), (r"ermittlung\w*", _S), (r"aufsicht\w*", _S), (r"bafin", _W), (r"geldstrafe", _W),
        (r"regulierung\w*", _W), (r"kartell\w*", _W), (r"avocats?", _S), (r"lawyers?", _S), (r"anwält\w*", _S),
        (r"commission européenne", _S), (r"european commission", _S),
    ],
    "commodities": [
        (r"matières premières", _W), (r"commodit(?:y|ies)", _W), (r"rohstoff\w*", _W), (r"cours de l'or", _W),
        (r"once d'or", _W), (r"gold", _W), (r"silver", _S), (r"cuivre", _W), (r"copper", _W), (r"kupfer", _W),
        (r"blé", _W), (r"wheat", _W), (r"weizen", _W), (r"maïs", _S), (r"corn", _S), (r"soja", _S),
        (r"aluminium", _W), (r"nickel", _W), (r"lithium", _W), (r"minerai de fer", _W), (r"iron ore", _W),
        (r"cacao", _W), (r"cocoa", _W), (r"métaux", _S), (r"metals", _S), (r"metalle", _S), (r"sucre", _S),
    ],
    "crypto": [
        (r"bitcoins?", _W), (r"cryptos?", _W), (r"crypto-?(?:monnaies?|actifs?|currenc(?:y|ies)|assets?)", _W),
        (r"kryptowährung\w*", _W), (r"ethereum", _W), (r"ether", _S), (r"blockchain", _W), (r"stablecoins?", _W),
        (r"NFTs?", _W), (r"binance", _W), (r"coinbase", _W), (r"tokens?", _S),
    ],
    "climate_esg": [
        (r"climat\w*", _W), (r"climate", _W), (r"klima\w*", _W), (r"émissions?", _S), (r"emissions?", _S),
        (r"CO2", _W), (r"carbone", _W), (r"carbon", _W), (r"ESG", _W), (r"durables?", _S), (r"sustainab\w+", _W),
        (r"nachhaltig\w*", _W), (r"réchauffement", _W), (r"global warming", _W), (r"erderwärmung", _W),
        (r"biodiversité", _W), (r"biodiversity", _W), (r"COP ?\d+", _W), (r"décarbon\w+", _W),
        (r"decarboni\w+", _W), (r"obligations? vertes?", _W), (r"green bonds?", _W), (r"pollution", _S),
        (r"gaz à effet de serre", _W), (r"greenhouse gas\w*", _W), (r"treibhaus\w*", _W),
    ],
    "labour": [
        (r"grèves?", _W), (r"grévistes", _W), (r"strikes?", _S), (r"streik\w*", _W), (r"syndica(?:ts?|ux|le)", _W),
        (r"(?:trade|labou?r) unions?", _W), (r"gewerkschaft\w*", _W), (r"salaires?", _W), (r"wages?", _W),
        (r"löhne?", _W), (r"emplois?", _S), (r"jobs", _S), (r"licenciements?", _W), (r"layoffs?", _W),
        (r"stellenabbau", _W), (r"entlassung\w*", _W), (r"chômage partiel", _W), (r"kurzarbeit", _W),
        (r"salariés", _S), (r"employés", _S), (r"workers", _S), (r"employees", _S), (r"beschäftigte\w*", _S),
        (r"plan social", _W), (r"tarif(?:vertrag|verhandlung)\w*", _W), (r"job cuts", _W),
    ],
}


_META = set("[](){}?*+.|\\^$")


def _literal_prefix(term: str) -> str:
    """The fixed text every match of ``term`` starts with ("bourses?" -> "bourse", "cac ?40" -> "cac", "(?:a|b)c"
    -> ""): a cheap substring test that rules a term out before its regular expression runs."""
    out = []
    for i, c in enumerate(term):
        if c in _META:
            break
        if i + 1 < len(term) and term[i + 1] in "?*{":
            break  # this character is optional
        out.append(c)
    return "".join(out)


@lru_cache(maxsize=1)
def _compiled() -> dict[str, list[tuple[re.Pattern[str], float, str, bool]]]:
    """Topic -> its terms as (pattern, weight, literal prefix, case-sensitive)."""
    out: dict[str, list[tuple[re.Pattern[str], float, str, bool]]] = {}
    for code, terms in _LEXICON.items():
        pats = []
        for term, weight in terms:
            acronym = any(c.isupper() for c in term)  # acronyms and names such as Fed are matched as written
            pattern = re.compile(rf"(?<![\w-]){term}(?![\w-])", 0 if acronym else re.IGNORECASE)
            prefix = _literal_prefix(term)
            pats.append((pattern, weight, prefix if acronym else prefix.lower(), acronym))
        out[code] = pats
    return out


def _norm(text: str | None) -> str:
    return (text or "").replace("’", "'").replace("\u00a0", " ")


def classify(title: str | None, body: str, lang: str | None = None) -> list[dict[str, object]]:
    """``[{"topic": code, "score": 0..1, "evidence": [matched terms]}]`` for the topics at or above the threshold.

    Sorted by score, highest first. ``lang`` is accepted for callers that know it; the lexicons hold fr, de and en
    terms side by side, so every language is matched at once. A term's regular expression runs only when its fixed
    prefix occurs somewhere in the text (one substring search), which skips most of the ~400 terms per article.
    """
    t, b = _norm(title), _norm(body)
    both = f"{t}\n{b}"
    lowered = both.lower()
    results = []
    for code, pats in _compiled().items():
        raw = 0.0
        seen: Counter[str] = Counter()
        for pat, weight, prefix, exact in pats:
            if prefix and prefix not in (both if exact else lowered):
                continue
            body_hits = [m.group(0) for m in pat.finditer(b)]
            title_m = pat.search(t) if t else None
            if not body_hits and title_m is None:
                continue
            raw += weight * (1 + 0.5 * math.log(len(body_hits))) if body_hits else 0.0
            raw += TITLE_WEIGHT * weight if title_m is not None else 0.0
            for h in body_hits:
                seen[h.lower()] += 1
            if title_m is not None and not body_hits:
                seen[title_m.group(0).lower()] += 1
        score = 1 - math.exp(-raw / 3)
        if score >= THRESHOLD:
            results.append({"topic": code, "score": round(score, 3), "evidence": [w for w, _ in seen.most_common(8)]})
    results.sort(key=lambda r: -float(r["score"]))  # type: ignore[arg-type]
    return results


def taxonomy_table() -> str:
    """The taxonomy as a Markdown table (code, label, description), as ``docs/news-summaries.md`` shows it."""
    rows = ["| code | label | description |", "|---|---|---|"]
    rows += [f"| `{code}` | {label} | {desc} |" for code, (label, desc) in TAXONOMY.items()]
    return "\n".join(rows)
