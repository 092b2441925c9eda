"""In-stream verification: named rules evaluated on whole event batches (numpy, vectorised), with per-listing state
carried from batch to batch. A rule *flags* an event (sets its bit in ``flags``, :data:`~marketwire.stream.events.FLAGS`);
nothing is dropped or repaired. Input that cannot be parsed at all never becomes an event: the feed normaliser sends
it to the quarantine with the raw bytes, the feed and the position (:class:`Unparseable`).

Rules (codes ``stream.<flag>`` in the rule catalogue, :mod:`marketwire.verify.rules`):

* ``quote_crossed`` / ``quote_locked``: the venue's bid is above / equal to its ask. Sides a message does not carry
  (NaN) are the venue's last known ones (Lean quote rows carry one side).
* ``seq_out_of_order``: the exchange time went backwards for the listing (beyond the feed's tolerance), or the
  sequence number did not increase on the listing and venue.
* ``seq_gap``: the sequence jumped forward (feeds whose sequences are contiguous: trade ids, update ids).
* ``price_band``: a trade away from the median of the listing's previous 32 trades by more than
  ``max(min_band, k * s)`` in log price, where ``s`` is an exponentially weighted mean of the absolute log
  deviations of earlier trades from their own references (the instrument's recent volatility; LULD-like but scaled
  to the instrument rather than fixed by price tier).
* ``price_nonpositive`` / ``size_nonpositive``: zero or negative price or size (a quote side counts when present).
* ``trade_duplicate``: a trade id already seen on the listing and venue.
* ``vendor_suspicious``: set by the normaliser where the vendor marked the event (Lean ``Suspicious=1``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from marketwire.stream.events import FLAGS, SCHEMAS, kind_of

WINDOW = 32
BAND_K = 8.0
MIN_BAND = 0.01  # 1 % in log price
ALPHA = 0.01

@dataclass
class _ListingState:
    last_ts: int = -(1 << 62)
    seq: dict[str, int] = field(default_factory=dict)  # venue -> last seq
    window: np.ndarray = field(default_factory=lambda: np.empty(0))
    scale: float = float("nan")
    trade_ids: set[str] = field(default_factory=set)
    bbo: dict[str, tuple[float, float]] = field(default_factory=dict)  # venue -> (bid, ask)


@dataclass
class Verifier:
    """Stateful verifier; :meth:`check` returns the batch with ``flags`` OR-ed with the rules' bits."""

    ts_tolerance_ns: int = 0
    state: dict[tuple[str, str], _ListingState] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: {k: 0 for k in FLAGS})

    def check(self, batch: pa.RecordBatch, contiguous_seq: bool = False, consolidated: bool = False) -> pa.RecordBatch:
        """``contiguous_seq``: the feed's sequences step by one (a jump is a gap); ``consolidated``: quotes are
        one consolidated book per listing (Lean's NBBO rows: best bid on one venue, best ask on another), so
        crossed/locked compare the listing's last bid and ask whatever their venue."""
        kind = kind_of(batch)
        n = batch.num_rows
        if n == 0 or kind not in ("trade", "quote"):
            return batch
        flags = batch.column("flags").to_numpy(zero_copy_only=False).astype(np.uint32, copy=True)
        lid = batch.column("listing_id")
        uniq = pc.unique(lid)
        groups: list[tuple[str, np.ndarray | None]]
        if len(uniq) == 1:
            groups = [(uniq[0].as_py(), None)]
        else:
            codes = pc.index_in(lid, uniq).to_numpy()
            order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(codes[order], np.arange(len(uniq) + 1))
            groups = [(uniq[i].as_py(), order[bounds[i]:bounds[i + 1]]) for i in range(len(uniq))]
        cols = {name: batch.column(name) for name in batch.schema.names}
        for listing, idx in groups:
            st = self.state.setdefault((listing, kind), _ListingState())
            sub = {k: (v if idx is None else v.take(pa.array(idx))) for k, v in cols.items()}
            f = self._trade(sub, st, contiguous_seq) if kind == "trade" else \
                self._quote(sub, st, contiguous_seq, consolidated)
            if idx is None:
                flags |= f
            else:
                flags[idx] |= f
        for name, bit in FLAGS.items():
            self.counts[name] += int(np.count_nonzero(flags & bit))
        i = batch.schema.get_field_index("flags")
        return batch.set_column(i, batch.schema.field(i), pa.array(flags, pa.uint32()))

    # -- shared -------------------------------------------------------------------------------------------------------
    def _order(self, sub: dict[str, Any], st: _ListingState, contiguous: bool) -> np.ndarray:
        ts = sub["ts_event"].to_numpy()
        out = np.zeros(len(ts), np.uint32)
        prev = np.maximum.accumulate(np.concatenate(([st.last_ts], ts)))[:-1]
        out[ts < prev - self.ts_tolerance_ns] |= FLAGS["seq_out_of_order"]
        st.last_ts = int(max(st.last_ts, ts.max()))
        seq_col = sub["seq"]
        if seq_col.null_count < len(seq_col):
            venue_col = sub["venue"]
            one_venue = venue_col.null_count == 0 and len(pc.unique(venue_col)) == 1
            if one_venue and seq_col.null_count == 0:  # the common case: no per-venue masks, no float copies
                groups = [(venue_col[0].as_py(), np.arange(len(seq_col)), seq_col.to_numpy())]
            else:
                venues = venue_col.fill_null("").to_numpy(zero_copy_only=False).astype(str)
                present = ~np.isnan(seq_col.to_numpy(zero_copy_only=False).astype(float))
                seq = seq_col.fill_null(0).to_numpy()
                groups = []
                for v in np.unique(venues):
                    m = np.flatnonzero((venues == v) & present)
                    groups.append((v, m, seq[m]))
            for v, m, s in groups:
                if not len(m):
                    continue
                s = s.astype(np.int64, copy=False)
                last = st.seq.get(v)
                prev_s = np.concatenate(([last if last is not None else s[0] - 1], s[:-1]))
                out[m[s <= prev_s]] |= FLAGS["seq_out_of_order"]
                if contiguous:
                    out[m[s > prev_s + 1]] |= FLAGS["seq_gap"]
                st.seq[v] = int(max(s.max(), last if last is not None else s.max()))
        return out

    # -- trades -------------------------------------------------------------------------------------------------------
    def _trade(self, sub: dict[str, Any], st: _ListingState, contiguous: bool) -> np.ndarray:
        out = self._order(sub, st, contiguous)
        p = sub["price"].to_numpy()
        s = sub["size"].to_numpy()
        out[~(p > 0)] |= FLAGS["price_nonpositive"]
        out[~(s > 0)] |= FLAGS["size_nonpositive"]
        out |= self._band(p, st)
        tid = sub["trade_id"]
        if tid.null_count < len(tid):
            keys = pc.binary_join_element_wise(sub["venue"].fill_null(""), tid, "|")
            arr = keys.to_numpy(zero_copy_only=False)
            seen = st.trade_ids
            dup = np.zeros(len(arr), bool)
            for i, k in enumerate(arr):
                if k is None:
                    continue
                if k in seen:
                    dup[i] = True
                else:
                    seen.add(k)
            out[dup] |= FLAGS["trade_duplicate"]
        return out

    def _band(self, p: np.ndarray, st: _ListingState) -> np.ndarray:
        import pandas as pd

        good = p > 0
        lp = np.where(good, np.log(np.where(good, p, 1.0)), np.nan)
        prior = st.window
        series = pd.Series(np.concatenate((prior, lp)))
        ref = series.rolling(WINDOW, min_periods=1).median().shift(1).to_numpy()[len(prior):]
        dev = np.abs(lp - ref)
        # the scale before each trade: EWMA of earlier deviations (NaNs skipped), seeded with the carried state
        d = pd.Series(np.concatenate(([st.scale], dev)))
        ew = d.ewm(alpha=ALPHA, adjust=False, ignore_na=True).mean().to_numpy()
        scale_before = ew[:-1]
        band = np.maximum(MIN_BAND, BAND_K * np.nan_to_num(scale_before, nan=MIN_BAND))
        out = np.zeros(len(p), np.uint32)
        out[np.nan_to_num(dev, nan=0.0) > band] |= FLAGS["price_band"]
        last = ew[-1]
        st.scale = float(last) if not np.isnan(last) else st.scale
        valid = lp[~np.isnan(lp)]
        st.window = np.concatenate((prior, valid))[-WINDOW:]
        return out

    # -- quotes -------------------------------------------------------------------------------------------------------
    def _quote(self, sub: dict[str, Any], st: _ListingState, contiguous: bool, consolidated: bool) -> np.ndarray:
        out = self._order(sub, st, contiguous)
        bp = sub["bid_price"].to_numpy(zero_copy_only=False).astype(float)
        ap = sub["ask_price"].to_numpy(zero_copy_only=False).astype(float)
        bs = sub["bid_size"].to_numpy(zero_copy_only=False).astype(float)
        as_ = sub["ask_size"].to_numpy(zero_copy_only=False).astype(float)
        out[(bp <= 0) | (ap <= 0)] |= FLAGS["price_nonpositive"]
        out[((bs <= 0) & ~np.isnan(bp)) | ((as_ <= 0) & ~np.isnan(ap))] |= FLAGS["size_nonpositive"]
        if consolidated:
            venues = np.zeros(len(bp), "U1")
            uv = np.array([""])
        else:
            venues = sub["venue"].fill_null("").to_numpy(zero_copy_only=False).astype(str)
            uv = np.unique(venues)
        for v in uv:
            m = slice(None) if len(uv) == 1 else np.flatnonzero(venues == v)
            b, a = _ffill(bp[m], st.bbo.get(v, (np.nan, np.nan))[0]), _ffill(ap[m], st.bbo.get(v, (np.nan, np.nan))[1])
            o = np.zeros(len(b), np.uint32)
            o[b > a] |= FLAGS["quote_crossed"]
            o[b == a] |= FLAGS["quote_locked"]
            out[m] |= o
            st.bbo[v] = (float(b[-1]), float(a[-1]))
        return out


def _ffill(x: np.ndarray, start: float) -> np.ndarray:
    """Forward-fill NaNs (and non-positive prices, which are not a side) from ``start``."""
    x = np.concatenate(([start], np.where(x > 0, x, np.nan)))
    idx = np.where(~np.isnan(x), np.arange(len(x)), 0)
    np.maximum.accumulate(idx, out=idx)
    return x[idx][1:]


@dataclass(frozen=True)
class Unparseable:
    """A row or message that became no event: quarantined with the raw bytes, the feed and the position."""

    feed: str
    file: str
    position: int
    raw: bytes
    message: str


__all__ = ["Verifier", "Unparseable", "SCHEMAS"]
