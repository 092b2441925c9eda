"""Listing histories from dated snapshots, pinned on the decisions the lineage builder makes.

Each test replays hand-made observations (the records the source readers produce) through
:func:`build_lineages` and checks the histories: dating between snapshots, what a continuing listing keeps, when a
ticker is taken to be recycled, same-day disagreements between feeds, delistings, ticker changes and venue moves in
complete directories, and records without a venue (SEC tickers).
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from marketwire.identity.lineage import Lineage, build_lineages, midpoint

pytestmark = pytest.mark.unit

NASDAQ = "nasdaqtrader:nasdaqlisted"
OTHER = "nasdaqtrader:otherlisted"
FD = "financedatabase:equities"
SEC = "sec:company_tickers"

D1, D2, D3, D4 = date(2024, 1, 2), date(2024, 1, 12), date(2024, 3, 1), date(2024, 4, 2)


def rec(d: date, ticker: str, name: str | None, mic: str | None = "XNAS", feed: str = NASDAQ,
        complete: bool = True, **kw) -> dict:
    """One observation as a source reader yields it: its strings and its date are objects of its own, as they are
    when read from a file (equal values, never the same object)."""
    r = {"snapshot_date": d.isoformat(), "feed": feed, "ticker": ticker, "mic": mic, "name": name,
         "complete": complete, **kw}
    r = json.loads(json.dumps(r))
    r["snapshot_date"] = date.fromisoformat(r["snapshot_date"])
    return r


def one(lins: list[Lineage], ticker: str, mic: str | None = "XNAS") -> Lineage:
    found = [x for x in lins if x.mic == mic and any(t == ticker for t, _ in x.tickers)]
    assert len(found) == 1, [(x.tickers, x.mic) for x in lins]
    return found[0]


# -- dating a change seen between two snapshots ---------------------------------------------------

def test_midpoint_splits_a_gap_in_half_and_is_always_after_the_earlier_date():
    """A ticker that changed hands between two snapshots is split half way, never on the earlier date itself."""
    assert midpoint(date(2024, 1, 2), date(2024, 1, 12)) == date(2024, 1, 7)   # 10 days: 5 + 5
    assert midpoint(date(2024, 1, 2), date(2024, 1, 13)) == date(2024, 1, 8)   # 11 days: rounded up
    assert midpoint(date(2024, 1, 2), date(2024, 1, 3)) == date(2024, 1, 3)    # adjacent: the later day
    assert midpoint(date(2024, 1, 2), date(2024, 1, 2)) == date(2024, 1, 3)    # one day at least


def test_a_recycled_ticker_ends_the_old_listing_at_the_midpoint():
    """A different company on the ticker@MIC: the old listing ends half way, the new one starts there."""
    lins = build_lineages([rec(D1, "AI", "Arlington Asset Investment Corp"), rec(D2, "AI", "C3.ai Inc.")])
    assert len(lins) == 2
    old, new = sorted(lins, key=lambda x: x.valid_from)
    assert (old.valid_from, old.valid_to, old.status, old.attrs["ended_by"]) == (D1, date(2024, 1, 7), "delisted",
                                                                              "ticker reused")
    assert (old.first_seen, old.last_seen) == (D1, D1)
    assert (new.valid_from, new.first_seen, new.last_seen, new.valid_to, new.status) == (
        date(2024, 1, 7), D2, D2, None, "active")
    assert new.tickers == [("AI", date(2024, 1, 7))] and new.name == "C3.ai Inc."


# -- what a continuing listing keeps ---------------------------------------------------------------

def test_a_rename_is_recorded_from_its_date_and_spelling_noise_is_not():
    """Names are kept as a dated history: a new name on a later date, not a variant of the same name."""
    lins = build_lineages([rec(D1, "ADBE", "Adobe Systems Incorporated"),
                           rec(D2, "ADBE", "ADOBE SYSTEMS INC"),       # the same name, other spelling
                           rec(D3, "ADBE", "Adobe Inc.")])
    lin = one(lins, "ADBE")
    assert lin.names == [("Adobe Systems Incorporated", D1), ("Adobe Inc.", D3)]
    assert lin.name == "Adobe Inc." and lin.last_seen == D3 and lin.first_seen == D1


def test_a_second_name_on_the_same_day_does_not_rename():
    """Two feeds naming one listing differently on one day: the first name stands (a rename needs a later day)."""
    lins = build_lineages([rec(D1, "ADBE", "Adobe Systems Incorporated", feed=NASDAQ),
                           rec(D1, "ADBE", "Adobe Inc.", feed=FD)])
    lin = one(lins, "ADBE")
    assert lin.names == [("Adobe Systems Incorporated", D1)]
    assert lin.feeds == {NASDAQ, FD} and len(lin.obs_keys) == 2


def test_every_change_of_name_is_recorded_in_either_direction():
    """A longer name after a short one, a name that comes back, and a third name the day of a rename (ignored)."""
    lins = build_lineages([rec(D1, "COKE", "Coca"), rec(D2, "COKE", "Coca-Cola Consolidated Inc."),
                           rec(D3, "COKE", "Coca"), rec(D3, "COKE", "Coca Cola Bottling Co Consolidated", feed=FD)])
    assert one(lins, "COKE").names == [("Coca", D1), ("Coca-Cola Consolidated Inc.", D2), ("Coca", D3)]


def test_a_record_without_a_name_keeps_the_name_and_takes_the_first_one_given():
    lins = build_lineages([rec(D1, "ADBE", None), rec(D2, "ADBE", "Adobe Inc."), rec(D3, "ADBE", None)])
    assert one(lins, "ADBE").names == [("Adobe Inc.", D2)]


def test_identifiers_are_recorded_when_they_change_only():
    """An identifier repeated by every snapshot is one entry; a new value is appended with its date."""
    lins = build_lineages([rec(D1, "ADBE", "Adobe Inc.", isin="US00724F1012", cik="0000796343"),
                           rec(D2, "ADBE", "Adobe Inc.", isin="US00724F1012", cik="0000796343"),
                           rec(D3, "ADBE", "Adobe Inc.", isin="US00724F1013", cik=""),
                           rec(D4, "ADBE", "Adobe Inc.", isin="US00724F1012")])
    lin = one(lins, "ADBE")
    assert lin.ids["isin"] == [("US00724F1012", D1), ("US00724F1013", D3), ("US00724F1012", D4)]
    assert lin.ids["cik"] == [("0000796343", D1)]
    assert lin.latest("isin") == "US00724F1012" and lin.latest("lei") is None


def test_attributes_aliases_flags_and_the_source_delisting_mark():
    lins = build_lineages([rec(D1, "BRK.A", "Berkshire Hathaway Inc.", mic="XNYS", feed=OTHER, currency="USD",
                               type="equity", aliases=["BRK/A", "BRK-A"], flags=["listing.note"]),
                           rec(D2, "BRK.A", "Berkshire Hathaway Inc.", mic="XNYS", feed=OTHER, currency="",
                               sector="Financials", delisted=True, aliases=["BRKA"])])
    lin = one(lins, "BRK.A", "XNYS")
    assert lin.attrs == {"currency": "USD", "type": "equity", "sector": "Financials", "source_delisted": True}
    assert lin.aliases == {"BRK.A": {"BRK/A", "BRK-A", "BRKA"}}
    assert lin.flags == {"listing.note"}
    assert lin.obs_keys == ["XNYS|BRK.A|2024-01-02", "XNYS|BRK.A|2024-01-12"]
    assert not lin.provisional and lin.status == "active"
    assert "source_delisted" not in one(build_lineages([rec(D1, "ADBE", "Adobe Inc.")]), "ADBE").attrs


def test_a_fund_stays_a_fund_when_a_later_record_says_equity():
    """A generic "equity" does not overwrite a fund type; another specific type does."""
    lins = build_lineages([rec(D1, "SPY", "SPDR S&P 500 ETF Trust", mic="ARCX", feed=OTHER, type="etf"),
                           rec(D2, "SPY", "SPDR S&P 500 ETF Trust", mic="ARCX", feed=OTHER, type="equity",
                               currency="USD")])
    lin = one(lins, "SPY", "ARCX")
    assert len(lins) == 1 and lin.attrs["type"] == "etf" and lin.attrs["currency"] == "USD"
    lins = build_lineages([rec(D1, "XYZ", "Xyz Holdings Corp", type="equity"),
                           rec(D2, "XYZ", "Xyz Holdings Corp", type="preferred")])
    assert one(lins, "XYZ").attrs["type"] == "preferred"
    # an ETF that the funds file lists as well, a fund that a directory calls a depositary receipt
    lins = build_lineages([rec(D1, "GLD", "SPDR Gold Trust", mic="ARCX", feed=FD, type="etf"),
                           rec(D2, "GLD", "SPDR Gold Trust", mic="ARCX", feed=FD, type="fund"),
                           rec(D3, "GLD", "SPDR Gold Trust", mic="ARCX", feed=OTHER, type="adr")])
    assert [x.attrs["type"] for x in lins] == ["adr"]
    lins = build_lineages([rec(D1, "GLD", "SPDR Gold Trust", mic="ARCX", feed=FD, type="etf"),
                           rec(D2, "GLD", "SPDR Gold Trust", mic="ARCX", feed=FD, type="fund")])
    assert [x.attrs["type"] for x in lins] == ["fund"]


# -- when a ticker is taken to be recycled ---------------------------------------------------------

def test_a_fund_and_a_company_share_a_ticker_only_under_the_same_full_name():
    """Fund on one side, operating company on the other: the same listing only when the names are identical."""
    same = build_lineages([rec(D1, "GLD", "SPDR Gold Trust", mic="ARCX", feed=OTHER, type="etf"),
                           rec(D2, "GLD", "SPDR Gold Trust", mic="ARCX", feed=OTHER, type="equity")])
    assert len(same) == 1
    # "SPDR Gold MiniShares" matches "SPDR Gold Trust" by name, but an ETF became an ordinary share
    moved = build_lineages([rec(D1, "GLDM", "SPDR Gold Trust", mic="ARCX", feed=OTHER, type="etf"),
                            rec(D2, "GLDM", "SPDR Gold Corp", mic="ARCX", feed=OTHER, type="equity")])
    assert len(moved) == 2
    # and the other way round: an ordinary share whose ticker an ETF of a loosely matching name took
    back = build_lineages([rec(D1, "GLDM", "SPDR Gold Corp", mic="ARCX", feed=OTHER, type="equity"),
                           rec(D2, "GLDM", "SPDR Gold Trust", mic="ARCX", feed=OTHER, type="etf")])
    assert len(back) == 2
    # two ordinary types with loosely matching names: the same company
    both = build_lineages([rec(D1, "GLDC", "SPDR Gold Trust", mic="ARCX", feed=OTHER, type="equity"),
                           rec(D2, "GLDC", "SPDR Gold Corp", mic="ARCX", feed=OTHER, type="preferred")])
    assert len(both) == 1
    funds = build_lineages([rec(D1, "GLDF", "SPDR Gold Trust", mic="ARCX", feed=OTHER, type="etf"),
                            rec(D2, "GLDF", "SPDR Gold Fund", mic="ARCX", feed=OTHER, type="fund")])
    assert len(funds) == 1


def test_same_day_disagreement_keeps_the_first_listing_and_flags_it():
    """Same ticker@MIC, same day, two unrelated companies: one listing, the first feed's name, a conflict flag."""
    lins = build_lineages([rec(D1, "AI", "C3.ai Inc.", feed=NASDAQ),
                           rec(D1, "AI", "Arlington Asset Investment Corp", feed=FD, isin="US0413562051")])
    lin = one(lins, "AI")
    assert len(lins) == 1 and lin.name == "C3.ai Inc." and "listing.name_conflict" in lin.flags
    assert lin.ids["isin"] == [("US0413562051", D1)] and lin.feeds == {NASDAQ, FD}
    assert "listing.name_conflict" not in one(build_lineages([rec(D1, "AI", "C3.ai Inc.")]), "AI").flags


@pytest.mark.parametrize("first,second", [
    (OTHER, NASDAQ),                    # the other-listed file before the Nasdaq file
    (NASDAQ, FD),                       # Nasdaq Trader before FinanceDatabase
    (FD, "eodhd:symbols"),              # FinanceDatabase before any other feed
])
def test_feeds_of_one_day_are_replayed_in_their_order_of_authority(first, second):
    """On one day the feeds are replayed in a fixed order, so the first name seen comes from the better feed."""
    lins = build_lineages([rec(D1, "AI", "Second Company Ltd", feed=second),
                           rec(D1, "AI", "First Corp", feed=first)])
    assert one(lins, "AI").name == "First Corp"


def test_records_of_one_feed_and_day_are_replayed_by_ticker_venue_and_line():
    lins = build_lineages([rec(D1, "AI", "Second Company Ltd", line=7), rec(D1, "AI", "First Corp", line=3)])
    assert one(lins, "AI").name == "First Corp"


# -- complete directories: delisting, ticker change, venue move -------------------------------------

def test_a_listing_missing_from_a_complete_directory_is_delisted_on_that_date():
    lins = build_lineages([rec(D1, "OLDX", "Old Example Corp"), rec(D1, "ADBE", "Adobe Inc."),
                           rec(D2, "ADBE", "Adobe Inc.")])
    gone = one(lins, "OLDX")
    assert (gone.valid_to, gone.status, gone.last_seen) == (D2, "delisted", D1)
    assert one(lins, "ADBE").valid_to is None


def test_an_incomplete_file_or_another_feed_delists_nothing():
    partial = build_lineages([rec(D1, "OLDX", "Old Example Corp"), rec(D1, "ADBE", "Adobe Inc."),
                              rec(D2, "ADBE", "Adobe Inc.", complete=False)])
    assert one(partial, "OLDX").valid_to is None
    other = build_lineages([rec(D1, "OLDX", "Old Example Corp"), rec(D2, "ADBE", "Adobe Inc.", feed=OTHER)])
    assert one(other, "OLDX").valid_to is None


def test_a_listing_created_by_a_directory_is_delisted_by_its_next_edition():
    """Listings first seen in a directory are part of what its next edition must show."""
    lins = build_lineages([rec(D1, "ADBE", "Adobe Inc."), rec(D2, "ADBE", "Adobe Inc."),
                           rec(D2, "NEWX", "Brand New Example Corp"), rec(D3, "ADBE", "Adobe Inc.")])
    assert one(lins, "NEWX").valid_to == D3


def test_a_ticker_change_continues_the_listing_under_the_new_ticker():
    """Same security name, new ticker, same venue: one listing, the new ticker from the midpoint."""
    lins = build_lineages([rec(D1, "ZZZ", "Zeta Widgets Holdings Inc", isin="US9899991005", aliases=["ZZZ"]),
                           rec(D2, "ZZY", "Zeta Widgets Holdings Inc", isin="US9899991005", cik="0000123456",
                               aliases=["ZZY.X"]),
                           rec(D3, "ZZY", "Zeta Widgets Holdings Inc")])
    assert len(lins) == 1
    lin = lins[0]
    assert lin.tickers == [("ZZZ", D1), ("ZZY", date(2024, 1, 7))] and lin.ticker == "ZZY"
    assert (lin.valid_to, lin.status, lin.last_seen) == (None, "active", D3)
    assert lin.ids["isin"] == [("US9899991005", D1)] and lin.ids["cik"] == [("0000123456", D2)]
    assert lin.aliases == {"ZZZ": {"ZZZ"}, "ZZY": {"ZZY.X"}}
    assert lin.obs_keys == ["XNAS|ZZZ|2024-01-02", "XNAS|ZZY|2024-01-12", "XNAS|ZZY|2024-03-01"]


def test_a_ticker_change_keeps_the_listing_deliverable_by_a_later_directory():
    """After a ticker change the listing answers under the new ticker: a later edition without it delists it."""
    lins = build_lineages([rec(D1, "ZZZ", "Zeta Widgets Holdings Inc"), rec(D1, "ADBE", "Adobe Inc."),
                           rec(D2, "ZZY", "Zeta Widgets Holdings Inc"), rec(D2, "ADBE", "Adobe Inc."),
                           rec(D3, "ADBE", "Adobe Inc.")])
    lin = [x for x in lins if x.ticker == "ZZY"]
    assert len(lin) == 1 and (lin[0].valid_to, lin[0].status) == (D3, "delisted")


def test_a_venue_move_ends_one_listing_and_starts_its_successor():
    """Same security name on another venue: a new listing from the midpoint, the old one its predecessor."""
    lins = build_lineages([rec(D1, "ZETA", "Zeta Widgets Holdings Inc", mic="XNYS", feed=NASDAQ),
                           rec(D2, "ZETA", "Zeta Widgets Holdings Inc", mic="XNAS", feed=NASDAQ)])
    old, new = one(lins, "ZETA", "XNYS"), one(lins, "ZETA", "XNAS")
    assert (old.valid_to, old.status, old.attrs["ended_by"]) == (date(2024, 1, 7), "delisted", "moved to XNAS")
    assert (new.valid_from, new.tickers, new.predecessor) == (date(2024, 1, 7), [("ZETA", date(2024, 1, 7))], old)
    assert new.first_seen == D2 and new.valid_to is None
    back = build_lineages([rec(D1, "ZETA", "Zeta Widgets Holdings Inc", mic="XNAS", feed=NASDAQ),
                           rec(D2, "ZETA", "Zeta Widgets Holdings Inc", mic="XNYS", feed=NASDAQ)])
    assert one(back, "ZETA", "XNAS").attrs["ended_by"] == "moved to XNYS"
    assert one(back, "ZETA", "XNYS").predecessor is one(back, "ZETA", "XNAS")


def test_a_move_closed_by_one_directory_is_not_closed_again_by_another():
    """Two complete feeds list the listing; one shows the move, the other drops the old line: the move's date stays."""
    lins = build_lineages([rec(D1, "ZETA", "Zeta Widgets Holdings Inc", mic="XNYS", feed=NASDAQ),
                           rec(D1, "ZETA", "Zeta Widgets Holdings Inc", mic="XNYS", feed=FD),
                           rec(D2, "ZETA", "Zeta Widgets Holdings Inc", mic="XNAS", feed=NASDAQ),
                           rec(D2, "ZETA", "Zeta Widgets Holdings Inc", mic="XNAS", feed=FD)])
    assert one(lins, "ZETA", "XNYS").valid_to == date(2024, 1, 7)


def test_a_listing_another_feed_showed_the_same_day_is_not_delisted():
    """Missing from today's directory but shown today by a feed replayed before it: still listed."""
    lins = build_lineages([rec(D1, "OLDX", "Old Example Corp"), rec(D1, "ADBE", "Adobe Inc."),
                           rec(D2, "OLDX", "Old Example Corp", feed=OTHER, complete=False),
                           rec(D2, "ADBE", "Adobe Inc.")])
    assert one(lins, "OLDX").valid_to is None and one(lins, "OLDX").last_seen == D2


def test_a_move_is_matched_only_between_one_gone_and_one_new_listing_of_a_distinctive_name():
    """Two candidates on either side, or a name under six characters, prove nothing: delisted and new."""
    two_new = build_lineages([rec(D1, "ZZZ", "Zeta Widgets Holdings Inc"),
                              rec(D2, "ZZY", "Zeta Widgets Holdings Inc"),
                              rec(D2, "ZZX", "Zeta Widgets Holdings Inc")])
    assert one(two_new, "ZZZ").valid_to == D2 and len(two_new) == 3
    two_gone = build_lineages([rec(D1, "ZZZ", "Zeta Widgets Holdings Inc"),
                               rec(D1, "ZZX", "Zeta Widgets Holdings Inc"),
                               rec(D2, "ZZY", "Zeta Widgets Holdings Inc")])
    assert len(two_gone) == 3 and one(two_gone, "ZZY").valid_from == D2
    # "AB Inc" folds to six characters: distinctive enough; "AB Co" (five) is not
    six = build_lineages([rec(D1, "ABI", "AB Inc"), rec(D2, "ABJ", "AB Inc")])
    assert len(six) == 1 and six[0].ticker == "ABJ"
    five = build_lineages([rec(D1, "ABC", "AB Co"), rec(D2, "ABD", "AB Co")])
    assert len(five) == 2 and one(five, "ABC").valid_to == D2


def test_moves_are_matched_on_security_name_and_type():
    lins = build_lineages([rec(D1, "ZZZ", "Zeta Corp", security_name="Zeta Widgets Class A", type="equity"),
                           rec(D2, "ZZY", "Zeta Corp", security_name="Zeta Widgets Class B", type="equity")])
    assert len(lins) == 2
    lins = build_lineages([rec(D1, "ZZZ", "Zeta Widgets Trust", type="etf"),
                           rec(D2, "ZZY", "Zeta Widgets Trust", type="equity")])
    assert len(lins) == 2
    lins = build_lineages([rec(D1, "ZZZ", "Zeta Corp", security_name="Zeta Widgets Class A", type="equity"),
                           rec(D2, "ZZY", "Zeta Corp", security_name="Zeta Widgets Class A", type="equity")])
    assert len(lins) == 1


# -- records without a venue (SEC tickers) -----------------------------------------------------------

def test_a_venue_less_record_gives_its_ids_to_the_us_listing_holding_the_ticker():
    lins = build_lineages([rec(D1, "ADBE", "Adobe Inc."),
                           rec(D2, "ADBE", "ADOBE INC.", mic=None, feed=SEC, cik="0000796343", complete=False),
                           rec(D3, "ADBE", "ADOBE INC.", mic=None, feed=SEC, cik="0000796343", complete=False)])
    assert len(lins) == 1
    lin = lins[0]
    assert lin.ids["cik"] == [("0000796343", D2)] and lin.feeds == {NASDAQ, SEC}
    # the venue-less records are no observations of the listing: its dates are the directory's
    assert (lin.first_seen, lin.last_seen) == (D1, D1)


def test_a_venue_less_record_attaches_only_to_us_venues():
    lins = build_lineages([rec(D1, "SAP", "SAP SE", mic="XETR", feed=FD),
                           rec(D1, "SAP", "SAP SE", mic=None, feed=SEC, cik="0001000184", complete=False)])
    assert len(lins) == 2
    prov = one(lins, "SAP", None)
    assert prov.provisional and "listing.provisional" in prov.flags and prov.ids["cik"] == [("0001000184", D1)]
    assert not one(lins, "SAP", "XETR").ids


@pytest.mark.parametrize("days,attached", [(120, True), (121, False), (-119, True), (-120, False), (-200, False)])
def test_a_venue_less_record_attaches_within_120_days_of_the_listing(days, attached):
    """A directory dated up to 120 days after the SEC file, or a listing ended less than 120 days before it, counts."""
    d_sec = date(2024, 6, 1)
    if days > 0:  # the listing starts `days` after the SEC record
        obs = [rec(d_sec + timedelta(days=days), "ADBE", "Adobe Inc.")]
    else:         # the listing ended `-days` before it: delisted by a later directory without it
        end = d_sec + timedelta(days=days)
        obs = [rec(end - timedelta(days=30), "ADBE", "Adobe Inc."), rec(end - timedelta(days=30), "MSFT", "Microsoft"),
               rec(end, "MSFT", "Microsoft")]
    obs.append(rec(d_sec, "ADBE", "Adobe Inc.", mic=None, feed=SEC, cik="0000796343", complete=False))
    lins = build_lineages(obs)
    listing = one(lins, "ADBE")
    assert (listing.ids.get("cik") == [("0000796343", d_sec)]) is attached
    assert (len([x for x in lins if x.provisional]) == 0) is attached


def test_a_venue_less_record_prefers_the_listing_holding_the_ticker_on_its_date():
    """A recycled ticker: the SEC record goes to the holder on its date, not to the earlier one nearby."""
    lins = build_lineages([rec(D1, "AI", "Arlington Asset Investment Corp"), rec(D3, "AI", "C3.ai Inc."),
                           rec(date(2024, 3, 10), "AI", "C3.ai, Inc.", mic=None, feed=SEC, cik="0001577526",
                               complete=False)])
    old, new = sorted(lins, key=lambda x: x.valid_from)
    assert not old.ids and new.ids["cik"] == [("0001577526", date(2024, 3, 10))]


def test_a_venue_less_record_near_two_holders_goes_to_the_one_of_the_same_name():
    """Held by nobody on its date: among the holders within the window, the one whose name matches."""
    d_sec = date(2024, 2, 1)  # AI delisted on 12 Jan, listed again on 1 Mar
    directory = [rec(D1, "AI", "Arlington Asset Investment Corp"), rec(D1, "ADBE", "Adobe Inc."),
                 rec(D2, "ADBE", "Adobe Inc."), rec(D3, "AI", "C3.ai Inc."), rec(D3, "ADBE", "Adobe Inc.")]
    lins = build_lineages(directory + [rec(d_sec, "AI", "C3.ai, Inc.", mic=None, feed=SEC, cik="0001577526",
                                           complete=False)])
    old, new = sorted((x for x in lins if x.ticker == "AI"), key=lambda x: x.valid_from)
    assert (old.valid_to, new.valid_from) == (D2, D3)
    assert not old.ids and new.ids["cik"] == [("0001577526", d_sec)]
    # without a name to tell, both holders within the window get the identifiers
    lins = build_lineages(directory + [rec(d_sec, "AI", None, mic=None, feed=SEC, cik="0001577526",
                                           complete=False)])
    assert [x.ids["cik"] for x in lins if x.ticker == "AI"] == [[("0001577526", d_sec)]] * 2


def test_a_ticker_no_listing_held_gets_one_provisional_listing():
    """SEC records of a ticker no directory lists: one provisional listing, continued by later records."""
    lins = build_lineages([rec(D1, "PRIV", "Private Example Corp", mic=None, feed=SEC, cik="0000000001",
                               complete=False),
                           rec(D2, "PRIV", "Private Example Corp", mic=None, feed=SEC, cik="0000000001",
                               complete=False)])
    assert len(lins) == 1
    prov = lins[0]
    assert prov.provisional and prov.flags == {"listing.provisional"} and prov.mic is None
    assert (prov.first_seen, prov.last_seen, prov.valid_to) == (D1, D2, None)
    assert prov.ids["cik"] == [("0000000001", D1)]
    other = build_lineages([rec(D1, "PRIV", "Private Example Corp", mic=None, feed=SEC, complete=False),
                            rec(D2, "PRIV", "Unrelated Biotech Ltd", mic=None, feed=SEC, complete=False)])
    assert len(other) == 2 and all(x.provisional for x in other)


def test_every_record_of_a_venue_less_file_is_used():
    """An SEC file of several tickers: each attaches to its listing or makes its provisional one."""
    lins = build_lineages([rec(D1, "AAA", "Aaa Example Corp", feed=NASDAQ),
                           rec(D1, "SAP", "SAP SE", mic="XETR", feed=FD),
                           rec(D1, "ADBE", "Adobe Inc.", feed=NASDAQ),
                           rec(D2, "AAA", "Aaa Example Corp", mic=None, feed=SEC, cik="0000000011", complete=False),
                           rec(D2, "ADBE", "Adobe Inc.", mic=None, feed=SEC, cik="0000796343", complete=False),
                           rec(D2, "PRIV", "Private Example Corp", mic=None, feed=SEC, cik="0000000001",
                               complete=False),
                           rec(D2, "PRIW", "Other Private Corp", mic=None, feed=SEC, cik="0000000002",
                               complete=False)])
    assert one(lins, "AAA").ids["cik"] == [("0000000011", D2)]
    assert one(lins, "ADBE").ids["cik"] == [("0000796343", D2)]
    assert one(lins, "PRIV", None).provisional and one(lins, "PRIW", None).provisional


def test_later_venue_less_records_add_changed_identifiers():
    lins = build_lineages([rec(D1, "ADBE", "Adobe Inc."),
                           rec(D2, "ADBE", "Adobe Inc.", mic=None, feed=SEC, cik="0000796343", complete=False),
                           rec(D3, "ADBE", "Adobe Inc.", mic=None, feed=SEC, cik="0000796344", complete=False),
                           rec(D4, "ADBE", "Adobe Inc.", mic=None, feed=SEC, cik="0000796343", complete=False)])
    assert one(lins, "ADBE").ids["cik"] == [("0000796343", D2), ("0000796344", D3), ("0000796343", D4)]


def test_a_ticker_change_merges_the_new_lines_changed_identifiers():
    lins = build_lineages([rec(D1, "ZZZ", "Zeta Widgets Holdings Inc", isin="US9899991005"),
                           rec(D2, "ZZY", "Zeta Widgets Holdings Inc", isin="US9899991006"),
                           rec(D3, "ZZY", "Zeta Widgets Holdings Inc", isin="US9899991005")])
    assert len(lins) == 1
    assert lins[0].ids["isin"] == [("US9899991005", D1), ("US9899991006", D2), ("US9899991005", D3)]
    lins = build_lineages([rec(D1, "ZZZ", "Zeta Widgets Holdings Inc", isin="US9899991006"),
                           rec(D2, "ZZY", "Zeta Widgets Holdings Inc", isin="US9899991005")])
    assert lins[0].ids["isin"] == [("US9899991006", D1), ("US9899991005", D2)]
    # the new line brings back the identifier the listing had before its latest one
    lins = build_lineages([rec(D1, "ZZZ", "Zeta Widgets Holdings Inc", isin="US9899991005"),
                           rec(D2, "ZZZ", "Zeta Widgets Holdings Inc", isin="US9899991006"),
                           rec(D3, "ZZY", "Zeta Widgets Holdings Inc", isin="US9899991005")])
    assert lins[0].ids["isin"] == [("US9899991005", D1), ("US9899991006", D2), ("US9899991005", D3)]


@pytest.mark.parametrize("day,holders", [(5, ["Arlington"]), (7, ["C3.ai"]), (8, ["C3.ai"])])
def test_a_venue_less_record_around_the_day_a_ticker_changed_hands(day, holders):
    """Without a name to choose by, the record goes to whoever held the ticker on its date (the split at the
    midpoint, 7 January: the earlier holder up to the day before, the later one from that day)."""
    lins = build_lineages([rec(D1, "AI", "Arlington Asset Investment Corp"), rec(D2, "AI", "C3.ai Inc."),
                           rec(date(2024, 1, day), "AI", None, mic=None, feed=SEC, cik="0001577526",
                               complete=False)])
    assert sorted(x.name.split()[0] for x in lins if x.ids.get("cik")) == holders


@pytest.mark.parametrize("day,holders", [(5, ["ZZZ/ZZY"]), (10, ["ZZZ"])])
def test_a_venue_less_record_of_a_former_ticker(day, holders):
    """The old ticker of a listing that changed it (on 7 January) and was then taken by another company (from 1 March)
    answers for the listing up to the change, for the new company after."""
    lins = build_lineages([rec(D1, "ZZZ", "Zeta Widgets Holdings Inc"), rec(D2, "ZZY", "Zeta Widgets Holdings Inc"),
                           rec(D3, "ZZY", "Zeta Widgets Holdings Inc"), rec(D3, "ZZZ", "Zinc Zone Mining Ltd"),
                           rec(date(2024, 1 if day == 5 else 3, day), "ZZZ", None, mic=None, feed=SEC,
                               cik="0000000099", complete=False)])
    assert sorted("/".join(t for t, _ in x.tickers) for x in lins if x.ids.get("cik")) == holders


def test_a_venue_less_record_finds_a_us_listing_made_after_a_foreign_one():
    lins = build_lineages([rec(D1, "SAP", "SAP SE", mic="XETR", feed=FD),
                           rec(D2, "ADBE", "Adobe Inc."),
                           rec(D2, "ADBE", "Adobe Inc.", mic=None, feed=SEC, cik="0000796343", complete=False)])
    assert one(lins, "ADBE").ids["cik"] == [("0000796343", D2)] and len(lins) == 2


def test_a_venue_less_record_of_the_middle_ticker_of_three():
    """A listing renamed twice (ZZZ, ZZY from mid-January, ZZX from mid-October): an SEC record of ZZY in September,
    long after the listing began, is this listing's."""
    dates = [date(2024, 1, 2), date(2024, 2, 1), date(2024, 10, 1), date(2024, 11, 1)]
    lins = build_lineages([rec(dates[0], "ZZZ", "Zeta Widgets Holdings Inc"),
                           rec(dates[1], "ZZY", "Zeta Widgets Holdings Inc"),
                           rec(dates[2], "ZZY", "Zeta Widgets Holdings Inc"),
                           rec(dates[3], "ZZX", "Zeta Widgets Holdings Inc"),
                           rec(date(2024, 9, 1), "ZZY", None, mic=None, feed=SEC, cik="0000000099", complete=False)])
    assert len(lins) == 1 and [t for t, _ in lins[0].tickers] == ["ZZZ", "ZZY", "ZZX"]
    assert lins[0].ids["cik"] == [("0000000099", date(2024, 9, 1))]
