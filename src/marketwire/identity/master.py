"""The derived securities master: issuers, securities, listings, identifiers and index membership, derived from
every observation the sources delivered, written through the engine's write stage (``derived`` mode: what changed
is appended, what is gone is retracted).

A build is **published atomically**: it runs under the writer locks of the master's tables, compares itself with
their last committed versions, and once every table is written records the versions it wrote and the versions of
the inputs it read in the manifest ``master`` (:meth:`marketwire.store.Lake.publish`). Readers read the published
versions, so they see the previous master or the new one, never a mix. :func:`master_state` compares the manifest
with the lake: a master whose inputs moved (an ingest killed before its rebuild) or whose tables hold writes that
were never published (a build killed halfway) is stale, and :func:`ensure_master` rebuilds it, unless the rebuild
was deferred on purpose (``ingest --no-rebuild``, until ``rebuild``) or another writer is at work right now.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from marketwire.datasets import reference as R
from marketwire.engine.core import Progress
from marketwire.engine.write import Provenance, commit
from marketwire.identity.build import build_master, build_membership
from marketwire.identity.ids import Registry
from marketwire.identity.reference import context
from marketwire.identity.state import (DEFERRED, MANIFEST, MASTER_INPUTS, MASTER_OUTPUTS,  # noqa: F401 - re-exported
                                       MasterState, followups_pending, master_state)
from marketwire.refdata import US_MIC_RANK, US_MICS
from marketwire.sources.classify import same_entity_name
from marketwire.store import Lake
from marketwire.timeparse import as_utc, utc_now

MASTER_LOCKS = (R.ID_REGISTRY.name, *MASTER_OUTPUTS)


def defer_master(lake: Lake) -> None:
    """Note that the master is left stale on purpose (an ingest with ``--no-rebuild``) until the next rebuild."""
    if lake.manifest(DEFERRED) is None:
        lake.publish(DEFERRED, {"since": utc_now().isoformat()})


def ensure_master(lake: Lake, progress: Progress | None = None, *, wait: bool = False,
                  deferred_too: bool = False) -> bool:
    """Rebuild the master if it is not current (see the module docstring). Never waits for another writer unless
    ``wait``: a build or an ingest at work leaves the published master as it is. A deferred rebuild is left to
    ``rebuild`` unless ``deferred_too``. Returns whether it rebuilt."""
    st = master_state(lake)
    if st.current or (st.deferred and not deferred_too and st.status == "stale"):
        return False
    with lake.writing(MASTER_LOCKS, blocking=wait) as got:
        if not got:
            return False
        rebuild_master(lake, progress, only_if_stale=True, deferred_too=deferred_too or st.status != "stale")
    return True


def rebuild_master(lake: Lake, progress: Progress | None = None, *, only_if_stale: bool = False,
                   deferred_too: bool = True) -> int:
    """Derive the master from every live observation; append what changed; publish it. Returns the number of
    flag records added or retracted. ``only_if_stale``: nothing when the published master is current (another
    process built it while this one waited for the lock)."""
    with lake.writing(MASTER_LOCKS):
        st = master_state(lake)
        if only_if_stale and (st.current or (st.deferred and not deferred_too and st.status == "stale")):
            return 0
        lake.publish(DEFERRED, None)  # a rebuild is asked for: from here a killed build is repaired on open
        inputs = st.inputs or {}
        new_flags = _build(lake.unpinned(), progress)
        outputs = {n: lake.committed_version(n) for n in MASTER_OUTPUTS}
        lake.publish(MANIFEST, {"inputs": inputs, "outputs": outputs, "built_at": utc_now().isoformat(),
                                "followups": "pending"})
        return new_flags


def followups_done(lake: Lake, built_at: str | None) -> None:
    """Record that what follows a build (verticals adopting listings the master now knows) has run for the
    build published at ``built_at`` (a later build keeps its own mark)."""
    with lake.writing(MASTER_LOCKS):
        man = lake.manifest(MANIFEST)
        if man is not None and man.get("built_at") == built_at and man.get("followups") != "done":
            lake.publish(MANIFEST, {**man, "followups": "done"})


def _build(lake: Lake, progress: Progress | None = None) -> int:
    step = progress or (lambda name, k, n: None)
    step("master: reading observations", 0, 8)
    obs = lake.read(R.REF_OBSERVATIONS, where="NOT coalesce(retracted, false)").to_pylist()
    reg_rows = lake.read(R.ID_REGISTRY, columns=["kind", "key", "id"]).to_pylist() \
        if lake.exists(R.ID_REGISTRY) else []
    registry = Registry((r["kind"], r["key"], r["id"]) for r in reg_rows)
    step("master: replaying snapshots", 1, 8)
    master = build_master(obs, registry, context(lake))
    horizon = max((o["snapshot_date"] for o in obs), default=date.today())
    idx_obs = lake.read(R.INDEX_OBSERVATIONS, where="NOT coalesce(retracted, false)").to_pylist() \
        if lake.exists(R.INDEX_OBSERVATIONS) else []
    if idx_obs:
        horizon = max(horizon, max(o["snapshot_date"] for o in idx_obs))
    at, after = ticker_index(master.listings, master.identifiers)
    members, mflags = build_membership(idx_obs, at, after)
    prov = Provenance(as_utc(horizon), utc_now(), "marketwire.build", "build-" + uuid.uuid4().hex[:10])
    if master.registry_new:
        commit(lake, R.ID_REGISTRY, [{"kind": k, "key": key, "id": i} for k, key, i in master.registry_new], prov,
               mode="append")
    new_flags = 0
    for k, (ds, rows) in enumerate(((R.ISSUERS, master.issuers), (R.SECURITIES, master.securities),
                                    (R.LISTINGS, master.listings), (R.IDENTIFIERS, master.identifiers),
                                    (R.INDEX_MEMBERSHIP, members), (R.REF_FLAGS, master.flags + mflags))):
        step(f"master: writing {ds.name}", 2 + k, 8)
        w = commit(lake, ds, rows, prov, mode="derived")
        if ds is R.REF_FLAGS:
            new_flags = w.appended.height
    return new_flags


def ticker_index(listings: list[dict[str, Any]], identifiers: list[dict[str, Any]]
                 ) -> tuple[Callable[[str, date], str | None], Callable[[str, date, str | None], str | None]]:
    """Lookups of US listings by ticker: valid on a date, and first after a date with an agreeing name."""
    mic = {l["listing_id"]: l["mic"] for l in listings}
    by: dict[str, list[tuple[str, date | None, date | None]]] = {}
    for i in identifiers:
        if i["scheme"] in ("ticker", "symbol") and mic.get(i["entity_id"]) in US_MICS:
            by.setdefault(i["value"], []).append((i["entity_id"], i["valid_from"], i["valid_to"]))

    def at(ticker: str, d: date) -> str | None:
        c = [e for e, vf, vt in by.get(ticker, []) if (vf is None or vf <= d) and (vt is None or vt > d)]
        c = sorted(set(c), key=lambda e: US_MIC_RANK.get(mic.get(e) or "", 99))
        return c[0] if c else None

    names = {l["listing_id"]: l["name"] for l in listings}

    def after(ticker: str, d: date, name: str | None) -> str | None:
        c = sorted((vf, US_MIC_RANK.get(mic.get(e) or "", 99), e) for e, vf, vt in by.get(ticker, [])
                   if vf is not None and vf > d)
        for _, _, e in c:
            if same_entity_name(names.get(e), name):
                return e
        return None

    return at, after


__all__ = ["MASTER_INPUTS", "MASTER_LOCKS", "MASTER_OUTPUTS", "MasterState", "defer_master", "ensure_master",
           "followups_done", "followups_pending", "master_state", "rebuild_master", "ticker_index"]
