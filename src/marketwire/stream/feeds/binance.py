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
``BINANCE-COINM``) or ``venue=``. Windows of lines are decoded in bulk (numpy over the decompressed buffer, one
Arrow JSON read per stream type: :func:`parse_buffer`); a window that does not decode that way is decoded message by
message with orjson (:func:`parse_lines`), where a line that is not JSON, or a message missing a field, is
quarantined with its raw bytes and line number.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
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

WINDOW = 1 << 15
_JSON_THREADS = False  # the replay runs two reader threads: each JSON read on its own thread
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


def _read_json(body: pa.Buffer, n: int, schema: pa.Schema) -> pa.Table:
    """``n`` newline-terminated JSON messages in ``body`` (a receive time blanked to spaces may precede each: JSON
    whitespace) read by Arrow's JSON reader in one pass into ``schema``'s fields."""
    t = pj.read_json(pa.BufferReader(body),
                     read_options=pj.ReadOptions(block_size=1 << 22, use_threads=_JSON_THREADS),
                     parse_options=pj.ParseOptions(explicit_schema=schema.remove(0),
                                                   unexpected_field_behavior="ignore"))
    if t.num_rows != n:
        raise ValueError("a line holds more or less than one message")
    return t


def _lines_buffer(lines: list[bytes]) -> tuple[bytes, np.ndarray]:
    """Lines joined into one newline-terminated buffer and the offsets where each line starts (plus the end)."""
    data = b"\n".join(lines) + b"\n"
    lens = np.fromiter((len(x) + 1 for x in lines), np.int64, len(lines))
    return data, np.concatenate(([0], np.cumsum(lens)))


_PREFIX = 48  # bytes of a message searched for its stream name (`{"stream":"<symbol>@<kind>`)


def _classify(buf: np.ndarray, bounds: np.ndarray) -> tuple[dict[str, np.ndarray], list[int], np.ndarray,
                                                             pa.Array, np.ndarray] | None:
    """Which lines of ``buf`` (line ``k`` spans ``bounds[k]`` to its newline before ``bounds[k+1]``) are trades,
    book tickers and depth diffs (by the stream name at the start of the message) and which are REST depth
    snapshots, with every line's receive time, in numpy and Arrow (no Python work per line). Returns ``(rows per
    kind, snapshot lines, receive times, lines, line of each)`` where ``lines`` is a binary array of the
    newline-terminated lines that are not blank, with the receive time and its space blanked to spaces (each is then
    one JSON message with leading whitespace), and rows index ``lines``; ``None`` when a line is none of these (the
    caller then parses line by line)."""
    n = len(bounds) - 1
    base = int(bounds[0])
    seg = buf[base:int(bounds[-1])]
    starts = bounds[:-1] - base
    ends = bounds[1:] - 1 - base  # the newline of each line
    spaces = np.flatnonzero(seg == 32)
    k = np.searchsorted(spaces, starts)
    sp = np.append(spaces, len(seg))[k]
    has = sp < ends
    line_of = np.flatnonzero(has)
    if len(line_of) < n:
        for i in np.flatnonzero(~has):
            if bytes(seg[starts[i]:ends[i]]).strip():
                return None  # a line without a receive time
        starts, sp = starts[line_of], sp[line_of]
    # receive times: 1 to 19 decimal digits, right-aligned in a matrix of the 19 bytes before each space
    hl = sp - starts
    if not len(hl):
        return {"trade": line_of, "quote": line_of, "book": line_of}, [], np.zeros(0, np.int64), \
            pa.array([], pa.binary()), line_of
    if hl.min() < 1 or hl.max() > 19:
        return None
    col = np.arange(-19, 0)
    pos = sp[:, None] + col
    used = col >= -hl[:, None]
    pos = np.where(used, pos, sp[:, None])  # unused cells read the space: masked out below
    dig = seg[pos]
    dig = np.where(used, dig - np.uint8(48), np.uint8(0))
    if np.any(dig > 9):
        return None
    recv = dig.astype(np.uint64) @ (np.uint64(10) ** np.arange(18, -1, -1, dtype=np.uint64))
    if recv.max() >= np.uint64(1 << 63):
        return None
    blank = seg.copy()
    blank[pos[used]] = 32
    # each message line from its start (the blanked receive time) to its newline; blank lines are left out
    offs = np.empty(len(line_of) + 1, np.int64)
    offs[:-1] = starts
    offs[-1] = len(seg)
    if len(line_of) < n:
        # lines kept are not contiguous: gather them (rare: blank lines)
        pieces = [blank[a:int(ends[line_of[j]]) + 1] for j, a in enumerate(starts)]
        blank = np.concatenate(pieces)
        offs = np.concatenate(([0], np.cumsum([len(x) for x in pieces])))
        sp = sp - starts + offs[:-1]
    if offs[-1] >= 1 << 31:
        return None
    lines = pa.BinaryArray.from_buffers(pa.binary(), len(line_of),
                                        [None, pa.py_buffer(offs.astype(np.int32)), pa.py_buffer(blank)])
    # the stream name: the message starts with {"stream":" and the name's '@' comes before its closing quote; the
    # first _PREFIX bytes of every message (a view from each message's start, cut by Arrow) as a matrix
    kind = np.full(len(line_of), -1, np.int8)
    starts_of_msg = np.append(sp + 1, len(blank))
    if starts_of_msg[-1] - starts_of_msg[-2] >= _PREFIX + 1 and len(blank) < 1 << 31:
        view = pa.BinaryArray.from_buffers(pa.binary(), len(line_of),
                                           [None, pa.py_buffer(starts_of_msg.astype(np.int32)), pa.py_buffer(blank)])
        cut = pc.binary_slice(view, 0, _PREFIX)
        if pc.min(pc.binary_length(cut)).as_py() == _PREFIX:
            m = np.frombuffer(cut.buffers()[2], np.uint8, len(cut) * _PREFIX).reshape(len(cut), _PREFIX)
            head = np.frombuffer(b'{"stream":"', np.uint8)
            ok = (m[:, :len(head)] == head).all(axis=1)
            name = m[:, len(head):]
            width = name.shape[1]
            is_at, is_q = name == 64, name == 34
            first_at = np.where(is_at.any(axis=1), is_at.argmax(axis=1), width)
            first_q = np.where(is_q.any(axis=1), is_q.argmax(axis=1), width)
            ok &= first_at < first_q
            for fa in np.unique(first_at[ok]):  # one '@' position per symbol length: a handful
                at_rows = np.flatnonzero(ok & (first_at == fa))
                for code, word in enumerate((b'trade"', b'bookTicker"', b"depth")):
                    w = np.frombuffer(word, np.uint8)
                    if fa + 1 + len(w) > width:
                        continue
                    hit = (name[at_rows, fa + 1:fa + 1 + len(w)] == w).all(axis=1)
                    kind[at_rows[hit]] = code
    rows = {k_: np.flatnonzero(kind == code) for code, k_ in enumerate(("trade", "quote", "book"))}
    others: list[int] = []
    for j in np.flatnonzero(kind < 0):
        raw = lines[int(j)].as_py()
        if b'"lastUpdateId"' in raw and len(others) < 16:
            others.append(int(j))  # a REST depth snapshot: parsed on its own
        else:
            return None
    return rows, others, recv.astype(np.int64), lines, line_of


def _required(t: pa.Table, names: tuple[str, ...]) -> pa.StructArray:
    """The ``data`` struct of ``t``; a message missing a required field makes the window fall back to the
    message-by-message parse (which quarantines it)."""
    d = t.column("data").combine_chunks()
    if d.null_count or any(d.field(f).null_count for f in names):
        raise ValueError("a message misses a required field")
    return d


def parse_fast(lines: list[bytes], first_line: int, venue: str, listing_of: ListingOf,
               lids: dict[str, str], path: str = "") -> dict[str, dict[str, Any]] | None:
    """Columns per kind of ``lines`` decoded in bulk (:func:`parse_buffer`); ``None`` when a line is not a plain
    combined-stream message."""
    data, bounds = _lines_buffer(lines)
    return parse_buffer(np.frombuffer(data, np.uint8), bounds, first_line, venue, listing_of, lids, path=path)


def parse_buffer(buf: np.ndarray, bounds: np.ndarray, first_line: int, venue: str, listing_of: ListingOf,
                 lids: dict[str, str], path: str = "") -> dict[str, dict[str, Any]] | None:
    """Columns per kind of the lines of ``buf`` (line ``k`` starts at ``bounds[k]`` and ends with a newline before
    ``bounds[k+1]``; ``first_line``: the 1-based number of the first), decoded without Python work per message:
    receive times parsed in numpy, one Arrow JSON read per stream type, depth levels flattened and converted to
    float64 in Arrow (several hundred thousand messages a second); ``None`` when a line is not a plain
    combined-stream message or a message misses a field (the caller then parses message by message and
    quarantines what does not parse). ``path``: the capture's file, whose name gives the symbol of a REST
    snapshot line that does not name it."""
    try:
        cls = _classify(buf, bounds)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if cls is None:
        return None
    rows_of, others, recv_all, lines, line_of = cls  # type: ignore[misc]

    def table(kind: str, schema: pa.Schema) -> tuple[pa.Table, np.ndarray, np.ndarray]:
        rows = rows_of[kind]
        sel = lines.take(pa.array(rows))
        offs = np.frombuffer(sel.buffers()[1], np.int32, len(sel) + 1, sel.offset * 4)
        body = sel.buffers()[2].slice(int(offs[0]), int(offs[-1] - offs[0]))
        return _read_json(body, len(rows), schema), recv_all[rows], line_of[rows]

    out: dict[str, dict[str, Any]] = {}

    def lid_array(sym: pa.Array) -> pa.Array:
        uniq = pc.unique(sym).to_pylist()
        ids = []
        for s_ in uniq:
            if s_ not in lids:
                key, meta = instrument(s_, venue)
                lids[s_] = listing_of(key, meta)
            ids.append(lids[s_])
        if len(ids) == 1:
            return pa.repeat(pa.scalar(ids[0], pa.string()), len(sym))
        return pc.take(pa.array(ids), pc.index_in(sym, pa.array(uniq)))

    try:
        if len(rows_of["trade"]):
            t, recv, idx = table("trade", _TRADE)
            d = _required(t, ("s", "t", "p", "q", "T", "m"))
            out["trade"] = {
                "listing_id": (d.field("s"), None), "ts_event": pc.multiply(d.field("T"), 1_000_000),
                "ts_recv": recv, "seq": d.field("t"), "price": pc.cast(d.field("p"), pa.float64()),
                "size": pc.cast(d.field("q"), pa.float64()),
                "side": pc.if_else(d.field("m"), pa.scalar(-1, pa.int8()), pa.scalar(1, pa.int8())),
                "trade_id": pc.cast(d.field("t"), pa.string()),
                "position": idx + first_line}
        if len(rows_of["quote"]):
            t, recv, idx = table("quote", _BOOKT)
            d = _required(t, ("s", "u", "b", "B", "a", "A"))
            ts = pc.coalesce(d.field("T"), d.field("E"))
            out["quote"] = {
                "listing_id": (d.field("s"), None),
                "ts_event": pc.coalesce(pc.multiply(ts, 1_000_000), pa.array(recv)),
                "ts_recv": recv, "seq": d.field("u"),
                "bid_price": pc.cast(d.field("b"), pa.float64()), "bid_size": pc.cast(d.field("B"), pa.float64()),
                "ask_price": pc.cast(d.field("a"), pa.float64()), "ask_size": pc.cast(d.field("A"), pa.float64()),
                "position": idx + first_line}
        if len(rows_of["book"]):
            t, recv, idx = table("book", _DEPTH)
            d = _required(t, ("s", "u", "b", "a"))
            ts_a = pc.coalesce(d.field("T"), d.field("E"))
            if ts_a.null_count:
                raise ValueError("a depth message without a time")
            ts = np.asarray(ts_a, np.int64) * 1_000_000
            counts, prices, sizes = [], [], []
            for fld in ("b", "a"):
                lv = d.field(fld)
                pairs = pc.list_flatten(lv)
                lens = np.asarray(pc.list_value_length(pairs).fill_null(0))
                if len(lens) and (lens.min() != 2 or lens.max() != 2):
                    raise ValueError("a depth level is not [price, quantity]")
                flat = pc.list_flatten(pairs)
                if flat.null_count:
                    raise ValueError("a depth level without a price or quantity")
                flat = np.asarray(flat.cast(pa.float64()))
                counts.append(np.diff(np.asarray(lv.offsets, np.int64)) if len(lv) else np.zeros(0, np.int64))
                prices.append(flat[0::2])
                sizes.append(flat[1::2])
            nb, na = counts
            per = nb + na
            total = int(per.sum())
            # messages in order; within a message its bids, then its asks, each in the message's order
            first = np.concatenate(([0], np.cumsum(per)[:-1]))
            mp = np.repeat(np.arange(len(per)), per)
            side = np.empty(total, np.int8)
            price = np.empty(total)
            size = np.empty(total)
            rank = np.arange(total) - first[mp]
            is_bid = rank < nb[mp]
            side[is_bid] = 1
            side[~is_bid] = -1
            price[is_bid], size[is_bid] = prices[0], sizes[0]
            price[~is_bid], size[~is_bid] = prices[1], sizes[1]
            out["book"] = {
                "listing_id": (d.field("s"), mp),
                "ts_event": ts[mp], "ts_recv": recv[mp], "seq": np.asarray(d.field("u"), np.int64)[mp],
                "side": side, "price": price, "size": size, "action": "S", "snapshot": False,
                "position": (idx + first_line)[mp]}
        # listing ids last: a first sight of an instrument registers it with the identity service, and the other
        # reader thread decodes its window meanwhile
        for cols in out.values():
            sym, mp_ = cols["listing_id"]
            lid = lid_array(sym)
            if mp_ is None:
                cols["listing_id"] = lid
            elif len(lid) and pc.count_distinct(lid).as_py() > 1:
                cols["listing_id"] = pc.take(lid, pa.array(mp_))
            else:
                cols["listing_id"] = lid[0].as_py() if len(lid) else ""
        snaps = []
        for j in others:
            i = int(line_of[j])
            raw = buf[int(bounds[i]):int(bounds[i + 1]) - 1].tobytes()
            cols, bad = parse_lines([raw], first_line + i, path, venue, listing_of, lids)
            if bad or not cols["book"]["ts_event"]:
                return None
            snaps.append(from_columns("book", {**cols["book"], "source": "binance", "venue": venue}))
        if snaps:
            parts = []
            if "book" in out:
                cur = from_columns("book", {**out["book"], "source": "binance", "venue": venue})
                pos = np.asarray(cur.column("position"))
                at = 0
                for s_ in snaps:  # a snapshot goes where its line is: the diffs stay in order around it
                    k_ = int(np.searchsorted(pos, s_.column("position")[0].as_py()))
                    parts += [cur.slice(at, k_ - at), s_]
                    at = k_
                parts.append(cur.slice(at))
            else:
                parts = snaps
            both = pa.Table.from_batches(parts)
            out["book"] = {c: both.column(c).combine_chunks() for c in both.column_names}
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
        return None
    return out


def windows(path: str | Path, listing_of: ListingOf, *, venue: str | None = None, start_row: int = 0,
            chunk_rows: int = WINDOW, **_: Any) -> list[Callable[[], list[Chunk]]]:
    """The capture cut into windows of ``chunk_rows`` lines, each a function giving that window's chunks: the
    windows of one file can be parsed by several threads at once (the replay hands them out in order and gives the
    log their chunks in order). The file is decompressed here."""
    p = Path(path)
    v = _venue(p, venue)
    lids: dict[str, str] = {}  # shared by the windows: an instrument is registered once (the identity call locks)
    data = gzip.decompress(p.read_bytes())  # zlib releases the interpreter lock: another file is parsed meanwhile
    if data and not data.endswith(b"\n"):
        data += b"\n"
    buf = np.frombuffer(data, np.uint8)
    bounds = np.concatenate(([0], np.flatnonzero(buf == 10) + 1))  # line k: bounds[k] to its newline
    nlines = len(bounds) - 1

    def window(i: int, j: int) -> list[Chunk]:
        fast = parse_buffer(buf, bounds[i:j + 1], i + 1, v, listing_of, lids, path=str(p))
        if fast is not None:
            cols, bad = fast, []
        else:
            lines = [data[int(bounds[k]):int(bounds[k + 1]) - 1] for k in range(i, j)]
            cols, bad = parse_lines(lines, i + 1, str(p), v, listing_of, lids)
        batches = [(k, c) for k, c in cols.items() if len(c["ts_event"])]
        parts = max(1, len(batches))
        if not batches:
            return [Chunk(None, str(p), j, bad)]
        out = []
        for n, (kind, c) in enumerate(batches):
            c = dict(c)
            c["source"] = "binance"
            c["venue"] = v
            if kind == "trade" and isinstance(c["side"], list):
                c["side"] = np.asarray(c["side"], np.int8)
            b = from_columns(kind, c)
            out.append(Chunk(b, str(p), j, bad if n == 0 else [], contiguous_seq=kind == "trade", part=n,
                             parts=parts))
        return out

    cuts = list(range(start_row, nlines, chunk_rows))
    if not cuts:
        return [lambda: [Chunk(None, str(p), nlines, [])]]
    return [lambda i=i: window(i, min(nlines, i + chunk_rows)) for i in cuts]


def read(path: str | Path, listing_of: ListingOf, *, venue: str | None = None, start_row: int = 0,
         chunk_rows: int = WINDOW, **_: Any) -> Iterator[Chunk]:
    for w in windows(path, listing_of, venue=venue, start_row=start_row, chunk_rows=chunk_rows):
        yield from w()
