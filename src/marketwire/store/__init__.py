"""The lake: Delta tables, one per dataset, append-only and bitemporal.

``Lake`` is imported on first use, so that :mod:`marketwire.store.state` (table versions and manifests, standard
library only) loads without the data stack."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from marketwire.store.lake import Lake


def __getattr__(name: str) -> Any:
    if name == "Lake":
        from marketwire.store.lake import Lake

        return Lake
    raise AttributeError(f"module 'marketwire.store' has no attribute {name!r}")


__all__ = ["Lake"]
