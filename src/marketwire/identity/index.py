"""A DuckDB cache of the current master for fast point-in-time lookups, always rebuilt from the lake.

The cache is a file per lake state (``<home>/cache/master-<stamp>.duckdb``, the stamp being the Delta versions of
the master tables). It is built under a temporary name and renamed into place, then opened read-only, so any
number of processes (a server and CLI commands) share it, and a process that sees a newer lake state builds or
picks up the newer file. Freshness is checked at most once per ``check_every`` seconds. Deleting the cache folder
is always safe.

The file records the table versions it was built from (table ``built_from``), and is built from exactly those
versions, so a lake that moves during a build never gives a file that mixes two states under one name. A file
that cannot be opened (truncated, corrupted) or a hot-index folder missing a file is deleted and built again;
leftovers of a build that was killed (``.master-*.tmp``, ``.hot-*``) are removed once their process is gone.

Two ways to follow the lake:

- **synchronous** (``background=False``, the CLI and the SDK): the first query after a change rebuilds, so a
  process reads its own writes (``invalidate()``, then the next ``connection()`` or ``hot()`` sees them).
- **background** (``background=True``, a long-lived server): once a state is being served, a change is rebuilt by
  one background thread (the DuckDB file, the hot-index files and the loaded :class:`HotIndex`), and the new
  state is swapped in whole when it is ready. Queries meanwhile answer from the previous state and never wait for
  the rebuild. A failed rebuild is logged and retried with backoff; the previous state keeps serving. Only the
  very first state of a process is built on the caller's thread (there is nothing else to serve).
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb

from marketwire.datasets import reference as R
from marketwire.identity.hot import FRAMES, PATHS, HotIndex, build_files
from marketwire.identity.point import point_files
from marketwire.identity.state import index_stamp
from marketwire.store import Lake, duck

TABLES = {"ids": R.IDENTIFIERS, "listings": R.LISTINGS, "securities": R.SECURITIES, "issuers": R.ISSUERS,
          "flags": R.REF_FLAGS, "membership": R.INDEX_MEMBERSHIP, "exchanges": R.EXCHANGES}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Serving:
    """One lake state as served: read by queries as a whole, replaced as a whole."""

    stamp: str
    con: duckdb.DuckDBPyConnection
    hot: HotIndex | None = None  # loaded on first use (synchronous mode) or before the swap (background)


class MasterIndex:
    """The DuckDB cache and the hot index of the lake's current master (see the module docstring).

    ``retry_after`` and ``retry_max`` bound the backoff after a failed background rebuild (doubling from the
    first to the second, in seconds); ``settle``: how long the lake must stand still before a background
    rebuild starts (see :class:`BackgroundRefresh`)."""

    def __init__(self, lake: Lake, folder: Path, check_every: float = 1.0, background: bool = False, *,
                 retry_after: float = 5.0, retry_max: float = 300.0, settle: float = 1.0) -> None:
        self.lake = lake
        self.folder = folder
        self.check_every = check_every
        self.background = background
        self._serving: _Serving | None = None
        self._checked = 0.0
        self._lock = threading.Lock()  # builds on a caller's thread (first state; every state when synchronous)
        self._swap = threading.Lock()  # a state replaced whole: by a background rebuild, or with its hot index
        self._local = threading.local()
        self._versions: dict[str, dict[str, int | None]] = {}  # stamp -> the table versions it stands for
        # in the background everything a query needs is built aside, then swapped in whole
        self._refresh = BackgroundRefresh("master index", self._current_stamp, self._served_stamp,
                                          lambda stamp: self._prepare(stamp, load_hot=True, background=True), self._install,
                                          self._cleanup, retry_after, retry_max, settle)

    def _served_stamp(self) -> str | None:
        return self._serving.stamp if self._serving is not None else None

    def _current_stamp(self) -> str:
        v = self.lake.versions([ds.name for ds in TABLES.values()])
        stamp = index_stamp(v)
        self._versions[stamp] = v
        return stamp

    def invalidate(self) -> None:
        """Check the lake again on the next query (this process just wrote to it)."""
        self._checked = float("-inf")

    # -- the served state -------------------------------------------------------------------------
    def _state_now(self) -> _Serving:
        """The state to answer from: checks the lake (at most once per ``check_every``) and, when it moved,
        rebuilds here (synchronous mode, or nothing served yet) or asks the background thread to."""
        s = self._serving
        now = time.monotonic()
        if s is not None and now - self._checked < self.check_every:
            return s
        stamp = self._current_stamp()
        s = self._serving
        if s is not None and (stamp == s.stamp or self.background):
            self._checked = now
            if stamp != s.stamp:
                self._request(stamp)
            return s
        with self._lock:
            s = self._serving
            if s is None or stamp != s.stamp:
                s = self._prepare(stamp, load_hot=False)
                with self._swap:
                    self._serving = s
                self._cleanup(stamp)
            self._checked = now
        return s

    def connection(self) -> duckdb.DuckDBPyConnection:
        """A cursor for this thread over an up-to-date cache (in background mode: the state being served)."""
        return self._cursor(self._state_now())

    def _cursor(self, s: _Serving) -> duckdb.DuckDBPyConnection:
        cur = getattr(self._local, "cur", None)
        if cur is None or getattr(self._local, "stamp", None) != s.stamp:
            # the previous connection is not closed: other threads may be mid-query on cursors of it; it is
            # released when the last of them lets go
            cur = s.con.cursor()
            self._local.cur, self._local.stamp = cur, s.stamp
        return cur

    def hot(self) -> HotIndex:
        """The in-memory point-lookup index of the served lake state (built on first use per state)."""
        s = self._state_now()
        if s.hot is not None:
            return s.hot
        with self._lock:
            s = self._serving  # another thread may have loaded it, or a background rebuild swapped one in
            assert s is not None
            if s.hot is not None:
                return s.hot
            hot = self._load_hot(s.stamp, s.con)
            with self._swap:
                if self._serving is not None and self._serving.stamp == s.stamp:
                    self._serving = replace(self._serving, hot=hot)
        return hot

    # -- building ---------------------------------------------------------------------------------
    def _prepare(self, stamp: str, *, load_hot: bool, background: bool = False) -> _Serving:
        """Open the cache of ``stamp``, building its DuckDB file if missing (and load its hot index).

        A ``background`` build leaves one core to the request threads (DuckDB gets one thread fewer). The
        thread is not niced: on a busy machine a niced builder was starved (a 19-minute rebuild at 10M) and
        requests had longer stalls, likely from the builder being preempted while holding the interpreter
        lock (see benchmarks/README.md, ``resolve_rebuild.py``)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(self.folder)
        path = self._path(stamp)
        if path.exists() and _unreadable(path):
            path.unlink(missing_ok=True)  # a damaged file is built again
        if not path.exists():
            tmp = self.folder / f".master-{stamp}.{os.getpid()}.{threading.get_ident()}.tmp"
            con = duck.connect(str(tmp), config=_build_config(background))
            try:
                self._local.build_versions = self._versions.get(stamp)  # read by _build on this thread
                self._build(con)
            except BaseException:
                con.close()
                for p in (tmp, tmp.with_name(tmp.name + ".wal")):
                    p.unlink(missing_ok=True)
                raise
            con.close()
            os.replace(tmp, path)
        con = duck.connect(str(path), read_only=True)
        con.execute(f"SET memory_limit = '{_memory_limit()}'")
        return _Serving(stamp, con, self._load_hot(stamp, con, background) if load_hot else None)

    def _path(self, stamp: str) -> Path:
        return self.folder / f"master-{stamp}.duckdb"

    def _load_hot(self, stamp: str, serving: duckdb.DuckDBPyConnection, background: bool = False) -> HotIndex:
        """The hot index of ``stamp``, its files built first if missing.

        The files are written by a private DuckDB instance that attaches the cache file and is closed right
        after: its memory is bounded and given back, where the serving connection would keep every block of
        the tables in its buffer pool. (When another process has already deleted the file, the serving
        connection, which still holds it open, is the only way left.)"""
        folder = self.folder / f"hot-{stamp}"
        if (folder / "done").exists() and not all((folder / f).exists() for f in hot_files()):
            shutil.rmtree(folder, ignore_errors=True)  # a damaged folder is built again
        if not (folder / "done").exists() and not self._path(stamp).exists():
            build_files(serving.cursor(), folder)
        elif not (folder / "done").exists():
            con = duck.connect(config=_build_config(background))
            try:
                con.execute(f"SET temp_directory = '{self.folder / '.spill'}'")
                con.execute("SET enable_progress_bar = false")
                con.execute(f"ATTACH '{self._path(stamp)}' AS master (READ_ONLY)")
                con.execute("USE master")
                build_files(con, folder)
            finally:
                con.close()
        return HotIndex(folder)

    def _cleanup(self, stamp: str) -> None:
        keep = (self.folder / f"master-{stamp}.duckdb", self.folder / f"hot-{stamp}")
        for p in list(self.folder.glob("master-*.duckdb")) + list(self.folder.glob("hot-*")):
            if p not in keep:
                try:  # another process may still read it; on POSIX an open file survives its unlink
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
                except OSError:
                    pass

    def _build(self, con: duckdb.DuckDBPyConnection) -> None:
        # bounded memory (the connection's memory_limit): DuckDB spills to the cache folder rather than holding
        # ten million rows in RAM
        con.execute(f"SET temp_directory = '{self.folder / '.spill'}'")
        con.execute("SET enable_progress_bar = false")  # not on a server's stdout; the CLI shows its own
        versions = getattr(self._local, "build_versions", None) or self.lake.versions([ds.name for ds in TABLES.values()])
        self._local.build_versions = None
        con.execute("CREATE TABLE built_from (dataset VARCHAR, version BIGINT)")
        con.executemany("INSERT INTO built_from VALUES (?, ?)", sorted(versions.items()))
        for name, ds in TABLES.items():
            v = versions.get(ds.name)
            src = None if v is None else self.lake.dataset(ds, version=v)
            if src is None:
                empty = ds.schema.empty_table()
                con.register("empty_src", empty)
                con.execute(f"CREATE TABLE {name} AS SELECT *{', value AS key' if name == 'ids' else ''} "
                            "FROM empty_src")
                con.unregister("empty_src")
                continue
            where = "NOT coalesce(retracted, false)" if "retracted" in ds.columns else None
            sql, args = self.lake.latest_sql(ds, con, src, where=where, name=f"src_{name}")
            extra = ", upper(value) AS key" if name == "ids" else ""
            con.execute(f"CREATE TABLE {name} AS SELECT *{extra} FROM ({sql})", args)
            # no ART indexes: point lookups go through the hot index; DuckDB answers scans (search, members)
        con.execute("CHECKPOINT")

    # -- health --------------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """The cache on disk for the lake's current state: built or not, readable, the versions it was built
        from, its hot-index files complete, and leftovers of killed builds."""
        stamp = self._current_stamp()
        path, hot = self._path(stamp), self.folder / f"hot-{stamp}"
        out: dict[str, Any] = {"stamp": stamp, "versions": self._versions.get(stamp), "built": path.exists(),
                               "readable": None, "built_from": None,
                               "hot_complete": (hot / "done").exists() and all((hot / f).exists() for f in hot_files()),
                               "leftovers": len(_leftovers(self.folder)) if self.folder.exists() else 0}
        if path.exists():
            try:
                con = duck.connect(str(path), read_only=True)
                try:
                    rows = con.execute("SELECT dataset, version FROM built_from").fetchall()
                    out["built_from"] = {d: (None if v is None else int(v)) for d, v in rows}
                finally:
                    con.close()
                out["readable"] = True
            except duckdb.Error:
                out["readable"] = False
        return out

    def repair(self) -> None:
        """Delete what cannot be read and the leftovers of killed builds, then build the current state."""
        st = self.status()
        if st["built"] and not st["readable"]:
            self._path(st["stamp"]).unlink(missing_ok=True)
        _remove_leftovers(self.folder)
        self.invalidate()
        self.hot()

    # -- background refresh -----------------------------------------------------------------------
    def _install(self, new: _Serving) -> _Serving | None:
        with self._swap:
            old, self._serving = self._serving, new
        return old

    def _request(self, stamp: str) -> None:
        self._refresh.request(stamp)

    def refreshing(self) -> bool:
        """Whether a background rebuild is running now."""
        return self._refresh.running()

    def state(self) -> dict[str, Any]:
        """For health reporting: the served lake state, whether a newer one is being built, the last failure."""
        s = self._serving
        return {"background": self.background, "stamp": s.stamp if s else None,
                "hot_loaded": bool(s and s.hot is not None), **self._refresh.state()}

    def wait_fresh(self, timeout: float = 60.0) -> bool:
        """Block until the served state is the lake's current one (rebuilding or asking for it as needed);
        False after ``timeout`` seconds. A failed background rebuild is retried here once its backoff ends."""
        return self._refresh.wait_fresh(lambda: self._state_now().stamp, self.invalidate, self.background, timeout)

    # -- queries ----------------------------------------------------------------------------------
    def rows(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cur = self.connection()
        res = cur.execute(sql, list(params))
        cols = [d[0] for d in res.description]
        return [dict(zip(cols, r)) for r in res.fetchall()]


#: every refresher of this process, for the exit hook below
_REFRESHERS: weakref.WeakSet[BackgroundRefresh] = weakref.WeakSet()
#: set once the interpreter exits: no rebuild starts after it
_EXITING = threading.Event()
#: how long the exit waits for a rebuild under way (seconds)
EXIT_WAIT = 600.0


@atexit.register
def _finish_rebuilds() -> None:
    """Let a background rebuild under way end before the interpreter does.

    A rebuild thread is a daemon, and a daemon thread that is inside DuckDB's or Arrow's C++ code when the
    interpreter finalizes is ended by a forced unwind the C++ frames do not let through: the process aborts
    ("terminate called ... FATAL: exception not rethrown") after all its work is done, with exit code 134. So
    at exit no new rebuild starts, and one under way is waited for (a message says so after two seconds)."""
    _EXITING.set()
    for r in list(_REFRESHERS):
        w = r._worker
        if w is None or not w.is_alive():
            continue
        w.join(2.0)
        if w.is_alive():
            log.warning("%s: waiting for the background rebuild under way to end before exiting", r.what)
            w.join(EXIT_WAIT)


class BackgroundRefresh:
    """Brings a served state up to the lake's in one background thread, one rebuild at a time.

    ``request(stamp)`` starts the thread unless one runs (it looks at the lake again when it ends, so a state
    that moved during a rebuild is built next) or a failure's backoff is not over. ``build(stamp)`` returns the
    new state, ``install(state)`` swaps it in (with this object's bookkeeping, so :meth:`state` never lags the
    served state) and returns the old one, which is let go outside any lock (freeing gigabytes takes a while),
    then ``after(stamp)`` runs (e.g. deletes the old files). An exception from ``build`` is
    logged, counted and retried after ``retry_after`` seconds, doubling up to ``retry_max``, while the old state
    keeps serving. A writer commits its tables one after another, so a rebuild starts once the lake has stood
    still for ``settle`` seconds: a half-written change is not built only to be built again. Shared by the
    master index and the bars cache."""

    def __init__(self, what: str, lake_stamp: Callable[[], str], served_stamp: Callable[[], str | None],
                 build: Callable[[str], Any], install: Callable[[Any], Any],
                 after: Callable[[str], None] | None = None, retry_after: float = 5.0,
                 retry_max: float = 300.0, settle: float = 1.0) -> None:
        self.what = what
        self.lake_stamp, self.served_stamp = lake_stamp, served_stamp
        self.build, self.install, self.after = build, install, after
        self.retry_after, self.retry_max, self.settle = retry_after, retry_max, settle
        self._cv = threading.Condition()  # never held while building
        self._worker: threading.Thread | None = None
        self._wanted: str | None = None  # the newest lake state seen that is not served yet
        self._failures = 0
        self._retry_at = 0.0
        self._last_error: str | None = None
        self._last_seconds: float | None = None
        self._rebuilds = 0
        _REFRESHERS.add(self)

    def request(self, stamp: str) -> None:
        with self._cv:
            self._wanted = stamp
            if self._worker is not None or time.monotonic() < self._retry_at or _EXITING.is_set():
                return
            self._worker = threading.Thread(target=self._run, name=f"marketwire refresh: {self.what}", daemon=True)
            self._worker.start()

    def running(self) -> bool:
        return self._worker is not None

    def _run(self) -> None:
        try:
            while True:
                with self._cv:
                    target, served = self._wanted, self.served_stamp()
                    if target is None or target == served:
                        return
                t0 = time.monotonic()
                target = self._settled(target)
                if _EXITING.is_set():
                    return
                if target == served:
                    continue
                try:
                    new = self.build(target)
                except Exception as e:
                    with self._cv:
                        self._failures += 1
                        delay = min(self.retry_max, self.retry_after * 2 ** (self._failures - 1))
                        self._retry_at = time.monotonic() + delay
                        self._last_error = f"{type(e).__name__}: {e}"
                    log.exception("%s: rebuild of lake state %s failed (attempt %d); still serving %s, retrying "
                                  "in %.0f s at the earliest", self.what, target, self._failures, served, delay)
                    return
                with self._cv:
                    old = self.install(new)
                    self._failures, self._retry_at, self._last_error = 0, 0.0, None
                    self._last_seconds = time.monotonic() - t0
                    self._rebuilds += 1
                    self._cv.notify_all()
                del new, old  # the old state goes now, or when its last reader lets go
                log.info("%s: lake state %s served after a %.1f s background rebuild", self.what, target,
                         self._last_seconds)
                if self.after is not None:
                    self.after(target)
                latest = self.lake_stamp()  # the lake may have moved on while this one was built
                with self._cv:
                    if latest != target:
                        self._wanted = latest
        finally:
            with self._cv:
                self._worker = None
                self._cv.notify_all()

    def _settled(self, target: str) -> str:
        """The lake's state once it has not moved for ``settle`` seconds (waiting ten rounds at most)."""
        for _ in range(10 if self.settle > 0 else 0):
            if _EXITING.wait(self.settle):
                break
            now = self.lake_stamp()
            if now == target:
                break
            target = now
        with self._cv:
            self._wanted = target
        return target

    def wait_fresh(self, served: Callable[[], str], invalidate: Callable[[], None], background: bool,
                   timeout: float) -> bool:
        """Block until ``served()`` (after ``invalidate()``, which brings a foreground state up to date) is the
        lake's current stamp, asking for background rounds meanwhile; False after ``timeout`` seconds. The one
        wait of the master index and the bars cache."""
        deadline = time.monotonic() + timeout
        while True:
            invalidate()
            if served() == self.lake_stamp():
                return True
            if background and not self.wait_round(deadline):
                return False

    def wait_round(self, deadline: float) -> bool:
        """Ask for the lake's state and wait a little for progress; False once ``deadline`` has passed."""
        self.request(self.lake_stamp())
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        with self._cv:
            self._cv.wait(min(left, 0.05))
        return True

    def state(self) -> dict[str, Any]:
        with self._cv:
            served = self.served_stamp()
            return {"refreshing": self._worker is not None,
                    "pending": self._wanted if self._wanted not in (None, served) else None,
                    "rebuilds": self._rebuilds, "last_rebuild_seconds": self._last_seconds,
                    "failures": self._failures, "last_error": self._last_error,
                    "retry_in_seconds": max(0.0, self._retry_at - time.monotonic()) if self._failures else None}


def hot_files() -> list[str]:
    """The files of a complete hot-index folder."""
    return ["done", *(f"{n}.parquet" for n in FRAMES), *(f"{p}.{k}.npy" for p in PATHS for k in ("order", "hash")),
            *point_files()]


def _unreadable(path: Path) -> bool:
    try:
        con = duck.connect(str(path), read_only=True)
    except duckdb.Error:
        return True
    try:
        con.execute("SELECT count(*) FROM ids").fetchone()
        return False
    except duckdb.Error:
        return True
    finally:
        con.close()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _leftovers(folder: Path, alive_too: bool = False) -> list[Path]:
    """Temporary files and folders of cache builds (``.<name>.<pid>.<thread>[.tmp]``) whose process is gone."""
    out = []
    for p in list(folder.glob(".master-*.tmp")) + list(folder.glob(".master-*.tmp.wal")) + list(folder.glob(".hot-*")):
        parts = p.name.split(".")
        pid = next((int(x) for x in parts[2:] if x.isdigit()), None)
        if alive_too or pid is None or not _pid_alive(pid):
            out.append(p)
    return out


def _remove_leftovers(folder: Path) -> None:
    for p in _leftovers(folder):
        try:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        except OSError:
            pass


def _build_config(background: bool) -> dict[str, Any]:
    config: dict[str, Any] = {"memory_limit": _memory_limit()}
    if background:
        config["threads"] = max(1, (os.cpu_count() or 2) - 1)
    return config


def _memory_limit() -> str:
    """A quarter of the machine's memory (at least 1 GB) for building the cache."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "4GB"
    return f"{max(1, total // 4 // 2**30)}GB"
