"""Company name index cases that the mutation run of news/gazetteer/companies.py showed untested
(docs/mutation/companies.md): notability points, word frequencies, business cues, name keys and variants, the order
of issuers sharing a name, one-word names on both sides of each frequency and notability threshold, confidences,
tickers, ISINs, legal forms and the saved index.

The index is called directly (``CompanyIndex.find`` with hand-made model spans), so no NER model is loaded."""

from __future__ import annotations

import gc
import pickle
from pathlib import Path
from typing import Any

import pytest

from marketwire.news import gazetteer as G
from marketwire.news.gazetteer import companies as C
from marketwire.news.gazetteer.companies import CompanyIndex, company_key, notability, zipf
from marketwire.news.spans import Span

pytestmark = pytest.mark.unit


def _rows(iid: str, name: str, *, listings: tuple[tuple[str, str | None], ...] = (), isin: str | None = None,
          country: str | None = None, index: bool = False, cap: str | None = None, kind: str | None = "equity",
          aliases: list[str] | None = None, **extra: Any) -> list[dict[str, Any]]:
    """The master's rows of one issuer: one per listing (ticker, mic), or one without a listing."""
    base = {"issuer_id": iid, "issuer_name": name, "security_id": f"S{iid}", "type": kind, "isin": isin,
            "issuer_country": country, "index_member": index, "market_cap": cap, "aliases": aliases, **extra}
    if not listings:
        return [base]
    return [{**base, "listing_id": f"L{iid}{t}{m}", "ticker": t, "mic": m} for t, m in listings]


def _index(*issuers: list[dict[str, Any]]) -> CompanyIndex:
    return CompanyIndex.from_rows([r for rows in issuers for r in rows])


def _find(idx: CompanyIndex, text: str, model: tuple[Span, ...] = (), *, model_ran: bool = True,
          lang: str | None = "en") -> list[tuple[str, str, float, str]]:
    """(surface, linked id, confidence, method) of every company mention."""
    spans = idx.find(text, list(G.WORD.finditer(text)), list(model), model_ran=model_ran, lang=lang)
    return [(text[s.start:s.end], s.link["id"], s.link["confidence"], s.link["method"]) for s in spans]


def _ids(idx: CompanyIndex, text: str, model: tuple[Span, ...] = (), **kw: Any) -> list[str]:
    return [i for _, i, _, _ in _find(idx, text, model, **kw)]


def _span(text: str, word: str, typ: str, nth: int = 0) -> Span:
    """A model span of type ``typ`` over the nth occurrence of ``word``."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(word, at + 1)
    return Span(at, at + len(word), typ, "model")


# -- notability and word frequencies ------------------------------------------------------------------------------

def test_notability_adds_the_points_of_each_fact() -> None:
    """100 for an index member, the capitalisation class, 10 for an ISIN, 1 per listing and per venue."""
    none = {"index_member": False, "market_cap": None, "has_isin": False, "listings": 0, "venues": 0}
    assert notability(**none) == 0.0
    assert notability(**{**none, "index_member": True}) == 100.0
    assert notability(**{**none, "has_isin": True}) == 10.0
    assert notability(**{**none, "listings": 3, "venues": 2}) == 5.0
    assert notability(**{**none, "market_cap": " Mid Cap "}) == 30.0


@pytest.mark.parametrize("cap,points", [("Mega Cap", 100.0), ("Large Cap", 100.0), ("Mid Cap", 30.0),
                                        ("Small Cap", 8.0), ("Micro Cap", 2.0), ("Nano Cap", 0.0),
                                        ("Unknown", 0.0), ("", 0.0)])
def test_capitalisation_classes_have_their_points(cap: str, points: float) -> None:
    assert notability(index_member=False, market_cap=cap, has_isin=False, listings=0, venues=0) == points


def test_listings_and_venues_count_up_to_twenty_each() -> None:
    def n(listings: int, venues: int) -> float:
        return notability(index_member=False, market_cap=None, has_isin=False, listings=listings, venues=venues)

    assert n(19, 0) == 19.0 and n(20, 0) == 20.0 and n(21, 0) == 20.0 and n(60, 0) == 20.0
    assert n(0, 19) == 19.0 and n(0, 20) == 20.0 and n(0, 21) == 20.0 and n(60, 60) == 40.0


def test_word_frequency_in_the_article_language_or_the_highest_of_three() -> None:
    """"the" is far commoner in English than in French; an unknown or other language takes the highest of fr, en
    and de."""
    assert zipf("the", "fr") < 6.0 < zipf("the", "en")
    assert zipf("the", None) == zipf("the", "es") == zipf("the", "en")
    assert zipf("Hannover", "de") == zipf("hannover", None) > zipf("hannover", "en")
    assert C.ZIPF_FLOOR == 3.5


# -- sentences and business cues ----------------------------------------------------------------------------------

def test_sentence_bounds_stop_at_punctuation_and_line_ends() -> None:
    text = "Rain fell. Orange shares rose! Next?\nEnd"
    s = text.index("Orange")
    assert C._sentence(text, s, s + 6) == (10, text.index("!"))
    t = text.index("Next")
    assert C._sentence(text, t, t + 4) == (text.index("!") + 1, text.index("?"))
    e = text.index("End")
    assert C._sentence(text, e, e + 3) == (text.index("\n") + 1, len(text))
    assert C._sentence("Orange", 0, 6) == (0, 6)
    assert C._sentence("\nOrange", 1, 7) == (1, 7)  # a line break at the very start ends the sentence before


def test_business_cue_only_counts_words_of_the_same_sentence() -> None:
    text = "Analysts were upbeat. Orange fell sharply. Rain again."
    s = text.index("Orange")
    assert not C.business_cue(text, s, s + 6)
    text2 = "Rain again. Orange shares fell sharply. Analysts were upbeat."
    s2 = text2.index("Orange")
    assert C.business_cue(text2, s2, s2 + 6)
    # the name itself is left out of the sentence: a company called "Shares" is not its own cue
    assert not C.business_cue("Shares fell", 0, 6)


@pytest.mark.parametrize("word,cue", [
    ("Umsatz", True),          # a cue word itself
    ("Topchef", True),         # seven letters ending in a suffix cue
    ("Gewerk", False),         # six letters ending in "werk": too short for a compound
    ("Autowerke", True),       # suffix after dropping the plural ending
    ("Pharmakonzernen", True),
    ("Quartalen", True),       # nine letters opening with a prefix cue
    ("Gewinner", False),       # eight letters opening with "gewinn": the winner, not the profit
    ("Gewinnplus", True),
    ("gewinnt", False),        # the verb "wins", seven letters: too short for a compound
    ("Titel", False),          # five letters ending in "titel": a title, not the share
    ("Autokonzerns", True),    # the genitive: "des Autokonzerns"
    ("Gewinns", True),
    ("Autoaktien", True),      # the plural of a suffix that ends in a vowel
    ("Sparten", True),

    ("weather", False),
])
def test_cue_words_suffixes_and_prefixes(word: str, cue: bool) -> None:
    assert C._has_cue(f"der {word} heute") is cue


def test_names_listed_side_by_side() -> None:
    text = "Volkswagen und Bayer, BASF sowie Merck. Bayer allein."
    vw, bayer, basf, merck = (text.index(w) for w in ("Volkswagen", "Bayer", "BASF", "Merck"))
    assert C._listed_with(text, (vw, vw + 10), (bayer, bayer + 5))
    assert C._listed_with(text, (bayer, bayer + 5), (vw, vw + 10))  # either order
    assert C._listed_with(text, (bayer, bayer + 5), (basf, basf + 4))
    assert C._listed_with(text, (basf, basf + 4), (merck, merck + 5))
    assert not C._listed_with(text, (vw, vw + 10), (basf, basf + 4))
    later = text.index("Bayer", bayer + 1)
    assert not C._listed_with(text, (merck, merck + 5), (later, later + 5))


# -- name keys and variants ---------------------------------------------------------------------------------------

def test_company_key_drops_share_line_noise_but_keeps_one_word() -> None:
    assert company_key("SIEMENS AG NA O.N.") == ("siemens",)
    assert company_key("LVMH EO 0,3") == ("lvmh",)
    assert company_key("Procter and Gamble") == ("procter", "gamble")
    assert company_key("B") == ("b",)           # a one-word name is never emptied
    assert company_key("ADR") == ("adr",)
    assert company_key("3M") == ("3m",)
    assert company_key("Class 1") == ("class",)  # a trailing number goes, the last word stays
    assert company_key("XYLEM INC. DL-,01") == ("xylem",)          # a number of several digits too
    assert company_key("Alphabet Inc. Class A") == ("alphabet",)    # and a share class letter
    assert company_key("SWATCH GROUP I") == ("swatch",)
    assert company_key("H Lundbeck") == ("h", "lundbeck")            # a leading initial stays
    assert company_key("") == () and company_key(None) == ()


def test_name_variants_leading_acronym_and_short_name() -> None:
    idx = _index(_rows("SG", "SGS Surveillance Geneve Services"), _rows("IF", "Infineon Technologies AG"),
                 _rows("TM", "Toyota Motor Corporation"), _rows("GR", "Motor Industries"),
                 _rows("AB", "ABC"), _rows("XY", "Xy Corp Alpha"), _rows("KL", "KLMNOPQ Widgets"))
    assert idx.names[("sgs",)] == [("SG", 0.9)]
    assert idx.names[("sgs", "surveillance", "geneve", "services")] == [("SG", 1.0)]
    assert idx.names[("infineon",)] == [("IF", 0.95)]
    assert idx.names[("toyota",)] == [("TM", 0.95)]
    assert idx.names[("motor",)] == [("GR", 0.95)]     # the short name keeps one word
    assert ("abc",) in idx.names and idx.names[("abc",)] == [("AB", 1.0)]  # one word: no acronym variant
    assert ("xy",) not in idx.names                     # two letters is no acronym, and "alpha" is not generic
    assert ("klmnopq",) not in idx.names                # seven capitals is no acronym either
    assert idx.longest == 4


def test_acronym_variant_needs_three_to_six_capitals() -> None:
    idx = _index(_rows("A3", "ABC Widgets"), _rows("A6", "ABCDEF Widgets"), _rows("A7", "ABCDEFG Widgets"),
                 _rows("A2", "AB Widgets"), _rows("AM", "AbCd Widgets"), _rows("D", "A1B Widgets"))
    assert ("abcdef",) in idx.names and ("a1b",) in idx.names
    assert ("abcd",) not in idx.names  # not all capitals
    assert ("abcdefg",) not in idx.names and ("ab",) not in idx.names
    assert idx.names[("abc",)] == [("A3", 0.9)]


def test_one_entry_per_issuer_with_its_strongest_variant() -> None:
    """An issuer whose listing carries its short name exactly keeps the exact weight, whatever the order."""
    idx = _index(_rows("IF", "Infineon Technologies AG") + _rows("IF", "Infineon"))
    assert idx.names[("infineon",)] == [("IF", 1.0)]
    idx2 = _index(_rows("IF", "Infineon") + _rows("IF", "Infineon Technologies AG"))
    assert idx2.names[("infineon",)] == [("IF", 1.0)]
    # names are added in no fixed order: both orders, one name at a time
    for names in (["Infineon Technologies AG", "Infineon"], ["Infineon", "Infineon Technologies AG"]):
        one = CompanyIndex()
        for n in names:
            one._add_name(n, "IF")
        assert one.names[("infineon",)] == [("IF", 1.0)]
    # another issuer's entry under the key is left alone
    both = CompanyIndex()
    both._add_name("Infineon Technologies AG", "AA")
    both._add_name("Infineon", "BB")
    assert both.names[("infineon",)] == [("AA", 0.95), ("BB", 1.0)]


def test_a_name_of_nothing_but_generic_words_adds_no_key() -> None:
    idx = _index(_rows("GH", "Group Holdings"), _rows("SIE", "Siemens AG"))
    assert () not in idx.names and set(idx.names) == {("siemens",)}


def test_issuers_sharing_a_name_are_ordered_by_notability_then_exactness() -> None:
    """The small "INFINEON" of one venue loses to Infineon Technologies AG, listed on several venues with an ISIN;
    between two issuers nobody knows, the exact name beats a shortened one; each issuer keeps its own entry."""
    idx = _index(_rows("ZBIG", "Infineon Technologies AG", isin="DE0006231004",
                       listings=(("IFX", "XETR"), ("IFX", "XFRA"), ("IFNNY", "OTCM"))),
                 _rows("ASMALL", "INFINEON", listings=(("IFX", "XBER"),)))
    assert [i for i, _ in idx.names[("infineon",)]] == ["ZBIG", "ASMALL"]
    assert dict(idx.names[("infineon",)]) == {"ZBIG": 0.95, "ASMALL": 1.0}
    quiet = _index(_rows("ZEXACT", "Infineon"), _rows("ASHORT", "Infineon Technologies"))
    assert quiet.names[("infineon",)] == [("ZEXACT", 1.0), ("ASHORT", 0.95)]
    tie = _index(_rows("ZED", "Infineon"), _rows("ABE", "Infineon"))
    assert tie.names[("infineon",)] == [("ABE", 1.0), ("ZED", 1.0)]  # then by id, for a stable order


def test_only_equity_like_rows_count() -> None:
    idx = _index(_rows("SIE", "Siemens AG", kind="equity"), _rows("SFUND", "Siemens Balanced", kind="etf"),
                 _rows("SADR", "Siemens Pref", kind="preferred"), _rows("SWAR", "Siemens Call", kind="warrant"),
                 _rows("SNONE", "Siemens Untyped", kind=None), _rows("SD", "Siemens Depositary", kind="adr"))
    assert set(idx.issuers) == {"SIE", "SADR", "SNONE", "SD"}


def test_rows_of_one_issuer_are_gathered() -> None:
    """Listings need an id and a ticker (venues counted only with a MIC), ISINs a security id; the first country
    stays; index membership on any row counts; the largest capitalisation class wins."""
    rows = [
        {"issuer_id": "X", "issuer_name": None, "security_name": "Xylem Inc", "type": "equity", "isin": "US98419M1009",
         "security_id": "SX", "listing_id": "L1", "ticker": "xyl", "mic": "XNYS", "issuer_country": "US",
         "market_cap": "Small Cap"},
        {"issuer_id": "X", "issuer_name": "Xylem Inc.", "type": "equity", "listing_id": "L2", "ticker": "XYL",
         "mic": None, "issuer_country": "IE", "market_cap": " Large Cap ", "index_member": True,
         "listing_name": "XYLEM INC. DL-,01"},
        {"issuer_id": "X", "issuer_name": "Xylem Inc.", "type": "equity", "listing_id": None, "ticker": "XY1",
         "mic": "XFRA", "isin": "US98419M1010", "market_cap": "Mid Cap", "aliases": ["Xylem Water"]},
        {"issuer_id": "Y", "issuer_name": None, "type": "equity"},
    ]
    idx = CompanyIndex.from_rows(rows)
    x = idx.issuers["X"]
    assert x.name == "Xylem Inc" and idx.issuers["Y"].name == "Y"
    assert x.listings == {("XYL", "XNYS"): "L1", ("XYL", None): "L2"}
    assert x.isins == {"US98419M1009": "SX"} and idx.isins == {"US98419M1009": ("SX", "X")}
    assert x.country == "US" and x.index_member and x.market_cap == "Large Cap"
    # index member 100, large cap 100, ISIN 10, two listings, one venue
    assert x.score == 213.0 and idx.issuers["Y"].score == 0.0
    assert idx.tickers["XYL"] == [("XNYS", "L1", "X"), (None, "L2", "X")] and "XY1" not in idx.tickers
    assert ("xylem", "water") in idx.names and ("xylem",) in idx.names


@pytest.mark.parametrize("caps,kept", [(["Unknown"], None), (["Nano Cap"], "Nano Cap"),
                                        (["Nano Cap", "Unknown"], "Nano Cap"), (["Mid Cap", "Small Cap"], "Mid Cap"),
                                        (["Small Cap", "Mid Cap", "Mega Cap"], "Mega Cap")])
def test_the_largest_known_capitalisation_class_is_kept(caps: list[str], kept: str | None) -> None:
    idx = CompanyIndex.from_rows([{"issuer_id": "X", "issuer_name": "Xylem", "type": "equity", "market_cap": c}
                                  for c in caps])
    assert idx.issuers["X"].market_cap == kept


def test_a_curated_alias_goes_first_even_before_a_more_notable_namesake() -> None:
    """BMW is Bayerische Motoren Werke through the alias, even where the master's BMW Industries is an index member;
    the alias only follows an issuer that carries the aliased name itself."""
    idx = _index(_rows("BMWIND", "BMW INDUSTRIES LIMITED", index=True, listings=(("BMW", "XBOM"),)),
                 _rows("ABMWH", "BMW Holdings"),
                 _rows("BMWAG", "Bayerische Motoren Werke AG", isin="DE0005190003", listings=(("BMW", "XETR"),)))
    assert idx.names[("bmw",)] == [("BMWAG", 1.05), ("BMWIND", 0.95), ("ABMWH", 1.0)]  # the others stay behind it
    assert ("bmw",) in idx.aliases
    assert _ids(idx, "BMW sold more cars.", lang="en") == ["BMWAG"]
    # an issuer that only shortens to the aliased name is not its target
    short = _index(_rows("IBMT", "International Business Machines Technologies"))
    assert ("ibm",) not in short.names and ("ibm",) not in short.aliases
    full = _index(_rows("IBM", "International Business Machines Corporation"))
    assert full.names[("ibm",)] == [("IBM", 1.05)]


def test_two_aliases_of_one_company_both_link() -> None:
    """"Deutsche Post" (an alias equal to the company's own name) and "DHL" both name Deutsche Post AG."""
    idx = _index(_rows("DPW", "Deutsche Post AG", isin="DE0005552004", index=True, listings=(("DHL", "XETR"),)))
    assert idx.names[("deutsche", "post")] == [("DPW", 1.05)] and idx.names[("dhl",)] == [("DPW", 1.05)]
    assert _ids(idx, "Hier, DHL a publié.", lang="fr") == ["DPW"]


def test_an_alias_replaces_the_issuers_own_entry_under_its_key() -> None:
    idx = _index(_rows("LV", "LVMH Moët Hennessy - Louis Vuitton", isin="FR0000121014", country="FR",
                       listings=(("MC", "XPAR"),)))
    assert idx.names[("lvmh",)] == [("LV", 1.05)]


# -- the saved index ---------------------------------------------------------------------------------------------

class _Lake:
    def __init__(self, root: str) -> None:
        self.root = root


@pytest.fixture
def fresh_cache():
    C._cache.clear()
    yield
    C._cache.clear()


def test_the_index_is_saved_beside_a_local_lake_and_read_back(tmp_path: Path, fresh_cache) -> None:
    lake = _Lake(str(tmp_path / "lake"))
    calls: list[int] = []

    def rows() -> list[dict[str, Any]]:
        calls.append(1)
        return _rows("SIE", "Siemens AG", index=True, listings=(("SIE", "XETR"),))

    first = CompanyIndex.from_lake(lake, rows, "v1")
    assert calls == [1] and ("siemens",) in first.names
    assert CompanyIndex.from_lake(lake, rows, "v1") is first  # in memory
    saved = list((tmp_path / "cache" / "news").glob("companies-*.pickle"))
    assert len(saved) == 1 and len(saved[0].stem) == len("companies-") + 16
    C._cache.clear()  # a new process: read from the file, not rebuilt
    again = CompanyIndex.from_lake(lake, rows, "v1")
    assert calls == [1] and again is not first and again.names == first.names
    CompanyIndex.from_lake(lake, rows, "v2")  # the master changed: rebuilt, the old file replaced
    assert calls == [1, 1] and len(list((tmp_path / "cache" / "news").glob("companies-*.pickle"))) == 1
    CompanyIndex.from_lake(lake, rows, "v1")  # back to the earlier version (a restored master): rebuilt again
    assert calls == [1, 1, 1]


def test_a_file_lake_url_is_local_and_remote_storage_saves_nothing(tmp_path: Path) -> None:
    assert C._saved_path(_Lake("s3://bucket/lake"), ("s3://bucket/lake", 1)) is None
    local = C._saved_path(_Lake(f"file://{tmp_path}/lake"), 1)
    assert local is not None and local.parent == tmp_path / "cache" / "news"
    assert C._saved_path(_Lake(f"{tmp_path}/lake"), 1) == local
    assert C._saved_path(_Lake(f"{tmp_path}/lake"), 2) != local


def test_an_index_of_a_remote_lake_is_built_and_kept_in_memory(fresh_cache) -> None:
    lake = _Lake("s3://bucket/lake")
    idx = CompanyIndex.from_lake(lake, lambda: _rows("SIE", "Siemens AG"), "v1")
    assert ("siemens",) in idx.names and CompanyIndex.from_lake(lake, lambda: [], "v1") is idx


def test_a_damaged_or_foreign_saved_file_is_rebuilt_and_the_collector_state_is_restored(tmp_path: Path) -> None:
    lake = _Lake(str(tmp_path / "lake"))
    p = C._saved_path(lake, "v")
    assert p is not None
    assert C._load_saved(lake, "v") is None  # no file
    p.parent.mkdir(parents=True)
    p.write_bytes(b"\x80\x05truncated")
    assert gc.isenabled()
    assert C._load_saved(lake, "v") is None and gc.isenabled()
    p.write_bytes(pickle.dumps({"not": "an index"}))
    assert C._load_saved(lake, "v") is None and gc.isenabled()
    idx = _index(_rows("SIE", "Siemens AG"))
    C._save(lake, "v", idx)
    gc.disable()
    try:
        loaded = C._load_saved(lake, "v")
        assert not gc.isenabled()  # a collector the caller turned off stays off
    finally:
        gc.enable()
    assert isinstance(loaded, CompanyIndex) and loaded.names == idx.names
    assert list(p.parent.glob("*.tmp")) == []


def test_saving_into_a_read_only_place_is_skipped(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder would be")
    C._save(_Lake(str(tmp_path / "lake")), "v", _index(_rows("SIE", "Siemens AG")))
    assert blocker.read_text().startswith("a file")


# -- names in text ------------------------------------------------------------------------------------------------

_MASTER = (
    _rows("APPLE", "Apple Inc.", isin="US0378331005", country="US", index=True,
          listings=(("AAPL", "XNAS"), ("APC", "XETR"))),                                    # 114
    _rows("ORANGE", "Orange S.A.", isin="FR0000133308", country="FR", listings=(("ORA", "XPAR"),)),  # 12
    _rows("SIEMENS", "Siemens Aktiengesellschaft", isin="DE0007236101", country="DE", index=True,
          listings=(("SIE", "XETR"),)),
    _rows("SAP", "SAP SE", isin="DE0007164600", country="DE", index=True, listings=(("SAP", "XETR"),)),
    _rows("TARGET", "Target Corporation", isin="US87612E1064", country="US", listings=(("TGT", "XNYS"),)),
    _rows("TESLA", "Tesla, Inc.", isin="US88160R1014", country="US", listings=(("TSLA", "XNAS"),)),
    _rows("VINCI", "Vinci SA", isin="FR0000125486", country="FR", index=True, listings=(("DG", "XPAR"),)),
    _rows("SAFRAN", "Safran SA", isin="FR0000073272", country="FR", index=True, listings=(("SAF", "XPAR"),)),
    _rows("KERING", "Kering SA", country="FR", listings=(("KER", "XPAR"), ("PPRUY", None))),  # 3: two listings, one venue
    _rows("ENGIE", "Engie SA", country="FR", listings=(("ENGI", "XPAR"), ("ENGIY", "OTCM"))),  # 4
    _rows("KE", "KE Holdings Inc.", isin="US4824971042", country="CN", listings=(("BEKE", "XNYS"),)),
    _rows("DB", "Deutsche Bank Aktiengesellschaft", isin="DE0005140008", country="DE", index=True,
          listings=(("DBK", "XETR"),)),
    _rows("SGS", "SGS Surveillance Geneve Services", isin="CH0002497458", country="CH", index=True,
          listings=(("SGSN", "XSWX"),)),
    _rows("PORSCHE", "Porsche Automobil Holding SE", isin="DE000PAH0038", country="DE", index=True,
          listings=(("PAH3", "XETR"),)),
    _rows("NEXT", "Next plc", isin="GB0032089863", country="GB", index=True, listings=(("NXT", "XLON"),)),
    _rows("THREEM", "3M Company", isin="US88579Y1010", country="US", index=True, listings=(("MMM", "XNYS"),)),
    _rows("VW", "Volkswagen AG", isin="DE0007664039", country="DE", index=True, listings=(("VOW3", "XETR"),)),
    _rows("MSFT", "Microsoft Corporation", isin="US5949181045", country="US", index=True,
          listings=(("MSFT", "XNAS"),)),
)


@pytest.fixture(scope="module")
def master() -> CompanyIndex:
    return _index(*_MASTER)


def test_multi_word_names_win_over_their_first_word(master) -> None:
    assert _find(master, "Die Deutsche Bank meldet Zahlen.", lang="de") == [
        ("Deutsche Bank", "DB", 0.85, "name")]
    assert _find(master, "Bei der Deutsche-Bank-Tochter", lang="de")[0][:2] == ("Deutsche-Bank", "DB")


def test_words_apart_are_not_one_name(master) -> None:
    assert _ids(master, "Die Deutsche Kreditbank, keine Bank der Gruppe.", lang="de") == []
    assert _ids(master, "Deutsche " + " " * 12 + "Bank", lang="de") == []  # a gap over 12 characters (a table)
    assert _ids(master, "Deutsche " + " " * 11 + "Bank", lang="de") == ["DB"]
    idx = _index(_rows("TSLA", "Tesla, Inc.", isin="US88160R1014", listings=(("TSLA", "XNAS"),)),
                 _rows("TEX", "Tesla Exploration Ltd", isin="CA8816051012", listings=(("TXL", "XTSX"),)))
    assert _ids(idx, "Tesla ------------ Exploration", lang="en") == ["TSLA"]  # the one-word name is still read
    assert _ids(idx, "Tesla - Exploration", lang="en") == ["TEX"]


def test_a_name_must_open_with_a_capital_or_a_digit(master) -> None:
    assert _ids(master, "the deutsche bank of the town", lang="en") == []
    assert _ids(master, "Das ist eine deutsche Bank.", lang="de") == []  # "a German bank"
    idx = _index(_rows("888", "888 Holdings plc", isin="GI000A0F6407", index=True, listings=(("888", "XLON"),)))
    assert _find(idx, "Shares of 888 rose.", lang="en") == [("888", "888", 0.7, "name")]
    four = _index(_rows("FOUR", "4imprint Group plc", isin="GB0006640972", index=True, listings=(("FOUR", "XLON"),)))
    assert _find(four, "Shares of 4imprint rose.", lang="en") == [("4imprint", "FOUR", 0.7, "name")]


def test_one_word_names_that_are_stop_words_or_two_letters_need_an_alias(master) -> None:
    assert _ids(master, "Shares of Next fell.", lang="en") == []          # a stop word
    assert _ids(master, "Shares of KE fell.", lang="en") == []            # two letters, no alias
    assert _find(master, "Shares of VW fell.", lang="en") == [("VW", "VW", 0.8, "name")]
    assert _find(master, "Shares of SAP fell.", lang="en") == [("SAP", "SAP", 0.75, "name")]  # three letters


def test_a_one_word_name_needs_a_notable_issuer(master) -> None:
    """Two listings on one venue (3 points) are not enough; two venues (4 points) are."""
    assert master.issuers["KERING"].score == 3.0 and master.issuers["ENGIE"].score == 4.0
    assert _ids(master, "Le groupe Kering a publié ses ventes.", lang="fr") == []
    assert _find(master, "Le groupe Engie a publié ses ventes.", lang="fr") == [("Engie", "ENGIE", 0.6, "name")]
    # a ticker in parentheses or a legal form vouches for it
    assert _ids(master, "Le groupe Kering (KER) a publié ses ventes.", lang="fr") == ["KERING"]
    assert _ids(master, "Le groupe Kering (AFP) a publié ses ventes.", lang="fr") == []  # a credit, not its ticker
    assert _ids(master, "Kering et Engie ont publié.", lang="fr") == ["ENGIE"]  # the text is read on after Kering
    assert _find(master, "Le groupe Kering SA a publié ses ventes.", lang="fr") == [
        ("Kering SA", "KERING", 0.7, "name")]


def test_a_legal_form_joins_the_name_with_its_full_stop(master) -> None:
    assert _find(master, "Orange S.A. reported.", lang="en")[0][0] == "Orange S.A."
    assert _find(master, "Results of Tesla, Inc.", lang="en")[0][:2] == ("Tesla, Inc.", "TESLA")
    assert _find(master, "Results of Tesla, Inc", lang="en")[0][:2] == ("Tesla, Inc", "TESLA")  # at the very end
    long = "Deliveries rose in the quarter, helped by cheaper models and new plants. " * 25 + "Results of Tesla, Inc"
    assert len(G.WORD.findall(long)) > 300 and _find(master, long, lang="en")[-1][:2] == ("Tesla, Inc", "TESLA")
    assert _find(master, "Siemens AG: Zahlen", lang="de")[0][0] == "Siemens AG"
    assert _find(master, "Die Siemens AG (SE) meldet Zahlen", lang="de")[0][0] == "Siemens AG"  # not across "("


@pytest.mark.parametrize("text,linked", [
    ("Target Corp. said.", True),       # legal form
    ("Target (TGT) said.", True),       # its own ticker
    ("Target (TSLA) said.", False),     # another company's ticker
    ("Target said.", False),            # a very common word (Zipf 4.82 >= 4.8) of an issuer that is not prominent
])
def test_a_very_common_word_needs_a_legal_form_or_its_ticker(master, text: str, linked: bool) -> None:
    model = (_span(text, "Target", "ORG"),)  # even where the model calls it an organisation
    assert ("TARGET" in _ids(master, text, model, lang="en")) is linked


def test_a_common_word_just_below_the_very_common_frequency_links_where_the_model_calls_it_a_company(master) -> None:
    text = "The deal with Orange was signed."  # Zipf 4.62 in English: common, not very common
    assert _ids(master, text, lang="en") == []
    assert _find(master, text, (_span(text, "Orange", "ORG"),), lang="en") == [("Orange", "ORANGE", 0.6, "name")]
    assert _ids(master, text, (_span(text, "Orange", "PRODUCT"),), lang="en") == ["ORANGE"]
    assert _ids(master, text, (_span(text, "Orange", "PER"),), lang="en") == []


def test_a_word_below_the_common_frequency_links_plainly(master) -> None:
    assert _find(master, "The rally at Tesla went on.", lang="en") == [("Tesla", "TESLA", 0.6, "name")]  # 3.77


def test_a_one_word_name_at_the_end_of_the_text_or_alone_is_one_word(master) -> None:
    assert _find(master, "A new plant of Tesla", lang="en") == [("Tesla", "TESLA", 0.6, "name")]
    assert _find(master, "Tesla", lang="en") == [("Tesla", "TESLA", 0.6, "name")]


def test_the_model_is_taken_to_have_run_unless_told(master) -> None:
    text = "Many people like Apple."
    assert master.find(text, list(G.WORD.finditer(text)), []) == []   # held back: a common word, no cue
    assert _ids(master, text, model_ran=False) == ["APPLE"]            # no model: a prominent issuer links


def test_a_word_of_exactly_the_common_frequencies_is_common() -> None:
    """"CGT" (the French union) has Zipf 4.0 in French; "Partner" 4.8 in German: the thresholds themselves."""
    idx = _index(_rows("CGT", "CGT Corp", isin="US0000000002", listings=(("CGTX", "XNAS"), ("CGTX", "XNYS"))),
                 _rows("PTNR", "Partner Communications", aliases=["Partner"], isin="IL0010834849",
                       listings=(("PTNR", "XNAS"), ("PTNR", "XTAE"))))
    assert zipf("CGT", "fr") == 4.0 and zipf("Partner", "de") == 4.8
    assert _ids(idx, "La CGT appelle à la grève.", lang="fr") == []
    visa = _index(_rows("V", "Visa Inc.", isin="US92826C8394", country="US", index=True, listings=(("V", "XNYS"),)))
    assert zipf("Visa", "fr") == 4.0
    assert _ids(visa, "Hier, Visa a parlé.", lang="fr") == []  # a common word, held back without a model span
    assert _ids(visa, "Hier, Visa a parlé.", (Span(6, 10, "ORG", "model"),), lang="fr") == ["V"]
    text = "Der Partner hat unterschrieben."
    assert _ids(idx, text, (_span(text, "Partner", "ORG"),), lang="de") == []


def test_an_upper_case_common_word_needs_a_prominent_issuer() -> None:
    idx = _index(_rows("FBIX", "FBI Corp", isin="US0000000001", listings=(("FBIX", "XNAS"), ("FBIX", "XNYS"))),
                 _rows("UPS", "UPS Inc", isin="US9113121068", index=True, listings=(("UPS", "XNYS"),)))
    assert _ids(idx, "The FBI opened a case.", lang="en") == []                   # Zipf 4.43
    assert _ids(idx, "The FBI questioned UPS drivers.", lang="en") == ["UPS"]  # and the text is read on
    assert _find(idx, "The UPS drivers went on strike.", lang="en") == [("UPS", "UPS", 0.75, "name")]


def test_an_issuer_of_exactly_the_prominence_threshold_is_prominent() -> None:
    """Index membership alone (100 points) makes an issuer prominent: its common one-word name links without a
    model (Spanish) and in a sentence that speaks of business."""
    idx = _index(_rows("ORANGE", "Orange", index=True))
    assert idx.issuers["ORANGE"].score == 100.0
    assert _ids(idx, "Las ventas de Orange subieron.", model_ran=False, lang="es") == ["ORANGE"]
    assert _ids(idx, "Les ventes de Orange ont progressé.", lang="fr") == ["ORANGE"]  # ventes: a cue
    small = _index(_rows("ORANGE", "Orange", cap="Mid Cap", isin="FR0000133308",
                         listings=tuple((f"OR{i}", f"X{i:03d}") for i in range(20))))
    assert small.issuers["ORANGE"].score == 80.0
    assert _ids(small, "Las ventas de Orange subieron.", model_ran=False, lang="es") == []
    assert _ids(small, "Les ventes de Orange ont progressé.", lang="fr") == []
    both = _index(_rows("ORANGE", "Orange", index=True), _rows("SAP", "SAP SE", index=True))
    assert _ids(both, "Hier Orange und SAP AG gewannen.", lang="de") == ["SAP", "ORANGE"]


def test_without_a_model_an_alias_still_links(master) -> None:
    idx = _index(_rows("TTE", "TotalEnergies SE", isin="FR0000120271", listings=(("TTE", "XPAR"),)))
    assert _ids(idx, "Las ventas de Total subieron.", model_ran=False, lang="es") == ["TTE"]
    assert _ids(master, "Las ventas de Orange subieron.", model_ran=False, lang="es") == []


@pytest.mark.parametrize("text,lang,linked", [
    ("Siemens hebt die Prognose an.", "de", True),            # opens the sentence, Zipf 4.11 < 4.5, a cue
    ("Gestern hob Siemens die Prognose an.", "de", True),
    ("Gestern hob Siemens den Schirm.", "de", False),         # no cue
    ("Apple shares rose.", "en", False),                      # opens the sentence, Zipf 4.76 >= 4.5: a word first
    ("Investors bought Apple shares.", "en", True),
])
def test_a_prominent_common_word_links_on_business_context(master, text: str, lang: str, linked: bool) -> None:
    assert bool(_ids(master, text, lang=lang)) is linked


def test_a_word_of_exactly_the_cue_frequency_opening_a_sentence_is_a_word_first() -> None:
    """"Ford" has Zipf 4.5 in English: opening a sentence it is read as a word even with a cue around it."""
    idx = _index(_rows("F", "Ford Motor Company", isin="US3453708600", index=True, listings=(("F", "XNYS"),)))
    assert zipf("Ford", "en") == 4.5
    assert _ids(idx, "Ford shares rose.", lang="en") == []
    assert _ids(idx, "Investors bought Ford shares.", lang="en") == ["F"]


def test_context_does_not_link_a_word_the_model_calls_a_person_or_place(master) -> None:
    text = "Investors bought Apple shares."
    assert _ids(master, text, (_span(text, "Apple", "PER"),), lang="en") == []
    assert _ids(master, text, (_span(text, "Apple", "LOC"),), lang="en") == []
    assert _ids(master, text, (_span(text, "Apple", "MISC"),), lang="en") == ["APPLE"]


def test_part_of_a_longer_person_or_place_name_is_not_a_company(master) -> None:
    text = "Ferdinand Porsche gründete den Konzern."
    per = Span(0, text.index(" gründete"), "PER", "model")
    assert _ids(master, text, lang="de") == ["PORSCHE"]
    assert _ids(master, text, (per,), lang="de") == []
    assert _ids(master, text, (Span(0, text.index(" gründete"), "ORG", "model"),), lang="de") == ["PORSCHE"]
    # a span of the model that is exactly the name does not hide it; nor one that merely overlaps it
    tesla = "A new plant of Tesla opened."  # Zipf 3.77: not a common word, so an exact PER span does not hold it
    assert _ids(master, tesla, (_span(tesla, "Tesla", "PER"),), lang="en") == ["TESLA"]
    assert _ids(master, tesla, (Span(tesla.index("of"), tesla.index(" opened"), "PER", "model"),), lang="en") == []
    assert _ids(master, text, (Span(text.index("Porsche") + 2, len(text) - 1, "LOC", "model"),), lang="de") == [
        "PORSCHE"]
    assert _ids(master, text, (Span(0, text.index("Porsche") + 3, "LOC", "model"),), lang="de") == ["PORSCHE"]
    # unless the longer span itself speaks of business ("Porsche-Aktie" read as one name)
    text2 = "Die Porsche Aktie stieg."
    assert _ids(master, text2, (Span(4, 17, "PER", "model"),), lang="de") == ["PORSCHE"]
    # a ticker vouches even inside a longer name
    text3 = "Nikola Tesla (TSLA) opened a plant."
    assert _ids(master, text3, (Span(0, 12, "PER", "model"),), lang="en") == ["TESLA"]
    assert _ids(master, "Nikola Tesla opened a plant.", (Span(0, 12, "PER", "model"),), lang="en") == []
    assert _ids(master, "Nikola Tesla met Vinci SA.", (Span(0, 12, "PER", "model"),), lang="en") == ["VINCI"]
    arena = "Fans gathered at the Tesla Arena downtown."  # a place named after the company, opening with its name
    assert _ids(master, arena, lang="en") == ["TESLA"]
    assert _ids(master, arena, (Span(arena.index("Tesla"), arena.index(" downtown"), "LOC", "model"),), lang="en") == []


# -- sentence starts ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,conf", [
    ("Vinci a parlé hier soir", 0.6),             # opens the text: a plain word first (Zipf 3.71 >= 3.5)
    ("Il pleut. Vinci a parlé hier soir", 0.6),   # opens a sentence
    ("Il pleut!\nVinci a parlé hier soir", 0.6),
    ("Titre\n\nVinci a parlé hier soir", 0.6),    # opens a paragraph
    (" Vinci a parlé hier soir", 0.6),            # one character in
    ("Hier, Vinci a parlé hier soir", 0.7),       # inside a sentence: the company
    ("Hier.Vinci a parlé hier soir", 0.7),        # no blank after the full stop: not read as a sentence start
    ("Il pleut.  Vinci a parlé hier soir", 0.6),  # two blanks after the full stop
    ("Il pleut.\r\nVinci a parlé hier soir", 0.6),  # a Windows line end
    ("Titre\nVinci a parlé hier soir", 0.6),       # a headline line without a full stop
    ("  Vinci a parlé hier soir", 0.6),           # two blanks at the start
    ("Il pleut. \u00a0Vinci a parlé hier soir", 0.6),
    ("Hier,  Vinci a parlé hier soir", 0.7),      # blanks after a comma: still inside the sentence
])
def test_a_plain_word_opening_a_sentence_is_weaker(master, text: str, conf: float) -> None:
    assert _find(master, text, lang="fr") == [("Vinci", "VINCI", conf, "name")]


def test_the_blanks_at_the_end_of_a_text_are_not_before_its_first_word(master) -> None:
    """Looking back from a name at the start of the text stops there; it does not wrap to the text's last
    characters."""
    assert _find(master, "Vinci a parlé hier soir ", lang="fr") == [("Vinci", "VINCI", 0.6, "name")]
    assert _find(master, "Vinci a parlé hier. \r\n ", lang="fr") == [("Vinci", "VINCI", 0.6, "name")]


def test_a_quote_before_a_name_is_no_sentence_start(master) -> None:
    """A name after an opening quote is read as inside a sentence, at the very start of the text as elsewhere."""
    assert _find(master, "«Vinci a parlé hier soir»", lang="fr") == [("Vinci", "VINCI", 0.7, "name")]
    assert _find(master, "Il a dit «Vinci a parlé hier soir»", lang="fr") == [("Vinci", "VINCI", 0.7, "name")]


def test_a_word_of_exactly_the_plain_frequency_opening_a_sentence_is_weaker() -> None:
    """"Burlington" has Zipf 3.5 in English, the threshold itself: a plain word at a sentence start."""
    idx = _index(_rows("BURL", "Burlington Stores, Inc.", isin="US1220171060", country="US", index=True,
                       listing_name="Burlington", listings=(("BURL", "XNYS"),)))
    assert zipf("Burlington", "en") == 3.5
    assert _find(idx, "Burlington opened late today.", lang="en") == [("Burlington", "BURL", 0.6, "name")]
    assert _find(idx, "Today Burlington opened late.", lang="en") == [("Burlington", "BURL", 0.7, "name")]


def test_a_rare_word_opening_a_sentence_is_not_weaker(master) -> None:
    """Safran (Zipf 3.38 in French, under 3.5) is not a word that opens sentences: a company even there."""
    assert _find(master, "Safran a parlé hier soir", lang="fr") == [("Safran", "SAFRAN", 0.7, "name")]
    assert _find(master, "Vinci a signé un contrat", lang="fr") == [("Vinci", "VINCI", 0.7, "name")]  # a cue
    # with a legal form: a plain word first all the same (0.6), plus the legal form's 0.1
    assert _find(master, "Vinci SA a parlé hier soir", lang="fr") == [("Vinci SA", "VINCI", 0.7, "name")]


def test_notable_issuers_below_prominence_get_the_middle_confidence_from_fifteen_points() -> None:
    def issuer(n: int, v: int) -> list[dict[str, Any]]:
        return _rows("KER", "Kering SA", isin="FR0000121485",
                     listings=tuple((f"K{i}", f"X{i % v:03d}") for i in range(n)))

    fifteen, fourteen = _index(issuer(3, 2)), _index(issuer(2, 2))
    assert fifteen.issuers["KER"].score == 15.0 and fourteen.issuers["KER"].score == 14.0
    assert _find(fifteen, "Hier, Kering a publié.", lang="fr") == [("Kering", "KER", 0.7, "name")]
    assert _find(fourteen, "Hier, Kering a publié.", lang="fr") == [("Kering", "KER", 0.6, "name")]


# -- confidences --------------------------------------------------------------------------------------------------

def test_confidence_by_kind_of_name(master) -> None:
    assert _find(master, "Hier, SGS Surveillance Geneve Services a publié.", lang="fr")[0][2] == 0.85  # several words
    assert _find(master, "Hier, Deutsche Bank AG a publié.", lang="fr")[0][2] == 0.95   # several words, legal form
    assert _find(master, "Hier, Siemens AG a publié.", lang="fr")[0][2] == 0.8         # one word, legal form
    assert _find(master, "Hier, SGS a publié.", lang="fr")[0][2] == 0.68               # leading acronym: 0.75 x 0.9
    assert _find(master, "Hier, Apple (AAPL) a publié.", lang="fr")[0][2:] == (0.98, "name+ticker")
    assert _find(master, "Hier, Apple (APC) a publié.", lang="fr")[0][2:] == (0.98, "name+ticker")
    assert _find(master, "Hier, Deutsche Bank (ORA) a publié.", lang="fr")[0][2:] == (0.85, "name")
    assert _find(master, "Hier, Deutsche Bank (AFP) a publié.", lang="fr")[0][2:] == (0.85, "name")  # a credit
    # a rare word in capitals of a merely notable issuer: the capitals' 0.75, whatever its length
    assert _find(master, "Hier, ENGIE a publié.", lang="fr") == [("ENGIE", "ENGIE", 0.75, "name")]


def test_several_words_and_a_legal_form_are_the_surest_name_without_a_ticker() -> None:
    """A name of several words (0.85, an alias among them) with a legal form (+0.1): 0.95, below a ticker's 0.98."""
    idx = _index(_rows("MR", "Munchener Ruckversicherungs-Gesellschaft Aktiengesellschaft in Munchen",
                       isin="DE0008430026", index=True, listings=(("MUV2", "XETR"),)))
    assert _find(idx, "Hier, Munich Re AG a publié.", lang="fr")[0][1:] == ("MR", 0.95, "name")
    two = _index(_rows("DB", "Deutsche Bank", index=True), _rows("DP", "Deutsche Post AG", index=True))
    assert _find(two, "Hier, Deutsche Post AG a publié.", lang="fr")[0][1:] == ("DP", 0.95, "name")


def test_a_short_name_counts_as_the_name_itself() -> None:
    """"Infineon" of Infineon Technologies weighs 0.95: its confidence is not lowered like an acronym's."""
    idx = _index(_rows("IFX", "Infineon Technologies AG", isin="DE0006231004", index=True,
                       listings=(("IFX", "XETR"),)))
    assert _find(idx, "Hier, Infineon a publié.", lang="fr") == [("Infineon", "IFX", 0.7, "name")]


def test_two_issuers_equally_known_by_a_name_lower_the_confidence() -> None:
    def merck(iid: str, country: str, listings: int, venues: int, name: str = "Merck") -> list[dict[str, Any]]:
        return _rows(iid, name, isin=f"{country}0000000001", country=country,
                     listings=tuple((f"M{i}", f"X{i % venues:03d}") for i in range(listings)))

    close = _index(merck("MRKUS", "US", 5, 5), merck("MRKDE", "DE", 3, 3))        # 20 and 16: 16 >= 0.8 x 20
    far = _index(merck("MRKUS", "US", 5, 5), merck("MRKDE", "DE", 3, 2))          # 20 and 15
    assert _find(close, "Hier, Merck a publié.", lang="en") == [("Merck", "MRKUS", 0.6, "name")]
    assert _find(far, "Hier, Merck a publié.", lang="en") == [("Merck", "MRKUS", 0.7, "name")]
    swapped = _index(merck("AMRK", "US", 5, 5), merck("ZMRK", "DE", 3, 3))  # the rival's id sorts after
    assert _find(swapped, "Hier, Merck a publié.", lang="en") == [("Merck", "AMRK", 0.6, "name")]
    # an exact namesake is a rival of the better known issuer's shortened name
    shorter = _index(merck("MRKUS", "US", 5, 5, "Merck Technologies"), merck("MRKDE", "DE", 4, 4))  # 20 x .95, 18
    assert _find(shorter, "Hier, Merck a publié.", lang="en") == [("Merck", "MRKUS", 0.6, "name")]
    # a namesake known only by a shortened name is no rival of the exact name
    short = _index(merck("MRKUS", "US", 5, 5), merck("MRKDE", "DE", 5, 5, "Merck Technologies"))
    assert _find(short, "Hier, Merck a publié.", lang="en") == [("Merck", "MRKUS", 0.7, "name")]


def test_the_home_market_settles_a_shared_name() -> None:
    """In German, Merck is Merck KGaA of Darmstadt (an index member there) even where Merck & Co. is better known;
    in English it is Merck & Co."""
    us = _rows("MRKUS", "Merck", isin="US58933Y1055", country="US", index=True,
               listings=(("MRK", "XNYS"), ("MRK", "XNAS"), ("6MK", "XETR")))
    de = _rows("MRKDE", "Merck", isin="DE0006599905", country="DE", index=True, listings=(("MRK", "XETR"),))
    idx = _index(us, de)
    assert idx.names[("merck",)][0][0] == "MRKUS"
    assert _find(idx, "Gestern hat Merck berichtet.", lang="de") == [("Merck", "MRKDE", 0.7, "name")]
    assert _find(idx, "Yesterday Merck reported.", lang="en") == [("Merck", "MRKUS", 0.6, "name")]
    assert _find(idx, "Yesterday Merck reported.", lang=None)[0][1] == "MRKUS"
    # the home issuer must be prominent
    small_de = _rows("MRKDE", "Merck", isin="DE0006599905", country="DE", listings=(("MRK", "XETR"),))
    assert _find(_index(us, small_de), "Gestern hat Merck berichtet.", lang="de")[0][1] == "MRKUS"
    # and carry the name itself or its short name, not only an acronym of a longer name
    acro = _rows("MRKDE", "MERCK Darmstadt Pharma", isin="DE0006599905", country="DE", index=True)
    assert _find(_index(us, acro), "Gestern hat Merck berichtet.", lang="de")[0][1] == "MRKUS"
    short_de = _rows("MRKDE", "Merck Technologies", isin="DE0006599905", country="DE", index=True)
    assert _find(_index(us, short_de), "Gestern hat Merck berichtet.", lang="de")[0][1] == "MRKDE"
    # the home issuer wins over a foreign short name too, and index membership alone is prominent enough
    us_short = _rows("MRKUS", "Merck Technologies", isin="US58933Y1055", country="US", index=True, cap="Mega Cap",
                     listings=(("MRK", "XNYS"),))
    bare_de = _rows("MRKDE", "Merck", country="DE", index=True)
    assert _find(_index(us_short, bare_de), "Gestern hat Merck berichtet.", lang="de")[0][1] == "MRKDE"
    # the home issuer picked is not lowered as a rival of the top one, whatever the ids
    zde = _rows("ZMRK", "Merck", isin="DE0006599905", country="DE", index=True, listings=(("MRK", "XETR"),))
    assert _find(_index(us, zde), "Gestern hat Merck berichtet.", lang="de") == [("Merck", "ZMRK", 0.7, "name")]
    # a top issuer of the home market itself stays
    assert _find(_index(de, us), "Gestern hat Merck berichtet.", lang="de")[0][1] == "MRKDE"


def test_an_alias_is_not_overruled_by_the_home_market() -> None:
    ge = _rows("GE", "General Electric Company", isin="US3696043013", country="US", index=True,
               listings=(("GE", "XNYS"),))
    other = _rows("GEDE", "GE", isin="DE0000000001", country="DE", index=True, listings=(("GE1", "XETR"),))
    idx = _index(ge, other)
    assert _find(idx, "Gestern hat GE berichtet.", lang="de")[0][1] == "GE"


# -- one-word names held back -------------------------------------------------------------------------------------

def test_a_held_back_common_word_links_when_the_company_is_named_plainly_elsewhere(master) -> None:
    text = "Orange S.A. a publié. Plus tard Orange a parlé."
    got = _find(master, text, lang="fr")
    assert got == [("Orange S.A.", "ORANGE", 0.7, "name"), ("Orange", "ORANGE", 0.7, "name_again")]
    # a first mention under 0.7 does not vouch for the held one
    assert _ids(master, "Le jour où Orange a parlé.", lang="fr") == []
    sure = "Orange (ORA) a publié. Plus tard Orange a parlé."
    assert _find(master, sure, lang="fr") == [("Orange", "ORANGE", 0.98, "name+ticker"),
                                              ("Orange", "ORANGE", 0.7, "name_again")]
    weak = "Orange a publié. Plus tard Orange a parlé."
    assert _find(master, weak, (_span(weak, "Orange", "ORG"),), lang="fr") == [("Orange", "ORANGE", 0.6, "name")]


def test_a_held_back_prominent_name_links_when_listed_with_another_company(master) -> None:
    text = "Hier Apple und SAP AG gewannen."
    assert _find(master, text, lang="de") == [("SAP AG", "SAP", 0.85, "name"),
                                               ("Apple", "APPLE", 0.7, "name_among_companies")]
    # not when the other one is the same issuer, nor when the names are not side by side
    assert _ids(master, "Hier Apple gewann, sagt SAP AG.", lang="de") == ["SAP"]
    # the other company may come first in the alphabet, and be named at exactly 0.7
    assert _find(master, "Hier Siemens und SAP AG gewannen.", lang="de")[1][1:] == ("SIEMENS", 0.7,
                                                                                   "name_among_companies")
    assert _find(master, "Hier Apple und Orange S.A. gewannen.", lang="de") == [
        ("Orange S.A.", "ORANGE", 0.7, "name"), ("Apple", "APPLE", 0.7, "name_among_companies")]
    # but a weaker one (Tesla, 0.6) does not vouch
    assert _ids(master, "Hier Apple und Tesla gewannen.", lang="de") == ["TESLA"]
    # a non-prominent issuer is not linked by a list
    assert _ids(master, "Hier Orange und SAP AG gewannen.", lang="de") == ["SAP"]


# -- tickers and ISINs --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,ticker,listing,issuer,conf,method", [
    ("The company (NASDAQ: MSFT) beat.", "MSFT", "LMSFTMSFTXNAS", "MSFT", 0.95, "exchange_ticker"),
    ("The company (Nasdaq:msft) beat.", "msft", "LMSFTMSFTXNAS", "MSFT", 0.95, "exchange_ticker"),
    ("Apple (XETRA: APC) fiel.", "APC", "LAPPLEAPCXETR", "APPLE", 0.95, "exchange_ticker"),
    ("Apple (OTC: AAPL) fell.", "AAPL", "LAPPLEAAPLXNAS", "APPLE", 0.95, "exchange_ticker"),  # any US venue
    ("Orange (ORA.PA) a publié.", "ORA", "LORANGEORAXPAR", "ORANGE", 0.9, "ric"),
    ("Traders piled into $MSFT after the call.", "MSFT", "LMSFTMSFTXNAS", "MSFT", 0.8, "cashtag"),
])
def test_tickers_in_explicit_patterns(master, text: str, ticker: str, listing: str, issuer: str, conf: float,
                                      method: str) -> None:
    spans = [s for s in master.find(text, list(G.WORD.finditer(text)), [], lang="en") if s.link["kind"] == "listing"]
    assert len(spans) == 1
    s = spans[0]
    assert text[s.start:s.end] == ticker and s.link["id"] == listing
    assert (s.link["confidence"], s.link["method"]) == (conf, method)
    assert s.link["evidence"][0].startswith(("(", "$")) and s.link["evidence"][0] in text
    assert s.key == ("issuer", issuer) and s.type == "ORG"


def test_an_exchange_name_of_two_words_is_read_before_a_shorter_one() -> None:
    idx = _index(_rows("AMX", "Amex Mining Corp", listings=(("AMX", "XASE"), ("AMX", "XNYS"))))
    text = "Amex Mining (NYSE American : AMX) rose."
    [s] = [s for s in idx.find(text, list(G.WORD.finditer(text)), [], lang="en") if s.link["kind"] == "listing"]
    assert s.link["id"] == "LAMXAMXXASE"


def test_a_ticker_without_a_listing_does_not_stop_the_reading(master) -> None:
    text = "(NASDAQ: NOPE) and (NASDAQ: MSFT) rose."
    assert [s.link["id"] for s in master.find(text, list(G.WORD.finditer(text)), [], lang="en")] == ["LMSFTMSFTXNAS"]


def test_venues_read_from_data_match_by_value() -> None:
    """MICs of the master come from files, not from literals: compared by value."""
    mic = "".join(["XN", "AS"])
    idx = _index(_rows("A", "Apple Inc.", listings=(("AAPL", mic),)))
    assert idx.listing("AAPL", (None,)) == (f"LAAAPL{mic}", "A")


def test_tickers_without_a_listing_on_that_venue_are_not_linked(master) -> None:
    for text in ("Apple (LSE: AAPL) fell.", "Apple (AAPL.PA) fell.", "Orange ($ORA) fell.", "US$MSFT rose",
                 "(NASDAQ: NOPE) rose", "$NOPE rose"):
        assert not [s for s in master.find(text, list(G.WORD.finditer(text)), [], lang="en")
                    if s.link["kind"] == "listing"], text


def test_a_listing_on_the_first_venue_that_has_one() -> None:
    idx = _index(_rows("X", "Xylem", listings=(("XYL", "XNYS"), ("XYL", "XNAS"), ("XYL", "XETR"))))
    assert idx.listing("xyl", ("XETR", "XNAS")) == ("LXXYLXETR", "X")
    assert idx.listing("XYL", ("XLON", "XNAS")) == ("LXXYLXNAS", "X")
    assert idx.listing("XYL", (None,)) == ("LXXYLXNYS", "X")  # the first US venue in order of preference
    assert idx.listing("XYL", (None, "XETR")) == ("LXXYLXNYS", "X")
    assert idx.listing("XYL", ("XLON",)) is None and idx.listing("ABC", ("XNYS",)) is None


def test_isins_need_a_valid_check_digit_and_link_to_the_security(master) -> None:
    text = "Codes US0378331005, US0378331006 and FR0000120271."
    got = master.find(text, list(G.WORD.finditer(text)), [], lang="en")
    isins = [(text[s.start:s.end], s.type, s.link["kind"], s.link["id"], s.link["confidence"], s.link["method"],
              s.key) for s in got if s.link["method"].startswith("isin")]
    assert isins == [("US0378331005", "ORG", "security", "SAPPLE", 0.99, "isin", ("issuer", "APPLE")),
                     ("FR0000120271", "MISC", "isin", "FR0000120271", 0.9, "isin_checksum", ("isin", "FR0000120271"))]
    a, b = text.index("US0378331005"), text.index("FR0000120271")
    assert C.isin_spans(text) == [(a, a + 12, "US0378331005"), (b, b + 12, "FR0000120271")]


# -- legal forms and gaps -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,word,legal", [
    ("Apple Inc", "Inc", True), ("Apple inc", "inc", False), ("Apple Ltd", "Ltd", True), ("Apple Foo", "Foo", False),
    ("Danone S.A.", "S", True), ("Danone S. A.", "A", True), ("Danone S.A.", "A", True), ("M. Zuckerberg", "M", False),
    ("Danone s.a.", "s", False), ("Danone S.", "S", False),
])
def test_legal_words(text: str, word: str, legal: bool) -> None:
    m = next(w for w in G.WORD.finditer(text) if w.group() == word)
    assert C._legal_word(text, m) is legal


def test_what_may_stand_between_a_name_and_its_legal_form() -> None:
    assert C._suffix_gap_ok(" ", False) and C._suffix_gap_ok(", ", False) and C._suffix_gap_ok("\u00a0", False)
    assert not C._suffix_gap_ok(".", False) and not C._suffix_gap_ok(". ", False)
    assert C._suffix_gap_ok(".", True) and C._suffix_gap_ok(". ", True)
    assert not C._suffix_gap_ok("  ", True) and not C._suffix_gap_ok(" \n", False) and not C._suffix_gap_ok("\n", True)
    assert not C._suffix_gap_ok(" - ", False)


def test_what_may_stand_between_the_words_of_a_name() -> None:
    assert C._gap_ok(" ") and C._gap_ok("-") and C._gap_ok(" & ") and C._gap_ok(", ") and C._gap_ok("’")
    assert C._gap_ok(" " * 12) and not C._gap_ok(" " * 13)
    assert not C._gap_ok(" und ") and not C._gap_ok(" x ")


def test_without_spacy_there_are_no_stop_words(monkeypatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert C.spacy_stop_words("en") == frozenset()


def test_stop_words_are_read_from_spacy_and_an_unknown_language_has_none() -> None:
    en = C.spacy_stop_words("en")
    assert {"the", "and", "next"} <= en and len(en) > 100
    assert C.spacy_stop_words("zz") == frozenset()
    blocked = C._blocked_words()
    assert {"the", "der", "les", "france", "germany"} <= blocked and "siemens" not in blocked


def test_names_written_with_and_and_with_words_between_them() -> None:
    """A master name with "&" is found written with "and" and with "&"; a particle or legal word between two name
    words ("Industria de Diseno Textil, S.A.") belongs to the name."""
    idx = _index(_rows("JNJ", "Johnson & Johnson", isin="US4781601046", index=True, listings=(("JNJ", "XNYS"),)),
                 _rows("PG", "Procter and Gamble Co", isin="US7427181091", index=True, listings=(("PG", "XNYS"),)),
                 _rows("ITX", "Industria de Diseno Textil, S.A.", isin="ES0148396007", listings=(("ITX", "XMAD"),)))
    for text, surface, iid in (("Shares of Johnson and Johnson rose.", "Johnson and Johnson", "JNJ"),
                               ("Shares of Johnson & Johnson rose.", "Johnson & Johnson", "JNJ"),
                               ("Procter and Gamble raised prices.", "Procter and Gamble", "PG"),
                               ("Procter & Gamble raised prices.", "Procter & Gamble", "PG")):
        assert [(f[0], f[1]) for f in _find(idx, text)] == [(surface, iid)], text
    text = "Hier, Industria de Diseno Textil, S.A. a publié."
    assert [(f[0], f[1]) for f in _find(idx, text, lang="fr")] == [("Industria de Diseno Textil, S.A.", "ITX")]
    # "and" between two names of a list does not make one name of them
    assert _ids(idx, "Johnson and Procter", lang="en") == []
    assert C._gap_ok(" and ") and C._gap_ok(" de ") and C._gap_ok(", S.A. ") and C._gap_ok(" AG ")
    assert not C._gap_ok(" Bank ") and not C._gap_ok(" und ")  # a name word; "und" is one in the master keys
