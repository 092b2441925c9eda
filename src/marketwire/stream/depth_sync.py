"""Binance order-book sync: a REST snapshot plus the websocket depth diffs, by Binance's update-id rules.

Binance publishes L2 diffs (``depthUpdate``) carrying the first and last update id they cover (``U``, ``u``) and, on the
futures markets (USD-M, COIN-M), the last update id of the previous diff (``pu``). A book is correct only when it
starts from a REST snapshot (``lastUpdateId``) and applies every later diff, in order, with none missing:

1. buffer the diffs from the stream while the snapshot is fetched;
2. drop every buffered diff that the snapshot already contains: ``u <= lastUpdateId`` on spot, ``u < lastUpdateId``
   on futures;
3. the first diff applied must straddle the snapshot: spot ``U <= lastUpdateId + 1 <= u``, futures
   ``U <= lastUpdateId <= u`` (or ``pu == lastUpdateId``: it continues exactly where the snapshot ends); when the oldest remaining diff starts later, the snapshot is too old and another is
   needed (the buffer is kept);
4. each later diff continues the previous one: spot ``U == previous u + 1``, futures ``pu == previous u``;
   anything else is a gap: it is recorded (:class:`Gap`), the book is marked out of sync, the diffs from then on are
   buffered and a fresh snapshot is needed (:attr:`DepthSync.needs_snapshot`); step 2 resumes from it.

A level's quantity is absolute: quantity 0 removes the level. Prices and quantities are kept as floats parsed from
the exchange's decimal strings (the same string always parses to the same float, so two books built from the same
messages compare equal exactly).

The class is plain synchronous state: the live client (:mod:`marketwire.stream.live`) feeds it messages and fetches
the snapshot it asks for; tests and ``benchmarks/stream_gaps.py`` feed it captured sessions with injected drops.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: the most diffs kept while waiting for a snapshot; older ones are dropped (a snapshot is then needed anyway)
MAX_BUFFER = 50_000

APPLIED, BUFFERED, STALE, GAP = "applied", "buffered", "stale", "gap"


@dataclass(frozen=True)
class Gap:
    """A break in the diff sequence: ``expected`` is the update id that should have continued it, ``got`` the first
    update id of the diff that arrived (``U``; on futures the ``pu`` it named is ``previous``)."""

    symbol: str
    expected: int
    got: int
    previous: int | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "gap", "symbol": self.symbol, "expected": self.expected, "got": self.got,
                "previous": self.previous, "reason": self.reason}


def _levels(side: dict[float, float], levels: Iterable[Sequence[Any]]) -> None:
    for price, qty in levels:
        p, q = float(price), float(qty)
        if q == 0.0:
            side.pop(p, None)
        else:
            side[p] = q


@dataclass
class DepthSync:
    """One symbol's book kept in sync from Binance diffs and snapshots (see the module docstring)."""

    symbol: str
    #: ``spot`` or ``futures`` (USD-M and COIN-M share the ``pu`` rule); ``None``: told by the first diff
    market: str | None = None
    max_buffer: int = MAX_BUFFER
    bids: dict[float, float] = field(default_factory=dict)
    asks: dict[float, float] = field(default_factory=dict)
    #: the last update id the book contains (``None`` until the first snapshot)
    last_update_id: int | None = None
    synced: bool = False
    gaps: list[Gap] = field(default_factory=list)
    snapshots: int = 0
    applied: int = 0
    stale: int = 0
    overflowed: int = 0
    _buffer: deque[Mapping[str, Any]] = field(default_factory=deque)
    _first: bool = True  # the next diff applied is the first after a snapshot

    # -- state

    @property
    def needs_snapshot(self) -> bool:
        return not self.synced

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def book(self) -> tuple[dict[float, float], dict[float, float]]:
        """Copies of the bid and ask sides (price -> quantity)."""
        return dict(self.bids), dict(self.asks)

    def top(self, depth: int = 1) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """The best ``depth`` bid and ask levels, best first."""
        return (sorted(self.bids.items(), reverse=True)[:depth], sorted(self.asks.items())[:depth])

    # -- input

    def on_diff(self, d: Mapping[str, Any]) -> str:
        """Feed one ``depthUpdate`` payload (the ``data`` object). Returns what became of it: ``applied``,
        ``buffered`` (waiting for a snapshot), ``stale`` (the book already holds it) or ``gap`` (it broke the
        sequence: recorded, buffered, a snapshot is needed)."""
        if self.market is None:
            self.market = "futures" if "pu" in d else "spot"
        if not self.synced:
            self._buffer_diff(d)
            return BUFFERED
        assert self.last_update_id is not None
        first_u, last_u = int(d["U"]), int(d["u"])
        if self._stale(last_u):
            self.stale += 1
            return STALE
        if self._first:
            if not self._straddles(first_u, last_u, d):
                return self._gap(d, first_u, "first diff after the snapshot does not cover its update id")
        elif self.market == "futures":
            if int(d["pu"]) != self.last_update_id:
                return self._gap(d, first_u, "pu does not name the previous diff's u")
        elif first_u != self.last_update_id + 1:
            return self._gap(d, first_u, "U is not the previous diff's u + 1")
        self._apply(d, last_u)
        return APPLIED

    def on_snapshot(self, last_update_id: int, bids: Iterable[Sequence[Any]], asks: Iterable[Sequence[Any]]) -> bool:
        """Start again from a REST snapshot and apply what the buffer holds after it. Returns whether the book is now
        in sync; ``False``: the snapshot is older than every buffered diff (fetch a newer one) or a buffered diff broke
        the sequence again (a gap was recorded)."""
        lid = int(last_update_id)
        pending = list(self._buffer)
        if pending:
            newest = int(pending[-1]["u"])
            if not self._covers_or_precedes(pending, lid) and newest > lid:
                return False  # the oldest diff we hold starts after the snapshot: the snapshot is too old
        self.bids.clear()
        self.asks.clear()
        _levels(self.bids, bids)
        _levels(self.asks, asks)
        self.last_update_id, self.synced, self._first = lid, True, True
        self.snapshots += 1
        self._buffer.clear()
        for i, d in enumerate(pending):
            if self.on_diff(d) == GAP:
                # the rest stays buffered after the diff that broke the sequence (on_diff buffered that one)
                self._buffer.extend(pending[i + 1:])
                return False
        return True

    def snapshot_message(self, msg: Mapping[str, Any]) -> bool:
        """:meth:`on_snapshot` from a REST depth answer as Binance sends it (``lastUpdateId``, ``bids``, ``asks``)."""
        return self.on_snapshot(int(msg["lastUpdateId"]), msg.get("bids", ()), msg.get("asks", ()))

    # -- rules

    def _stale(self, last_u: int) -> bool:
        assert self.last_update_id is not None
        if self.market == "futures":
            return last_u < self.last_update_id
        return last_u <= self.last_update_id

    def _straddles(self, first_u: int, last_u: int, d: Mapping[str, Any]) -> bool:
        assert self.last_update_id is not None
        lid = self.last_update_id
        if self.market == "futures":  # or the diff continues exactly where the snapshot ends
            return first_u <= lid <= last_u or int(d["pu"]) == lid
        return first_u <= lid + 1 <= last_u

    def _covers_or_precedes(self, pending: list[Mapping[str, Any]], lid: int) -> bool:
        """Whether some buffered diff starts at or before the snapshot's next update (so the snapshot can be
        bridged)."""
        target = lid if self.market == "futures" else lid + 1
        return int(pending[0]["U"]) <= target

    # -- effects

    def _apply(self, d: Mapping[str, Any], last_u: int) -> None:
        _levels(self.bids, d.get("b", ()))
        _levels(self.asks, d.get("a", ()))
        self.last_update_id, self._first = last_u, False
        self.applied += 1

    def _gap(self, d: Mapping[str, Any], first_u: int, reason: str) -> str:
        assert self.last_update_id is not None
        expected = self.last_update_id + (0 if self.market == "futures" else 1)
        previous = int(d["pu"]) if "pu" in d else None
        self.gaps.append(Gap(self.symbol, expected, first_u, previous, reason))
        self.synced = False
        self._buffer.clear()
        self._buffer_diff(d)
        return GAP

    def _buffer_diff(self, d: Mapping[str, Any]) -> None:
        if len(self._buffer) >= self.max_buffer:
            self._buffer.popleft()
            self.overflowed += 1
        self._buffer.append(d)





# -- checking the rules on a captured session --------------------------------------------------------------------

@dataclass
class ResyncReport:
    """What :func:`replay_with_drops` saw: the dropped diffs, the gaps detected, the resyncs and whether every
    resynced book equalled the uninterrupted one."""

    symbol: str
    diffs: int = 0
    dropped: int = 0
    drop_runs_while_synced: int = 0
    gaps: int = 0
    snapshots: int = 0
    resyncs: int = 0
    checks: int = 0
    mismatches: int = 0
    equal_at_end: bool = False
    final_update_id: int | None = None
    levels_at_end: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def replay_with_drops(session: Iterable[tuple[str, Mapping[str, Any]]], drops: set[int], delay: int = 3,
                      symbol: str = "") -> ResyncReport:
    """Replay one symbol's captured session twice at once: uninterrupted (the reference book) and with the diffs
    whose index (0-based, among the diffs) is in ``drops`` left out. ``session`` yields ``("diff", data)`` and
    ``("snapshot", rest_answer)`` in capture order; the captured REST snapshot starts both books. A resync snapshot
    is the reference book at the update id it has reached ``delay`` diffs after the gap was detected (the REST call's
    latency, in messages): what a REST snapshot taken then would hold. After each resync and at the end the two books
    are compared level by level."""
    ref, live = DepthSync(symbol), DepthSync(symbol)
    rep = ResyncReport(symbol)
    due: int | None = None  # the diff index at which the pending snapshot arrives
    i = -1
    previous_dropped = False
    for kind, payload in session:
        if kind == "snapshot":
            ref.snapshot_message(payload)
            if live.last_update_id is None:  # the first sync of both books comes from the captured snapshot
                live.snapshot_message(payload)
                rep.snapshots += 1
            continue
        i += 1
        rep.diffs += 1
        ref.on_diff(payload)
        if i in drops:
            rep.dropped += 1
            if live.synced and not previous_dropped:
                rep.drop_runs_while_synced += 1
            previous_dropped = True
        else:
            previous_dropped = False
            if live.on_diff(payload) == GAP:
                rep.gaps += 1
        if live.last_update_id is not None and live.needs_snapshot:
            if due is None:
                due = i + delay
            if i >= due and ref.synced:
                assert ref.last_update_id is not None
                rep.snapshots += 1
                bids = list(ref.bids.items())
                asks = list(ref.asks.items())
                if live.on_snapshot(ref.last_update_id, bids, asks):
                    rep.resyncs += 1
                    rep.checks += 1
                    if (live.bids, live.asks, live.last_update_id) != (ref.bids, ref.asks, ref.last_update_id):
                        rep.mismatches += 1
                due = None
    rep.checks += 1
    same = (live.bids, live.asks, live.last_update_id) == (ref.bids, ref.asks, ref.last_update_id)
    rep.mismatches += 0 if same else 1
    rep.equal_at_end = same and live.synced
    rep.final_update_id = live.last_update_id
    rep.levels_at_end = len(live.bids) + len(live.asks)
    return rep


def capture_session(path: Any, symbol: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The depth diffs and REST snapshots of an hftbacktest Binance capture (gzip, ``<recv ns> <JSON>`` lines), in
    order: ``("diff", data)`` / ``("snapshot", answer)``."""
    import gzip
    import json

    out: list[tuple[str, dict[str, Any]]] = []
    with gzip.open(path, "rt") as f:
        for line in f:
            _, _, raw = line.partition(" ")
            if '"lastUpdateId"' in raw[:40]:
                out.append(("snapshot", json.loads(raw)))
            elif "@depth" in raw[:60]:
                d = json.loads(raw)["data"]
                if symbol is None or d["s"] == symbol:
                    out.append(("diff", d))
    return out

__all__ = ["APPLIED", "BUFFERED", "GAP", "MAX_BUFFER", "STALE", "DepthSync", "Gap", "ResyncReport", "capture_session",
           "replay_with_drops"]
