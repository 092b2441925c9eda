"""Entities and links: the seed article, countries and people in three languages, companies of a small master."""

from __future__ import annotations

import pytest

from marketwire.news.entities import CompanyIndex, EntityAnnotator
from marketwire.news.gazetteer import de_forms, fr_forms
from news_seed import read_seed  # type: ignore[import-not-found]

pytestmark = pytest.mark.unit

MASTER_ROWS = [
    {"issuer_id": "MWIAPPLE", "issuer_name": "Apple Inc.", "security_id": "MWSAPPLE", "type": "equity",
     "isin": "US0378331005", "listing_id": "MWLAAPL", "ticker": "AAPL", "mic": "XNAS", "index_member": True},
    {"issuer_id": "MWIAPPLE", "issuer_name": "Apple Inc.", "security_id": "MWSAPPLE", "type": "equity",
     "isin": "US0378331005", "listing_id": "MWLAPC", "ticker": "APC", "mic": "XETR"},
    {"issuer_id": "MWIMSFT", "issuer_name": "Microsoft Corporation", "security_id": "MWSMSFT", "type": "equity",
     "isin": "US5949181045", "listing_id": "MWLMSFT", "ticker": "MSFT", "mic": "XNAS", "index_member": True},
    {"issuer_id": "MWISIE", "issuer_name": "Siemens Aktiengesellschaft", "security_id": "MWSSIE", "type": "equity",
     "isin": "DE0007236101", "listing_id": "MWLSIE", "ticker": "SIE", "mic": "XETR"},
    {"issuer_id": "MWISIE2", "issuer_name": "SIEMENS AG  NA O.N.", "security_id": "MWSSIE2", "type": "equity",
     "listing_id": "MWLSIE2", "ticker": "SIE", "mic": "XBER"},
    {"issuer_id": "MWISIEFUND", "issuer_name": "SIEMENS BALANCED", "security_id": "MWSSIEF", "type": "etf",
     "listing_id": "MWLSIEF", "ticker": "S4WE", "mic": "XDUS"},
    {"issuer_id": "MWITTE", "issuer_name": "TotalEnergies SE", "security_id": "MWSTTE", "type": "equity",
     "isin": "FR0000120271", "listing_id": "MWLTTE", "ticker": "TTE", "mic": "XPAR"},
    {"issuer_id": "MWILVMH", "issuer_name": "LVMH Moët Hennessy - Louis Vuitton, Societe Europeenne",
     "security_id": "MWSLVMH", "type": "equity", "isin": "FR0000121014", "listing_id": "MWLMC", "ticker": "MC",
     "mic": "XPAR"},
    {"issuer_id": "MWIDB", "issuer_name": "Deutsche Bank Aktiengesellschaft", "security_id": "MWSDB",
     "type": "equity", "isin": "DE0005140008", "listing_id": "MWLDBK", "ticker": "DBK", "mic": "XETR"},
]


@pytest.fixture(scope="module")
def ann() -> EntityAnnotator:
    return EntityAnnotator(CompanyIndex.from_rows(MASTER_ROWS))


def by_link(ents, kind):
    return {e["link"]["id"]: e for e in ents if e["link"] and e["link"]["kind"] == kind}


def test_seed_article(ann):
    s = read_seed()
    text = f"{s.title}\n\n{s.body}"
    ents = ann.annotate(s.title, s.body, "fr")
    people = by_link(ents, "person")
    assert set(people) == {"vladimir-putin", "masoud-pezeshkian"}
    putin = people["vladimir-putin"]
    assert putin["text"] == "Vladimir Poutine" and putin["type"] == "PER"
    # the title's bare "Poutine" and the later ones join the full name
    assert putin["mentions"] == text.count("Poutine") == 3
    assert text[slice(*putin["spans"][0])] == "Poutine" and putin["spans"][0][0] < len(s.title)
    assert people["masoud-pezeshkian"]["mentions"] == text.count("Pezeshkian")
    assert putin["link"]["confidence"] >= 0.9
    countries = {e["link"]["id"]: e for e in ents if e["link"] and e["link"]["kind"] == "country"
                 and e["link"]["method"] in ("cldr", "alias", "demonym")}
    assert {"RU", "IR", "IL", "TM", "UA", "SA", "AE"} <= set(countries)
    assert countries["RU"]["text"] == "Russie" and countries["RU"]["type"] == "LOC"
    assert {"Russie", "russe", "russes"} <= set(countries["RU"]["link"]["evidence"])
    assert {"Israël", "israéliennes"} <= set(countries["IL"]["link"]["evidence"])
    assert "iranien" in countries["IR"]["link"]["evidence"]
    assert countries["AE"]["text"] == "Émirats Arabes Unis"
    assert countries["SA"]["text"] == "Arabie Saoudite"
    # capitals are places of their own, linked to their country with lower confidence
    capitals = {e["text"]: e["link"] for e in ents if e["link"] and e["link"]["method"] == "capital"}
    assert capitals["Moscou"]["id"] == "RU" and capitals["Téhéran"]["id"] == "IR"
    assert capitals["Moscou"]["confidence"] < countries["RU"]["link"]["confidence"]
    # S-400 is a weapon system, never a place; "État(s)" and "chefs d'État" are not places
    s400 = [e for e in ents if e["text"] == "S-400"]
    assert s400 and s400[0]["type"] == "PRODUCT" and s400[0]["mentions"] == 2
    for e in ents:
        assert e["text"] not in ("État", "États", "Etat")
        for a, b in e["spans"]:
            assert text[a:b] == text[a:b].strip() and "État" not in text[a:b]
    # spans point into title + "\n\n" + body, and entities are distinct
    for e in ents:
        assert all(text[a:b] for a, b in e["spans"])
    assert len({(e["type"], e["text"]) for e in ents}) == len(ents)


@pytest.mark.parametrize("lang,text,iso", [
    ("fr", "Le gouvernement allemand a annoncé des mesures.", "DE"),
    ("fr", "Les exportations vers les États-Unis ont baissé.", "US"),
    ("de", "Die russische Regierung reagierte sofort.", "RU"),
    ("de", "Die Exporte nach Frankreich sind gestiegen.", "FR"),
    ("de", "Gespräche mit Großbritannien und der Schweiz.", "GB"),
    ("en", "Chinese exports rose in March.", "CN"),
    ("en", "Talks between the UK and Japan resumed.", "JP"),
    ("en", "Talks between the UK and Japan resumed.", "GB"),
    ("pt", "O Brasil e a Argentina assinaram um acordo.", "AR"),
    (None, "Die Wahlen in Polen und Ungarn.", "PL"),
])
def test_countries_by_name_alias_and_demonym(ann, lang, text, iso):
    ents = ann.annotate(None, text, lang)
    assert iso in by_link(ents, "country"), ents


@pytest.mark.parametrize("lang,text,pid", [
    ("de", "Wladimir Putin traf Masud Peseschkian in Aschgabat.", "masoud-pezeshkian"),
    ("de", "Wladimir Putin traf Masud Peseschkian in Aschgabat.", "vladimir-putin"),
    ("en", "Fed Chair Jerome Powell said rates would stay high.", "jerome-powell"),
    ("fr", "Christine Lagarde a maintenu les taux de la BCE.", "christine-lagarde"),
    ("en", "Zelenskyy met Erdogan in Ankara.", "recep-tayyip-erdogan"),
])
def test_people_across_spellings(ann, lang, text, pid):
    assert pid in by_link(ann.annotate(None, text, lang), "person")


def test_a_surname_that_may_not_stand_alone_needs_the_full_name(ann):
    alone = ann.annotate(None, "Powell a parlé hier.", "fr")
    assert "jerome-powell" not in by_link(alone, "person")
    both = ann.annotate(None, "Jerome Powell a parlé hier. Powell a ajouté que l'inflation baisse.", "fr")
    e = by_link(both, "person")["jerome-powell"]
    assert e["mentions"] == 2 and e["link"]["method"] in ("full_name", "surname_of_full_name")


@pytest.mark.parametrize("lang,text,issuer,kind", [
    ("en", "Apple Inc. reported record iPhone sales.", "MWIAPPLE", "issuer"),
    ("en", "Shares of Apple (AAPL) rose 3%.", "MWIAPPLE", "issuer"),
    ("en", "The company (NASDAQ: MSFT) beat estimates.", "MWLMSFT", "listing"),
    ("en", "Traders piled into $MSFT after the call.", "MWLMSFT", "listing"),
    ("fr", "TotalEnergies a relevé son dividende.", "MWITTE", "issuer"),
    ("fr", "Le titre LVMH a reculé à Paris.", "MWILVMH", "issuer"),
    ("de", "Die Siemens AG hebt ihre Prognose an.", "MWISIE", "issuer"),
    ("de", "Die Deutsche Bank meldet einen Gewinnsprung.", "MWIDB", "issuer"),
    ("en", "Reuters reported that (TTE.PA) fell.", "MWLTTE", "listing"),
    ("en", "The note references ISIN US5949181045.", "MWSMSFT", "security"),
])
def test_companies_of_the_master(ann, lang, text, issuer, kind):
    links = [e["link"] for e in ann.annotate(None, text, lang) if e["link"]]
    hit = [lk for lk in links if lk["id"] == issuer]
    assert hit and hit[0]["kind"] == kind, links
    assert 0 < hit[0]["confidence"] <= 1 and hit[0]["evidence"]


def test_name_with_ticker_is_near_certain_and_the_fund_is_not_the_company(ann):
    e = [x for x in ann.annotate(None, "Apple (AAPL) and Siemens gained.", "en") if x["link"]]
    apple = [x for x in e if x["link"]["id"] == "MWIAPPLE"][0]
    assert apple["link"]["confidence"] >= 0.95 and "AAPL" in apple["link"]["evidence"]
    assert all(x["link"]["id"] != "MWISIEFUND" for x in e)


def test_bare_tickers_and_common_words_are_not_companies(ann):
    ents = ann.annotate(None, "MC Hammer and the SIE conference; an apple a day.", "en")
    assert not [e for e in ents if e["link"] and e["link"]["kind"] in ("issuer", "listing")]


def test_isin_needs_a_valid_check_digit(ann):
    ents = ann.annotate(None, "Codes US0378331005 and US0378331006 and FR0000120271.", "en")
    ids = {e["link"]["id"] for e in ents if e["link"]}
    assert "MWSAPPLE" in ids and "MWSTTE" in ids
    assert not any("US0378331006" in e["text"] for e in ents)
    no_master = EntityAnnotator().annotate(None, "ISIN DE0005140008 traded.", None)
    assert [e["link"]["kind"] for e in no_master if e["link"]] == ["isin"]


def test_bad_input_does_not_crash(ann):
    assert ann.annotate(None, "", "fr") == []
    assert ann.annotate("", "", None) == []
    unknown = ann.annotate("Poutine en visite", "Vladimir Putin visitó Irán.", "xx-unknown")
    assert {"vladimir-putin"} <= set(by_link(unknown, "person"))
    assert "IR" in by_link(unknown, "country")  # CLDR Spanish name "Irán", gazetteers only
    huge = ann.annotate(None, "La France et l'Allemagne. " * 20000, "fr")
    fr = by_link(huge, "country")["FR"]
    assert fr["mentions"] > 1000 and max(b for _, b in fr["spans"]) <= 200_000
    out = ann.annotate_many([(None, "Berlin", "de"), (None, "", None), ("Titre", "La Chine.", "fr")])
    assert len(out) == 3 and out[1] == [] and "CN" in by_link(out[2], "country")


def test_inflections():
    assert fr_forms("iranien") == ["iranien", "iranienne", "iraniens", "iraniennes"]
    assert fr_forms("russe") == ["russe", "russes"]
    assert fr_forms("français") == ["français", "française", "françaises"]
    assert "russischen" in de_forms("russisch")


FALSE_FRIEND_ROWS = MASTER_ROWS + [
    # little-known issuers whose one-word names are organisations or common words
    {"issuer_id": "MWIOMS", "issuer_name": "OMS Energy Technologies Inc.", "security_id": "MWSOMS", "type": "equity",
     "listing_id": "MWLOMS", "ticker": "OMSE", "mic": "XNAS"},
    {"issuer_id": "MWIDESIGN", "issuer_name": "Design Co., Ltd.", "security_id": "MWSDESIGN", "type": "equity",
     "listing_id": "MWLDESIGN", "ticker": "3935", "mic": "XTKS"},
    # a notable issuer (ISIN, several venues) whose name is a very common word
    {"issuer_id": "MWISPORT", "issuer_name": "SPORT LISBOA E BENFICA-FUT S", "security_id": "MWSSPORT",
     "type": "equity", "isin": "PTSLB0AM0010", "listing_id": "MWLSLBEN", "ticker": "SLBEN", "mic": "XLIS"},
    {"issuer_id": "MWIBMWIND", "issuer_name": "BMW INDUSTRIES LIMITED", "security_id": "MWSBMWIND",
     "type": "equity", "listing_id": "MWLBMWIND", "ticker": "BMW", "mic": "XBOM"},
    {"issuer_id": "MWIBMW", "issuer_name": "Bayerische Motoren Werke AG", "security_id": "MWSBMW", "type": "equity",
     "isin": "DE0005190003", "listing_id": "MWLBMW", "ticker": "BMW", "mic": "XETR"},
    {"issuer_id": "MWIORANGE", "issuer_name": "Orange S.A.", "security_id": "MWSORA", "type": "equity",
     "isin": "FR0000133308", "listing_id": "MWLORA", "ticker": "ORA", "mic": "XPAR"},
    {"issuer_id": "MWIVW", "issuer_name": "Volkswagen AG", "security_id": "MWSVW", "type": "equity",
     "isin": "DE0007664039", "listing_id": "MWLVOW3", "ticker": "VOW3", "mic": "XETR"},
]


@pytest.fixture(scope="module")
def ann_ff() -> EntityAnnotator:
    return EntityAnnotator(CompanyIndex.from_rows(FALSE_FRIEND_ROWS))


def _issuers(ann: EntityAnnotator, text: str, lang: str) -> list[str]:
    return [e["link"]["id"] for e in ann.annotate(None, text, lang)
            if e["link"] and e["link"]["kind"] in ("issuer", "listing", "security")]


@pytest.mark.parametrize("lang,text", [
    ("fr", "L'OMS recommande le port du masque dans les transports."),  # a little-known issuer: not notable
    ("en", "Design is what sells the new phone."),                       # not notable, and a common word
    ("fr", "Sport : le Tour de France partira de Lille."),               # notable, but one of the commonest words
    ("en", "She painted the door Orange and the walls white."),          # common word the model does not call a company
])
def test_one_word_false_friends_are_not_linked(ann_ff, lang, text):
    assert _issuers(ann_ff, text, lang) == []


def test_one_word_names_that_are_companies_still_link(ann_ff):
    # the curated alias sends BMW to Bayerische Motoren Werke, not to the unrelated BMW Industries
    assert _issuers(ann_ff, "BMW hat im zweiten Quartal mehr Autos verkauft.", "de") == ["MWIBMW"]
    # a legal form, or a ticker in parentheses, vouches for a one-word name
    assert _issuers(ann_ff, "Orange S.A. reported higher revenue in Spain.", "en") == ["MWIORANGE"]
    assert _issuers(ann_ff, "OMS (OMSE) shares doubled on their first day.", "en") == ["MWIOMS"]
    # a curated two-letter alias
    assert _issuers(ann_ff, "VW kündigt neue Modelle an.", "de") == ["MWIVW"]
    # only a real legal form vouches ("The", "A New" and an initial are not legal forms)
    assert _issuers(ann_ff, "Design The Future: A New Look at Phones.", "en") == []
    assert _issuers(ann_ff, "Orange S.A. et Orange ont publié.", "fr")[:1] == ["MWIORANGE"]
    # a legal form on the next line is not this name's
    assert [e["text"] for e in ann_ff.annotate(None, "Elle vient de Siemens.\nAG de la société le 3 mai.", "fr")
            if e["link"] and e["link"]["kind"] == "issuer"] == ["Siemens"]


def test_without_a_model_a_common_word_links_only_to_an_index_member() -> None:
    idx = CompanyIndex.from_rows(FALSE_FRIEND_ROWS)
    ann = EntityAnnotator(idx)
    # Spanish: no model reads the text. "Orange" (not an index member) stays unlinked; Apple (one) links.
    ents = ann.annotate(None, "Orange y Apple presentaron resultados el martes en Madrid.", "es")
    assert {e["link"]["id"] for e in ents if e["link"] and e["link"]["kind"] == "issuer"} == {"MWIAPPLE"}
