"""The mass-delisting guard: a complete directory snapshot that would delist most of a venue is held back.

A complete directory (a Nasdaq Trader file) delists every listing of its feed that the previous snapshot held and
this one does not. A truncated download, a filtered export or a file of one row would therefore delist a whole
venue. Before anything of such a delivery is written, each venue's listings in the latest earlier snapshot of the
same feed are compared with the new snapshot; when more than ``THRESHOLD`` of them (and at least ``MIN_LISTINGS``)
would go **and** the new snapshot lists fewer than ``THRESHOLD`` as many on that venue as the previous one, the
delivery is refused with a message naming the file, the venue and the counts, unless the caller confirms with
``allow_mass_delisting`` (``marketwire ingest --allow-mass-delisting``). Turnover over years, where new listings
replace the old, is applied as before.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from marketwire.datasets.reference import REF_OBSERVATIONS
from marketwire.errors import Conflict

#: share of a venue's live listings a snapshot may delist without confirmation (more than half is held)
THRESHOLD = 0.5
#: venues with fewer live listings than this are never held (a venue of three listings may lose two)
MIN_LISTINGS = 10


def check_mass_delisting(lake: Any, batches: list[Any], allow: bool = False) -> None:
    """Raise :class:`Conflict` when a complete snapshot in ``batches`` would delist more than ``THRESHOLD`` of a
    venue's listings of the previous snapshot of its feed (``allow``: confirmed, nothing is checked)."""
    if allow:
        return
    new: dict[tuple[str, date], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    files: dict[tuple[str, date], str] = {}
    for b in batches:
        if getattr(b, "dataset", None) != REF_OBSERVATIONS.name:
            continue
        for rec in getattr(b, "records", ()):
            if rec.get("complete") and rec.get("feed") and rec.get("snapshot_date"):
                key = (rec["feed"], rec["snapshot_date"])
                new[key][rec.get("mic") or ""].add(rec.get("ticker") or "")
                files.setdefault(key, str(rec.get("file") or ""))
    if not new or not lake.exists(REF_OBSERVATIONS):
        return
    for (feed, day), venues in sorted(new.items()):
        prev = _previous(lake, feed, day)
        if not prev:
            continue
        for mic, before in sorted(prev.items()):
            now = venues.get(mic, set())
            gone = before - now
            # real turnover replaces what it delists (the 2015 and 2026 Nasdaq files differ by 62%, the later one
            # twice the size); a truncated or filtered file lists far fewer than before
            if (len(before) >= MIN_LISTINGS and len(gone) > THRESHOLD * len(before)
                    and len(now) < THRESHOLD * len(before)):
                name = files[(feed, day)].rsplit("/", 1)[-1]
                raise Conflict(
                    f"{name}: this snapshot of {feed} ({day.isoformat()}) would delist {len(gone):,} of the "
                    f"{len(before):,} listings on {mic or 'its venue'} (more than {THRESHOLD:.0%}); nothing was "
                    "written. Check the file (a truncated or filtered directory?), or confirm with "
                    "--allow-mass-delisting", param="allow_mass_delisting", file=files[(feed, day)], feed=feed,
                    mic=mic, delisted=len(gone), live=len(before))


def _previous(lake: Any, feed: str, day: date) -> dict[str, set[str]]:
    """Ticker sets per venue in the latest snapshot of ``feed`` before ``day`` (empty when there is none)."""
    live = " AND NOT coalesce(retracted, false)"
    dates = lake.read(REF_OBSERVATIONS, columns=["snapshot_date"], where="feed = ? AND snapshot_date < ?" + live,
                      params=[feed, day]).column("snapshot_date").to_pylist()
    if not dates:
        return {}
    t = lake.read(REF_OBSERVATIONS, columns=["ticker", "mic"], where="feed = ? AND snapshot_date = ?" + live,
                  params=[feed, max(dates)])
    out: dict[str, set[str]] = defaultdict(set)
    for ticker, mic in zip(t.column("ticker").to_pylist(), t.column("mic").to_pylist()):
        out[mic or ""].add(ticker or "")
    return out
