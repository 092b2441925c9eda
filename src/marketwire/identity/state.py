"""How the published securities master and its lookup cache stand against the lake, read with the standard
library alone (table versions and manifests, :class:`marketwire.store.state.LakeState`).

:mod:`marketwire.identity.master` builds and publishes the master, :mod:`marketwire.identity.index` builds the
lookup cache of one lake state (named by :func:`index_stamp`); ``marketwire resolve`` uses both answers here to
decide, without loading the data stack, whether a cache built for the current state exists
(:mod:`marketwire.identity.point`). The table names are the datasets' (a test checks them against
:mod:`marketwire.datasets.reference`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

#: the observation and reference datasets the master is derived from
MASTER_INPUTS = frozenset({"ref_observations", "index_observations", "exchanges", "countries", "currencies"})
#: the tables a build writes (and locks); the manifest publishes the derived ones (datasets.reference.MASTER_DATASETS)
MASTER_OUTPUTS = ("issuers", "securities", "listings", "identifiers", "index_membership", "ref_flags")
MANIFEST = "master"
DEFERRED = "master.deferred"
#: frame of the lookup cache -> the table it is read from (the cache of one state is named by these versions)
INDEX_TABLES = {"ids": "identifiers", "listings": "listings", "securities": "securities", "issuers": "issuers",
                "flags": "ref_flags", "membership": "index_membership", "exchanges": "exchanges"}
#: bumped when the cache's layout changes, so that caches of an older layout are never read
INDEX_SCHEMA_VERSION = "9"


class Versions(Protocol):
    def committed_version(self, name: str) -> int | None: ...

    def version(self, name: str) -> int | None: ...

    def manifest(self, name: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class MasterState:
    """How the published master stands against the lake.

    ``status``: ``current``; ``empty`` (nothing to derive from, nothing built); ``stale`` (inputs changed since the
    published build); ``unpublished`` (tables written by a build that did not publish: killed halfway);
    ``unrecorded`` (tables without a manifest: written before manifests existed, or the manifest was lost)."""

    status: str
    deferred: bool = False
    detail: str = ""
    inputs: dict[str, int | None] | None = None
    published: dict[str, Any] | None = None

    @property
    def current(self) -> bool:
        return self.status in ("current", "empty")


def master_state(lake: Versions) -> MasterState:
    inputs = {n: lake.committed_version(n) for n in sorted(MASTER_INPUTS)}
    outputs = {n: lake.committed_version(n) for n in MASTER_OUTPUTS}
    man = lake.manifest(MANIFEST)
    deferred = lake.manifest(DEFERRED) is not None
    if man is None:
        if all(v is None for v in outputs.values()):
            if all(v is None for v in inputs.values()):
                return MasterState("empty", deferred, "", inputs)
            return MasterState("stale", deferred, "the master was never built from the observations", inputs)
        return MasterState("unrecorded", deferred, "master tables without a published build", inputs)
    pub_out = man.get("outputs") or {}
    ahead = sorted(n for n, v in outputs.items() if v is not None and (pub_out.get(n) is None or v > pub_out[n]))
    if ahead:
        return MasterState("unpublished", deferred,
                           "writes of a build that never published: " + ", ".join(ahead), inputs, man)
    moved = sorted(n for n, v in inputs.items() if v != (man.get("inputs") or {}).get(n))
    if moved:
        return MasterState("stale", deferred, "inputs changed since the published build: " + ", ".join(moved),
                           inputs, man)
    return MasterState("current", deferred, "", inputs, man)


def followups_pending(lake: Versions) -> str | None:
    """The ``built_at`` of the published build when what follows it has not run yet (it was killed), else None."""
    man = lake.manifest(MANIFEST)
    return man.get("built_at") if man is not None and man.get("followups") == "pending" else None


def repair_due(lake: Versions) -> bool:
    """Whether the master is not current with its inputs (and not deliberately deferred), or follow-ups of a
    published build did not run: what opening the platform repairs first."""
    st = master_state(lake)
    stale = not st.current and not (st.deferred and st.status == "stale")
    return stale or followups_pending(lake) is not None


def index_versions(lake: Versions) -> dict[str, int | None]:
    return {t: lake.version(t) for t in INDEX_TABLES.values()}


def index_stamp(versions: dict[str, int | None]) -> str:
    """The name of the lookup cache of the lake state with these table versions."""
    text = INDEX_SCHEMA_VERSION + ":" + ",".join(f"{k}={versions[k]}" for k in sorted(versions))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
