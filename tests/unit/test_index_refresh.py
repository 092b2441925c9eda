"""The lookup caches follow the lake: synchronously (CLI, SDK: a process reads its own writes) or, in a server,
in the background (readers keep the old state, never wait for a rebuild, and a failed rebuild is retried).

A tiny master written with ``Lake.append``: ticker ACME@XNAS names listing MWL1 until 2024-06-01; the change
moves it to listing MWL2 from that date. Builds are held on an ``Event`` to catch readers mid-rebuild."""

from __future__ import annotations

import logging
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from lake_rows import daily_bars, provenance  # type: ignore[import-not-found]
from marketwire.datasets import prices as P
from marketwire.datasets import reference as R
from marketwire.identity.index import MasterIndex
from marketwire.prices.read import BarsCache
from marketwire.store import Lake

pytestmark = pytest.mark.unit

TODAY = date(2025, 1, 2)
MOVED = date(2024, 6, 1)
T0 = datetime(2024, 1, 2, tzinfo=timezone.utc)
FAST = 1.0  # seconds: a reader that waited for a held build would take as long as the hold (HOLD)
HOLD = 10.0


def _ids(rows: list[tuple[str, str, str, str, date, date | None]], when: datetime) -> pa.Table:
    kind, ent, scheme, value, vf, vt = (list(c) for c in zip(*rows))
    return pa.table({"entity_kind": kind, "entity_id": ent, "scheme": scheme, "value": value,
                     "valid_from": pa.array(vf, pa.date32()), "valid_to": pa.array(vt, pa.date32()),
                     "flags": pa.array([[] for _ in rows], pa.list_(pa.string())), "retracted": [False] * len(rows),
                     **provenance(len(rows), when)})


def _listing(lid: str, vf: date, when: datetime) -> pa.Table:
    return pa.table({"listing_id": [lid], "security_id": ["MWS1"], "ticker": ["ACME"], "mic": ["XNAS"],
                     "currency": ["USD"], "name": ["Acme Corp"], "status": ["active"],
                     "valid_from": pa.array([vf], pa.date32()), "valid_to": pa.array([None], pa.date32()),
                     "retracted": [False], **provenance(1, when)})


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    lake = Lake(tmp_path / "lake")
    lake.append(R.ISSUERS, pa.table({"issuer_id": ["MWI1"], "name": ["Acme Corp"], "retracted": [False],
                                     **provenance(1, T0)}))
    lake.append(R.SECURITIES, pa.table({"security_id": ["MWS1"], "issuer_id": ["MWI1"], "name": ["Acme Corp"],
                                        "isin": ["US0378331005"], "retracted": [False], **provenance(1, T0)}))
    lake.append(R.LISTINGS, _listing("MWL1", date(2000, 1, 3), T0))
    lake.append(R.IDENTIFIERS, _ids([("security", "MWS1", "isin", "US0378331005", date(2000, 1, 3), None),
                                     ("listing", "MWL1", "ticker_mic", "ACME@XNAS", date(2000, 1, 3), None)], T0))
    return lake


def move_ticker(lake: Lake) -> None:
    """ACME@XNAS leaves MWL1 on 2024-06-01 (a later version of its row) and names the new listing MWL2."""
    t = T0 + timedelta(days=200)
    lake.append(R.LISTINGS, _listing("MWL2", MOVED, t))
    lake.append(R.IDENTIFIERS, _ids([("listing", "MWL1", "ticker_mic", "ACME@XNAS", date(2000, 1, 3), MOVED),
                                     ("listing", "MWL2", "ticker_mic", "ACME@XNAS", MOVED, None)], t))


def add_isin(lake: Lake, isin: str) -> None:
    lake.append(R.IDENTIFIERS, _ids([("security", "MWS1", "isin", isin, MOVED, None)], T0 + timedelta(days=300)))


def who(index: MasterIndex, value: str, when: date = TODAY) -> list[str]:
    return sorted(r["entity_id"] for r in index.hot().lookup(value, when))


def n_listings(index: MasterIndex) -> int:
    return int(index.rows("SELECT count(*) AS n FROM listings")[0]["n"])


def timed(fn, *args):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def hold_builds(monkeypatch: pytest.MonkeyPatch, index: MasterIndex) -> tuple[threading.Event, threading.Event]:
    """Make every cache build wait for ``gate`` (``entered`` tells that one started)."""
    gate, entered = threading.Event(), threading.Event()
    real = index._build

    def held(con):  # type: ignore[no-untyped-def]
        entered.set()
        if not gate.wait(HOLD):
            raise TimeoutError("the test never released the build")
        real(con)

    monkeypatch.setattr(index, "_build", held)
    return gate, entered


def refresh_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("marketwire refresh")]


# -- background ---------------------------------------------------------------------------------------------------
def test_background_readers_get_the_old_state_without_waiting_then_the_new_one(
        lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = MasterIndex(lake, tmp_path / "cache", check_every=0.0, background=True)
    assert who(index, "ACME@XNAS") == ["MWL1"]  # first open: built on the caller's thread
    old = index.state()["stamp"]
    gate, entered = hold_builds(monkeypatch, index)

    move_ticker(lake)
    got, took = timed(who, index, "ACME@XNAS")
    assert got == ["MWL1"] and took < FAST  # the change is seen and handed over; the answer is the old one
    assert entered.wait(5.0), "no background rebuild started"
    assert index.refreshing()
    st = index.state()
    assert st["stamp"] == old and st["pending"] not in (None, old) and st["refreshing"]

    # the rebuild is held: every reader answers from the old state, at once
    for _ in range(20):
        (got, n), took = timed(lambda: (who(index, "ACME@XNAS"), n_listings(index)))
        assert (got, n) == (["MWL1"], 1) and took < FAST
    assert index.wait_fresh(0.2) is False  # still held

    gate.set()
    assert index.wait_fresh(30.0)
    st = index.state()  # swapped in with its hot index loaded: the first reader after the swap builds nothing
    assert st["stamp"] != old and st["rebuilds"] == 1 and st["pending"] is None and st["hot_loaded"]
    assert who(index, "ACME@XNAS") == ["MWL2"]
    assert who(index, "ACME@XNAS", date(2024, 1, 2)) == ["MWL1"]  # point in time still answered by the new state
    assert n_listings(index) == 2
    for _ in range(100):
        if not refresh_threads():
            break
        time.sleep(0.05)
    assert not index.refreshing() and refresh_threads() == []
    # once the thread is done, the old state's files are gone and the new state's are in place
    cache = tmp_path / "cache"
    assert sorted(p.name for p in cache.glob("master-*.duckdb")) == [f"master-{st['stamp']}.duckdb"]
    assert sorted(p.name for p in cache.glob("hot-*")) == [f"hot-{st['stamp']}"]


def test_a_change_during_a_rebuild_is_built_after_it(
        lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = MasterIndex(lake, tmp_path / "cache", check_every=0.0, background=True)
    assert who(index, "US5949181045") == []
    gate, entered = hold_builds(monkeypatch, index)
    move_ticker(lake)
    who(index, "ACME@XNAS")
    assert entered.wait(5.0)
    add_isin(lake, "US5949181045")  # the lake moves again while the first rebuild is held
    got, took = timed(who, index, "US5949181045")
    assert got == [] and took < FAST
    gate.set()
    assert index.wait_fresh(30.0)
    assert who(index, "US5949181045") == ["MWS1"] and who(index, "ACME@XNAS") == ["MWL2"]
    assert index.state()["rebuilds"] == 2  # the held state, then the newer one, one after the other


def test_a_change_committed_table_by_table_is_built_once(lake: Lake, tmp_path: Path) -> None:
    index = MasterIndex(lake, tmp_path / "cache", check_every=0.0, background=True, settle=1.0)
    assert who(index, "ACME@XNAS") == ["MWL1"]
    t = T0 + timedelta(days=200)
    lake.append(R.LISTINGS, _listing("MWL2", MOVED, t))  # a writer's first commit ...
    assert who(index, "ACME@XNAS") == ["MWL1"]  # ... is seen at once
    time.sleep(0.4)
    lake.append(R.IDENTIFIERS, _ids([("listing", "MWL1", "ticker_mic", "ACME@XNAS", date(2000, 1, 3), MOVED),
                                     ("listing", "MWL2", "ticker_mic", "ACME@XNAS", MOVED, None)], t))  # its second
    assert index.wait_fresh(30.0)
    assert who(index, "ACME@XNAS") == ["MWL2"] and n_listings(index) == 2
    assert index.state()["rebuilds"] == 1  # not the half-written state, then the whole one


def test_a_failed_rebuild_keeps_the_old_state_serving_and_is_retried_after_a_backoff(
        lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    index = MasterIndex(lake, tmp_path / "cache", check_every=0.0, background=True, retry_after=0.6, retry_max=1.0)
    assert who(index, "ACME@XNAS") == ["MWL1"]
    old = index.state()["stamp"]
    calls: list[float] = []
    real = index._build

    def flaky(con):  # type: ignore[no-untyped-def]
        calls.append(time.monotonic())
        if len(calls) <= 2:
            raise OSError("No space left on device (test)")
        real(con)

    monkeypatch.setattr(index, "_build", flaky)
    caplog.set_level(logging.ERROR, logger="marketwire.identity.index")
    move_ticker(lake)
    assert who(index, "ACME@XNAS") == ["MWL1"]
    for _ in range(200):  # until the failure is counted and logged
        if index.state()["failures"] and caplog.records:
            break
        time.sleep(0.02)
    st = index.state()
    assert st["failures"] == 1 and st["last_error"] == "OSError: No space left on device (test)"
    assert st["stamp"] == old and 0 < st["retry_in_seconds"] <= 0.6
    assert any("failed" in r.getMessage() and r.exc_info for r in caplog.records)
    # no temporary file of the failed build is left behind
    assert list((tmp_path / "cache").glob(".master-*")) == []

    # within the backoff readers keep the old answer and no second attempt is made
    t_fail = calls[0]
    while time.monotonic() - t_fail < 0.3:
        assert who(index, "ACME@XNAS") == ["MWL1"] and n_listings(index) == 1
    assert len(calls) == 1

    # then it is retried (a second failure doubles the wait), and the third attempt is swapped in
    assert index.wait_fresh(30.0)
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 0.6 and calls[2] - calls[1] >= 1.0
    assert who(index, "ACME@XNAS") == ["MWL2"] and n_listings(index) == 2
    st = index.state()
    assert st["failures"] == 0 and st["last_error"] is None and st["rebuilds"] == 1


# -- synchronous --------------------------------------------------------------------------------------------------
def test_synchronous_mode_reads_its_own_writes(lake: Lake, tmp_path: Path) -> None:
    index = MasterIndex(lake, tmp_path / "cache")  # the default: check_every=1.0, background=False
    assert who(index, "ACME@XNAS") == ["MWL1"] and n_listings(index) == 1
    move_ticker(lake)
    index.invalidate()
    assert who(index, "ACME@XNAS") == ["MWL2"]  # the very next lookup, not a later one
    assert n_listings(index) == 2
    add_isin(lake, "US5949181045")
    index.invalidate()
    assert n_listings(index) == 2 and who(index, "US5949181045") == ["MWS1"]
    st = index.state()
    assert st["background"] is False and st["rebuilds"] == 0 and not st["refreshing"]
    assert refresh_threads() == []


def test_synchronous_mode_rebuilds_on_the_callers_thread(
        lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = MasterIndex(lake, tmp_path / "cache")
    who(index, "ACME@XNAS")
    threads: list[str] = []
    real = index._build
    monkeypatch.setattr(index, "_build", lambda con: (threads.append(threading.current_thread().name), real(con)))
    move_ticker(lake)
    index.invalidate()
    assert index.wait_fresh(30.0) and who(index, "ACME@XNAS") == ["MWL2"]
    assert threads == [threading.current_thread().name]


# -- bars cache ---------------------------------------------------------------------------------------------------
def closes(cache: BarsCache) -> list[float]:
    found = cache.series("MWL1")
    assert found is not None
    return found[0].column("close").to_pylist()


def test_bars_cache_in_background_keeps_the_old_tables_while_buckets_are_rebuilt(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = Lake(tmp_path / "lake")
    d = [date(2024, 1, 2) + timedelta(days=i) for i in range(4)]
    lake.append(P.BARS_DAILY, daily_bars({d[0]: 10000, d[1]: 10100, d[2]: 10200}, T0))
    cache = BarsCache(lake, tmp_path / "cache", check_every=0.0, background=True)
    assert closes(cache) == [100.0, 101.0, 102.0]

    gate, entered = threading.Event(), threading.Event()
    real = cache._build

    def held(bucket, path):  # type: ignore[no-untyped-def]
        entered.set()
        if not gate.wait(HOLD):
            raise TimeoutError("the test never released the build")
        real(bucket, path)

    monkeypatch.setattr(cache, "_build", held)
    lake.append(P.BARS_DAILY, daily_bars({d[1]: 10150, d[3]: 10300}, T0 + timedelta(days=1)))  # a correction, a new day
    got, took = timed(closes, cache)
    assert got == [100.0, 101.0, 102.0] and took < FAST
    assert entered.wait(5.0) and cache.refreshing()
    for _ in range(10):
        got, took = timed(closes, cache)
        assert got == [100.0, 101.0, 102.0] and took < FAST
        assert cache.primary("MWL1") == "test"
    gate.set()
    assert cache.wait_fresh(30.0)
    assert closes(cache) == [100.0, 101.5, 102.0, 103.0]
    assert cache.state()["rebuilds"] == 1


def test_bars_cache_synchronous_reads_its_own_writes(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    d = [date(2024, 1, 2) + timedelta(days=i) for i in range(3)]
    lake.append(P.BARS_DAILY, daily_bars({d[0]: 10000, d[1]: 10100}, T0))
    cache = BarsCache(lake, tmp_path / "cache")
    assert closes(cache) == [100.0, 101.0]
    lake.append(P.BARS_DAILY, daily_bars({d[1]: 10150, d[2]: 10300}, T0 + timedelta(days=1)))
    cache.invalidate()
    assert closes(cache) == [100.0, 101.5, 103.0]
    assert not cache.refreshing() and refresh_threads() == []
