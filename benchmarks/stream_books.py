"""The top of book rebuilt from market-by-order (L3) files against top-of-book files, where they overlap.

Rebuilds one book per instrument from the ``--mbo`` files (Databento DBN, in order) and compares its best bid and ask
with sizes with every record of the ``--top`` files (``mbp-1``/``tbbo``) of the same instrument inside the overlap,
matched by the venue's sequence and receive time (:mod:`marketwire.stream.bookcheck`). Prints one row per instrument:
the two files' time ranges, records compared, equal, mismatched, unmatched, orders referenced but unknown, and why
nothing was compared where that is so; then the first mismatches.

    python benchmarks/stream_books.py                                   # the shared DBN files
    python benchmarks/stream_books.py --mbo day.mbo.dbn.zst --top day.mbp-1.dbn.zst
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))


def _t(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _range(r: tuple[int, int] | None) -> str:
    return "-" if r is None else f"{_t(r[0])} to {_t(r[1])}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mbo", nargs="+", type=Path, help="market-by-order DBN files (default: the shared ones)")
    ap.add_argument("--top", nargs="+", type=Path, help="top-of-book DBN files (default: the shared ones)")
    args = ap.parse_args()
    if args.mbo is None or args.top is None:
        from conftest import shared_data

        d = shared_data() / "realtime" / "nautilus_databento_dbn"
        args.mbo = args.mbo or sorted(d.glob("*mbo*.dbn.zst"))
        args.top = args.top or sorted(list(d.glob("*mbp-1*.dbn.zst")) + list(d.glob("*tbbo*.dbn.zst")))
    from marketwire.stream.bookcheck import compare_top_of_book

    checks = compare_top_of_book(args.mbo, args.top)
    print(f"market-by-order: {', '.join(p.name for p in args.mbo)}")
    print(f"top of book:     {', '.join(p.name for p in args.top)}")
    print("instrument | market-by-order (UTC) | top of book (UTC) | compared | equal | mismatched | unmatched | "
          "unknown orders | note")
    for c in checks:
        print(" | ".join([c.listing_id, _range(c.mbo_range), _range(c.top_range), f"{c.compared:,}", f"{c.equal:,}",
                          f"{c.mismatched:,}", f"{c.unmatched:,}", f"{c.missing_orders:,}", c.note or "-"]))
    for c in checks:
        for m in c.mismatches:
            print(f"{c.listing_id}: {Path(m['file']).name} record {m['position']} (seq {m['seq']}, {_t(m['ts_recv'])}):"
                  f" top of book {m['top_of_book']}, rebuilt {m['rebuilt']}")
    compared = sum(c.compared for c in checks)
    if not compared:
        print("nothing compared: no instrument has market-by-order events from a snapshot and top-of-book records "
              "in the same interval")
    return 0


if __name__ == "__main__":
    sys.exit(main())
