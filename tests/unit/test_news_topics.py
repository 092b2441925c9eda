"""Topics: the seed article, hand-written fr/de/en examples per topic, and an article about none of them."""

from __future__ import annotations

import pytest
from conftest import ROOT
from news_seed import read_seed  # type: ignore[import-not-found]

from marketwire.news import topics
from marketwire.news.topics import TAXONOMY, THRESHOLD, classify

pytestmark = pytest.mark.unit


def codes(title, body, lang):
    return [r["topic"] for r in classify(title, body, lang)]


def test_seed_is_defence_and_politics_not_earnings():
    seed = read_seed()
    result = classify(seed.title, seed.body, "fr")
    assert [r["topic"] for r in result[:2]] == ["defence", "politics"]
    assert "earnings" not in [r["topic"] for r in result]
    defence = result[0]
    assert {"s-400", "défense aérienne", "missiles"} <= set(defence["evidence"])
    assert all(0 <= r["score"] <= 1 and r["score"] >= THRESHOLD for r in result)
    assert [r["score"] for r in result] == sorted((r["score"] for r in result), reverse=True)


EXAMPLES = [
    ("earnings", "fr", "LVMH : le bénéfice net grimpe au premier semestre",
     "Le groupe de luxe a publié jeudi un chiffre d'affaires de 42,2 milliards d'euros sur le semestre, en hausse de "
     "8 %. Son bénéfice net atteint 7,3 milliards d'euros et la marge opérationnelle s'améliore encore."),
    ("earnings", "de", "BASF mit weniger Gewinn",
     "Der Chemiekonzern BASF hat im zweiten Quartal einen Umsatz von 16 Milliarden Euro erzielt. Der Nettogewinn fiel "
     "um ein Drittel, das Betriebsergebnis blieb hinter den Erwartungen zurück. Die Prognose für das Jahr bleibt."),
    ("earnings", "en", "Microsoft quarterly profit tops estimates",
     "Microsoft reported net income of $22 billion for the fourth quarter. Revenue rose 15% to $65 billion, and "
     "earnings per share beat analysts' estimates. The company kept its guidance for the year."),
    ("mergers_acquisitions", "fr", "Veolia lance une OPA sur Suez",
     "Veolia a annoncé le rachat de la participation d'Engie dans Suez, première étape d'une fusion des deux groupes. "
     "L'offre publique d'achat sur le reste du capital suivra, pour un montant de 11 milliards d'euros."),
    ("mergers_acquisitions", "de", "Vonovia will Deutsche Wohnen übernehmen",
     "Vonovia hat ein Kaufangebot für Deutsche Wohnen vorgelegt. Die Übernahme soll den größten Wohnungskonzern "
     "Europas schaffen; nach der Fusion sollen die Mieten in Berlin fünf Jahre lang begrenzt bleiben."),
    ("mergers_acquisitions", "en", "Broadcom agrees to acquire VMware",
     "Broadcom said it would acquire VMware in a cash-and-stock deal valued at $61 billion, its largest takeover so "
     "far. The merger still needs the approval of regulators in Europe and China."),
    ("central_banks", "fr", "La BCE relève ses taux directeurs",
     "La Banque centrale européenne a relevé jeudi ses taux directeurs de 25 points de base. Christine Lagarde a "
     "indiqué que la politique monétaire resterait restrictive tant que l'inflation resterait élevée."),
    ("central_banks", "de", "EZB erhöht den Leitzins erneut",
     "Die Europäische Zentralbank hat den Leitzins um einen Viertelprozentpunkt angehoben. EZB-Präsidentin Lagarde "
     "sagte, die Geldpolitik bleibe straff, bis die Inflation sinke."),
    ("central_banks", "en", "Fed holds rates steady",
     "The Federal Reserve left its key interest rate unchanged on Wednesday. Chair Jerome Powell said the central "
     "bank was in no hurry to cut, as monetary policy was working."),
    ("energy", "fr", "Le prix du pétrole s'envole après la décision de l'Opep+",
     "Le baril de Brent a gagné 6 % après l'annonce par l'Opep+ d'une baisse de sa production. Les raffineries "
     "européennes craignent une nouvelle hausse du prix de l'énergie."),
    ("energy", "de", "Gaspreise sinken, Strom bleibt teuer",
     "Der Preis für Erdgas ist im Großhandel deutlich gefallen. Die Strompreise für Haushalte bleiben jedoch hoch, "
     "weil die Energieversorger langfristig eingekauft haben."),
    ("energy", "en", "Oil climbs as OPEC+ extends cuts",
     "Crude oil prices rose 3% after OPEC+ extended its output cuts. Brent traded above $90 a barrel, and natural gas "
     "prices in Europe also increased."),
]


@pytest.mark.parametrize("topic, lang, title, body", EXAMPLES, ids=[f"{t}-{lang}" for t, lang, *_ in EXAMPLES])
def test_examples_get_their_topic(topic, lang, title, body):
    got = classify(title, body, lang)
    assert got and got[0]["topic"] == topic, got
    assert got[0]["evidence"]


def test_earnings_is_not_mergers_and_back():
    _, lang, title, body = EXAMPLES[2]
    assert "mergers_acquisitions" not in codes(title, body, lang)
    assert "earnings" not in codes(EXAMPLES[5][2], EXAMPLES[5][3], "en")


@pytest.mark.parametrize("title, body, lang", [
    ("Recette : la tarte aux pommes de grand-mère",
     "Étalez la pâte dans un moule beurré. Épluchez les pommes, coupez-les en fines lamelles et disposez-les en "
     "rosace. Saupoudrez de sucre vanillé et enfournez quarante minutes à 180 degrés.", "fr"),
    ("Bayern gewinnt das Derby",
     "Der FC Bayern hat das Spiel gegen 1860 München mit 3:1 gewonnen. Zwei Tore fielen nach der Pause, der Torwart "
     "hielt einen Elfmeter.", "de"),
    ("A quiet walk on the coast path", "The trail follows the cliffs for six miles. Bring water, a hat and good "
     "shoes; the views over the bay are worth the climb.", "en"),
])
def test_unrelated_articles_get_no_topic(title, body, lang):
    assert classify(title, body, lang) == []


def test_title_hits_weigh_more():
    body = "Le gouvernement a présenté le texte mercredi."
    plain = classify("Un texte présenté", body, "fr")
    titled = classify("Élections : le gouvernement présente le texte", body, "fr")
    assert plain == [] and titled and titled[0]["topic"] == "politics"


def test_taxonomy_covers_the_lexicons():
    assert set(TAXONOMY) == set(topics._LEXICON)
    assert len(TAXONOMY) == 15
    assert all(label and desc for label, desc in TAXONOMY.values())
    table = topics.taxonomy_table()
    assert table.count("\n") == len(TAXONOMY) + 1 and "`central_banks` | Central banks" in table


def test_terms_written_with_capitals_are_case_sensitive():
    assert classify("La Fed et la BCE", "La Fed relèvera ses taux directeurs, la BCE attend.", "en")[0]["topic"] == \
        "central_banks"
    assert classify("Fed up", "They were fed up and fed the bce cat.", "en") == []
    # "Opa" is a German grandfather, "OPA" a French takeover bid
    assert classify("Opa erzählt", "Mein Opa erzählt von früher, als Opa noch jung war.", "de") == []


def test_the_docs_show_the_taxonomy_as_it_is():
    doc = (ROOT / "docs" / "news-summaries.md").read_text(encoding="utf-8")
    assert topics.taxonomy_table() in doc, "docs/news-summaries.md: paste topics.taxonomy_table() into the topics section"


def test_literal_prefix_never_rules_out_a_term_that_matches() -> None:
    from marketwire.news.topics import _LEXICON, _compiled, _literal_prefix

    assert _literal_prefix("bourses?") == "bourse" and _literal_prefix("cac ?40") == "cac"
    assert _literal_prefix("(?:first|second)[- ]quarter") == "" and _literal_prefix(r"s-\d{3}") == "s-"
    assert _literal_prefix("hôpita(?:l|ux)") == "hôpita" and _literal_prefix("opep\\+?") == "opep"
    # on samples, the prefix occurs where the expression matches (tests/integration/test_news_topics_corpus.py
    # checks that the pre-filter changes no result on 570 real articles)
    samples = {"bourses": "Les bourses", "cac ?40": "le CAC40", "s-\\d{3}": "des S-400", "hôpita(?:l|ux)": "Hôpitaux"}
    pats = {term: p for code, terms in _LEXICON.items() for (term, _), p in zip(terms, _compiled()[code])}
    for term, text in samples.items():
        key = next(k for k in pats if k.startswith(term.rstrip("s")))
        pattern, _, prefix, exact = pats[key]
        assert pattern.search(text) and prefix in (text if exact else text.lower())
