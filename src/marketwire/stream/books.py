"""Order books rebuilt from events: :class:`L2Book` (price levels, from L2 diffs and snapshots) and :class:`L3Book`
(individual orders, from market-by-order adds, cancels, modifies and fills).

Contract:

* ``L2Book.apply(side, price, qty)``: ``side`` is ``"b"``/``"bid"``/``1`` or ``"a"``/``"ask"``/``-1``; sets the
  level at ``price`` to ``qty``; ``qty == 0`` deletes the level. ``load(bids, asks)`` replaces the whole book with
  a snapshot (iterables of ``(price, qty)``). ``bids()`` is best (highest) first, ``asks()`` best (lowest) first,
  both lists of ``(price, qty)``; ``top()`` is ``(bid_price, bid_qty, ask_price, ask_qty)`` with ``None`` for an
  empty side; two books are equal when their levels are. ``apply_batch(batch)`` applies the ``S``/``R`` events of a
  BOOK batch (:mod:`marketwire.stream.events`).
* ``L3Book.add(order_id, side, price, qty)``, ``cancel(order_id, qty=None)`` (the whole order, or part of it),
  ``modify(order_id, price, qty)`` (a price change loses queue priority), ``fill(order_id, qty)``; ``clear()``;
  ``top()`` as above (sizes are the sum of the orders at the level); ``levels()`` -> an :class:`L2Book`;
  ``orders(side, price)`` in queue order. Unknown order ids in cancel/modify/fill raise ``KeyError`` (the caller
  decides whether that is a gap).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any

Top = tuple[float | None, float | None, float | None, float | None]

_BID_NAMES = {"b", "bid", "B", "BID", "buy", 1}
_ASK_NAMES = {"a", "ask", "A", "ASK", "s", "S", "sell", -1}


def side_of(side: Any) -> int:
    """1 for a bid, -1 for an ask (accepts 1/-1, b/a, bid/ask, B/A, buy/sell)."""
    if side in _BID_NAMES:
        return 1
    if side in _ASK_NAMES:
        return -1
    raise ValueError(f"book side {side!r} is neither bid nor ask")


class _Side:
    """One side: a dict price -> qty and a sorted list of prices (ascending)."""

    __slots__ = ("qty", "prices")

    def __init__(self) -> None:
        self.qty: dict[float, float] = {}
        self.prices: list[float] = []

    def set(self, price: float, qty: float) -> None:
        if qty == 0:
            if price in self.qty:
                del self.qty[price]
                i = bisect.bisect_left(self.prices, price)
                del self.prices[i]
            return
        if price not in self.qty:
            bisect.insort(self.prices, price)
        self.qty[price] = qty

    def clear(self) -> None:
        self.qty.clear()
        self.prices.clear()


class L2Book:
    """A price-level book. ``depth`` (optional) is only advisory for :meth:`bids`/:meth:`asks` callers."""

    def __init__(self, listing_id: str | None = None) -> None:
        self.listing_id = listing_id
        self._bid = _Side()
        self._ask = _Side()
        self.last_update: int | None = None  # the feed's last applied update id (Binance ``u``), if any

    def apply(self, side: Any, price: float, qty: float) -> None:
        if qty < 0:
            raise ValueError(f"negative quantity {qty} at {price}")
        (self._bid if side_of(side) == 1 else self._ask).set(float(price), float(qty))

    def load(self, bids: Iterable[tuple[float, float]], asks: Iterable[tuple[float, float]]) -> None:
        self.clear()
        for p, q in bids:
            self._bid.set(float(p), float(q))
        for p, q in asks:
            self._ask.set(float(p), float(q))

    def clear(self) -> None:
        self._bid.clear()
        self._ask.clear()

    def bids(self, depth: int | None = None) -> list[tuple[float, float]]:
        prices = self._bid.prices[::-1] if depth is None else self._bid.prices[:-depth - 1:-1]
        return [(p, self._bid.qty[p]) for p in prices]

    def asks(self, depth: int | None = None) -> list[tuple[float, float]]:
        prices = self._ask.prices if depth is None else self._ask.prices[:depth]
        return [(p, self._ask.qty[p]) for p in prices]

    def top(self) -> Top:
        b = self._bid.prices[-1] if self._bid.prices else None
        a = self._ask.prices[0] if self._ask.prices else None
        return (b, self._bid.qty[b] if b is not None else None, a, self._ask.qty[a] if a is not None else None)

    def apply_batch(self, batch: Any) -> None:
        """Apply a BOOK batch's ``R`` (clear) and ``S`` (set level) events in order."""
        cols = batch.to_pydict()
        for action, side, price, size in zip(cols["action"], cols["side"], cols["price"], cols["size"]):
            if action == "R":
                self.clear()
            elif action == "S":
                self.apply(side, price, size)

    def __len__(self) -> int:
        return len(self._bid.prices) + len(self._ask.prices)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, L2Book):
            return NotImplemented
        return self._bid.qty == other._bid.qty and self._ask.qty == other._ask.qty

    def __repr__(self) -> str:
        return f"L2Book({self.listing_id!r}, bids={self.bids(3)}, asks={self.asks(3)}, levels={len(self)})"


class L3Book:
    """A market-by-order book: orders by id, levels aggregated per price, queue order kept per level."""

    def __init__(self, listing_id: str | None = None) -> None:
        self.listing_id = listing_id
        self._orders: dict[int, tuple[int, float, float]] = {}  # id -> (side, price, qty)
        self._queues: dict[tuple[int, float], dict[int, None]] = {}  # (side, price) -> ordered ids
        self._levels = L2Book(listing_id)

    def _level_add(self, side: int, price: float, dq: float) -> None:
        book = self._levels._bid if side == 1 else self._levels._ask
        q = book.qty.get(price, 0.0) + dq
        book.set(price, 0.0 if abs(q) < 1e-12 else q)

    def add(self, order_id: int, side: Any, price: float, qty: float) -> None:
        s = side_of(side)
        if order_id in self._orders:
            self.cancel(order_id)
        self._orders[order_id] = (s, float(price), float(qty))
        self._queues.setdefault((s, float(price)), {})[order_id] = None
        self._level_add(s, float(price), float(qty))

    def cancel(self, order_id: int, qty: float | None = None) -> None:
        s, p, q = self._orders[order_id]
        take = q if qty is None or qty >= q else float(qty)
        self._level_add(s, p, -take)
        if take >= q:
            del self._orders[order_id]
            queue = self._queues[(s, p)]
            del queue[order_id]
            if not queue:
                del self._queues[(s, p)]
        else:
            self._orders[order_id] = (s, p, q - take)

    def fill(self, order_id: int, qty: float) -> None:
        self.cancel(order_id, qty)

    def modify(self, order_id: int, price: float, qty: float, side: Any | None = None) -> None:
        s, p, q = self._orders[order_id]
        s = side_of(side) if side is not None else s
        if float(price) == p and s == self._orders[order_id][0] and float(qty) <= q:
            self._level_add(s, p, float(qty) - q)  # size down keeps priority
            self._orders[order_id] = (s, p, float(qty))
            return
        self.cancel(order_id)
        self.add(order_id, s, price, qty)

    def apply_batch(self, batch: Any) -> int:
        """Apply a BOOK batch of L3 events in order (Databento semantics: F and T leave the book to the C or M
        that follows); returns how many referred to an order the book does not hold (a gap before them)."""
        cols = batch.to_pydict()
        missing = 0
        for action, side, price, size, oid in zip(cols["action"], cols["side"], cols["price"], cols["size"],
                                                  cols["order_id"]):
            try:
                if action == "A":
                    self.add(oid, side, price, size)
                elif action == "C":
                    self.cancel(oid, size)
                elif action == "M":
                    self.modify(oid, price, size, side)
                elif action == "R":
                    self.clear()
            except KeyError:
                missing += 1
        return missing

    def clear(self) -> None:
        self._orders.clear()
        self._queues.clear()
        self._levels.clear()

    def top(self) -> Top:
        return self._levels.top()

    def levels(self) -> L2Book:
        return self._levels

    def orders(self, side: Any, price: float) -> list[tuple[int, float]]:
        s = side_of(side)
        return [(oid, self._orders[oid][2]) for oid in self._queues.get((s, float(price)), {})]

    def __len__(self) -> int:
        return len(self._orders)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._orders

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, L3Book):
            return NotImplemented
        return self._orders == other._orders
