"""The book rebuilt from market-by-order events against a top-of-book file (marketwire.stream.bookcheck).

The shared DBN files have no market-by-order and top-of-book pair of one contract and time (docs/realtime.md), so
the check is run (1) on them, where it must say so instead of passing vacuously, and (2) on the shared ESM4
market-by-order file against a top-of-book file written here from the same events by an independent, naive
computation (every resting order scanned at each packet's end), in Databento's record layout, with two records
then spoiled: a wrong bid size and a sequence no order event has.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import pytest

from marketwire.stream.bookcheck import compare_top_of_book
from tests.conftest import shared_data

UNDEF = (1 << 63) - 1


def dbn_dir() -> Path:
    p = shared_data() / "realtime" / "nautilus_databento_dbn"
    if not p.is_dir():
        pytest.skip(f"shared DBN files not found at {p} (set MARKETWIRE_DATA)")
    return p


@dataclass
class _Interval:
    start_date: datetime.date
    end_date: datetime.date
    symbol: str


@dataclass
class _Mapping:
    raw_symbol: str
    intervals: list[_Interval]


def _naive_top_file(mbo: Path, out: Path, spoil: bool) -> tuple[int, list[int]]:
    """Write an mbp-1 DBN file: one record at the end of each packet (same receive time and sequence) after the
    snapshot, the best bid and ask found by scanning every resting order. Returns the records written and, when
    ``spoil``, the 1-based positions of the two records spoiled (a bid size off by one; a sequence moved)."""
    import databento_dbn as dbn

    from marketwire.stream.feeds.dbn import records

    meta, recs = records(mbo)
    orders: dict[int, tuple[str, int, int]] = {}
    written: list[bytes] = []
    spoiled: list[int] = []
    for i, r in enumerate(recs):
        act, oid = str(r.action), int(r.order_id)
        if act == "A":
            orders[oid] = (str(r.side), int(r.price), int(r.size))
        elif act == "C" and oid in orders:
            s, p, q = orders[oid]
            if int(r.size) >= q:
                del orders[oid]
            else:
                orders[oid] = (s, p, q - int(r.size))
        elif act == "M" and oid in orders:
            orders[oid] = (orders[oid][0], int(r.price), int(r.size))
        elif act == "R":
            orders.clear()
        nxt = recs[i + 1] if i + 1 < len(recs) else None
        if int(r.flags) & (1 << 5) or (nxt is not None and (nxt.ts_recv, nxt.sequence) == (r.ts_recv, r.sequence)):
            continue  # inside the snapshot or the packet
        bids = [p for s, p, _ in orders.values() if s == "B"]
        asks = [p for s, p, _ in orders.values() if s == "A"]
        bp, ap = (max(bids) if bids else UNDEF), (min(asks) if asks else UNDEF)
        bs = sum(q for s, p, q in orders.values() if s == "B" and p == bp)
        az = sum(q for s, p, q in orders.values() if s == "A" and p == ap)
        seq = int(r.sequence)
        if spoil and len(written) == 40:
            bs += 1
            spoiled.append(len(written) + 1)
        if spoil and len(written) == 60:
            seq += 1_000_000
            spoiled.append(len(written) + 1)
        lv = dbn.BidAskPair(bid_px=bp, ask_px=ap, bid_sz=bs, ask_sz=az, bid_ct=0, ask_ct=0)
        written.append(bytes(dbn.MBP1Msg(r.publisher_id, r.instrument_id, r.ts_event, r.price, r.size,
                                         dbn.Action.ADD, dbn.Side.NONE, 0, r.ts_recv, 128, 0, seq, lv)))
    mappings = [_Mapping(sym, [_Interval(iv["start_date"], iv["end_date"], iv["symbol"]) for iv in ivs])
                for sym, ivs in dict(meta.mappings).items()]
    md = dbn.Metadata(dataset=meta.dataset, start=meta.start, stype_in=dbn.SType.RAW_SYMBOL,
                      stype_out=dbn.SType.INSTRUMENT_ID, schema=dbn.Schema.MBP_1, symbols=list(dict(meta.mappings)),
                      mappings=mappings, end=meta.end)
    out.write_bytes(md.encode() + b"".join(written))
    return len(written), spoiled


def test_the_rebuilt_top_equals_a_top_of_book_file_and_each_disagreement_is_named(tmp_path: Path) -> None:
    mbo = dbn_dir() / "orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst"
    clean, spoilt = tmp_path / "clean.mbp-1.dbn", tmp_path / "spoilt.mbp-1.dbn"
    n, _ = _naive_top_file(mbo, clean, spoil=False)
    n2, spoiled = _naive_top_file(mbo, spoilt, spoil=True)
    assert n == n2 > 100
    (check,) = compare_top_of_book([mbo], [clean])
    assert check.listing_id == "ESM4@XCME" and check.note == ""
    assert (check.compared, check.equal, check.unmatched, check.missing_orders) == (n, n, 0, 0)
    assert check.overlap is not None and check.overlap[0] > check.mbo_range[0]  # after the snapshot
    (check,) = compare_top_of_book([mbo], [spoilt])
    assert (check.compared, check.equal, check.unmatched) == (n - 1, n - 2, 1)
    (bad,) = check.mismatches
    assert bad["position"] == spoiled[0] and bad["file"] == str(spoilt)
    assert bad["top_of_book"][0][1] == bad["rebuilt"][0][1] + 1 and bad["top_of_book"][1] == bad["rebuilt"][1]


def test_files_that_do_not_overlap_say_so() -> None:
    d = dbn_dir()
    checks = {c.listing_id: c for c in compare_top_of_book(
        [d / "esh4-glbx-mdp3-20231224.mbo.dbn.zst", d / "esh4-glbx-mdp3-20231225.mbo.dbn.zst",
         d / "orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst"],
        [d / "futures_mbp-1_2024-07-01T23-58_2024-07-02T00-02.dbn.zst"])}
    assert set(checks) == {"ESH4@XCME", "ESM4@XCME", "ESU4@XCME"}
    assert all(c.compared == 0 and c.unmatched == 0 for c in checks.values())
    assert checks["ESU4@XCME"].note.startswith("top-of-book records only")
    assert checks["ESH4@XCME"].note.startswith("market-by-order events only")
    assert checks["ESH4@XCME"].missing_orders == 0  # a day of orders, every one known
    # the schema samples: one contract and day, but two order events with no snapshot
    (sample,) = compare_top_of_book([d / "test_data.mbo.dbn.zst"], [d / "test_data.mbp-1.dbn.zst"])
    assert sample.compared == 0 and "do not start from a snapshot" in sample.note
