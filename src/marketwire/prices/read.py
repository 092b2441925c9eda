"""Reading bars: the read cache (current knowledge) and the point-in-time path (``as_of``).

The cache holds the latest version of every bar of every source as one Arrow IPC file sorted by (listing,
source, date), memory-mapped, with an offset table: a full 50-year history is a zero-copy slice. It is rebuilt
(by DuckDB, with bounded memory) when the lake's bars or actions change. ``as_of`` reads go to the Delta tables.
"""

from __future__ import annotations

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
import pyarrow.ipc as ipc

from marketwire.datasets import prices as P
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


_SCHEMA = pa.schema([("date", pa.date32()), ("open", pa.float64()), ("high", pa.float64()), ("low", pa.float64()),
                     ("close", pa.float64()), ("volume", pa.int64()), ("flags", pa.string())])


#: bump when the cache files change shape (a cache of another format is rebuilt, never misread)
CACHE_FORMAT = 3


def bucket_filter(buckets: Any) -> list[tuple[str, str, Any]]:
    return [("bucket", "in", [str(b) for b in sorted(set(buckets))])]


class BarsCache:
    """Per bucket of listings, the latest bars (Arrow IPC, memory-mapped) and an index (listing, source) -> rows.

    A bucket is rebuilt only when its set of Delta files changed, so an ingest of a few listings rebuilds a few
    buckets, and at most one bucket is in memory while it is built (DuckDB, bounded memory, spills to disk).

    Readers see one state (:class:`BarsCache.View`) at a time, replaced whole. By default the first read after a
    change refreshes it (a process reads its own writes). With ``background=True`` (a long-lived server), once a
    state is served a change is refreshed by one background thread while readers keep the old tables, and a
    failed refresh is logged and retried with backoff (see :class:`marketwire.identity.index.BackgroundRefresh`).
    """

    @dataclass(frozen=True)
    class View:
        stamp: str | None = None
        buckets: dict[int, str] = field(default_factory=dict)  # bucket -> stamp of its files
        tables: dict[int, tuple[pa.Table, pl.DataFrame]] = field(default_factory=dict)
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
        deadline = time.monotonic() + timeout
        while True:
            self.invalidate()
            if self._current().stamp == self._current_stamp():
                return True
            if self.background and not self._refresh.wait_round(deadline):
                return False

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
    def _file_stamps(self) -> dict[int, str]:
        import hashlib

        files = self.lake.files(P.BARS_DAILY)
        if not files.num_rows:
            return {}
        col = "partition.bucket" if "partition.bucket" in files.column_names else None
        by: dict[int, list[str]] = {}
        for path, b in zip(files.column("path").to_pylist(),
                           files.column(col).to_pylist() if col else [0] * files.num_rows):
            by.setdefault(int(b), []).append(path)
        return {b: hashlib.blake2b("\n".join(sorted(ps)).encode(), digest_size=8).hexdigest() for b, ps in by.items()}

    def _refresh_bars(self, old: BarsCache.View) -> tuple[dict[int, str], dict[int, tuple[pa.Table, pl.DataFrame]]]:
        stamps = self._file_stamps()
        changed = [b for b, st in stamps.items() if old.buckets.get(b) != st]
        gone = [b for b in old.buckets if b not in stamps]
        if not changed and not gone:
            return dict(stamps), old.tables
        tables = dict(old.tables)
        for b in changed:
            path = self.folder / f"b{b:02d}-{stamps[b]}-v{CACHE_FORMAT}"
            if not (path / "done").exists():
                self._build(b, path)
            tables[b] = self._open(b, path)
            # the old files may still be mapped by readers of the old state: on POSIX a mapping outlives the unlink
            for stale in self.folder.glob(f"b{b:02d}-*"):
                if stale != path:
                    shutil.rmtree(stale, ignore_errors=True)
        for b in gone:
            tables.pop(b, None)
        return dict(stamps), tables

    def _build(self, bucket: int, path: Path) -> None:
        """The bucket's latest bars, sorted by (listing, source, date), as an Arrow IPC file of the per-row
        columns, and an index with one row per series (its row count and what is constant along it)."""
        import duckdb
        import pyarrow.parquet as pq

        tmp = path.with_name(path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        con = duckdb.connect()
        try:
            from marketwire.identity.index import _memory_limit

            con.execute(f"SET memory_limit='{_memory_limit()}'")
            con.execute(f"SET temp_directory='{tmp / 'spill'}'")
            src = self.lake.dataset(P.BARS_DAILY, bucket_filter([bucket]))
            sql, args = self.lake.latest_sql(P.BARS_DAILY, con, src)
            con.execute(f"CREATE TEMP VIEW latest AS {sql}", args)
            con.execute("CREATE TEMP TABLE b AS " + _series_sql().replace("FROM t", "FROM latest"))
            index = arrow_of(con.execute(
                "SELECT listing_id, source, count(*) AS n, any_value(basis) AS basis, "
                "any_value(currency) AS currency, any_value(unit_scale) AS unit_scale, "
                "max(knowledge_time) AS knowledge_time FROM b GROUP BY ALL ORDER BY listing_id, source"))
            pq.write_table(index, tmp / "series-index.parquet")
            reader = con.sql('SELECT "date", "open", high, low, "close", volume, flags FROM b '
                             'ORDER BY listing_id, source, "date"').to_arrow_reader(1 << 17)
            with ipc.new_file(str(tmp / "bars.arrow"), _SCHEMA) as w:
                for batch in reader:
                    w.write_batch(pa.RecordBatch.from_arrays(
                        [batch.column(i).cast(_SCHEMA.field(i).type) for i in range(len(_SCHEMA))], schema=_SCHEMA))
        finally:
            con.close()
        shutil.rmtree(tmp / "spill", ignore_errors=True)
        (tmp / "done").touch()
        shutil.rmtree(path, ignore_errors=True)
        tmp.rename(path)

    def _open(self, bucket: int, path: Path) -> tuple[pa.Table, pl.DataFrame]:
        import pyarrow.parquet as pq

        table = ipc.open_file(pa.memory_map(str(path / "bars.arrow"), "r")).read_all()
        index = pl.from_arrow(pq.read_table(path / "series-index.parquet"))
        assert isinstance(index, pl.DataFrame)
        return table, index.with_columns((pl.col("n").cum_sum() - pl.col("n")).alias("start"),
                                         pl.lit(bucket).alias("bucket"))

    @staticmethod
    def _index(tables: dict[int, tuple[pa.Table, pl.DataFrame]]
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
        """The bars of one series (zero-copy slice) and what is constant along it (source, basis, currency...)."""
        view = self._current()
        src = source or view.primary.get(listing_id)
        info = view.offsets.get((listing_id, src)) if src else None
        if info is None:
            return None
        return view.tables[info["bucket"]][0].slice(info["start"], info["n"]), info

    def actions(self, listing_id: str) -> pl.DataFrame:
        found = self._current().actions.get(listing_id)
        if found is not None:
            return found
        empty = pl.from_arrow(P.CORPORATE_ACTIONS.schema.empty_table())
        assert isinstance(empty, pl.DataFrame)
        return empty


def series_as_of(lake: Lake, listing_id: str, as_of: datetime, source: str | None = None
                 ) -> tuple[tuple[pa.Table, dict[str, Any]] | None, pl.DataFrame]:
    """The series of ``listing_id`` as known at ``as_of`` (Delta tables, latest version per key known then)."""
    import duckdb

    src = lake.dataset(P.BARS_DAILY, bucket_filter([P.bucket_of(listing_id)]))
    if src is None:
        return None, pl.DataFrame()
    con = duckdb.connect()
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
