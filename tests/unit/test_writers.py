"""One writer per dataset across processes, published derived tables, and duplicate records (found, removed)."""

from __future__ import annotations

import multiprocessing as mp
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from marketwire.datasets import prices as P
from marketwire.datasets import reference as R
from marketwire.engine.write import Provenance, commit
from marketwire.store import Lake
from marketwire.store.check import check_table, remove_duplicates

pytestmark = pytest.mark.unit

T0 = datetime(2024, 1, 2, tzinfo=timezone.utc)


def _fx_rows(n: int) -> list[dict[str, Any]]:
    return [{"base": "EUR", "quote": "USD", "date": date(2000, 1, 1) + timedelta(days=i), "rate": 1.0 + i / 1000}
            for i in range(n)]


def _listing_rows(n: int) -> list[dict[str, Any]]:
    return [{"symbol": f"S{i:04d}", "listing_id": f"MWL{i:010d}", "ticker": f"S{i:04d}", "provisional": True}
            for i in range(n)]


def _context() -> Any:
    """Processes forked from a server that imported the write stage once (a spawned child would import it again)."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["marketwire.engine.write", "deltalake", "duckdb"])
    return ctx


def _deliver(root: str, dataset: str, n: int, barrier: Any, k: int) -> None:
    """One process delivering the same records as the others, all starting together."""
    lake = Lake(root)
    ds = {"fx_rates": P.FX_RATES, "price_listings": P.PRICE_LISTINGS}[dataset]
    rows = _fx_rows(n) if dataset == "fx_rates" else _listing_rows(n)
    now = datetime.now(timezone.utc)
    barrier.wait()
    commit(lake, ds, rows, Provenance(now, now, "test", f"ingest-{k}"))


@pytest.mark.parametrize("dataset", ["fx_rates", "price_listings"])  # versioned, insert
def test_concurrent_deliveries_of_the_same_records_store_each_key_once(tmp_path: Path, dataset: str) -> None:
    root = str(tmp_path / "lake")
    lake = Lake(root)
    ds = {"fx_rates": P.FX_RATES, "price_listings": P.PRICE_LISTINGS}[dataset]
    now = datetime.now(timezone.utc)
    commit(lake, ds, (_fx_rows if dataset == "fx_rates" else _listing_rows)(10), Provenance(now, now, "test", "first"))
    ctx = _context()
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=_deliver, args=(root, dataset, 300, barrier, k)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    rep = check_table(lake, ds)
    assert rep.rows == 300  # the first 10 once, the other 290 once, whichever process came first
    assert rep.duplicates == 0
    assert lake.read(ds).num_rows == 300


def _hold(root: str, started: Any, release: Any) -> None:
    lake = Lake(root)
    with lake.writing(["fx_rates"]):
        started.set()
        release.wait(60)


def test_a_writer_holds_other_writers_off_and_never_blocks_readers(tmp_path: Path) -> None:
    root = str(tmp_path / "lake")
    lake = Lake(root)
    now = datetime.now(timezone.utc)
    commit(lake, P.FX_RATES, _fx_rows(5), Provenance(now, now, "test", "a"))
    ctx = _context()
    started, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(root, started, release))
    holder.start()
    try:
        assert started.wait(60)
        t0 = time.monotonic()
        assert lake.read(P.FX_RATES).num_rows == 5  # a reader takes no lock
        assert time.monotonic() - t0 < 5
        assert lake.writer_active(["fx_rates"])
        with lake.writing(["fx_rates", "bars_daily"], blocking=False) as got:
            assert got is False
        assert not lake.writer_active(["bars_daily"])  # the other datasets stay free
    finally:
        release.set()
        holder.join(60)
    assert not lake.writer_active(["fx_rates"])  # released when the holder ended
    with lake.writing(["fx_rates"]) as got:
        assert got is True
        with lake.writing(["fx_rates"]) as again:  # re-entrant on one thread
            assert again is True


def test_a_lock_held_by_a_killed_process_is_free(tmp_path: Path) -> None:
    root = str(tmp_path / "lake")
    ctx = _context()
    started, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(root, started, release))
    holder.start()
    assert started.wait(60)
    lake = Lake(root)
    assert lake.writer_active(["fx_rates"])
    holder.kill()  # kill -9: the operating system drops its lock
    holder.join(60)
    assert not lake.writer_active(["fx_rates"])


def _listing(lid: str, name: str, when: datetime) -> pa.Table:
    return pa.table({"listing_id": [lid], "security_id": ["MWS1"], "name": [name], "retracted": [False],
                     "knowledge_time": pa.array([when], pa.timestamp("us", "UTC")),
                     "ingested_at": pa.array([when], pa.timestamp("us", "UTC")), "source": ["t"],
                     "ingest_id": ["i"]})


def test_readers_see_the_published_versions_of_derived_tables(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.append(R.LISTINGS, _listing("MWL1", "Old name", T0))
    lake.append(R.SECURITIES, _listing("MWL1", "Old", T0).drop(["listing_id"]).append_column("issuer_id",
                                                                                           pa.array(["MWI1"])))
    lake.publish("master", {"outputs": {"listings": 0, "securities": 0}, "inputs": {}})
    # a build writes one table and is killed before it writes the next and publishes
    lake.append(R.LISTINGS, _listing("MWL1", "New name", T0 + timedelta(days=1)))
    assert lake.read(R.LISTINGS).column("name").to_pylist() == ["Old name"]
    assert lake.version(R.LISTINGS) == 0 and lake.committed_version(R.LISTINGS) == 1
    assert lake.unpinned().read(R.LISTINGS).column("name").to_pylist() == ["New name"]
    assert Lake(tmp_path / "lake").read(R.LISTINGS).column("name").to_pylist() == ["Old name"]  # another reader
    lake.publish("master", {"outputs": {"listings": 1, "securities": 0}, "inputs": {}})
    assert lake.read(R.LISTINGS).column("name").to_pylist() == ["New name"]
    lake.publish("master", None)
    assert lake.version(R.LISTINGS) == 1


def test_duplicates_are_counted_by_write_mode_and_removed_as_a_new_version(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    t1, t2 = T0, T0 + timedelta(hours=1)
    rows = _fx_rows(50)
    commit(lake, P.FX_RATES, rows, Provenance(t1, t1, "ecb", "a"))
    before = lake.read(P.FX_RATES, as_of=t1 + timedelta(minutes=1))
    # what two racing writers did: the same records appended again by a second delivery
    w = commit(lake, P.FX_RATES, rows, Provenance(t2, t2, "ecb", "b"), write=False)
    assert w.appended.height == 0  # the write stage itself never appends them
    dup = lake.read(P.FX_RATES).to_pylist()
    for r in dup:
        r.update(knowledge_time=t2, ingested_at=t2, ingest_id="b")
    lake.append(P.FX_RATES, pa.Table.from_pylist(dup[:20], schema=P.FX_RATES.schema))
    # a real correction is a version, not a duplicate
    fix = {**rows[0], "rate": 9.0}
    commit(lake, P.FX_RATES, [fix], Provenance(t2, t2, "ecb", "c"))
    rep = check_table(lake, P.FX_RATES)
    assert (rep.rows, rep.duplicates) == (71, 20)
    version = lake.version(P.FX_RATES)
    assert remove_duplicates(lake, P.FX_RATES) == 20
    after = check_table(lake, P.FX_RATES)
    assert (after.rows, after.duplicates, after.version) == (51, 0, version + 1)
    # every reading answers as before: the first copy of each record is the one kept
    assert lake.read(P.FX_RATES, as_of=t1 + timedelta(minutes=1)).sort_by("date").equals(before.sort_by("date"))
    latest = {r["date"]: r["rate"] for r in lake.read(P.FX_RATES).to_pylist()}
    assert latest[rows[0]["date"]] == 9.0 and latest[rows[1]["date"]] == rows[1]["rate"]
    # the earlier versions stay readable by version
    assert lake.dataset(P.FX_RATES, version=version).count_rows() == 71


def test_insert_mode_duplicates_are_live_keys_stored_twice(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    rows = _listing_rows(5)
    commit(lake, P.PRICE_LISTINGS, rows, Provenance(T0, T0, "prices", "a"))
    again = lake.read(P.PRICE_LISTINGS).to_pylist()[:3]
    for r in again:
        r.update(ingest_id="b", ingested_at=T0 + timedelta(seconds=1))
    lake.append(P.PRICE_LISTINGS, pa.Table.from_pylist(again, schema=P.PRICE_LISTINGS.schema))
    assert check_table(lake, P.PRICE_LISTINGS).duplicates == 3
    assert remove_duplicates(lake, P.PRICE_LISTINGS) == 3
    assert sorted(r["ingest_id"] for r in lake.read(P.PRICE_LISTINGS).to_pylist()) == ["a"] * 5
