"""Binance combined-stream captures: gzip text, one message per line, ``<receive ns> <raw JSON>``.

Messages ``{"stream": "<symbol>@trade|@bookTicker|@depth@0ms|@depth@100ms", "data": {...}}`` become:

* ``trade`` -> a TRADE event: ``ts_event`` = trade time ``T`` (ms), ``seq`` and ``trade_id`` = trade id ``t``
  (contiguous per symbol: a jump is a gap), ``side`` = -1 when the buyer was the maker (``m``), else 1;
* ``bookTicker`` -> a QUOTE event (best bid/ask with sizes), ``seq`` = update id ``u``, ``ts_event`` = ``T`` or
  ``E`` when the market sends them (spot sends neither: the receive time);
* ``depthUpdate`` -> BOOK events, one ``S`` (set level) per price level, ``seq`` = last update id ``u``;
  ``conditions``-like context (``U``, ``pu``) stays in the raw capture for the depth synchroniser;
* a REST depth snapshot line ``{"lastUpdateId": ..., "bids": [...], "asks": [...]}`` -> a book snapshot
  (``R`` then ``S`` levels with ``snapshot`` true).

The venue comes from the capture folder (``spot`` -> ``BINANCE``, ``usdm`` -> ``BINANCE-USDM``, ``cm`` ->
``BINANCE-COINM``) or ``venue=``. Messages are decoded with orjson and gathered into columns; a line that is not
JSON, or a message missing a field, is quarantined with its raw bytes and line number.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from marketwire.stream.events import from_columns
from marketwire.stream.feeds.base import Chunk, ListingOf
from marketwire.stream.verify import Unparseable

WINDOW = 1 << 16
VENUES = {"spot": "BINANCE", "usdm": "BINANCE-USDM", "cm": "BINANCE-COINM", "coinm": "BINANCE-COINM"}
QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USD", "BTC", "ETH", "BNB", "EUR", "TRY")


def instrument(symbol: str, venue: str) -> tuple[str, dict[str, Any]]:
    """``BTCUSDT`` on BINANCE -> ``BTC/USDT@BINANCE``; on USD-M -> ``BTC/USDT:PERP@BINANCE-USDM``; ``BTCUSD_PERP``
    on COIN-M -> ``BTC/USD:PERP-BTC@BINANCE-COINM`` (inverse, settled in the base coin)."""
    s = symbol.upper()
    root, _, expiry = s.partition("_")
    base, quote = root, ""
    for q in QUOTES:
        if root.endswith(q) and len(root) > len(q):
            base, quote = root[: -len(q)], q
            break
    pair = f"{base}/{quote}" if quote else root
    kind = "crypto_spot"
    if venue == "BINANCE-USDM":
        pair += ":PERP" if not expiry or expiry == "PERP" else f":{expiry}"
        kind = "crypto_perp" if not expiry or expiry == "PERP" else "crypto_future"
    elif venue == "BINANCE-COINM":
        pair += (":PERP" if expiry in ("", "PERP") else f":{expiry}") + f"-{base}"
        kind = "crypto_perp" if expiry in ("", "PERP") else "crypto_future"
    return f"{pair}@{venue}", {"kind": kind, "symbol": pair, "venue": venue, "venue_symbol": s,
                               "currency": quote or None}


def _venue(path: Path, venue: str | None) -> str:
    if venue:
        return venue.upper()
    for part in reversed(path.parts[:-1]):
        if part.lower() in VENUES:
            return VENUES[part.lower()]
    return "BINANCE"


def _symbol_of_file(path: Path) -> str:
    return path.name.split("_")[0].upper() if "_perp" not in path.name else "_".join(path.name.split("_")[:2]).upper()


class _Cols:
    def __init__(self, names: tuple[str, ...]) -> None:
        self.c: dict[str, list[Any]] = {n: [] for n in names}

    def __len__(self) -> int:
        return len(next(iter(self.c.values())))


def parse_lines(lines: list[bytes], first_line: int, path: str, venue: str, listing_of: ListingOf,
                lids: dict[str, str]) -> tuple[dict[str, dict[str, list[Any]]], list[Unparseable]]:
    """Columns per kind from raw capture lines (``first_line``: the 1-based number of ``lines[0]``)."""
    tr = {n: [] for n in ("listing_id", "ts_event", "ts_recv", "seq", "price", "size", "side", "trade_id",
                          "position")}
    qu = {n: [] for n in ("listing_id", "ts_event", "ts_recv", "seq", "bid_price", "bid_size", "ask_price",
                          "ask_size", "position")}
    bk = {n: [] for n in ("listing_id", "ts_event", "ts_recv", "seq", "side", "price", "size", "action",
                          "snapshot", "position")}
    bad: list[Unparseable] = []
    loads = orjson.loads

    def lid(sym: str) -> str:
        x = lids.get(sym)
        if x is None:
            key, meta = instrument(sym, venue)
            x = lids[sym] = listing_of(key, meta)
        return x

    default_sym = _symbol_of_file(Path(path))
    for k, raw in enumerate(lines):
        pos = first_line + k
        try:
            sp = raw.index(b" ")
            recv = int(raw[:sp])
            msg = loads(raw[sp + 1:])
            d = msg.get("data") if isinstance(msg, dict) else None
            if d is None:
                if isinstance(msg, dict) and "lastUpdateId" in msg:
                    L = lid(msg.get("s") or msg.get("symbol") or default_sym)
                    ts = int(msg.get("T") or msg.get("E") or recv // 1_000_000) * 1_000_000
                    u = int(msg["lastUpdateId"])
                    rows = [(0, None, None, "R")] + [(1, float(p), float(q), "S") for p, q in msg["bids"]] + \
                           [(-1, float(p), float(q), "S") for p, q in msg["asks"]]
                    for side, p, q, a in rows:
                        for n, v in (("listing_id", L), ("ts_event", ts), ("ts_recv", recv), ("seq", u),
                                     ("side", side), ("price", p), ("size", q), ("action", a), ("snapshot", True),
                                     ("position", pos)):
                            bk[n].append(v)
                    continue
                raise ValueError("neither a combined-stream message nor a depth snapshot")
            stream = msg["stream"]
            if stream.endswith("@trade"):
                tr["listing_id"].append(lid(d["s"]))
                tr["ts_event"].append(int(d["T"]) * 1_000_000)
                tr["ts_recv"].append(recv)
                tr["seq"].append(int(d["t"]))
                tr["price"].append(float(d["p"]))
                tr["size"].append(float(d["q"]))
                tr["side"].append(-1 if d["m"] else 1)
                tr["trade_id"].append(str(d["t"]))
                tr["position"].append(pos)
            elif stream.endswith("@bookTicker"):
                t = d.get("T") or d.get("E")
                qu["listing_id"].append(lid(d["s"]))
                qu["ts_event"].append(int(t) * 1_000_000 if t else recv)
                qu["ts_recv"].append(recv)
                qu["seq"].append(int(d["u"]))
                qu["bid_price"].append(float(d["b"]))
                qu["bid_size"].append(float(d["B"]))
                qu["ask_price"].append(float(d["a"]))
                qu["ask_size"].append(float(d["A"]))
                qu["position"].append(pos)
            elif "@depth" in stream:
                L = lid(d["s"])
                ts = int(d.get("T") or d["E"]) * 1_000_000
                u = int(d["u"])
                levels = [(1, p, q) for p, q in d["b"]] + [(-1, p, q) for p, q in d["a"]]
                n = len(levels)
                bk["listing_id"].extend([L] * n)
                bk["ts_event"].extend([ts] * n)
                bk["ts_recv"].extend([recv] * n)
                bk["seq"].extend([u] * n)
                bk["side"].extend([lv[0] for lv in levels])
                bk["price"].extend([float(lv[1]) for lv in levels])
                bk["size"].extend([float(lv[2]) for lv in levels])
                bk["action"].extend(["S"] * n)
                bk["snapshot"].extend([False] * n)
                bk["position"].extend([pos] * n)
            else:
                raise ValueError(f"unknown stream {stream!r}")
        except (ValueError, KeyError, TypeError, IndexError, orjson.JSONDecodeError) as e:
            # a message cut half-way leaves the columns of its kind uneven: put them back in step
            for cols in (tr, qu, bk):
                m = min(len(v) for v in cols.values())
                for v in cols.values():
                    del v[m:]
            bad.append(Unparseable("binance", path, pos, raw, f"{type(e).__name__}: {e}"))
    return {"trade": tr, "quote": qu, "book": bk}, bad


_TRADE = pa.schema([("_r", pa.int64()), ("data", pa.struct([("s", pa.string()), ("t", pa.int64()),
                                                              ("p", pa.string()), ("q", pa.string()),
                                                              ("T", pa.int64()), ("m", pa.bool_())]))])
_BOOKT = pa.schema([("_r", pa.int64()), ("data", pa.struct([("s", pa.string()), ("u", pa.int64()),
                                                              ("b", pa.string()), ("B", pa.string()),
                                                              ("a", pa.string()), ("A", pa.string()),
                                                              ("T", pa.int64()), ("E", pa.int64())]))])
_LEVELS = pa.list_(pa.list_(pa.string()))
_DEPTH = pa.schema([("_r", pa.int64()), ("data", pa.struct([("s", pa.string()), ("u", pa.int64()),
                                                              ("E", pa.int64()), ("T", pa.int64()),
                                                              ("b", _LEVELS), ("a", _LEVELS)]))])


def _json(lines: list[bytes], schema: pa.Schema) -> pa.Table:
    """``<receive ns> <json>`` lines -> a table of ``_r`` (the receive time) and the schema's fields."""
    arr = pa.array(lines, pa.binary())
    parts = pc.split_pattern(arr, b" ", max_splits=1)
    return _json_parts(pc.list_element(parts, 0), pc.list_element(parts, 1), schema)


def _json_parts(heads: pa.Array, bodies: pa.Array, schema: pa.Schema) -> pa.Table:
    """The receive times (``heads``, decimal text) and the JSON messages (``bodies``) of lines, as a table; the
    bodies are joined by newlines in Arrow and read by Arrow's JSON reader in one pass."""
    recv = heads.cast(pa.string()).cast(pa.int64())
    n = len(bodies)
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, n], pa.int32()), bodies), b"\n")[0]
    t = pj.read_json(pa.BufferReader(joined.as_buffer()), read_options=pj.ReadOptions(block_size=1 << 22),
                     parse_options=pj.ParseOptions(explicit_schema=schema.remove(0),
                                                   unexpected_field_behavior="ignore"))
    if t.num_rows != n:
        raise ValueError("a line holds more or less than one message")
    return t.append_column("_r", recv)


def _classify(lines: list[bytes]) -> tuple[dict[str, np.ndarray], list[int], pa.Array, pa.Array, np.ndarray] | None:
    """Which lines are trades, book tickers and depth diffs (by the stream name at the start of the message) and
    which are REST depth snapshots, with every message line's receive-time text and JSON, all in Arrow (no Python
    work per line). Returns ``(rows per kind, snapshot lines, heads, bodies, line of each row)`` where rows index
    ``heads``/``bodies``; ``None`` when a line is none of these (the caller then parses line by line)."""
    arr = pa.array(lines, pa.binary())
    parts = pc.split_pattern(arr, b" ", max_splits=1)
    lens = np.asarray(pc.list_value_length(parts))
    line_of = np.flatnonzero(lens >= 2)
    if len(line_of) < len(lines):
        for i in np.flatnonzero(lens < 2):
            if lines[int(i)].strip():
                return None  # a line without a receive time
        parts = parts.take(pa.array(line_of))
    heads, bodies = pc.list_element(parts, 0), pc.list_element(parts, 1)
    start = pc.binary_slice(bodies, 0, 96)
    masks = {"trade": pc.match_substring(start, '@trade"'), "quote": pc.match_substring(start, '@bookTicker"'),
             "book": pc.match_substring(start, "@depth")}
    rows = {k: np.flatnonzero(np.asarray(m.fill_null(False))) for k, m in masks.items()}
    known = np.zeros(len(bodies), np.int8)
    for v in rows.values():
        known[v] += 1
    if np.any(known > 1):
        return None
    others: list[int] = []
    for j in np.flatnonzero(known == 0):
        i = int(line_of[j])
        if b'"lastUpdateId"' in lines[i] and len(others) < 16:
            others.append(i)  # a REST depth snapshot: parsed on its own
        else:
            return None
    return rows, others, heads, bodies, line_of


def parse_fast(lines: list[bytes], first_line: int, venue: str, listing_of: ListingOf,
               lids: dict[str, str], path: str = "") -> dict[str, dict[str, Any]] | None:
    """Columns per kind decoded by Arrow's JSON reader, one pass per stream type (several hundred thousand
    messages a second); ``None`` when a line is not a plain combined-stream message (the caller then parses
    message by message and quarantines what does not parse). ``path``: the capture's file, whose name gives the
    symbol of a REST snapshot line that does not name it."""
    try:
        cls = _classify(lines)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if cls is None:
        return None
    rows_of, others, heads_all, bodies_all, line_of = cls  # type: ignore[misc]

    def table(kind: str, schema: pa.Schema) -> tuple[pa.Table, np.ndarray]:
        sel = pa.array(rows_of[kind])
        return _json_parts(heads_all.take(sel), bodies_all.take(sel), schema), line_of[rows_of[kind]]

    out: dict[str, dict[str, Any]] = {}

    def lid_array(sym: pa.ChunkedArray) -> pa.Array:
        uniq = pc.unique(sym).to_pylist()
        ids = []
        for s_ in uniq:
            if s_ is None:
                raise ValueError("message without a symbol")
            if s_ not in lids:
                key, meta = instrument(s_, venue)
                lids[s_] = listing_of(key, meta)
            ids.append(lids[s_])
        return pc.take(pa.array(ids), pc.index_in(sym, pa.array(uniq)))

    try:
        if len(rows_of["trade"]):
            t, idx = table("trade", _TRADE)
            d = t.column("data").combine_chunks()
            out["trade"] = {
                "listing_id": lid_array(d.field("s")), "ts_event": pc.multiply(d.field("T"), 1_000_000),
                "ts_recv": t.column("_r"), "seq": d.field("t"), "price": pc.cast(d.field("p"), pa.float64()),
                "size": pc.cast(d.field("q"), pa.float64()),
                "side": pc.if_else(d.field("m"), pa.scalar(-1, pa.int8()), pa.scalar(1, pa.int8())),
                "trade_id": pc.cast(d.field("t"), pa.string()),
                "position": np.asarray(idx, np.int64) + first_line}
        if len(rows_of["quote"]):
            t, idx = table("quote", _BOOKT)
            d = t.column("data").combine_chunks()
            ts = pc.coalesce(d.field("T"), d.field("E"))
            out["quote"] = {
                "listing_id": lid_array(d.field("s")),
                "ts_event": pc.coalesce(pc.multiply(ts, 1_000_000), t.column("_r").combine_chunks()),
                "ts_recv": t.column("_r"), "seq": d.field("u"),
                "bid_price": pc.cast(d.field("b"), pa.float64()), "bid_size": pc.cast(d.field("B"), pa.float64()),
                "ask_price": pc.cast(d.field("a"), pa.float64()), "ask_size": pc.cast(d.field("A"), pa.float64()),
                "position": np.asarray(idx, np.int64) + first_line}
        if len(rows_of["book"]):
            t, idx = table("book", _DEPTH)
            d = t.column("data").combine_chunks()
            ts = pc.multiply(pc.coalesce(d.field("T"), d.field("E")), 1_000_000)
            recv = t.column("_r").combine_chunks()
            lid = lid_array(d.field("s"))
            parents, prices, sizes, sides = [], [], [], []
            for fld, side in (("b", 1), ("a", -1)):
                lv = d.field(fld)
                pairs = pc.list_flatten(lv)
                lens = np.asarray(pc.list_value_length(pairs))
                if len(lens) and (lens.min() != 2 or lens.max() != 2):
                    raise ValueError("a depth level is not [price, quantity]")
                flat = np.asarray(pc.list_flatten(pairs).cast(pa.float64()))
                parents.append(np.asarray(pc.list_parent_indices(lv)))
                prices.append(flat[0::2])
                sizes.append(flat[1::2])
                sides.append(np.full(len(lens), side, np.int8))
            parent = np.concatenate(parents)
            side_a = np.concatenate(sides)
            # messages in order; within a message bids, then asks, each in the message's order
            order = np.argsort(parent * 2 + (side_a < 0), kind="stable")
            mp = parent[order]
            lid_np = lid if len(pc.unique(lid)) > 1 else None
            out["book"] = {
                "listing_id": pc.take(lid_np, pa.array(mp)) if lid_np is not None else lid[0].as_py() if len(lid)
                else "", "ts_event": np.asarray(ts)[mp], "ts_recv": np.asarray(recv)[mp],
                "seq": np.asarray(d.field("u"))[mp], "side": side_a[order],
                "price": np.concatenate(prices)[order], "size": np.concatenate(sizes)[order],
                "action": "S", "snapshot": False, "position": (np.asarray(idx, np.int64) + first_line)[mp]}
        for i in others:
            cols, bad = parse_lines([lines[i]], first_line + i, path, venue, listing_of, lids)
            if bad or not cols["book"]["ts_event"]:
                return None
            snap = from_columns("book", {**cols["book"], "source": "binance", "venue": venue})
            if "book" in out:
                cur = from_columns("book", {**out["book"], "source": "binance", "venue": venue})
                both = pa.Table.from_batches([cur, snap])
                both = both.take(pc.sort_indices(both, [("position", "ascending")]))  # stable: levels keep order
                out["book"] = {c: both.column(c).combine_chunks() for c in both.column_names}
            else:
                out["book"] = {c: snap.column(c) for c in snap.schema.names}
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
        return None
    return out


def read(path: str | Path, listing_of: ListingOf, *, venue: str | None = None, start_row: int = 0,
         chunk_rows: int = WINDOW, **_: Any) -> Iterator[Chunk]:
    p = Path(path)
    v = _venue(p, venue)
    lids: dict[str, str] = {}
    with gzip.open(p, "rb") as fh:
        data = fh.read()
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    i = start_row
    emitted = False
    while i < len(lines):
        j = min(len(lines), i + chunk_rows)
        window = lines[i:j]
        fast = parse_fast(window, i + 1, v, listing_of, lids, path=str(p))
        if fast is not None:
            cols, bad = fast, []
        else:
            cols, bad = parse_lines(window, i + 1, str(p), v, listing_of, lids)
        batches = [(k, c) for k, c in cols.items() if len(c["ts_event"])]
        parts = max(1, len(batches))
        if not batches:
            yield Chunk(None, str(p), j, bad)
        for n, (kind, c) in enumerate(batches):
            c = dict(c)
            c["source"] = "binance"
            c["venue"] = v
            if kind == "trade" and isinstance(c["side"], list):
                c["side"] = np.asarray(c["side"], np.int8)
            b = from_columns(kind, c)
            yield Chunk(b, str(p), j, bad if n == 0 else [], contiguous_seq=kind == "trade", part=n, parts=parts)
        emitted = True
        i = j
    if not emitted:
        yield Chunk(None, str(p), len(lines), [])
