"""The derived securities master: issuers, securities, listings, identifiers and index membership, derived from
every observation the sources delivered, written through the engine's write stage (``derived`` mode: what changed
is appended, what is gone is retracted)."""

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
from marketwire.refdata import US_MIC_RANK, US_MICS
from marketwire.sources.classify import same_entity_name
from marketwire.store import Lake
from marketwire.timeparse import as_utc, utc_now

#: the observation and reference datasets the master is derived from
MASTER_INPUTS = frozenset({"ref_observations", "index_observations", "exchanges", "countries", "currencies"})


def rebuild_master(lake: Lake, progress: Progress | None = None) -> int:
    """Derive the master from every live observation; append what changed. Returns the number of flag records
    added or retracted."""
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


__all__ = ["MASTER_INPUTS", "rebuild_master", "ticker_index"]
