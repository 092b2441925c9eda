"""Reading bars: the read cache (current knowledge) and the point-in-time path (``as_of``).

The cache holds the latest version of every bar of every source, per bucket of listings, as one compressed block
per series (:mod:`marketwire.prices.blocks`) in memory-mapped segment files, with an index (listing, source) ->
block. A price ingest builds the blocks of the series it touched from the verified rows it writes (merged with the
series' current blocks) while the Delta write runs; a bucket the cache cannot follow that way (another writer, a
back-dated correction, a cache of another format) is rebuilt from the lake by DuckDB with bounded memory on the
next read. ``as_of`` reads go to the Delta tables.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from marketwire.datasets import prices as P
from marketwire.prices import blocks
from marketwire.store import Lake
from marketwire.store.lake import arrow_of

#: the source a listing's default series comes from: most bars; on a tie, raw before adjusted data
BASIS_RANK = {"raw": 0, "split_adjusted": 1, "adjusted": 2}
CACHE_COLS = ("date", "open", "high", "low", "close", "volume", "flags", "basis", "currency", "unit_scale", "source",
              "knowledge_time")


def _series_sql(where: str = "") -> str:
    """Bars with float prices from the latest-version view ``t``."""
    return f"""
        SELECT listing_id, source, "date",
               "open" / pow(10, price_exp) AS "open", high / pow(10, price_exp) AS high,
               low / pow(10, price_exp) AS low, "close" / pow(10, price_exp) AS "close",
               volume, flags, basis, currency, unit_scale, knowledge_time
        FROM t {where}"""


_SCHEMA = blocks.BAR_SCHEMA


#: bump when the cache files change shape (a cache of another format is rebuilt, never misread)
CACHE_FORMAT = 4
#: a bucket's segments are rewritten into one when more than this share of their bytes is replaced blocks, or when
#: there are more than MAX_SEGMENTS of them
DEAD_SHARE = 0.5
MAX_SEGMENTS = 32
#: what a block build reads from the lake or from a delivery, besides the per-bar tick columns
_SERIES_COLS = ("listing_id", "source", *blocks.TICK_COLS, "basis", "currency", "unit_scale", "knowledge_time")


def _stamp_of(paths: Any) -> str:
    """The name of a set of Delta files: a cache folder holds the latest bars of exactly this set."""
    return hashlib.blake2b("\n".join(sorted(paths)).encode(), digest_size=8).hexdigest()


@dataclass
class Built:
    """A bucket's new cache folder, built at ingest from the state named ``before`` (None: no files) and the
    delivery's rows, not yet named: it is named after the Delta write, when the files it holds are known."""

    bucket: int
    before: str | None
    tmp: Path


def bucket_filter(buckets: Any) -> list[tuple[str, str, Any]]:
    return [("bucket", "in", [str(b) for b in sorted(set(buckets))])]


class BarsCache:
    """Per bucket of listings, the latest bars (one compressed block per series, in memory-mapped segment files)
    and an index (listing, source) -> block.

    A bucket's folder is named by its set of Delta files. A price ingest writes the folders of the buckets it
    touched (:meth:`before_write`, :meth:`build`, :meth:`install`); any other change is rebuilt on the next read,
    one bucket at a time (DuckDB, bounded memory, spills to disk).

    Readers see one state (:class:`BarsCache.View`) at a time, replaced whole. By default the first read after a
    change refreshes it (a process reads its own writes). With ``background=True`` (a long-lived server), once a
    state is served a change is refreshed by one background thread while readers keep the old tables, and a
    failed refresh is logged and retried with backoff (see :class:`marketwire.identity.index.BackgroundRefresh`).
    """

    @dataclass(frozen=True)
    class View:
        stamp: str | None = None
        buckets: dict[int, str] = field(default_factory=dict)  # bucket -> stamp of its files
        tables: dict[int, tuple[dict[int, pa.Buffer], pl.DataFrame]] = field(default_factory=dict)
        offsets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
        primary: dict[str, str] = field(default_factory=dict)
        actions: dict[str, pl.DataFrame] = field(default_factory=dict)
        actions_version: int | None = -1

    def __init__(self, lake: Lake, folder: Path, check_every: float = 1.0, background: bool = False, *,
                 retry_after: float = 5.0, retry_max: float = 300.0, settle: float = 1.0) -> None:
        from marketwire.identity.index import BackgroundRefresh

        self.lake = lake
        self.folder = folder / "bars"
        self.check_every = check_every
        self.background = background
        self._lock = threading.RLock()  # refreshes on a caller's thread
        self._view = BarsCache.View()
        self._checked = 0.0
        self._refresh = BackgroundRefresh("bars cache", self._current_stamp, lambda: self._view.stamp,
                                          lambda stamp: self._refreshed(self._view, stamp), self._install,
                                          None, retry_after, retry_max, settle)

    def _current_stamp(self) -> str:
        v = self.lake.versions([P.BARS_DAILY.name, P.CORPORATE_ACTIONS.name])
        return "-".join("x" if x is None else str(x) for x in v.values())

    def invalidate(self) -> None:
        with self._lock:
            self._checked = float("-inf")

    def ensure(self) -> None:
        self._current()

    def _current(self) -> BarsCache.View:
        """The state to read: checked against the lake at most once per ``check_every``; refreshed here when it
        moved (synchronous mode, or nothing served yet), or by the background thread."""
        view = self._view
        if view.stamp is not None and time.monotonic() - self._checked < self.check_every:
            return view
        if self.background and view.stamp is not None:
            stamp = self._current_stamp()
            self._checked = time.monotonic()
            if stamp != view.stamp:
                self._refresh.request(stamp)
            return view
        with self._lock:
            stamp = self._current_stamp()
            self._checked = time.monotonic()
            if stamp != self._view.stamp:
                self._view = self._refreshed(self._view, stamp)
            return self._view

    def _install(self, view: BarsCache.View) -> BarsCache.View:
        old, self._view = self._view, view
        return old

    def refreshing(self) -> bool:
        """Whether a background refresh is running now."""
        return self._refresh.running()

    def state(self) -> dict[str, Any]:
        """For health reporting: the served stamp, whether a refresh runs, the last failure."""
        return {"background": self.background, "stamp": self._view.stamp, **self._refresh.state()}

    def wait_fresh(self, timeout: float = 60.0) -> bool:
        """Block until the served state is the lake's current one; False after ``timeout`` seconds."""
        return self._refresh.wait_fresh(lambda: self._current().stamp, self.invalidate, self.background, timeout)

    def status(self) -> dict[str, Any]:
        """The buckets on disk against the lake's files: how many are built for the current files (the others are
        built on the next read), and leftovers of killed builds."""
        stamps = self._file_stamps()
        built = sum((self.folder / f"b{b:02d}-{st}-v{CACHE_FORMAT}" / "done").exists() for b, st in stamps.items())
        left = len(list(self.folder.glob("*.tmp"))) if self.folder.exists() else 0
        return {"buckets": len(stamps), "built": built, "leftovers": left}

    def _refreshed(self, old: BarsCache.View, stamp: str) -> BarsCache.View:
        """A new state from ``old``: the changed buckets rebuilt and opened, the others shared."""
        buckets, tables = self._refresh_bars(old)
        index = self._index(tables) if tables is not old.tables else (old.offsets, old.primary)
        actions, actions_version = self._refresh_actions(old)
        return BarsCache.View(stamp, buckets, tables, *index, actions, actions_version)

    # -- bars -----------------------------------------------------------------------------------------
    def _files(self, ingest_id: str | None = None) -> dict[int, tuple[list[str], set[str]]]:
        """Per bucket: the paths of the current Delta files, and those that ``ingest_id`` alone wrote (by the
        files' statistics)."""
        files = self.lake.files(P.BARS_DAILY)
        if not files.num_rows:
            return {}
        col = "partition.bucket" if "partition.bucket" in files.column_names else None
        mine = [False] * files.num_rows
        if ingest_id is not None and "min.ingest_id" in files.column_names:
            mine = [a == ingest_id and b == ingest_id for a, b in zip(files.column("min.ingest_id").to_pylist(),
                                                                      files.column("max.ingest_id").to_pylist())]
        by: dict[int, tuple[list[str], set[str]]] = {}
        for path, b, m in zip(files.column("path").to_pylist(),
                              files.column(col).to_pylist() if col else [0] * files.num_rows, mine):
            paths, own = by.setdefault(int(b), ([], set()))
            paths.append(path)
            if m:
                own.add(path)
        return by

    def _file_stamps(self) -> dict[int, str]:
        return {b: _stamp_of(ps) for b, (ps, _) in self._files().items()}

    def _path(self, bucket: int, stamp: str) -> Path:
        return self.folder / f"b{bucket:02d}-{stamp}-v{CACHE_FORMAT}"

    def _drop_others(self, bucket: int, keep: Path) -> None:
        # the old files may still be mapped by readers of the old state: on POSIX a mapping outlives the unlink
        for stale in self.folder.glob(f"b{bucket:02d}-*"):
            if stale != keep and not (stale.name.endswith(".tmp") and _building(stale.name)):
                shutil.rmtree(stale, ignore_errors=True)

    def _refresh_bars(self, old: BarsCache.View
                      ) -> tuple[dict[int, str], dict[int, tuple[dict[int, pa.Buffer], pl.DataFrame]]]:
        stamps = self._file_stamps()
        changed = [b for b, st in stamps.items() if old.buckets.get(b) != st]
        gone = [b for b in old.buckets if b not in stamps]
        if not changed and not gone:
            return dict(stamps), old.tables
        tables = dict(old.tables)
        for b in changed:
            path = self._path(b, stamps[b])
            if not (path / "done").exists():
                self._build(b, path)
            tables[b] = self._open(b, path)
            self._drop_others(b, path)
        for b in gone:
            tables.pop(b, None)
        return dict(stamps), tables

    def _build(self, bucket: int, path: Path) -> None:
        """The bucket's latest bars from the lake, sorted by (listing, source, date), as series blocks in one
        segment, read in batches (a series that straddles two batches is encoded whole with the next)."""
        from marketwire.store import duck
        import pyarrow.parquet as pq

        tmp = path.with_name(path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        con = duck.connect()
        index: list[pa.Table] = []
        try:
            from marketwire.identity.index import _memory_limit

            con.execute(f"SET memory_limit='{_memory_limit()}'")
            con.execute(f"SET temp_directory='{tmp / 'spill'}'")
            src = self.lake.dataset(P.BARS_DAILY, bucket_filter([bucket]))
            sql, args = self.lake.latest_sql(P.BARS_DAILY, con, src)
            cols = ", ".join(f'"{c}"' for c in _SERIES_COLS)
            reader = con.sql(f'SELECT {cols} FROM ({sql}) ORDER BY listing_id, source, "date"',
                             params=args or None).to_arrow_reader(1 << 20)
            carry: pl.DataFrame | None = None
            off = 0
            with open(tmp / "seg-00000.bin", "wb") as out:
                for batch in reader:
                    df = pl.from_arrow(pa.Table.from_batches([batch]))
                    assert isinstance(df, pl.DataFrame)
                    df = df if carry is None else pl.concat([carry, df], how="vertical_relaxed")
                    last = df.select("listing_id", "source").row(df.height - 1)
                    tail = (pl.col("listing_id") == last[0]) & (pl.col("source") == last[1])
                    carry, df = df.filter(tail), df.filter(~tail)
                    off = self._write_blocks(df, out, 0, off, index)
                if carry is not None:
                    self._write_blocks(carry, out, 0, off, index)
        finally:
            con.close()
        pq.write_table(pa.concat_tables(index) if index else blocks.INDEX_SCHEMA.empty_table(),
                               tmp / "series-index.parquet")
        shutil.rmtree(tmp / "spill", ignore_errors=True)
        (tmp / "done").touch()
        shutil.rmtree(path, ignore_errors=True)
        tmp.rename(path)

    @staticmethod
    def _write_blocks(df: pl.DataFrame, out: Any, seg: int, off: int, index: list[pa.Table]) -> int:
        if not df.height:
            return off
        data, ix = blocks.encode(df.select(_SERIES_COLS), seg, off)
        out.write(b"".join(data))
        index.append(ix)
        return off + sum(len(b) for b in data)

    def _open(self, bucket: int, path: Path) -> tuple[dict[int, pa.Buffer], pl.DataFrame]:
        import pyarrow.parquet as pq

        index = pl.from_arrow(pq.read_table(path / "series-index.parquet"))
        assert isinstance(index, pl.DataFrame)
        segs = {int(s): _map(path, int(s)) for s in index.get_column("seg").unique().to_list()}
        return segs, index.with_columns(pl.lit(bucket).alias("bucket"))

    # -- built at ingest ------------------------------------------------------------------------------------------
    def before_write(self) -> dict[int, str]:
        """The stamps of the buckets as they are before a delivery's Delta write (call before it starts)."""
        return self._file_stamps()

    def build(self, rows: pl.DataFrame, before: dict[int, str]) -> list[Built]:
        """The new folders of the buckets ``rows`` (the delivery's appended bars, with ``bucket``) touch: each is
        the bucket's folder for the state ``before`` with the touched series re-encoded from their current block
        and the new rows. A bucket whose folder for ``before`` does not exist, or whose new rows are known earlier
        than a version already cached (a back-dated correction), is left to the rebuild on read.

        The delivery is sorted and encoded in one pass over all its buckets (a handful of columnar operations,
        whatever the number of series), then each bucket's blocks go to a new segment of its folder."""
        import pyarrow.parquet as pq

        rows = rows.select("bucket", *_SERIES_COLS)
        runs = blocks.spans(rows)
        if runs is None:
            rows = _sorted(rows)
            runs = blocks.spans(rows)
            assert runs is not None
        bk = rows.get_column("bucket").to_numpy()
        order = np.argsort(bk[runs[0]], kind="stable")  # the series bucket by bucket, none of the rows moved
        starts, ends = runs[0][order], runs[1][order]
        keys = rows.select("listing_id", "source")[pl.Series(starts)].to_arrow()
        sbucket = bk[starts].tolist()
        kt = rows.get_column("knowledge_time").cast(pl.Int64).to_numpy()
        ktmin = (-blocks.run_max(-kt, starts)).tolist()
        olds: dict[int, tuple[Path | None, dict[int, pa.Buffer], pa.Table]] = {}
        for b in sorted(set(sbucket)):
            stamp = before.get(b)
            old = self._path(b, stamp) if stamp is not None else None
            if old is not None and not (old / "done").exists():
                continue
            if old is None:
                olds[b] = (None, {}, blocks.INDEX_SCHEMA.empty_table())
            else:
                ix = pq.read_table(old / "series-index.parquet")
                olds[b] = (old, {int(x): _map(old, int(x)) for x in set(ix.column("seg").to_pylist())}, ix)
        # the series the delivery touches that the cache holds: decoded, to be merged with the delivery's rows
        where = {b: {k: i for i, k in enumerate(zip(ix.column("listing_id").to_pylist(),
                                                    ix.column("source").to_pylist()))}
                 for b, (_, _, ix) in olds.items()}
        touched: dict[int, set[int]] = {b: set() for b in olds}
        old_series: list[pa.Table] = []
        for (lid, src), b, k in zip(zip(keys.column(0).to_pylist(), keys.column(1).to_pylist()), sbucket, ktmin):
            if b not in olds or (lid, src) not in where[b]:
                continue
            _, segs, ix = olds[b]
            info = ix.slice(where[b][(lid, src)], 1).to_pylist()[0]
            if k < int(pa.scalar(info["knowledge_time"], pa.timestamp("us", tz="UTC")).cast(pa.int64()).as_py()):
                touched.pop(b, None)  # the cached version of some bar may stay the latest: only the lake can say
                olds.pop(b)
                continue
            touched[b].add(where[b][(lid, src)])
            t = blocks.decode_ticks(segs[info["seg"]].slice(info["off"], info["len"]), info)
            n = t.num_rows
            const = {"bucket": pa.repeat(pa.scalar(b, pa.int16()), n), "listing_id": pa.repeat(lid, n),
                     "source": pa.repeat(src, n), "basis": pa.repeat(pa.scalar(info["basis"], pa.string()), n),
                     "currency": pa.repeat(pa.scalar(info["currency"], pa.string()), n),
                     "unit_scale": pa.repeat(pa.scalar(info["unit_scale"], pa.int8()), n),
                     "knowledge_time": pa.repeat(pa.scalar(info["knowledge_time"],
                                                           pa.timestamp("us", tz="UTC")), n)}
            old_series.append(pa.table({c: const[c] if c in const else t.column(c) for c in ("bucket",
                                                                                           *_SERIES_COLS)}))
        rows = rows.filter(pl.col("bucket").is_in(list(olds))) if len(olds) < len(set(sbucket)) else rows
        if not olds:
            return []
        if any(touched.values()):  # the delivery's rows first: a bar it brings replaces the cached one of that date
            old_frame = pl.from_arrow(pa.concat_tables(old_series, promote_options="permissive"))
            assert isinstance(old_frame, pl.DataFrame)
            rows = _sorted(pl.concat([rows, old_frame.filter(pl.col("bucket").is_in(list(olds)))],
                                     how="vertical_relaxed").unique(["listing_id", "source", "date"], keep="first",
                                                                    maintain_order=True))
            runs = blocks.spans(rows)
            assert runs is not None
            starts, ends = runs
        elif len(olds) < len(set(sbucket)):  # rows of buckets left to the rebuild were dropped
            runs = blocks.spans(rows)
            assert runs is not None
            order = np.argsort(rows.get_column("bucket").to_numpy()[runs[0]], kind="stable")
            starts, ends = runs[0][order], runs[1][order]
        data, index = blocks.encode(rows.select(_SERIES_COLS), 0, runs=(starts, ends))
        ib = rows.get_column("bucket").to_numpy()[starts]
        edges = np.flatnonzero(np.diff(ib, prepend=-1, append=-1))
        out = []
        for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist()):
            b = int(ib[lo])
            old, segs, ix = olds[b]
            tmp = self.folder / f"b{b:02d}-ingest-{os.getpid()}-{threading.get_ident()}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            keep = np.ones(ix.num_rows, dtype=bool)
            keep[list(touched.get(b, ()))] = False
            self._write_bucket(tmp, old, segs, ix.filter(pa.array(keep)), data[lo:hi], index.slice(lo, hi - lo))
            out.append(Built(b, before.get(b), tmp))
        return out

    @staticmethod
    def _write_bucket(tmp: Path, old: Path | None, segs: dict[int, pa.Buffer], kept: pa.Table, new: list[bytes],
                      new_index: pa.Table) -> None:
        """A bucket's folder: the kept blocks (their segments linked, or copied into one when the segments hold
        too many replaced blocks) and the new blocks in a new segment."""
        import pyarrow.parquet as pq

        live = int(kept.column("len").to_numpy().sum())
        total = sum(buf.size for buf in segs.values())
        if segs and (total - live > DEAD_SHARE * total or len(segs) >= MAX_SEGMENTS):
            with open(tmp / "seg-00000.bin", "wb") as f:
                moved, off = [], 0
                for seg, o, n in zip(kept.column("seg").to_pylist(), kept.column("off").to_pylist(),
                                     kept.column("len").to_pylist()):
                    f.write(segs[seg].slice(o, n).to_pybytes())
                    moved.append(off)
                    off += n
            kept = kept.set_column(kept.schema.get_field_index("seg"), "seg",
                                   pa.array(np.zeros(kept.num_rows, dtype=np.int32)))
            kept = kept.set_column(kept.schema.get_field_index("off"), "off", pa.array(moved, pa.int64()))
            seg = 1
        else:
            for s in set(kept.column("seg").to_pylist()):
                _link(old / f"seg-{s:05d}.bin", tmp / f"seg-{s:05d}.bin")  # type: ignore[operator]
            seg = max(segs) + 1 if segs else 0
        lens = np.array([len(x) for x in new], dtype=np.int64)
        offs = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
        new_index = new_index.set_column(new_index.schema.get_field_index("seg"), "seg",
                                         pa.array(np.full(len(new), seg, dtype=np.int32)))
        new_index = new_index.set_column(new_index.schema.get_field_index("off"), "off", pa.array(offs))
        with open(tmp / f"seg-{seg:05d}.bin", "wb") as f:
            f.write(b"".join(new))
        both = pa.concat_tables([kept.cast(blocks.INDEX_SCHEMA), new_index.cast(blocks.INDEX_SCHEMA)])
        pq.write_table(both.sort_by([("listing_id", "ascending"), ("source", "ascending")]),
                       tmp / "series-index.parquet")

    def install(self, built: list[Built], ingest_id: str) -> int:
        """After the delivery's Delta write: each built folder gets the name of its bucket's files when they are
        exactly the files of the state it was built from plus those this ingest wrote; else it is dropped (another
        writer was there too) and the read path rebuilds the bucket. Returns how many folders were installed."""
        if not built:
            return 0
        files = self._files(ingest_id)
        done = 0
        for one in built:
            paths, mine = files.get(one.bucket, ([], set()))
            rest = [p for p in paths if p not in mine]
            if mine and (_stamp_of(rest) if rest else None) == one.before:
                final = self._path(one.bucket, _stamp_of(paths))
                (one.tmp / "done").touch()
                shutil.rmtree(final, ignore_errors=True)
                one.tmp.rename(final)
                self._drop_others(one.bucket, final)
                done += 1
            else:
                shutil.rmtree(one.tmp, ignore_errors=True)
        return done

    @staticmethod
    def _index(tables: dict[int, tuple[dict[int, pa.Buffer], pl.DataFrame]]
               ) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, str]]:
        """(listing, source) -> its series: bucket, first row, rows and constants; each listing's primary source."""
        frames = [ix for _, ix in tables.values() if ix.height]
        offsets: dict[tuple[str, str], dict[str, Any]] = {}
        cands: dict[str, list[tuple[int, int, str]]] = {}
        for ix in frames:
            for r in ix.iter_rows(named=True):
                offsets[(r["listing_id"], r["source"])] = r
                cands.setdefault(r["listing_id"], []).append((-int(r["n"]), BASIS_RANK.get(r["basis"], 9),
                                                             r["source"]))
        return offsets, {lst: sorted(c)[0][2] for lst, c in cands.items()}

    # -- actions --------------------------------------------------------------------------------------
    def _refresh_actions(self, old: BarsCache.View) -> tuple[dict[str, pl.DataFrame], int | None]:
        v = self.lake.version(P.CORPORATE_ACTIONS.name)
        if v == old.actions_version:
            return old.actions, v
        acts = pl.from_arrow(self.lake.read(P.CORPORATE_ACTIONS)) if v is not None else pl.DataFrame()
        assert isinstance(acts, pl.DataFrame)
        actions = {k[0]: df for k, df in acts.partition_by("listing_id", as_dict=True).items()} if acts.height else {}
        return actions, v

    # -- reads ----------------------------------------------------------------------------------------
    def listings(self) -> list[str]:
        return sorted(self._current().primary)

    def sources_of(self, listing_id: str) -> list[str]:
        return sorted(s for (lst, s) in self._current().offsets if lst == listing_id)

    def primary(self, listing_id: str) -> str | None:
        return self._current().primary.get(listing_id)

    def series(self, listing_id: str, source: str | None = None) -> tuple[pa.Table, dict[str, Any]] | None:
        """The bars of one series (its block decoded) and what is constant along it (source, basis, currency...)."""
        view = self._current()
        src = source or view.primary.get(listing_id)
        info = view.offsets.get((listing_id, src)) if src else None
        if info is None:
            return None
        seg = view.tables[info["bucket"]][0][info["seg"]]
        return blocks.decode(seg.slice(info["off"], info["len"]), info), info

    def actions(self, listing_id: str) -> pl.DataFrame:
        found = self._current().actions.get(listing_id)
        if found is not None:
            return found
        return _no_actions()


_NO_ACTIONS: list[pl.DataFrame] = []


def _no_actions() -> pl.DataFrame:
    """The empty ledger of a listing without actions (made once: a read of such a listing needs no frame built)."""
    if not _NO_ACTIONS:
        empty = pl.from_arrow(P.CORPORATE_ACTIONS.schema.empty_table())
        assert isinstance(empty, pl.DataFrame)
        _NO_ACTIONS.append(empty)
    return _NO_ACTIONS[0]


def _sorted(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows by bucket, series and date; the series ordered by integer codes of listing and source (no string
    comparisons): blocks need each series as one run in date order, not the names' order."""
    return rows.with_columns(pl.col("listing_id").cast(pl.Categorical).to_physical().alias("_l"),
                             pl.col("source").cast(pl.Categorical).to_physical().alias("_s")).sort(
        "bucket", "_l", "_s", "date").drop("_l", "_s")


def _building(name: str) -> bool:
    """Whether the ingest that names a temporary folder (``bNN-ingest-PID-THREAD.tmp``) may still be building it:
    its process runs (a folder left by a process that died is removed with the stale ones)."""
    parts = name.split("-")
    if len(parts) < 4 or parts[1] != "ingest" or not parts[2].isdigit():
        return False  # a rebuild's temporary folder: removed with the stale ones, as before
    try:
        os.kill(int(parts[2]), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _map(folder: Path, seg: int) -> pa.Buffer:
    """A segment file memory-mapped (a zero-copy buffer of its bytes)."""
    return pa.memory_map(str(folder / f"seg-{seg:05d}.bin"), "r").read_buffer()


def _link(src: Path, dst: Path) -> None:
    """A segment shared by two states of a bucket: a hard link (the bytes stay once on disk), else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def series_as_of(lake: Lake, listing_id: str, as_of: datetime, source: str | None = None
                 ) -> tuple[tuple[pa.Table, dict[str, Any]] | None, pl.DataFrame]:
    """The series of ``listing_id`` as known at ``as_of`` (Delta tables, latest version per key known then)."""
    from marketwire.store import duck

    src = lake.dataset(P.BARS_DAILY, bucket_filter([P.bucket_of(listing_id)]))
    if src is None:
        return None, pl.DataFrame()
    con = duck.connect()
    try:
        sql, args = lake.latest_sql(P.BARS_DAILY, con, src, as_of=as_of, where="listing_id = ?", params=[listing_id])
        t = arrow_of(con.execute(_series_sql().replace("FROM t", f"FROM ({sql}) latest")
                                 + " ORDER BY source, \"date\"", args))
    finally:
        con.close()
    df = pl.from_arrow(t)
    assert isinstance(df, pl.DataFrame)
    if not df.height:
        return None, pl.DataFrame()
    if source is None:
        counts = df.group_by("source", "basis").len().with_columns(
            pl.col("basis").replace_strict(BASIS_RANK, default=9).alias("_r")).sort(
            [pl.col("len"), pl.col("_r")], descending=[True, False])
        source = counts.get_column("source")[0]
    one = df.filter(pl.col("source") == source)
    acts = pl.from_arrow(lake.read(P.CORPORATE_ACTIONS, as_of=as_of, where="listing_id = ?", params=[listing_id])) \
        if lake.exists(P.CORPORATE_ACTIONS) else pl.DataFrame()
    assert isinstance(acts, pl.DataFrame)
    if not one.height:
        return None, acts
    first = one.row(0, named=True)
    info = {"listing_id": listing_id, "source": source, "n": one.height, "basis": first["basis"],
            "currency": first["currency"], "unit_scale": first["unit_scale"],
            "knowledge_time": one.get_column("knowledge_time").max()}
    return (one.select(_SCHEMA.names).to_arrow().cast(_SCHEMA), info), acts


CONVENTIONS = ("prev_close", "ex_close")


def adjustment_factors(dates: np.ndarray, close: np.ndarray, actions: pl.DataFrame, basis: str, adjust: str,
                       source: str | None = None, convention: str = "prev_close"
                       ) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Multiplicative (CRSP-style) factors for prices and volumes, one per row, and the factor table.

    For a split of ratio r (new shares per old) on ex date e, every bar before e is multiplied by 1/r (volume by
    r). For a cash dividend D on e, every bar before e is multiplied by

    - ``prev_close`` (default, CRSP): 1 - D / C, where C is the close of the last session before e;
    - ``ex_close`` (Quandl WIKI): C_e / (C_e + D), where C_e is the close on the ex date itself.

    Capital gains count as distributions unless
    the source counts them inside the dividend (flag ``capital_gain.in_dividend``). A series the vendor delivered
    adjusted is not adjusted again; a split-adjusted one gets only the dividends.
    """
    n = len(dates)
    step_p = np.ones(n)
    step_v = np.ones(n)
    table: list[dict[str, Any]] = []
    if adjust == "none" or basis == "adjusted" or n == 0 or actions.height == 0:
        return np.ones(n), np.ones(n), table
    acts = actions
    if source is not None and "source" in acts.columns:
        own = acts.filter(pl.col("source") == source)
        acts = own if own.height else acts
    acts = acts.sort("ex_date")
    day = dates.astype("datetime64[D]")
    for ex_date, typ, value, flags in acts.select("ex_date", "type", "value", "flags").iter_rows():
        i = int(np.searchsorted(day, np.datetime64(ex_date, "D"), side="left"))
        if i == 0 or value is None:
            continue
        if typ == "split" and basis == "raw" and value > 0:
            f_p, f_v = 1.0 / value, value
        elif typ in ("dividend", "capital_gain") and adjust == "total_return":
            if typ == "capital_gain" and flags and "capital_gain.in_dividend" in flags:
                continue
            if convention == "ex_close":
                if i >= n or not close[i]:
                    continue
                f_p, f_v = close[i] / (close[i] + value), 1.0
            else:
                prev = close[i - 1]
                if not prev or prev <= value:
                    continue
                f_p, f_v = 1.0 - value / prev, 1.0
        else:
            continue
        step_p[i - 1] *= f_p
        step_v[i - 1] *= f_v
        table.append({"ex_date": ex_date, "type": typ, "value": value, "price_factor": f_p, "volume_factor": f_v})
    fp = np.cumprod(step_p[::-1])[::-1]
    fv = np.cumprod(step_v[::-1])[::-1]
    return fp, fv, table
