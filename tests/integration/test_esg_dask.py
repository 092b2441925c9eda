"""The ESG metric table processed by several Dask workers (a ``distributed.LocalCluster`` of 2 workers):
per metric and period totals computed file by file on the workers and combined equal the same computed in one
process (the code is benchmarks/esg_scale.py's, which the docs describe)."""

from __future__ import annotations

import sys

import pytest

from conftest import benchmark_module  # type: ignore[import-not-found]

distributed = pytest.importorskip(
    "distributed", reason='the Dask tests need distributed: pip install "marketwire[dask]"')

pytestmark = pytest.mark.integration

B = benchmark_module("esg_scale")


def test_metric_table_on_two_workers(tmp_path):
    import cloudpickle
    from deltalake import DeltaTable

    cloudpickle.register_pickle_by_value(sys.modules[B.__name__])
    chunks = [B.generate(50, 20, 10, start=s) for s in range(0, 200, 50)]
    B.write_marketwire(tmp_path / "mw", iter(chunks))
    files = DeltaTable(str(tmp_path / "mw")).file_uris()
    assert len(files) >= 16  # one file per bucket and chunk at least: work for several workers
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as c, \
            distributed.Client(c) as client:
        client.wait_for_workers(2)
        got = B.stats_on_cluster(files, client)
        workers = set(client.scheduler_info()["workers"])
    want = B.stats_here(files)
    assert got.to_pylist() == want.to_pylist()
    assert len(workers) == 2
    assert got.num_rows == 20 * 10
    assert sum(got.column("n").to_pylist()) == sum(len(t) - t.column("value").null_count for t in chunks)
