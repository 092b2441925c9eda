"""The lake: Delta tables, one per dataset, append-only and bitemporal."""

from marketwire.store.lake import Lake

__all__ = ["Lake"]
