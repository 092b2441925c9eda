"""``marketwire check``: verify a home and repair what can be repaired.

What is checked (each a line of the report, ``ok`` or a problem):

- **tables**: every dataset's Delta table opens and reads whole; records that are duplicates by the dataset's
  declaration are counted (:mod:`marketwire.store.check`);
- **master**: the published securities master against the lake (:func:`marketwire.identity.master.master_state`):
  current, stale (its inputs moved: an ingest killed before its rebuild, or deferred by ``--no-rebuild``),
  unpublished (a build killed halfway), unrecorded (no manifest); and whether what follows a build ran;
- **master index**: the DuckDB lookup cache and hot-index files of the published master: built, readable, built
  from the versions the lake now serves; leftovers of killed builds;
- **bars cache** and **news index**: readable, and the versions they hold (a cache behind the lake is refreshed on
  its next read, so only damage is a problem).

``repair``: duplicates are removed (a new Delta version per table; the first of identical records kept), a master
that is not current is rebuilt and published, damaged caches are deleted and built again, stale ones brought up to
date. The report says what was done and what remains; the CLI exits non-zero while a problem remains.
"""

from __future__ import annotations

from typing import Any

from marketwire.datasets import all_datasets
from marketwire.identity.master import followups_pending, master_state
from marketwire.news.search import ArticleIndex
from marketwire.store.check import check_table, remove_duplicates


def check_home(mw: Any, repair: bool = False) -> dict[str, Any]:
    """The report of :mod:`marketwire.serve.check` over the facade ``mw`` (opened with ``repair=False`` so that
    opening it repaired nothing)."""
    lake = mw.lake
    problems: list[str] = []
    repaired: list[str] = []

    tables = []
    for ds in all_datasets():
        rep = check_table(lake, ds)
        if repair and rep.duplicates and rep.error is None:
            rep.removed = remove_duplicates(lake, ds)
            repaired.append(f"{ds.name}: removed {rep.removed} duplicate record(s)")
            after = check_table(lake, ds)
            rep.duplicates, rep.rows, rep.version = after.duplicates, after.rows, after.version
        if rep.error:
            problems.append(f"{ds.name}: table cannot be read ({rep.error})")
        elif rep.duplicates:
            problems.append(f"{ds.name}: {rep.duplicates} duplicate record(s)")
        if rep.version is not None:
            tables.append(rep.to_dict())

    st = master_state(lake)
    if repair and (not st.current or followups_pending(lake)):
        before = st.status
        mw.identity.rebuild(only_if_stale=True)
        repaired.append(f"master: {before}, rebuilt and published" if before not in ("current", "empty")
                        else "master: what follows the last build ran")
        st = master_state(lake)
    master = {"status": st.status, "deferred": st.deferred, "detail": st.detail,
              "followups_pending": followups_pending(lake) is not None,
              "published": (st.published or {}).get("outputs"), "built_at": (st.published or {}).get("built_at")}
    if not st.current:
        problems.append(f"master: {st.status}" + (f" ({st.detail})" if st.detail else "")
                        + ("; deferred by --no-rebuild: run `marketwire rebuild`" if st.deferred else ""))
    if master["followups_pending"]:
        problems.append("master: what follows the last build (adopting provisional listings) did not run")

    index = mw.identity.index.status()
    if repair and (index["readable"] is False or index["leftovers"] or
                   (st.current and (not index["built"] or not index["hot_complete"]))):
        mw.identity.index.repair()
        repaired.append("master index: built for the published master")
        index = mw.identity.index.status()
    if index["readable"] is False:
        problems.append("master index: the cache file cannot be read")
    elif index["built_from"] is not None and index["versions"] is not None and \
            index["built_from"] != {k: v for k, v in index["versions"].items()}:
        problems.append("master index: built from other versions than its name says")
    if index["leftovers"]:
        problems.append(f"master index: {index['leftovers']} leftover(s) of killed builds")

    bars = mw.prices.bars_cache.status()
    if repair and (bars["built"] < bars["buckets"] or bars["leftovers"]):
        mw.prices.bars_cache.invalidate()
        mw.prices.bars_cache.ensure()
        repaired.append("bars cache: built for the lake's files")
        bars = mw.prices.bars_cache.status()

    news_index = ArticleIndex(lake)
    news = news_index.status()
    if repair and news["lake_version"] is not None and (news["readable"] is False or news["version"] != news["lake_version"]):
        news_index.repair()
        repaired.append("news index: " + ("rebuilt (it could not be read)" if news["readable"] is False
                                          else "brought up to the lake's table"))
        news = news_index.status()
    if news["readable"] is False:
        problems.append("news index: the index file cannot be read")

    return {"ok": not problems, "problems": problems, "repaired": repaired, "tables": tables, "master": master,
            "master_index": index, "bars_cache": bars, "news_index": news}


__all__ = ["check_home"]
