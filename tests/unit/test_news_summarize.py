"""Summaries: compression rules per language, the faithfulness gate, the seed article and the plug-in seam."""

from __future__ import annotations

import sys
import types
from importlib.metadata import EntryPoint

import pytest
from news_seed import read_seed  # type: ignore[import-not-found]

from marketwire.errors import InvalidInput
from marketwire.news import plugins
from marketwire.news.summarize import MAX_WORDS, Summary, compress, n_words, sentences, summarize, unfaithful

pytestmark = pytest.mark.unit

EN_TITLE = "Acme Corp beats forecasts as cloud sales jump"
EN_BODY = (
    "Acme Corp reported third-quarter revenue of $4.2 billion on Tuesday, up 12% from a year earlier, as demand for "
    "its cloud services kept growing. Net income rose to $610 million, or $1.35 a share, beating the $1.20 analysts "
    "had expected, the company said. Meanwhile, the group raised its full-year revenue forecast to between $16.5 "
    "billion and $16.8 billion, citing strong orders from banks and retailers. Chief executive Jane Miller, who took "
    "over in 2021, said the company would keep investing in data centres in Europe and Asia. Shares of Acme rose 6% "
    "in after-hours trading in New York.")
DE_TITLE = "Siemens Energy hebt Prognose an"
DE_BODY = (
    "Siemens Energy hat im dritten Quartal einen Umsatz von 8,7 Milliarden Euro erzielt, 14 Prozent mehr als im "
    "Vorjahr. Der Gewinn lag bei 450 Millionen Euro, sagte Finanzchefin Maria Ferraro am Montag in München. "
    "Unterdessen hat der Konzern seine Prognose für das Geschäftsjahr angehoben, weil die Nachfrage nach Turbinen und "
    "Netztechnik stark bleibt. Die Windkrafttochter Siemens Gamesa schreibt weiter Verluste, die aber kleiner werden. "
    "Die Aktie stieg im frühen Handel in Frankfurt um 5,2 Prozent.")


def _source(title: str, body: str) -> str:
    return f"{title}\n{body}"


# --- the seed article -------------------------------------------------------------------------------------------

def test_seed_gets_two_or_three_faithful_short_bullets():
    seed = read_seed()
    s = summarize(seed.title, seed.body, "fr")
    assert s.method == "extractive"
    assert s.headline == seed.title
    assert 2 <= len(s.bullets) <= 3, s.bullets
    for b in s.bullets:
        assert unfaithful(b, _source(seed.title, seed.body)) == [], b
        assert n_words(b) <= MAX_WORDS, b
        assert b.endswith(".") and b[0].isupper(), b
        assert b != seed.title
    assert s.rejected == []
    # each bullet is a compressed sentence of the body: its words appear in the body in the same order
    body_words = seed.body.split()
    for b in s.bullets:
        words = b.rstrip(".").split()
        it = iter(w.lower() for w in body_words)
        assert all(any(w.lower().rstrip(".,") == x.rstrip(".,") for x in it) for w in words), b


def test_seed_gate_rejects_inventions():
    seed = read_seed()
    src = _source(seed.title, seed.body)
    assert unfaithful("Macron propose 7,5 % de hausse des ventes de S-500.", src) == [
        "name Macron not in source", "name S-500 not in source", "number 7,5 % not in source"]
    assert unfaithful("La Russie pourrait livrer des S-400 à l'Iran, deux ans après l'invasion de 2022.", src) == []
    # a name at the start of a sentence is still checked, case-blind
    assert unfaithful("Erdogan rencontre Poutine.", src) == ["name Erdogan not in source"]
    assert unfaithful("Poutine rencontre Pezeshkian au Turkménistan.", src) == []


# --- the gate ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bullet, source", [
    ("The index closed up 0.68% at 26,469.89 points.", "Le Dax a clôturé en hausse de 0,68 % à 26.469,89 points."),
    ("Le Dax a gagné 0,68 %.", "The DAX rose 0.68 percent to 26,469.89."),
    ("The revenue was 1,150 million.", "Der Umsatz lag bei 1.150 Millionen Euro."),
    ("Il y a 10 000 habitants.", "La commune compte 10 000 habitants."),
    ("It has 10,000 residents.", "La commune compte 10 000 habitants."),
    ("In 2022 the G7 met.", "Les dirigeants du G7 se sont réunis en 2022."),
])
def test_numbers_match_across_locale_formats(bullet, source):
    assert unfaithful(bullet, source) == []


@pytest.mark.parametrize("bullet, source, problem", [
    ("The index rose 0.7%.", "Le Dax a gagné 0,68 % à 26.469,89 points.", "number 0.7% not in source"),
    ("Le Dax a gagné 68 %.", "Le Dax a gagné 0,68 % à 26.469,89 points.", "number 68 % not in source"),
    ("Profit rose 12%.", "Profit rose to 12 billion.", "number 12% not in source"),
    ("Sales fell in 2021.", "Sales fell in 2022.", "number 2021 not in source"),
    ("Talks with the IMF resumed.", "Talks with the lenders resumed.", "name IMF not in source"),
    ("The firm met Mr Smith in Paris.", "The firm met Mr Smith in Lyon.", "name Paris not in source"),
])
def test_gate_names_what_the_source_lacks(bullet, source, problem):
    assert unfaithful(bullet, source) == [problem]


def test_gate_ignores_ordinary_words_and_initial_function_words():
    src = "Die Europäische Zentralbank hat die Zinsen erneut gesenkt, teilte die EZB in Frankfurt mit."
    assert unfaithful("Die EZB hat die Zinsen in Frankfurt gesenkt.", src) == []
    assert unfaithful("Die Fed hat die Zinsen gesenkt.", src) == ["name Fed not in source"]


# --- compression ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang, sentence, expected", [
    ("fr", "Pendant ce temps, Téhéran réagit de manière stratégique au fossé diplomatique avec l'Occident.",
     "Téhéran réagit de manière stratégique au fossé diplomatique avec l'Occident."),
    ("fr", "Le nuage de particules risque de polluer l'air en Floride jusqu'à la semaine prochaine, ont prévenu les "
           "autorités.", "Le nuage de particules risque de polluer l'air en Floride jusqu'à la semaine prochaine."),
    ("fr", "Les ventes ont progressé de 8 % au deuxième trimestre (hors effets de change), a-t-il déclaré.",
     "Les ventes ont progressé de 8 % au deuxième trimestre."),
    ("en", "Meanwhile, the group raised its full-year forecast for the second time this year, he said.",
     "The group raised its full-year forecast for the second time this year."),
    ("de", "Der Gewinn lag bei 450 Millionen Euro, sagte Finanzchefin Maria Ferraro am Montag in München.",
     "Der Gewinn lag bei 450 Millionen Euro."),
    ("de", "Unterdessen hat der Konzern seine Prognose für das laufende Geschäftsjahr deutlich angehoben.",
     "Der Konzern hat seine Prognose für das laufende Geschäftsjahr deutlich angehoben."),
    ("de", "Unterdessen sagte er, die Bank werde die Zinsen im Dezember erneut senken.",
     "Er sagte, die Bank werde die Zinsen im Dezember erneut senken."),
])
def test_compression_rules(lang, sentence, expected):
    assert compress(sentence, lang) == expected


def test_long_sentences_are_cut_at_a_clause_boundary_or_skipped():
    long_fr = ("En même temps, la Russie doit évaluer soigneusement son rôle au Moyen-Orient, notamment par rapport à "
               "d'autres partenaires tels que l'Arabie Saoudite et les Émirats Arabes Unis, qui s'opposent fermement "
               "aux transactions d'armes avec l'Iran.")
    assert compress(long_fr, "fr") == "La Russie doit évaluer soigneusement son rôle au Moyen-Orient."
    # a cut that would leave a subject without its verb is refused
    no_verb = ("Ces derniers jours diverses îles de l'arc caribéen, comme la Jamaïque, Porto Rico, la Guadeloupe ou la "
               "Martinique, ont vu leur ciel s'obscurcir en raison de ce nuage venu du Sahara.")
    out = compress(no_verb, "fr")
    assert out is None or "ont vu" in out
    no_boundary = " ".join(["mot"] * 40) + "."
    assert compress(no_boundary, "fr") is None
    assert compress("Pourquoi les taux montent-ils encore cette année selon les analystes ?", "fr") is None


def test_sentence_splitter_keeps_abbreviations_and_splits_glued_paragraphs():
    text = "M. Guyot a parlé jeudi. Le 3. Oktober ist ein Feiertag. Fin du paragraphe.Début du suivant."
    assert sentences(text) == ["M. Guyot a parlé jeudi.", "Le 3. Oktober ist ein Feiertag.", "Fin du paragraphe.",
                               "Début du suivant."]


# --- English and German articles ---------------------------------------------------------------------------------

@pytest.mark.parametrize("title, body, lang", [(EN_TITLE, EN_BODY, "en"), (DE_TITLE, DE_BODY, "de"),
                                               (EN_TITLE, EN_BODY, None)])
def test_english_and_german_articles(title, body, lang):
    s = summarize(title, body, lang)
    assert 2 <= len(s.bullets) <= 3, s.bullets
    for b in s.bullets:
        assert unfaithful(b, _source(title, body)) == []
        assert n_words(b) <= MAX_WORDS and b.endswith(".")
        assert not b.lower().startswith(("meanwhile", "unterdessen"))
        assert not b.endswith(("he said.", "the company said.", "in München."))


def test_headline_without_a_title_is_the_compressed_first_sentence():
    s = summarize(None, DE_BODY, "de")
    assert s.headline == ("Siemens Energy hat im dritten Quartal einen Umsatz von 8,7 Milliarden Euro erzielt, "
                          "14 Prozent mehr als im Vorjahr.")
    assert summarize("  Acme   beats forecasts ", EN_BODY, "en").headline == "Acme beats forecasts"


def test_short_bodies_and_bad_arguments():
    assert summarize("T", "", "fr").bullets == []
    one = summarize("T", "La banque a relevé ses prévisions annuelles de chiffre d'affaires.", "fr")
    assert len(one.bullets) == 1
    with pytest.raises(InvalidInput) as e:
        summarize("T", EN_BODY, "en", max_bullets=0)
    assert e.value.fields["param"] == "max_bullets"
    assert len(summarize(EN_TITLE, EN_BODY, "en", max_bullets=1).bullets) == 1


# --- the plug-in seam -------------------------------------------------------------------------------------------

class FaithfulBackend:
    name = "faithful"

    def summarize(self, title, body, lang, max_bullets):
        return ["Acme raised its full-year revenue forecast to between $16.5 billion and $16.8 billion."]


class InventingBackend:
    name = "inventing"

    def summarize(self, title, body, lang, max_bullets):
        return ["Acme Corp reported revenue of $4.2 billion, up 15% from a year earlier.",
                "Chief executive John Smith said Acme would buy a rival.",
                "Net income rose to $610 million."]


class BrokenBackend:
    name = "broken"

    def summarize(self, title, body, lang, max_bullets):
        raise RuntimeError("model not loaded")


class FakeTranslator:
    name = "upper"

    def translate(self, text, source_lang, target_lang):
        return text.upper()


@pytest.fixture
def registry(monkeypatch):
    """A clean registry with no entry points, restored after the test."""
    monkeypatch.setattr(plugins, "_registry", {plugins.SUMMARIZER_GROUP: {}, plugins.TRANSLATOR_GROUP: {}})
    monkeypatch.setattr(plugins, "_errors", {plugins.SUMMARIZER_GROUP: {}, plugins.TRANSLATOR_GROUP: {}})
    monkeypatch.setattr(plugins, "_discovered", set())
    monkeypatch.setattr(plugins, "entry_points", lambda group: [])
    monkeypatch.delenv(plugins.SUMMARIZER_ENV, raising=False)
    monkeypatch.delenv(plugins.TRANSLATOR_ENV, raising=False)
    return plugins


def test_no_backend_by_default(registry):
    registry.register_summarizer("faithful", FaithfulBackend)
    assert summarize(EN_TITLE, EN_BODY, "en").method == "extractive"
    assert registry.get_summarizer() is None and registry.get_translator() is None


def test_a_faithful_backend_is_used(registry):
    registry.register_summarizer("faithful", FaithfulBackend)
    s = summarize(EN_TITLE, EN_BODY, "en", backend="faithful")
    assert s.method == "plugin:faithful"
    assert s.bullets[0] == FaithfulBackend().summarize("", "", "", 3)[0]
    assert 2 <= len(s.bullets) <= 3 and s.rejected == []  # topped up with extractive bullets


def test_an_inventing_backend_is_rejected_and_replaced(registry, monkeypatch):
    registry.register_summarizer("inventing", InventingBackend)
    monkeypatch.setenv(plugins.SUMMARIZER_ENV, "inventing")
    s = summarize(EN_TITLE, EN_BODY, "en")
    assert s.method == "plugin:inventing"
    assert s.bullets[0] == "Net income rose to $610 million."
    assert s.rejected == [
        ("Acme Corp reported revenue of $4.2 billion, up 15% from a year earlier.", "number 15% not in source"),
        ("Chief executive John Smith said Acme would buy a rival.", "name John not in source; name Smith not in source"),
    ]
    assert len(s.bullets) == 3
    assert all(unfaithful(b, _source(EN_TITLE, EN_BODY)) == [] for b in s.bullets)


def test_a_failing_backend_falls_back_to_extractive(registry):
    registry.register_summarizer("broken", BrokenBackend)
    s = summarize(EN_TITLE, EN_BODY, "en", backend="broken")
    assert s.method == "extractive" and len(s.bullets) >= 2
    assert s.rejected == [("", "backend broken failed: RuntimeError: model not loaded")]


def test_unknown_backend_names_the_parameter(registry):
    with pytest.raises(InvalidInput) as e:
        summarize(EN_TITLE, EN_BODY, "en", backend="nope")
    assert e.value.fields["param"] == "backend"
    with pytest.raises(InvalidInput):
        registry.register_summarizer("extractive", FaithfulBackend)
    assert summarize(EN_TITLE, EN_BODY, "en", backend="extractive").method == "extractive"


def test_entry_points_are_discovered_and_broken_ones_listed(registry, monkeypatch):
    mod = types.ModuleType("mw_fake_summary_plugin")
    mod.Backend = FaithfulBackend  # type: ignore[attr-defined]
    mod.Translator = FakeTranslator  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    eps = {
        plugins.SUMMARIZER_GROUP: [EntryPoint("good", f"{mod.__name__}:Backend", plugins.SUMMARIZER_GROUP),
                                   EntryPoint("bad", "mw_no_such_module:Backend", plugins.SUMMARIZER_GROUP)],
        plugins.TRANSLATOR_GROUP: [EntryPoint("upper", f"{mod.__name__}:Translator", plugins.TRANSLATOR_GROUP)],
    }
    monkeypatch.setattr(plugins, "entry_points", lambda group: eps[group])
    assert registry.summarizers() == ["good"]
    errors = registry.plugin_errors()
    assert list(errors) == [plugins.SUMMARIZER_GROUP] and "ModuleNotFoundError" in errors[plugins.SUMMARIZER_GROUP]["bad"]
    assert summarize(EN_TITLE, EN_BODY, "en", backend="good").method == "plugin:good"
    with pytest.raises(InvalidInput, match="failed to load"):
        registry.get_summarizer("bad")
    t = registry.get_translator("upper")
    assert t is not None and t.translate("zinsen", "de", "en") == "ZINSEN"
    monkeypatch.setenv(plugins.TRANSLATOR_ENV, "upper")
    assert registry.get_translator() is not None


def test_summary_shape():
    s = Summary(headline="h", bullets=["b."], method="extractive", rejected=[])
    assert (s.headline, s.bullets, s.method, s.rejected) == ("h", ["b."], "extractive", [])


# --- polarity: a bullet keeps the negations of the sentence it comes from ---------------------------------------

@pytest.mark.parametrize("bullet, source, problem", [
    ("The central bank cut rates in March.", "The central bank did not cut rates in March, its governor said.",
     "negation dropped: the source says 'not cut rates'"),
    ("La BCE a baissé ses taux en mars.", "La BCE n'a pas baissé ses taux en mars, a indiqué sa présidente.",
     "negation dropped: the source says 'n'a baissé taux'"),
    ("Die EZB senkte die Zinsen im März.", "Die EZB senkte die Zinsen im März nicht, teilte die Notenbank mit.",
     "negation dropped: the source says 'nicht zinsen märz'"),
    ("Die EZB hat die Zinsen gesenkt.", "Die EZB hat die Zinsen nicht gesenkt.",
     "negation dropped: the source says 'nicht gesenkt'"),
    ("Apple did not report record revenue.", "Apple reported record revenue for the quarter.",
     "negation 'not report record' not in the source sentence"),
    ("Le groupe ne publiera pas ses comptes jeudi.", "Le groupe publiera ses comptes jeudi matin.",
     "negation 'ne publiera comptes' not in the source sentence"),
    ("Siemens erhöht die Prognose nicht.", "Siemens erhöht die Prognose für das Gesamtjahr.",
     "negation 'nicht erhöht prognose' not in the source sentence"),
])
def test_gate_rejects_a_negation_added_or_dropped(bullet, source, problem):
    assert unfaithful(bullet, source) == [problem]


@pytest.mark.parametrize("bullet, source", [
    ("The central bank did not cut rates.", "The central bank did not cut rates in March, its governor said."),
    ("La BCE n'a pas baissé ses taux.", "La BCE n'a pas baissé ses taux en mars, a indiqué sa présidente."),
    ("Die EZB hat die Zinsen nicht gesenkt.", "Die EZB hat die Zinsen im März nicht gesenkt."),
    # the negated clause is cut, what stays was never negated
    ("Sales rose 5% in the quarter.", "Sales rose 5% in the quarter, although margins did not improve."),
    ("Le chiffre d'affaires a progressé de 5 %.", "Le chiffre d'affaires a progressé de 5 %, sans que la marge ne "
                                                 "s'améliore."),
    # a negation kept far from a repeated word elsewhere in the bullet
    ("Une donnée que le ministre conteste: nous n'avons aucune donnée sur la mortalité.",
     "Une donnée que le ministre conteste: nous n'avons aucune donnée sur la mortalité."),
])
def test_gate_keeps_bullets_with_the_source_polarity(bullet, source):
    assert unfaithful(bullet, source) == []


def test_quotes_balanced_in_german_and_english_styles():
    from marketwire.news.summarize import _balanced

    # German: „ opens, “ (or ”) closes; a German quotation closed is balanced, one left open is not
    assert _balanced("Der Chef sagte: „Wir wachsen weiter.“")
    assert _balanced("Der Chef sagte: „Wir wachsen weiter.”")
    assert not _balanced("Der Chef sagte: „Wir wachsen weiter.")
    assert not _balanced("„Eins“ und „zwei")
    # English: “ opens, ” closes
    assert _balanced("The chief said “we keep growing.”")
    assert not _balanced("The chief said “we keep growing.")
    assert not _balanced("The chief said we keep growing.”")
    assert not _balanced("Sales (in euros rose.")
    assert not _balanced("«Nous croissons.")
