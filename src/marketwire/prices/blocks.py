"""Series blocks of the bars read cache: each series (one listing, one source, latest version of every bar) is one
compressed block, decoded on read into the float bars the read path returns.

A block holds the integer ticks the lake stores, so a decoded price is ``ticks / 10**price_exp``, the same float
the lake gives (IEEE division is correctly rounded), and the same encoding serves the cache built at ingest from
the verified rows and the one rebuilt from the lake.

Layout of the uncompressed payload of a series of ``n`` bars, one section each, every section at the narrowest
signed integer width (1, 2, 4 or 8 bytes) that holds its values, sections in order of decreasing width (so that
each is aligned):

- ``date``: days since the previous bar (0 for the first; the first date is ``d0`` in the index);
- ``close``: ticks minus the previous close's (0 for the first; the first close is ``c0``);
- ``open``, ``high``, ``low``: ticks minus the same bar's close;
- ``volume``: as stored;
- ``exp``: the price exponent per bar, only when it changes along the series (``e0 != e1``);
- ``flags``: per bar 0 (no flag) or 1 + the position of its flag text in the series' ``fdict``;
- one bitmap (``numpy.packbits``) per price or volume column that has nulls (``nulls``: open 1, high 2, low 4,
  close 8, volume 16).

The payload is compressed with LZ4, which decompresses at several GB/s: a read decodes its block every time.
(zstd makes blocks about a fifth smaller and decompresses five times slower; byte-shuffling the sections gains
LZ4 6% and costs a read more than the decompression.) What decoding needs is in the series index (one row per series).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

CODEC = pa.Codec("lz4")
_INT = {1: np.dtype("<i1"), 2: np.dtype("<i2"), 4: np.dtype("<i4"), 8: np.dtype("<i8")}
_POW10 = 10.0 ** np.arange(19)
#: the price columns in the order of their null bits
_NULL_BIT = {"open": 1, "high": 2, "low": 4, "close": 8, "volume": 16}
#: the columns a block is built from (ticks, as the lake stores them)
TICK_COLS = ("date", "open", "high", "low", "close", "volume", "price_exp", "flags")
#: the per-series columns of the index, besides listing_id and source
INDEX_SCHEMA = pa.schema([
    ("listing_id", pa.string()), ("source", pa.string()), ("n", pa.int64()), ("basis", pa.string()),
    ("currency", pa.string()), ("unit_scale", pa.int8()), ("knowledge_time", pa.timestamp("us", tz="UTC")),
    ("seg", pa.int32()), ("off", pa.int64()), ("len", pa.int64()), ("raw", pa.int64()), ("d0", pa.int32()),
    ("c0", pa.int64()), ("w", pa.string()), ("e0", pa.int8()), ("e1", pa.int8()), ("nulls", pa.int8()),
    ("fdict", pa.string())])
BAR_SCHEMA = pa.schema([("date", pa.date32()), ("open", pa.float64()), ("high", pa.float64()), ("low", pa.float64()),
                        ("close", pa.float64()), ("volume", pa.int64()), ("flags", pa.string())])
_SECTIONS = ("date", "close", "open", "high", "low", "volume")


def _width(a: np.ndarray) -> int:
    if not a.size:
        return 1
    lo, hi = int(a.min()), int(a.max())
    for w in (1, 2, 4):
        lim = 1 << (8 * w - 1)
        if -lim <= lo and hi < lim:
            return w
    return 8


def spans(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """First and past-the-end rows of each series of ``frame`` when every series is one run of rows in date order
    (as a delivery's verified rows are); None when not (the caller sorts)."""
    if not frame.height:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # the first row of each run: listing or source differs from the row before (a null differs from a value)
    first = np.array(frame.select((pl.col("listing_id").ne_missing(pl.col("listing_id").shift(1))
                                   | pl.col("source").ne_missing(pl.col("source").shift(1)))
                                  ).to_series().to_numpy(), dtype=bool)
    first[0] = True  # (a first row whose listing is null equals the missing row before it)
    starts = np.flatnonzero(first)
    # each series is one run when the runs' keys are distinct (the first row of a run has its run's key)
    if frame.select("listing_id", "source")[pl.Series(starts)].n_unique() != len(starts):
        return None
    day = frame.get_column("date").to_physical().to_numpy()
    if (np.diff(day)[~first[1:]] <= 0).any():
        return None
    return starts, np.append(starts[1:], frame.height)


def encode(frame: pl.DataFrame, seg: int, offset: int = 0,
           runs: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[list[bytes], pa.Table]:
    """The blocks of every series in ``frame`` (one row per bar, latest version only; each series one run of
    rows in date order, e.g. sorted by listing_id, source, date) and their index rows, the blocks laid out from
    ``offset`` of segment ``seg``, in the order of ``runs`` (:func:`spans`, possibly reordered) or of the frame.

    ``frame`` has listing_id, source, :data:`TICK_COLS`, basis, currency, unit_scale and knowledge_time. The
    columns go to numpy once; the loop over series only slices them."""
    n_all = frame.height
    if not n_all:
        return [], INDEX_SCHEMA.empty_table()
    found = runs or spans(frame)
    if found is None:
        raise ValueError("encode: a series is not one run of rows in date order")
    starts, ends = found

    def ints(name: str) -> tuple[np.ndarray, np.ndarray | None]:
        col = frame.get_column(name)
        if not col.null_count():
            return col.to_numpy().astype(np.int64, copy=False), None
        return col.fill_null(0).to_numpy().astype(np.int64, copy=False), col.is_null().to_numpy()

    date = frame.get_column("date").to_numpy().astype("datetime64[D]").astype(np.int64)
    close, close_null = ints("close")
    rel: dict[str, np.ndarray] = {}
    nulls: dict[str, np.ndarray | None] = {"close": close_null}
    for c in ("open", "high", "low"):  # a null price is stored as the close (difference 0) and its bit set
        v, nulls[c] = ints(c)
        rel[c] = v - close if nulls[c] is None else np.where(nulls[c], 0, v - close)
    vol, nulls["volume"] = ints("volume")
    exp = frame.get_column("price_exp").fill_null(0).to_numpy().astype(np.int8, copy=False)
    flags = frame.get_column("flags")
    codes = None
    if flags.null_count() < n_all:
        names = flags.drop_nulls().unique().sort()
        codes = flags.replace_strict(names, pl.int_range(1, names.len() + 1, eager=True), default=0,
                                     return_dtype=pl.Int32).to_numpy()
        name_list = names.to_list()
    kt = frame.get_column("knowledge_time").cast(pl.Int64).to_numpy()
    first = frame.select("listing_id", "source", "basis", "currency", "unit_scale").gather(starts).to_arrow()
    blocks: list[bytes] = []
    rows: dict[str, list[Any]] = {f: [] for f in ("len", "raw", "d0", "c0", "w", "e0", "e1", "nulls", "fdict")}
    for s, e in zip(starts.tolist(), ends.tolist()):
        d = date[s:e]
        c = close[s:e]
        cols = {"date": np.diff(d, prepend=d[0]), "close": np.diff(c, prepend=c[0]), "open": rel["open"][s:e],
                "high": rel["high"][s:e], "low": rel["low"][s:e], "volume": vol[s:e]}
        widths = {name: _width(a) for name, a in cols.items()}
        parts = [cols[name].astype(_INT[widths[name]], copy=False).tobytes()
                 for name in sorted(_SECTIONS, key=lambda x: -widths[x])]
        ex = exp[s:e]
        e0, e1 = int(ex.min()), int(ex.max())
        if e0 != e1:
            parts.append(ex.tobytes())
        fdict = None
        if codes is not None:
            cs = codes[s:e]
            used = np.unique(cs)
            used = used[used > 0]
            if used.size:
                local = np.zeros(used.max() + 1, dtype=np.int32)
                local[used] = np.arange(1, used.size + 1)
                fw = 1 if used.size < 128 else 2
                parts.append(local[cs].astype(_INT[fw]).tobytes())
                fdict = "\n".join(name_list[i - 1] for i in used.tolist())
        bits = 0
        for cname, bit in _NULL_BIT.items():
            m = nulls[cname]
            if m is not None and m[s:e].any():
                bits |= bit
                parts.append(np.packbits(m[s:e]).tobytes())
        payload = b"".join(parts)
        block = CODEC.compress(payload, asbytes=True)
        blocks.append(block)
        for k, v in (("len", len(block)), ("raw", len(payload)), ("d0", int(d[0])), ("c0", int(c[0])),
                     ("w", "".join(str(widths[x]) for x in _SECTIONS)), ("e0", e0), ("e1", e1), ("nulls", bits),
                     ("fdict", fdict)):
            rows[k].append(v)
    lens = np.array(rows["len"], dtype=np.int64)
    offs = offset + np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    table = {"listing_id": first.column("listing_id"), "source": first.column("source"),
             "n": pa.array(ends - starts, pa.int64()), "basis": first.column("basis"),
             "currency": first.column("currency"), "unit_scale": first.column("unit_scale"),
             "knowledge_time": pa.array(run_max(kt, starts)).cast(pa.timestamp("us", tz="UTC")),
             "seg": pa.array(np.full(len(starts), seg, dtype=np.int32)), "off": pa.array(offs), **rows}
    return blocks, pa.Table.from_pydict(table).cast(INDEX_SCHEMA)


def run_max(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per run (the runs partition ``values``, given by their starts in any order): its maximum."""
    order = np.argsort(starts)
    out = np.empty(len(starts), dtype=values.dtype)
    out[order] = np.maximum.reduceat(values, starts[order])
    return out


def _unpack(buf: Any, info: dict[str, Any]) -> dict[str, Any]:
    """The sections of one block as numpy arrays (views of the decompressed payload)."""
    n = int(info["n"])
    raw = np.frombuffer(CODEC.decompress(buf, decompressed_size=int(info["raw"])), dtype=np.uint8)
    widths = dict(zip(_SECTIONS, (int(x) for x in info["w"])))
    out: dict[str, Any] = {}
    pos = 0
    for name in sorted(_SECTIONS, key=lambda x: -widths[x]):
        w = widths[name]
        out[name] = raw[pos:pos + n * w].view(_INT[w])
        pos += n * w
    if info["e0"] != info["e1"]:
        out["exp"] = raw[pos:pos + n].view(np.int8)
        pos += n
    if info["fdict"] is not None:
        nf = info["fdict"].count("\n") + 1
        fw = 1 if nf < 128 else 2
        out["flags"] = raw[pos:pos + n * fw].view(_INT[fw])
        pos += n * fw
    bits = int(info["nulls"])
    nb = (n + 7) // 8
    for cname, bit in _NULL_BIT.items():
        if bits & bit:
            out["null_" + cname] = np.unpackbits(raw[pos:pos + nb], count=n).astype(bool)
            pos += nb
    return out


def _flags(sec: dict[str, Any], info: dict[str, Any], n: int) -> pa.Array:
    """The flag texts as a string array built from its buffers (most bars have none)."""
    if info["fdict"] is None:
        return pa.nulls(n, pa.string())
    codes = sec["flags"]
    texts = [t.encode() for t in info["fdict"].split("\n")]
    lens = np.array([0, *(len(t) for t in texts)], dtype=np.int32)[codes]
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lens, out=offsets[1:])
    data = b"".join(texts[c - 1] for c in codes[codes > 0].tolist())
    valid = np.packbits(codes > 0, bitorder="little")
    return pa.Array.from_buffers(pa.string(), n, [pa.py_buffer(valid), pa.py_buffer(offsets), pa.py_buffer(data)])


def _ticks(sec: dict[str, Any], info: dict[str, Any]) -> dict[str, np.ndarray]:
    close = np.cumsum(sec["close"], dtype=np.int64)
    close += int(info["c0"])
    out = {"close": close}
    for c in ("open", "high", "low"):
        out[c] = sec[c] + close
    return out


def decode(buf: Any, info: dict[str, Any]) -> pa.Table:
    """One series as the bars the read path returns: date, open, high, low, close (float), volume, flags."""
    n = int(info["n"])
    sec = _unpack(buf, info)
    days = np.cumsum(sec["date"], dtype=np.int32)
    days += int(info["d0"])
    ticks = _ticks(sec, info)
    div: Any = _POW10[sec["exp"]] if "exp" in sec else _POW10[int(info["e0"])]
    cols: list[pa.Array] = [pa.Array.from_buffers(pa.date32(), n, [None, pa.py_buffer(days)])]
    for c in ("open", "high", "low", "close"):
        v = ticks[c] / div
        cols.append(pa.array(v, mask=sec["null_" + c]) if "null_" + c in sec else pa.array(v))
    vol = sec["volume"].astype(np.int64)
    cols.append(pa.array(vol, mask=sec["null_volume"]) if "null_volume" in sec else pa.array(vol))
    cols.append(_flags(sec, info, n))
    return pa.Table.from_arrays(cols, schema=BAR_SCHEMA)


def decode_ticks(buf: Any, info: dict[str, Any]) -> pa.Table:
    """One series as the lake's integer columns (:data:`TICK_COLS`), to merge with newer bars."""
    n = int(info["n"])
    sec = _unpack(buf, info)
    days = np.cumsum(sec["date"], dtype=np.int32) + np.int32(info["d0"])
    ticks = _ticks(sec, info)
    exp = sec["exp"].copy() if "exp" in sec else np.full(n, int(info["e0"]), dtype=np.int8)
    cols: list[pa.Array] = [pa.Array.from_buffers(pa.date32(), n, [None, pa.py_buffer(days)])]
    for c in ("open", "high", "low", "close"):
        cols.append(pa.array(ticks[c], mask=sec["null_" + c]) if "null_" + c in sec else pa.array(ticks[c]))
    vol = sec["volume"].astype(np.int64)
    cols.append(pa.array(vol, mask=sec["null_volume"]) if "null_volume" in sec else pa.array(vol))
    cols.append(pa.array(exp))
    cols.append(_flags(sec, info, n))
    return pa.Table.from_arrays(cols, names=list(TICK_COLS))
