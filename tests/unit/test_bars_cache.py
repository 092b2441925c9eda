"""The bars read cache: series blocks decode to the lake's exact prices, a price ingest builds the cache it touched
(the first read after it rebuilds nothing) and leaves to the rebuild on read what it cannot follow."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

import marketwire
from lake_rows import daily_bars  # type: ignore[import-not-found]
from marketwire.datasets import prices as P
from marketwire.prices import blocks
from marketwire.prices.read import BarsCache
from marketwire.store import Lake

pytestmark = pytest.mark.unit

T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)


def _frame() -> pl.DataFrame:
    """Two listings, two sources: nulls in open and volume, an exponent that changes along a series, flags, ticks
    and volumes that need 8 bytes, gaps of many days."""
    d = [date(2020, 1, 2) + timedelta(days=3 * i) for i in range(6)]
    rows = {
        "listing_id": ["MWLA"] * 6 + ["MWLA"] * 3 + ["MWLB"] * 2,
        "source": ["s1"] * 6 + ["s2"] * 3 + ["s1"] * 2,
        "date": d + [d[0], d[2], date(2024, 1, 2)] + [d[0], date(2023, 5, 1)],
        "open": [1001, None, 1003, 99, 100052, 100061, 5, 6, 7, 2**40, 2**41],
        "high": [1010, 1011, 1012, 101, 100100, 100100, 5, 6, 7, 2**40, 2**41 + 3],
        "low": [1000, 1001, 1002, 98, 100000, 100000, 5, 6, 7, 2**40, 2**41 - 1],
        "close": [1005, 1006, 1007, 100, 100050, 100070, 5, 6, 7, 2**40, 2**41],
        "volume": [10, None, 3_000_000_000_000, 0, 7, 8, 1, 2, 3, 4, 5],
        "price_exp": [2, 2, 2, 0, 4, 4, 0, 0, 0, 6, 6],
        "flags": [None, "bar.spike", None, "bar.spike,bar.unit_jump", None, None, None, None, "bar.stale", None, None],
        "basis": ["raw"] * 11, "currency": ["USD"] * 9 + ["GBP"] * 2, "unit_scale": [0] * 9 + [-2] * 2,
        "knowledge_time": [T0] * 11}
    return pl.DataFrame(rows).with_columns(pl.col("price_exp").cast(pl.Int8), pl.col("unit_scale").cast(pl.Int8))


def test_blocks_decode_to_the_exact_prices_of_the_ticks() -> None:
    frame = _frame()
    data, index = blocks.encode(frame, seg=3, offset=100)
    seg = pa.py_buffer(b"\0" * 100 + b"".join(data))
    ix = index.to_pylist()
    assert [(r["listing_id"], r["source"], r["n"]) for r in ix] == [("MWLA", "s1", 6), ("MWLA", "s2", 3),
                                                                   ("MWLB", "s1", 2)]
    assert ix[0]["w"][1:] != "111111" and ix[0]["e0"] == 0 and ix[0]["e1"] == 4 and ix[0]["nulls"] == 1 | 16
    for info, (_, want) in zip(ix, frame.group_by("listing_id", "source", maintain_order=True)):
        got = blocks.decode(seg.slice(info["off"], info["len"]), info)
        assert info["seg"] == 3
        assert got.column("date").to_pylist() == want.get_column("date").to_list()
        for c in ("open", "high", "low", "close"):
            # Python's int / int is correctly rounded, as the lake's ticks / 10**exp is
            expect = [None if t is None else t / 10**e
                      for t, e in zip(want.get_column(c), want.get_column("price_exp"))]
            assert got.column(c).to_pylist() == expect
        assert got.column("volume").to_pylist() == want.get_column("volume").to_list()
        assert got.column("flags").to_pylist() == want.get_column("flags").to_list()
        ticks = blocks.decode_ticks(seg.slice(info["off"], info["len"]), info)
        assert pl.from_arrow(ticks).equals(want.select(blocks.TICK_COLS))  # type: ignore[union-attr]
    assert ix[2]["currency"] == "GBP" and ix[2]["unit_scale"] == -2


def _csv(path: Path, closes: dict[date, float]) -> str:
    lines = ["Date,Open,High,Low,Close,Volume,OpenInt"]
    lines += [f"{d.isoformat()},{c},{c},{c},{c},1000,0" for d, c in closes.items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _sessions(n: int) -> list[date]:
    out, d = [], date(2024, 1, 2)
    while len(out) < n:
        if d.weekday() < 5 and d != date(2024, 1, 15):
            out.append(d)
        d += timedelta(days=1)
    return out


def _no_rebuild(monkeypatch: pytest.MonkeyPatch, cache: BarsCache) -> list[int]:
    calls: list[int] = []
    real = cache._build

    def counted(bucket, path):  # type: ignore[no-untyped-def]
        calls.append(bucket)
        real(bucket, path)

    monkeypatch.setattr(cache, "_build", counted)
    return calls


def _from_lake(mw: marketwire.Marketwire, tmp: Path, symbol: str) -> list[tuple[date, float]]:
    """The same series through a cache rebuilt from the lake alone."""
    fresh = BarsCache(mw.lake, tmp)
    found = fresh.series(mw.prices.listing(symbol))
    assert found is not None
    t = found[0]
    return list(zip(t.column("date").to_pylist(), t.column("close").to_pylist()))


def test_an_ingest_builds_the_cache_it_touched_and_merges_corrections(tmp_path, monkeypatch) -> None:
    mw = marketwire.open(tmp_path / "home")
    calls = _no_rebuild(monkeypatch, mw.prices.bars_cache)
    days = _sessions(30)
    closes = {d: round(50 + i * 0.25, 2) for i, d in enumerate(days[:20])}
    mw.ingest("prices-csv", [_csv(tmp_path / "aaa.us.txt", closes)], preset="kaggle",
              as_of=T0)
    mw.ingest("prices-csv", [_csv(tmp_path / "bbb.us.txt", {d: 7.5 for d in days[:5]})], preset="kaggle",
              as_of=T0)
    assert mw.prices("AAA.US", output="polars").get_column("close").to_list() == list(closes.values())
    assert calls == []  # the first read after the ingests found every bucket built
    # a correction of one bar and ten new sessions: eleven new versions merged into the series' block
    closes[days[3]] = 51.3
    closes.update({d: round(60 + i * 0.25, 2) for i, d in enumerate(days[20:])})
    rep = mw.ingest("prices-csv", [_csv(tmp_path / "aaa.us.txt", closes)], preset="kaggle",
                    as_of=T0 + timedelta(days=1))
    assert rep.accepted == 11
    got = mw.prices("AAA.US", output="polars")
    assert got.get_column("close").to_list() == list(closes.values())
    assert got.get_column("date").to_list() == days
    assert calls == []
    assert list(zip(got.get_column("date").to_list(), got.get_column("close").to_list())) == \
        _from_lake(mw, tmp_path / "other", "AAA.US")
    assert mw.prices("BBB.US", output="polars").get_column("close").to_list() == [7.5] * 5
    folders = sorted(p.name for p in mw.prices.bars_cache.folder.iterdir())
    assert len(folders) == len({n[:3] for n in folders})  # one folder per bucket at rest, no leftovers


def test_a_back_dated_correction_is_left_to_the_rebuild(tmp_path, monkeypatch) -> None:
    mw = marketwire.open(tmp_path / "home")
    calls = _no_rebuild(monkeypatch, mw.prices.bars_cache)
    days = _sessions(5)
    mw.ingest("prices-csv", [_csv(tmp_path / "ccc.us.txt", {d: 10.0 for d in days})], preset="kaggle",
              as_of=T0 + timedelta(days=10))
    assert mw.prices("CCC.US", output="polars").get_column("close").to_list() == [10.0] * 5
    # a delivery known earlier than what is stored: the stored bars stay the latest versions
    mw.ingest("prices-csv", [_csv(tmp_path / "ccc.us.txt", {d: 11.0 for d in days})], preset="kaggle", as_of=T0)
    assert mw.prices("CCC.US", output="polars").get_column("close").to_list() == [10.0] * 5
    assert len(calls) == 1
    assert mw.prices("CCC.US", output="polars", as_of=T0 + timedelta(days=1)).get_column("close").to_list() == \
        [11.0] * 5


def test_a_build_is_installed_only_over_the_files_it_was_built_from(tmp_path) -> None:
    lake = Lake(tmp_path / "lake")
    d = [date(2024, 1, 2) + timedelta(days=i) for i in range(4)]
    lake.append(P.BARS_DAILY, daily_bars({d[0]: 10000, d[1]: 10100}, T0))
    cache = BarsCache(lake, tmp_path / "cache")
    assert cache.series("MWL1")[0].column("close").to_pylist() == [100.0, 101.0]  # type: ignore[index]
    mine = daily_bars({d[2]: 10200}, T0 + timedelta(days=2))
    before = cache.before_write()
    built = cache.build(pl.from_arrow(mine), before)  # type: ignore[arg-type]
    assert len(built) == 1
    lake.append(P.BARS_DAILY, daily_bars({d[3]: 10300}, T0 + timedelta(days=1)))  # another writer, same bucket
    lake.append(P.BARS_DAILY, mine)
    assert cache.install(built, "i03") == 0
    cache.invalidate()
    assert cache.series("MWL1")[0].column("close").to_pylist() == [100.0, 101.0, 102.0, 103.0]  # type: ignore[index]
    # alone, the same build is installed and read as built
    more = daily_bars({d[1]: 10150}, T0 + timedelta(days=4))
    built = cache.build(pl.from_arrow(more), cache.before_write())  # type: ignore[arg-type]
    lake.append(P.BARS_DAILY, more)
    assert cache.install(built, "i05") == 1
    cache.invalidate()
    got = cache.series("MWL1")[0]  # type: ignore[index]
    assert got.column("close").to_pylist() == [100.0, 101.5, 102.0, 103.0]
    assert np.array_equal(got.column("date").to_numpy(), np.array(d, dtype="datetime64[D]"))


def _series(lid: str, closes: dict[date, int], when: datetime) -> pa.Table:
    t = daily_bars(closes, when)
    return t.set_column(t.schema.get_field_index("listing_id"), "listing_id", pa.array([lid] * t.num_rows)) \
        .set_column(0, "bucket", pa.array([P.bucket_of(lid)] * t.num_rows, pa.int16()))


def test_replaced_blocks_are_compacted_and_the_kept_ones_copied_intact(tmp_path) -> None:
    """Two series in one bucket; the long one is replaced twice: its dead blocks outweigh the live ones, the
    bucket's segments are rewritten into one, and both series still read exactly."""
    b = P.bucket_of("MWL1")
    other = next(f"MWL{i}" for i in range(2, 500) if P.bucket_of(f"MWL{i}") == b)
    lake = Lake(tmp_path / "lake")
    cache = BarsCache(lake, tmp_path / "cache")
    days = [date(2020, 1, 1) + timedelta(days=i) for i in range(400)]
    short = _series(other, {d: 500 + i for i, d in enumerate(days[:5])}, T0)
    ticks = {d: 10000 + 37 * i for i, d in enumerate(days)}
    for k, t in enumerate([pa.concat_tables([short, _series("MWL1", ticks, T0)]),
                           _series("MWL1", {d: v + 1 for d, v in ticks.items()}, T0 + timedelta(days=1)),
                           _series("MWL1", {d: v + 2 for d, v in ticks.items()}, T0 + timedelta(days=2))]):
        t = t.set_column(t.schema.get_field_index("ingest_id"), "ingest_id", pa.array([f"k{k}"] * t.num_rows))
        built = cache.build(pl.from_arrow(t), cache.before_write())  # type: ignore[arg-type]
        lake.append(P.BARS_DAILY, t)
        assert cache.install(built, f"k{k}") == 1
        folder = next(p for p in cache.folder.iterdir() if p.name.startswith(f"b{b:02d}-"))
        segs = sorted(p.name for p in folder.glob("seg-*.bin"))
        cache.invalidate()
        assert cache.series("MWL1")[0].column("close").to_pylist() == \
            [(v + k) / 100 for v in ticks.values()]  # type: ignore[index]
        short_closes = cache.series(other)[0].column("close").to_pylist()  # type: ignore[index]
        assert short_closes == [5.0, 5.01, 5.02, 5.03, 5.04]
        # first state: one segment; then the long series' old block is more than half the bytes: compacted into
        # seg-00000 (the short series' block copied) and the new block in seg-00001
        assert segs == (["seg-00000.bin"] if k == 0 else ["seg-00000.bin", "seg-00001.bin"])
        if k:  # seg-00000 holds the short series' block alone: the replaced long ones are gone
            assert (folder / "seg-00000.bin").stat().st_size == cache.series(other)[1]["len"]  # type: ignore[index]
    assert len(list(cache.folder.iterdir())) == len({p.name[:3] for p in cache.folder.iterdir()})
