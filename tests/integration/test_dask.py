"""The engine on a real Dask cluster (a ``distributed.LocalCluster`` of 2 worker processes) gives the lake and the
bulk export that threads give, on the real files of the shared data.

The plans and the lake comparison are those of ``benchmarks/engine_dask.py`` (imported, so the test checks the
code the benchmark reports with). The full reference load runs in the benchmark (about 2.5 minutes per mode on 2
cores, most of it the master build); here every step of ``tools/load_reference.sh`` with 7 of the 168
FinanceDatabase files and without the 100 Kaggle series (loaded by the first test), so that the module stays
within about three minutes.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from conftest import benchmark_module

import marketwire
from marketwire.engine.executor import DaskExecutor, executor
from marketwire.errors import InvalidInput, ParseError

distributed = pytest.importorskip(
    "distributed", reason='the Dask tests need distributed: pip install "marketwire[dask]"')

pytestmark = pytest.mark.integration

E = benchmark_module("engine_dask")


@pytest.fixture(scope="module")
def cluster():
    """One LocalCluster for the module: 2 worker processes, 1 thread each, no dashboard."""
    c = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        with distributed.Client(c) as client:
            client.wait_for_workers(2)
        yield c
    finally:
        c.close()


# the task functions below travel to the workers by value (the workers cannot import this test module)
import cloudpickle  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def slow_echo(i: int, n: int) -> tuple[int, int]:
    """Later tasks finish first: ``i`` sleeps (n - i) * 40 ms."""
    time.sleep((n - i) * 0.04)
    return i, os.getpid()


def refuse(name: str) -> None:
    raise ParseError(f"{name}: line 3: not a number", file=name, line=3)


def test_dask_executor_returns_results_in_task_order_from_the_workers(cluster):
    ex = executor(cluster.scheduler_address)
    try:
        assert isinstance(ex, DaskExecutor) and ex.describe()["workers"] == 2
        out = list(ex.map(slow_echo, [(i, 12) for i in range(12)]))
    finally:
        ex.close()
    assert [i for i, _ in out] == list(range(12))
    pids = {pid for _, pid in out}
    assert len(pids) == 2 and os.getpid() not in pids  # both worker processes, never the driver


def test_dask_executor_cancels_what_is_left_on_early_exit_and_passes_errors_back(cluster):
    with distributed.Client(cluster) as client:
        ex = executor(client)  # a Client object: used, not closed
        it = ex.map(slow_echo, [(i, 40) for i in range(40)])
        assert next(it)[0] == 0
        it.close()
        deadline = time.monotonic() + 5
        while any(client.processing().values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(client.processing().values())
        assert not client.who_has()
        with pytest.raises(ParseError) as err:
            list(ex.map(refuse, [("prices.csv",)]))
        assert err.value.fields == {"transient": False, "file": "prices.csv", "line": 3}
        ex.close()
        assert client.status == "running"
    with pytest.raises(InvalidInput) as bad:
        executor("nonsense://nowhere")
    assert bad.value.fields["param"] == "scheduler"


@pytest.fixture(scope="module")
def series_lakes(prices_dir, cluster, tmp_path_factory):
    """The 100 shared series loaded into two fresh lakes: on threads, and on the cluster by its address."""
    plan = E.series_plan(prices_dir.parent)
    assert len(E.plan_files(plan)) == 100
    homes = {m: tmp_path_factory.mktemp(f"series-{m}") for m in ("threads", "dask")}
    runs = {m: E.run_plan(homes[m], plan, cluster.scheduler_address if m == "dask" else None) for m in homes}
    return homes, runs


def test_series_backfill_gives_the_same_lake_on_the_cluster(series_lakes):
    homes, runs = series_lakes
    for m in homes:
        (step,) = runs[m]["steps"]
        assert (step["files"], step["accepted"] + step["quarantined"]) == (100, 748_914)
    cmp = E.compare_lakes(homes["threads"], homes["dask"])
    assert cmp["identical"], cmp
    assert {"bars_daily", "price_listings", "quarantine"} <= set(cmp["tables"])
    assert cmp["tables"]["bars_daily"]["rows"] == runs["threads"]["steps"][0]["accepted"]


def test_the_comparison_sees_one_changed_record(series_lakes, tmp_path):
    """The check above can fail: one record appended to one lake's bars (a copy) makes the lakes differ."""
    import shutil

    from deltalake import DeltaTable, write_deltalake

    homes, _ = series_lakes
    copy = tmp_path / "copy"
    shutil.copytree(homes["dask"], copy)
    bars = copy / "lake" / "bars_daily"
    one = DeltaTable(str(bars)).to_pyarrow_table().slice(0, 1)
    one = one.set_column(one.schema.get_field_index("volume"), "volume", pa.array([123456789], one.schema.field("volume").type))
    write_deltalake(str(bars), one, mode="append")
    cmp = E.compare_lakes(homes["threads"], copy)
    assert not cmp["identical"]
    assert cmp["tables"]["bars_daily"]["equal"] is False and cmp["tables"]["bars_daily"]["only_b"] == 1
    assert all(t["equal"] for n, t in cmp["tables"].items() if n != "bars_daily")


def test_knowledge_time_is_compared_where_it_is_not_the_ingest_time(tmp_path):
    """Only a knowledge time equal to the ingest time is left out: a delivery ``as_of`` another day differs."""
    sample = Path(E.data_root()) / "prices" / "zipline_samples" / "QUANDL_WIKI_SAMPLE_TABLE_2014.csv"
    if not sample.exists():
        pytest.skip(f"{sample} is not in the shared data")
    for name, as_of in (("a", "2015-01-02"), ("b", "2015-01-02"), ("c", "2015-01-03"), ("d", None), ("e", None)):
        marketwire.open(tmp_path / name).ingest("prices-csv", [sample], as_of=as_of, preset="quandl-wiki")
    assert E.compare_lakes(tmp_path / "a", tmp_path / "b")["identical"]
    assert E.compare_lakes(tmp_path / "d", tmp_path / "e")["identical"]
    assert not E.compare_lakes(tmp_path / "a", tmp_path / "c")["identical"]


def test_reference_load_gives_the_same_lake_and_master_on_the_cluster(securities_master, cluster, tmp_path_factory):
    plan = E.reference_subset_plan(securities_master.parent)
    sources = {s.source for s in plan}
    assert {"mic", "iso3166", "iso4217", "nasdaqtrader", "financedatabase", "sec-tickers", "sp500-constituents",
            "ecb-fx", "prices-csv", None} <= sources
    homes = {m: tmp_path_factory.mktemp(f"reference-{m}") for m in ("threads", "dask")}
    with distributed.Client(cluster) as client:  # a Client object works as well as an address
        runs = {m: E.run_plan(homes[m], plan, client if m == "dask" else None) for m in homes}
    assert [s["accepted"] for s in runs["threads"]["steps"] if "accepted" in s] == \
        [s["accepted"] for s in runs["dask"]["steps"] if "accepted" in s]
    cmp = E.compare_lakes(homes["threads"], homes["dask"])
    assert cmp["identical"], {n: t for n, t in cmp["tables"].items() if not t["equal"]}
    tables = cmp["tables"]
    for name in ("listings", "securities", "issuers", "ref_observations", "exchanges", "bars_daily", "fx_rates",
                 "corporate_actions", "quarantine"):
        assert tables.get(name, {}).get("rows", 0) > 0, name
    # the master resolves the same way from either lake
    mws = {m: marketwire.open(h) for m, h in homes.items()}
    for q in ("AAPL", "MSFT", "IBM"):
        assert mws["threads"].resolve(q)[0]["listing_id"] == mws["dask"].resolve(q)[0]["listing_id"]


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_bulk_export_is_byte_identical_on_the_cluster(series_lakes, cluster, tmp_path, fmt):
    homes, _ = series_lakes
    threads = marketwire.open(homes["threads"])
    on_cluster = marketwire.open(homes["threads"], scheduler=cluster.scheduler_address)
    out = {}
    for mode, mw in (("threads", threads), ("dask", on_cluster)):
        path = tmp_path / f"{mode}.{fmt}"
        rep = mw.prices.export(None, path, fmt, "total_return", start="2000-01-01")
        assert rep["executor"] == mode and rep["listings"] == 100 and rep["chunks"] == 25
        out[mode] = (path, rep)
    (pa_, ra), (pb, rb) = out["threads"], out["dask"]
    # every stored bar since 2000 (one delivery, one source per listing), counted from the Delta table itself
    from deltalake import DeltaTable

    stored = pl.from_arrow(DeltaTable(str(homes["threads"] / "lake" / "bars_daily")).to_pyarrow_table(columns=["date"]))
    assert ra["rows"] == rb["rows"] == stored.filter(pl.col("date") >= pl.date(2000, 1, 1)).height == 389_914
    assert hashlib.sha256(pa_.read_bytes()).digest() == hashlib.sha256(pb.read_bytes()).digest()
    t = pq.read_table(pa_) if fmt == "parquet" else ipc.open_file(pa_).read_all()
    assert t.num_rows == ra["rows"]
    # the rows are the listings' own bars, listing after listing, as mw.prices gives them
    df = pl.from_arrow(t)
    assert df.get_column("listing_id").to_list() == sorted(df.get_column("listing_id").to_list())
    lid = threads.prices.listing("IBM")
    ibm = df.filter(pl.col("listing_id") == lid)
    want = threads.prices("IBM", adjust="total_return", start="2000-01-01", output="polars")
    assert ibm.height == want.height and ibm.get_column("close").to_list() == want.get_column("close").to_list()
    assert ibm.get_column("date").min().isoformat() >= "2000-01-01"


def test_export_chunks_do_not_change_the_file(series_lakes, cluster, tmp_path):
    """The file depends on the chunking only through its row groups: the rows are the same for any chunk size."""
    homes, _ = series_lakes
    mw = marketwire.open(homes["dask"], scheduler=cluster.scheduler_address)
    a = mw.prices.export(None, tmp_path / "a.arrow", "arrow", chunk=1)
    b = mw.prices.export(None, tmp_path / "b.arrow", "arrow", chunk=1000)
    assert (a["chunks"], b["chunks"]) == (100, 1)
    ta = ipc.open_file(tmp_path / "a.arrow").read_all()
    tb = ipc.open_file(tmp_path / "b.arrow").read_all()
    assert ta.num_rows == tb.num_rows == a["rows"] and ta.equals(tb)


def test_a_plugin_source_runs_on_the_workers(cluster, tmp_path):
    """A source added by a plugin (entry point ``marketwire.plugins``) is known on the workers too: each worker
    process loads the installed plugins before its first task, as ``marketwire.open`` does on the driver."""
    from importlib.metadata import entry_points

    if not any(ep.value == "mw_testplugin:register" for ep in entry_points(group="marketwire.plugins")):
        pytest.skip("the test plugin is not installed (.venv/bin/pip install -e tests/plugin)")
    (tmp_path / "w.csv").write_text("station,date,temperature_c\nOSLO,2024-01-01,-3.5\nVOSTOK,2024-01-02,-90.1\n"
                                    "OSLO,2024-01-03,n/a\n")
    reps = {}
    for mode in ("threads", "dask"):
        mw = marketwire.open(tmp_path / mode, scheduler=cluster.scheduler_address if mode == "dask" else None)
        reps[mode] = mw.ingest("weather-csv", [tmp_path / "w.csv"])
    assert (reps["dask"].accepted, reps["dask"].quarantined) == (reps["threads"].accepted, reps["threads"].quarantined) \
        == (1, 2)
    assert E.compare_lakes(tmp_path / "threads", tmp_path / "dask")["identical"]
