"""The book rebuilt from market-by-order events, checked against a top-of-book feed of the same instrument.

:func:`compare_top_of_book` rebuilds an :class:`~marketwire.stream.books.L3Book` per instrument from ``mbo`` files
(Databento DBN, read by :mod:`marketwire.stream.feeds.dbn`) and compares its top (best bid and ask with their sizes)
with each record of ``mbp-1``/``tbbo`` files where the two overlap:

* an instrument is compared only where both sides have it, and only if its market-by-order events start from a
  snapshot or a clear (``R``): otherwise the rebuilt book is missing the orders resting before the file began;
* a top-of-book record is matched to the market-by-order event of the same venue sequence and receive time
  (Databento derives its top-of-book records from the same messages) and compared with the book as it stands after
  the last event of that sequence and time (the end of the venue's packet, where Databento publishes);
* a top-of-book record inside the overlap (between the first event after the snapshot and the last event) with no
  market-by-order event of its sequence and time is counted as *unmatched*, never skipped silently.

An empty side is ``None`` in the book and an undefined price (size 0) in the file: both are "no level". The result
names, per instrument, the two files' time ranges, the overlap, the records compared, equal, unmatched, and the first
mismatches with both tops and the record's position in its file; ``note`` says why nothing was compared.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marketwire.stream.books import L3Book

#: mismatches listed per instrument (all are counted)
SHOW = 20


@dataclass
class TopCheck:
    """The comparison of one instrument (see the module docstring)."""

    listing_id: str
    mbo_range: tuple[int, int] | None = None  # receive times (ns) of its market-by-order events
    top_range: tuple[int, int] | None = None  # receive times (ns) of its top-of-book records
    overlap: tuple[int, int] | None = None
    compared: int = 0
    equal: int = 0
    unmatched: int = 0
    missing_orders: int = 0  # cancels/modifies of orders the book does not hold (a gap in the events)
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""

    @property
    def mismatched(self) -> int:
        return self.compared - self.equal

    def as_dict(self) -> dict[str, Any]:
        return {"listing_id": self.listing_id, "mbo_range": self.mbo_range, "top_range": self.top_range,
                "overlap": self.overlap, "compared": self.compared, "equal": self.equal,
                "mismatched": self.mismatched, "unmatched": self.unmatched, "missing_orders": self.missing_orders,
                "mismatches": self.mismatches, "note": self.note}


def _level(price: Any, size: Any) -> tuple[float, float] | None:
    if price is None or (isinstance(price, float) and math.isnan(price)) or not size:
        return None
    return float(price), float(size)


def _top_of(top: tuple[Any, Any, Any, Any]) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    return _level(top[0], top[1]), _level(top[2], top[3])


def _batches(paths: Iterable[str | Path], kind: str) -> Iterable[dict[str, list[Any]]]:
    from marketwire.stream.events import kind_of
    from marketwire.stream.feeds.dbn import read

    for path in paths:
        for chunk in read(path, lambda key, meta: key):
            if chunk.batch is not None and chunk.batch.num_rows and kind_of(chunk.batch) == kind:
                cols = chunk.batch.to_pydict()
                cols["file"] = [str(path)] * chunk.batch.num_rows
                yield cols


def compare_top_of_book(mbo_paths: Sequence[str | Path], top_paths: Sequence[str | Path]) -> list[TopCheck]:
    """Rebuild the books of ``mbo_paths`` (in order) and compare them with the records of ``top_paths``; one
    :class:`TopCheck` per instrument found in either (the module docstring)."""
    books: dict[str, L3Book] = {}
    started: dict[str, bool] = {}
    after: dict[str, dict[tuple[int, int], tuple[Any, ...]]] = {}  # (ts_recv, seq) -> top after that packet
    live_from: dict[str, int] = {}  # first receive time after the snapshot
    checks: dict[str, TopCheck] = {}
    for cols in _batches(mbo_paths, "book"):
        for li, ts, seq, action, side, price, size, oid, snap in zip(
                cols["listing_id"], cols["ts_recv"], cols["seq"], cols["action"], cols["side"], cols["price"],
                cols["size"], cols["order_id"], cols["snapshot"]):
            chk = checks.get(li)
            if chk is None:
                chk = checks[li] = TopCheck(li)
                books[li] = L3Book(li)
                after[li] = {}
                started[li] = bool(snap) or action == "R"
            book = books[li]
            chk.mbo_range = (ts, ts) if chk.mbo_range is None else (chk.mbo_range[0], ts)
            if not snap and li not in live_from:
                live_from[li] = ts
            try:
                if action == "A":
                    book.add(oid, side, price, size)
                elif action == "C":
                    book.cancel(oid, size)
                elif action == "M":
                    book.modify(oid, price, size, side)
                elif action == "R":
                    book.clear()
            except KeyError:
                chk.missing_orders += 1
            after[li][(ts, seq)] = book.top()
    for cols in _batches(top_paths, "quote"):
        for li, ts, seq, bp, bs, ap, asz, pos, file in zip(
                cols["listing_id"], cols["ts_recv"], cols["seq"], cols["bid_price"], cols["bid_size"],
                cols["ask_price"], cols["ask_size"], cols["position"], cols["file"]):
            chk = checks.get(li)
            if chk is None:
                chk = checks[li] = TopCheck(li)
            chk.top_range = (ts, ts) if chk.top_range is None else (min(chk.top_range[0], ts),
                                                                     max(chk.top_range[1], ts))
            if li not in after or not started.get(li) or li not in live_from:
                continue
            lo, hi = live_from[li], chk.mbo_range[1]  # type: ignore[index]
            if not lo <= ts <= hi:
                continue
            chk.overlap = (lo, hi)
            rebuilt = after[li].get((ts, seq))
            if rebuilt is None:
                chk.unmatched += 1
                continue
            chk.compared += 1
            want = (_level(bp, bs), _level(ap, asz))
            got = _top_of(rebuilt)
            if want == got:
                chk.equal += 1
            elif len(chk.mismatches) < SHOW:
                chk.mismatches.append({"file": file, "position": pos, "ts_recv": ts, "seq": seq,
                                       "top_of_book": want, "rebuilt": got})
    for li, chk in checks.items():
        if chk.compared or chk.unmatched:
            continue
        if chk.mbo_range is None:
            chk.note = "top-of-book records only: no market-by-order events of this instrument"
        elif chk.top_range is None:
            chk.note = "market-by-order events only: no top-of-book records of this instrument"
        elif not started.get(li):
            chk.note = ("its market-by-order events do not start from a snapshot or a clear: the rebuilt book "
                        "lacks the orders resting before them")
        else:
            chk.note = "no top-of-book record falls between the first event after the snapshot and the last"
    return sorted(checks.values(), key=lambda c: c.listing_id)


__all__ = ["SHOW", "TopCheck", "compare_top_of_book"]
