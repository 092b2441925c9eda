"""How the entity stage resolves its layers, pinned on the decisions it makes.

The NER model's output is given here as the spans a spaCy ``Doc`` carries (``ents`` with ``label_``,
``start_char``, ``end_char``), so each test states what the model said and checks what the stage makes of it:
label mapping and filtering, products, gazetteer names against the model's, weak company names, credits, demonyms,
and the grouping of mentions into entities with their links and confidences. Texts in a language without a model
(or with ``doc=None``) use the gazetteers alone.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from marketwire.news.entities import MAX_CHARS, CompanyIndex, EntityAnnotator, group, not_for_ner, pipeline
from marketwire.news.spans import Span
from marketwire.news.spans import link as mklink

pytestmark = pytest.mark.unit

ROWS = [
    {"issuer_id": "MWIAPPLE", "issuer_name": "Apple Inc.", "security_id": "MWSAPPLE", "type": "equity",
     "isin": "US0378331005", "listing_id": "MWLAAPL", "ticker": "AAPL", "mic": "XNAS", "index_member": True},
    {"issuer_id": "MWIORANGE", "issuer_name": "Orange S.A.", "security_id": "MWSORA", "type": "equity",
     "isin": "FR0000133308", "listing_id": "MWLORA", "ticker": "ORA", "mic": "XPAR"},
]


@pytest.fixture(scope="module")
def ann_zal() -> EntityAnnotator:
    """A master with a notable issuer of a rare one-word name, which is weak (0.6) where it opens a sentence."""
    return EntityAnnotator(CompanyIndex.from_rows(ROWS + [
        {"issuer_id": "MWIZAL", "issuer_name": "Zalando SE", "security_id": "MWSZAL", "type": "equity",
         "isin": "DE000ZAL1002", "listing_id": "MWLZAL", "ticker": "ZAL", "mic": "XETR"}]))


def doc(text: str, *ents: tuple) -> SimpleNamespace:
    """What the model found: (surface, label) or (surface, label, n) for the n-th occurrence of surface."""
    out = []
    for e in ents:
        surface, label = e[0], e[1]
        i = -1
        for _ in range((e[2] if len(e) > 2 else 0) + 1):
            i = text.index(surface, i + 1)
        out.append(SimpleNamespace(label_=label, start_char=i, end_char=i + len(surface)))
    return SimpleNamespace(ents=out)


@pytest.fixture(scope="module")
def ann() -> EntityAnnotator:
    return EntityAnnotator()


@pytest.fixture(scope="module")
def ann_master() -> EntityAnnotator:
    return EntityAnnotator(CompanyIndex.from_rows(ROWS))


def ents_of(ann: EntityAnnotator, text: str, lang: str | None, *model: tuple) -> list[dict]:
    return ann.entities(text, lang, doc(text, *model) if model else None)


def texts(ents: list[dict]) -> list[tuple[str, str]]:
    return [(e["text"], e["type"]) for e in ents]


def countries(ents: list[dict]) -> dict[str, dict]:
    return {e["link"]["id"]: e for e in ents if e["link"] and e["link"]["kind"] == "country"}


# -- the text read and its language -----------------------------------------------------------------

def test_title_and_body_are_read_as_one_text_with_offsets_into_it(ann):
    ents = ann.annotate("France", "Germany.", "xx")
    assert [(e["text"], e["spans"]) for e in ents] == [("France", [[0, 6]]), ("Germany", [[8, 15]])]
    assert [e["spans"] for e in ann.annotate(None, "Germany.", "xx")] == [[[0, 7]]]
    assert ann.annotate("Germany", None, "xx")[0]["spans"] == [[0, 7]]  # type: ignore[arg-type]


def test_a_long_text_is_read_up_to_its_limit():
    """The cut is at MAX_CHARS characters: a name ending exactly there is read, one a character later is cut."""
    ann = EntityAnnotator()
    fits = "x " * ((MAX_CHARS - 6) // 2) + "France"
    assert len(fits) == MAX_CHARS
    assert "FR" in countries(ann.annotate(None, fits, "xx"))
    over = " " + fits
    assert "FR" not in countries(ann.annotate(None, over, "xx"))


@pytest.mark.parametrize("tag", ["pt", "pt-BR", "PT_br", " pt "])
def test_a_language_tag_is_reduced_to_its_language(ann, tag):
    """"Alemanha" is Portuguese for Germany: found when the tag says Portuguese, whatever its region or case."""
    assert "DE" in countries(ann.annotate(None, "A Alemanha exporta carros.", tag))


def test_a_region_or_unknown_language_falls_back_to_english_names(ann):
    assert "DE" not in countries(ann.annotate(None, "A Alemanha exporta carros.", "br"))
    assert "DE" in countries(ann.annotate(None, "Germany exports cars.", "br"))


def test_without_a_language_every_language_is_matched(ann):
    assert "DE" in countries(ann.annotate(None, "A Alemanha exporta carros.", None))
    assert "DE" in countries(ann.annotate(None, "A Alemanha exporta carros.", ""))


# -- the model's spans --------------------------------------------------------------------------------

def test_model_labels_are_mapped_and_dates_and_amounts_dropped(ann):
    text = "Anil Kumar told Microsoft staff in Redmond on Monday that 5 billion dollars were Buddhist."
    ents = ents_of(ann, text, "en", ("Anil Kumar", "PERSON"), ("Microsoft", "ORG"), ("Redmond", "GPE"),
                   ("Monday", "DATE"), ("5 billion dollars", "MONEY"), ("Buddhist", "NORP"))
    assert texts(ents) == [("Anil Kumar", "PER"), ("Microsoft", "ORG"), ("Redmond", "LOC"), ("Buddhist", "MISC")]
    assert all(e["link"] is None for e in ents)


def test_model_spans_that_are_common_nouns_or_cross_a_line_are_dropped(ann):
    text = "L'État investit.\nLa Société Générale aussi, dit Jean\nDupont."
    ents = ents_of(ann, text, "fr", ("État", "LOC"), ("Société Générale", "ORG"), ("Jean\nDupont", "PER"))
    assert texts(ents) == [("Société Générale", "ORG")]


@pytest.mark.parametrize("word,kept", [("AI", "MISC"), ("EV", "MISC"), ("NYSE", "MISC"), ("NASDQ", "LOC"),
                                       ("Texas", "LOC")])
def test_a_short_acronym_the_model_calls_a_place_is_not_a_place(ann, word, kept):
    """Two to four capitals called a place by the model are a term ("AI", "EV"); longer names stay places."""
    text = f"Investors in {word} were cautious."
    assert texts(ents_of(ann, text, "en", (word, "GPE"))) == [(word, kept)]


def test_a_short_acronym_called_an_organisation_stays_one(ann):
    text = "Investors in IBM were cautious."
    assert texts(ents_of(ann, text, "en", ("IBM", "ORG"))) == [("IBM", "ORG")]


def test_a_country_code_the_gazetteer_knows_replaces_the_models_acronym(ann):
    ents = ents_of(ann, "Exports to the USA rose.", "en", ("USA", "GPE"))
    assert [(e["text"], e["type"], e["link"]["id"]) for e in ents] == [("USA", "LOC", "US")]


# -- products and gazetteer names against the model ---------------------------------------------------

def test_a_model_designation_is_a_product_whatever_the_model_said(ann):
    text = "Russia deployed the S-400 near Kaliningrad; a second S-400 followed."
    ents = ents_of(ann, text, "en", ("S-400", "GPE"), ("Kaliningrad", "GPE"), ("S-400", "ORG", 1))
    s400 = [e for e in ents if e["text"] == "S-400"]
    assert len(s400) == 1 and s400[0]["type"] == "PRODUCT" and s400[0]["mentions"] == 2
    assert ("Kaliningrad", "LOC") in texts(ents) and "RU" in countries(ents)


def test_overlapping_designations_keep_the_longest():
    ents = EntityAnnotator().annotate(None, "The Airbus A320neo and a Boeing 737 MAX landed.", "xx")
    assert [(e["text"], e["type"]) for e in ents] == [("Airbus A320neo", "PRODUCT"), ("Boeing 737 MAX", "PRODUCT")]


def test_a_longer_name_the_model_found_around_a_country_wins(ann):
    text = "La Banque de France a relevé ses prévisions."
    ents = ents_of(ann, text, "fr", ("Banque de France", "ORG"))
    assert texts(ents) == [("Banque de France", "ORG")] and not countries(ents)


def test_a_name_that_starts_with_the_country_is_the_models_too(ann):
    text = "France Télévisions a perdu des téléspectateurs."
    ents = ents_of(ann, text, "fr", ("France Télévisions", "ORG"))
    assert texts(ents) == [("France Télévisions", "ORG")]


def test_an_article_before_a_country_does_not_make_a_longer_name(ann):
    """"la Chine" or "the Netherlands" read by the model as one name: the country is linked without its article."""
    text = "Les exportations vers la Chine ont baissé."
    ents = ents_of(ann, text, "fr", ("la Chine", "LOC"))
    assert [(e["text"], e["link"]["id"]) for e in ents] == [("Chine", "CN")]
    text = "Die Exporte in die Schweiz sind gestiegen."
    ents = ents_of(ann, text, "de", ("die Schweiz", "LOC"))
    assert [(e["text"], e["link"]["id"]) for e in ents] == [("Schweiz", "CH")]


def test_the_same_span_from_model_and_gazetteer_is_the_gazetteers(ann):
    ents = ents_of(ann, "Japan raised rates.", "en", ("Japan", "GPE"))
    assert [(e["text"], e["type"], e["link"]["id"]) for e in ents] == [("Japan", "LOC", "JP")]


def test_a_country_name_the_model_calls_a_person_is_the_person(ann):
    text = "Michael Jordan visited Jordan last year."
    ents = ents_of(ann, text, "en", ("Michael Jordan", "PERSON"), ("Jordan", "PERSON", 1))
    assert not countries(ents)
    assert [(e["text"], e["type"], e["mentions"]) for e in ents] == [("Michael Jordan", "PER", 2)]
    placed = ents_of(ann, text, "en", ("Michael Jordan", "PERSON"), ("Jordan", "GPE", 1))
    assert "JO" in countries(placed)


def test_a_capital_called_a_person_is_the_person_too(ann):
    """Capitals link to their country: the model's person wins over them as over a country name."""
    ents = ents_of(ann, "Officials in Paris met.", "en", ("Paris", "PERSON"))
    assert [(e["text"], e["type"], e["link"]) for e in ents] == [("Paris", "PER", None)]
    ents = ents_of(ann, "Officials in Paris met.", "en", ("Paris", "GPE"))
    assert [(e["text"], e["type"], e["link"]["method"]) for e in ents] == [("Paris", "LOC", "capital")]


# -- companies -----------------------------------------------------------------------------------------

def test_a_weak_one_word_company_needs_the_model_to_call_exactly_it_an_organisation(ann_master):
    text = "Orange a publié ses résultats."
    ids = [e["link"]["id"] for e in ents_of(ann_master, text, "fr", ("Orange", "ORG")) if e["link"]]
    assert ids == ["MWIORANGE"]
    assert not [e for e in ents_of(ann_master, text, "fr", ("Orange", "MISC")) if e["link"]]
    assert not [e for e in ents_of(ann_master, text, "fr", ("Orange a", "ORG")) if e["link"]]
    assert [e["link"]["id"] for e in ents_of(ann_master, text, "fr", ("Orange", "PRODUCT")) if e["link"]] == [
        "MWIORANGE"]


def test_a_strong_company_name_needs_no_model(ann_master):
    ents = ents_of(ann_master, "Apple Inc. reported record sales.", "en", ("Apple Inc.", "PERSON"))
    assert [(e["text"], e["type"], e["link"]["id"]) for e in ents] == [("Apple Inc.", "ORG", "MWIAPPLE")]


def test_without_a_master_a_valid_isin_is_linked_as_such(ann):
    ents = ann.annotate(None, "ISIN DE0005140008 and DE0005140009 traded.", "xx")
    assert [(e["text"], e["type"], e["link"]["kind"], e["link"]["confidence"]) for e in ents] == [
        ("DE0005140008", "MISC", "isin", 0.9)]


def test_mentions_of_one_company_form_one_entity_under_its_issuer(ann_master):
    """Name, ticker and ISIN of one issuer: one entity, the issuer link ahead of the surer ISIN, confidence raised."""
    text = "Apple Inc. (NASDAQ: AAPL) said its shares (ISIN US0378331005) rose."
    ents = [e for e in ents_of(ann_master, text, "en") if e["link"]]
    assert len(ents) == 1
    e = ents[0]
    assert (e["text"], e["type"], e["mentions"]) == ("Apple Inc.", "ORG", 3)
    assert (e["link"]["kind"], e["link"]["id"]) == ("issuer", "MWIAPPLE")
    assert e["link"]["confidence"] == 0.99
    only = [e for e in ents_of(ann_master, "Shares (ISIN US0378331005) of Apple Inc. rose.", "en") if e["link"]]
    assert only[0]["link"]["kind"] == "issuer" and only[0]["text"] == "Apple Inc."


# -- credits --------------------------------------------------------------------------------------------

def test_names_in_bylines_and_agency_credits_are_not_entities(ann):
    text = "By Andrea Shalal\nWASHINGTON (Reuters) - Japan and France signed the accord."
    ents = ents_of(ann, text, "en", ("Andrea Shalal", "PERSON"), ("Reuters", "ORG"), ("Japan", "GPE"))
    assert texts(ents) == [("WASHINGTON", "LOC"), ("Japan", "LOC"), ("France", "LOC")]
    # the same names outside a credit are entities
    text = "Andrea Shalal met Reuters staff in Japan."
    ents = ents_of(ann, text, "en", ("Andrea Shalal", "PERSON"), ("Reuters", "ORG"), ("Japan", "GPE"))
    assert texts(ents) == [("Andrea Shalal", "PER"), ("Reuters", "ORG"), ("Japan", "LOC")]


# -- demonyms --------------------------------------------------------------------------------------------

def test_a_demonym_links_its_country_and_the_models_label_over_it_gives_way(ann):
    ents = ents_of(ann, "Chinese exports rose.", "en", ("Chinese", "NORP"))
    assert [(e["text"], e["type"], e["link"]["id"], e["link"]["confidence"]) for e in ents] == [
        ("Chinese", "MISC", "CN", 0.8)]
    ents = ents_of(ann, "Chinese exports rose.", "en", ("Chinese", "PERSON"))
    assert [(e["text"], e["type"], e["link"]) for e in ents] == [("Chinese", "PER", None)]


def test_a_demonym_and_the_country_name_are_one_entity_named_by_the_country(ann):
    ents = ann.annotate(None, "Chinese officials said China would respond. Chinese media agreed.", "en")
    cn = countries(ents)["CN"]
    assert (cn["text"], cn["type"], cn["mentions"]) == ("China", "LOC", 3)
    assert cn["link"]["confidence"] == 0.99 and cn["link"]["method"] == "cldr"
    assert cn["link"]["evidence"] == ["Chinese", "China"]
    assert cn["spans"][0] == [0, 7]


def test_demonyms_alone_do_not_add_up_to_more_confidence(ann):
    ents = ann.annotate(None, "Chinese officials and Chinese media agreed.", "en")
    cn = countries(ents)["CN"]
    assert (cn["text"], cn["type"], cn["mentions"], cn["link"]["confidence"]) == ("Chinese", "MISC", 2, 0.8)


# -- grouping and confidence -------------------------------------------------------------------------------

@pytest.mark.parametrize("n,conf", [(1, 0.95), (2, 0.97), (3, 0.99), (4, 0.99)])
def test_each_further_mention_adds_a_little_confidence_up_to_099(ann, n, conf):
    text = " ".join(["Japan exports."] * n)
    jp = countries(ann.annotate(None, text, "en"))["JP"]
    assert jp["mentions"] == n and jp["link"]["confidence"] == conf


def test_entities_come_in_the_order_of_their_first_mention(ann):
    ents = ann.annotate(None, "France, then Germany, then France again, then Italy.", "en")
    assert [e["text"] for e in ents] == ["France", "Germany", "Italy"]
    assert ents[0]["spans"] == [[0, 6], [27, 33]]


def test_a_surname_joins_the_full_name_of_the_article(ann):
    ents = ann.annotate(None, "Jerome Powell spoke. Powell said rates stay high.", "en")
    p = [e for e in ents if e["link"] and e["link"]["id"] == "jerome-powell"]
    assert len(p) == 1 and p[0]["mentions"] == 2 and p[0]["text"] == "Jerome Powell"
    assert p[0]["link"]["confidence"] == 0.97 and p[0]["link"]["method"] == "full_name"


def test_a_surname_that_may_stand_alone_is_linked_alone(ann):
    ents = ann.annotate(None, "Putin spoke on Tuesday.", "en")
    p = [e for e in ents if e["link"] and e["link"]["kind"] == "person"]
    assert [(e["text"], e["link"]["id"], e["link"]["method"], e["link"]["confidence"]) for e in p] == [
        ("Putin", "vladimir-putin", "surname", 0.75)]


def test_a_surname_that_may_not_stand_alone_is_an_unlinked_person(ann):
    ents = ann.annotate(None, "Powell spoke on Tuesday.", "en")
    assert [(e["text"], e["type"], e["link"]) for e in ents] == [("Powell", "PER", None)]


def test_surname_spans_of_a_full_name_are_confirmed(ann):
    """Grouping a surname with the full name lifts the surname's own link to 0.9 "surname_of_full_name"."""
    text = "Jerome Powell spoke. Powell said rates stay high."
    a = ann.spans(text, "en", None)
    sur = [s for s in a if text[s.start:s.end] == "Powell"][0]
    group(text, a)
    assert (sur.link["confidence"], sur.link["method"]) == (0.9, "surname_of_full_name")


def test_an_unlinked_surname_joins_the_longer_name_that_ends_with_it(ann):
    text = "Maria Garcia Lopez won. Lopez thanked her team. Garcia spoke too."
    ents = ents_of(ann, text, "en", ("Maria Garcia Lopez", "PERSON"), ("Lopez", "PERSON", 1),
                   ("Garcia", "PERSON", 1))
    assert [(e["text"], e["mentions"]) for e in ents] == [("Maria Garcia Lopez", 2), ("Garcia", 1)]


def test_a_one_word_name_of_another_type_does_not_join_a_person(ann):
    text = "Anna Lopez won. Lopez Foods fell. Lopez rose."
    ents = ents_of(ann, text, "en", ("Anna Lopez", "PERSON"), ("Lopez", "ORG", 2))
    assert [(e["text"], e["type"], e["mentions"]) for e in ents] == [("Anna Lopez", "PER", 1), ("Lopez", "ORG", 1)]


def test_the_entity_is_named_by_its_fullest_form(ann):
    text = "Maria Lopez won. Lopez thanked Maria Lopez's team."
    ents = ents_of(ann, text, "en", ("Lopez", "PERSON", 1), ("Maria Lopez", "PERSON"), ("Maria Lopez", "PERSON", 1))
    assert [(e["text"], e["mentions"], e["spans"][0]) for e in ents] == [("Maria Lopez", 3, [0, 11])]


def test_group_keeps_link_kinds_in_rank_issuer_security_listing():
    """Among the links of one entity the issuer wins, then the security, then the listing, whatever the confidence."""
    text = "AAPL US0378331005 Apple"
    key = ("issuer", "MWIAPPLE")
    listing = Span(0, 4, "ORG", "company", mklink("listing", "MWLAAPL", "Apple Inc.", 0.95, "ric", "AAPL"), key)
    security = Span(5, 17, "ORG", "company", mklink("security", "MWSAPPLE", "Apple Inc.", 0.99, "isin",
                                                     "US0378331005"), key)
    issuer = Span(18, 23, "ORG", "company", mklink("issuer", "MWIAPPLE", "Apple Inc.", 0.6, "name", "Apple"), key)
    assert group(text, [listing, security])[0]["link"]["kind"] == "security"
    assert group(text, [listing, security, issuer])[0]["link"]["kind"] == "issuer"
    assert group(text, [issuer, listing])[0]["link"]["kind"] == "issuer"
    lone = group(text, [listing])[0]["link"]
    assert (lone["kind"], lone["confidence"]) == ("listing", 0.95)


def test_a_weak_company_name_inside_a_longer_organisation_is_not_linked(ann_master):
    """The model's organisation must be the word itself: "Orange Bowl Committee" does not vouch for "Orange"."""
    text = "Orange Bowl Committee officials met on Monday."
    ents = ents_of(ann_master, text, "en", ("Orange Bowl Committee", "ORG"))
    assert [(e["text"], e["type"], e["link"]) for e in ents] == [("Orange Bowl Committee", "ORG", None)]


def test_a_weak_company_name_left_out_does_not_end_the_names_after_it(ann_zal):
    """"Zalando" alone at the start of a sentence is a weak name (0.6): without the model's organisation it is
    left out, and the shorter names after it are still read."""
    ents = ents_of(ann_zal, "Zalando raised its forecast in France.", "en")
    assert texts(ents) == [("France", "LOC")]
    ents = ents_of(ann_zal, "Zalando raised its forecast in France.", "en", ("Zalando", "ORG"))
    assert [(e["text"], e["link"]["id"]) for e in ents] == [("Zalando", "MWIZAL"), ("France", "FR")]
    ents = ents_of(ann_zal, "Zalando raised its forecast in France.", "en", ("Zalando", "PRODUCT"))
    assert [e["link"]["id"] for e in ents] == ["MWIZAL", "FR"]
    ents = ents_of(ann_zal, "Zalando raised its forecast in France.", "en", ("Zalando", "PERSON"))
    assert [(e["text"], e["type"], e["link"] and e["link"]["id"]) for e in ents] == [
        ("Zalando", "PER", None), ("France", "LOC", "FR")]


def test_a_longer_organisation_around_a_weak_company_name_does_not_vouch_for_it(ann_zal):
    ents = ents_of(ann_zal, "Zalando Lounge opened in Spain.", "en", ("Zalando Lounge", "ORG"))
    assert [(e["text"], e["type"], e["link"] and e["link"]["id"]) for e in ents] == [
        ("Zalando Lounge", "ORG", None), ("Spain", "LOC", "ES")]


def test_a_one_word_name_of_a_thing_does_not_join_the_person_it_is_named_after(ann):
    text = "Nikola Tesla was an inventor. Tesla sales fell."
    ents = ents_of(ann, text, "en", ("Nikola Tesla", "PERSON"), ("Tesla", "PRODUCT", 1))
    assert [(e["text"], e["type"], e["mentions"]) for e in ents] == [("Nikola Tesla", "PER", 1), ("Tesla", "PRODUCT", 1)]


def test_a_country_read_as_a_person_does_not_end_the_names_after_it(ann):
    text = "Michael Jordan visited Jordan and France."
    ents = ents_of(ann, text, "en", ("Michael Jordan", "PERSON"), ("Jordan", "PERSON", 1))
    assert [(e["text"], e["type"]) for e in ents] == [("Michael Jordan", "PER"), ("France", "LOC")]


def test_a_one_word_name_joins_the_unlinked_person_not_a_linked_one(ann):
    """"Qiang" after "Li Qiang" (the people table's) and "Wang Qiang" (unknown): the unknown person it may be."""
    text = "Li Qiang met Wang Qiang in Beijing. Qiang said the talks went well."
    ents = ents_of(ann, text, "en", ("Li Qiang", "PERSON"), ("Wang Qiang", "PERSON"), ("Qiang", "PERSON", 2))
    people = [(e["text"], e["mentions"], e["link"] and e["link"]["id"]) for e in ents if e["type"] == "PER"]
    assert people == [("Li Qiang", 1, "li-qiang"), ("Wang Qiang", 2, None)]


def test_a_one_word_name_before_the_full_name_joins_it(ann):
    text = "Lopez won the vote. Maria Lopez thanked her team."
    ents = ents_of(ann, text, "en", ("Lopez", "PERSON"), ("Maria Lopez", "PERSON"))
    assert [(e["text"], e["mentions"], e["spans"]) for e in ents] == [("Maria Lopez", 2, [[0, 5], [20, 31]])]


def test_a_company_name_ending_in_a_country_name_is_the_company():
    """Longer names are placed first: "Bank of America" is the bank, not the country at its end."""
    ann = EntityAnnotator(CompanyIndex.from_rows(ROWS + [
        {"issuer_id": "MWIBAC", "issuer_name": "Bank of America Corporation", "security_id": "MWSBAC",
         "type": "equity", "isin": "US0605051046", "listing_id": "MWLBAC", "ticker": "BAC", "mic": "XNYS"}]))
    ents = ents_of(ann, "Shares of Bank of America rose.", "en")
    assert [(e["text"], e["link"]["kind"], e["link"]["id"]) for e in ents] == [("Bank of America", "issuer", "MWIBAC")]


def test_the_models_names_after_a_demonym_are_still_read(ann):
    text = "Chinese exports to Sony fell."
    ents = ents_of(ann, text, "en", ("Chinese", "NORP"), ("Sony", "ORG"))
    assert [(e["text"], e["type"], e["link"] and e["link"]["id"]) for e in ents] == [
        ("Chinese", "MISC", "CN"), ("Sony", "ORG", None)]


def test_only_a_person_overrides_a_country_name(ann):
    """A country name the model calls a product (or an organisation) is still the country."""
    for label in ("PRODUCT", "ORG"):
        ents = ents_of(ann, "Jordan raised its tariffs.", "en", ("Jordan", label))
        assert [(e["text"], e["type"], e["link"]["id"]) for e in ents] == [("Jordan", "LOC", "JO")]


def test_an_organisation_ending_in_a_weak_company_name_does_not_vouch_for_it(ann_zal):
    ents = ents_of(ann_zal, "Shares of Gruppe Zalando rose.", "en", ("Gruppe Zalando", "ORG"))
    assert [(e["text"], e["link"]) for e in ents] == [("Gruppe Zalando", None)]


def test_a_one_word_name_joins_the_person_not_an_organisation_or_product_ending_alike(ann):
    text = "Grupo Lopez hired Maria Lopez. Lopez starts in May."
    ents = ents_of(ann, text, "en", ("Grupo Lopez", "ORG"), ("Maria Lopez", "PERSON"), ("Lopez", "PERSON", 2))
    assert [(e["text"], e["type"], e["mentions"]) for e in ents] == [("Grupo Lopez", "ORG", 1),
                                                                    ("Maria Lopez", "PER", 2)]
    text = "Air Jordan sales rose as Michael Jordan retired. Jordan said thanks."
    ents = ents_of(ann, text, "en", ("Air Jordan", "PRODUCT"), ("Michael Jordan", "PERSON"), ("Jordan", "PERSON", 2))
    assert [(e["text"], e["type"], e["mentions"]) for e in ents] == [("Air Jordan", "PRODUCT", 1),
                                                                    ("Michael Jordan", "PER", 2)]


def test_two_people_of_one_surname_stay_apart(ann):
    text = "Anna Lopez and Maria Lopez won."
    ents = ents_of(ann, text, "en", ("Anna Lopez", "PERSON"), ("Maria Lopez", "PERSON"))
    assert [(e["text"], e["mentions"]) for e in ents] == [("Anna Lopez", 1), ("Maria Lopez", 1)]


def test_a_demonym_the_model_calls_a_place_links_its_country(ann):
    """GPE over the demonym alone ("Chinese" read as a place) gives way to the demonym and its country link; a longer
    place around a demonym ("Indian Ocean") is the model's and links no country."""
    ents = ents_of(ann, "Chinese exports rose.", "en", ("Chinese", "GPE"))
    assert [(e["text"], e["type"], e["link"]["id"], e["link"]["method"]) for e in ents] == [
        ("Chinese", "MISC", "CN", "demonym")]
    ents = ents_of(ann, "Storms crossed the Indian Ocean.", "en", ("Indian Ocean", "LOC"))
    assert [(e["text"], e["type"], e["link"]) for e in ents] == [("Indian Ocean", "LOC", None)]
    # an organisation around a demonym is the model's too
    ents = ents_of(ann, "South African Airways flew.", "en", ("South African Airways", "ORG"))
    assert [(e["text"], e["type"], e["link"]) for e in ents] == [("South African Airways", "ORG", None)]


# -- the spaCy components run ---------------------------------------------------------------------------------

def test_only_the_ner_and_what_it_listens_to_run():
    """The shipped pipelines: English and French run their NER alone (its own embedding; the shared tok2vec feeds
    the tagger or morphologizer), the German NER listens to the shared tok2vec, which must run with it."""
    assert not_for_ner(pipeline("en")) == ["tok2vec", "tagger", "attribute_ruler"]
    assert not_for_ner(pipeline("fr")) == ["tok2vec", "morphologizer", "attribute_ruler"]
    assert not_for_ner(pipeline("de")) == []


def test_a_listened_to_embedding_runs_and_every_other_component_is_disabled():
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("tok2vec")
    nlp.add_pipe("ner", config={"model": {
        "@architectures": "spacy.TransitionBasedParser.v2", "state_type": "ner", "extra_state_tokens": False,
        "hidden_width": 64, "maxout_pieces": 2, "use_upper": True, "nO": None,
        "tok2vec": {"@architectures": "spacy.Tok2VecListener.v1", "width": 96, "upstream": "*"}}})
    for name in ("attribute_ruler", "entity_ruler", "tagger", "morphologizer", "sentencizer"):
        nlp.add_pipe(name)
    assert not_for_ner(nlp) == ["attribute_ruler", "entity_ruler", "tagger", "morphologizer", "sentencizer"]
    plain = spacy.blank("en")
    plain.add_pipe("tok2vec")
    plain.add_pipe("ner")  # its own embedding
    assert not_for_ner(plain) == ["tok2vec"]


def test_the_longest_text_read_is_the_longest_the_model_accepts():
    for lang in ("en", "fr", "de"):
        assert pipeline(lang).max_length == MAX_CHARS
