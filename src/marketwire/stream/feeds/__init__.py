"""Feed normalisers: each turns one feed format into event batches (:mod:`marketwire.stream.events`).

A normaliser is a function ``read(path, listing_of, **options) -> Iterator[Chunk]``; ``listing_of(key, meta)``
returns the listing id of an instrument key (see :mod:`marketwire.stream.instruments`). A :class:`Chunk` carries
one batch, the feed cursor after it (resume point) and the rows that could not be parsed
(:class:`~marketwire.stream.verify.Unparseable`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from marketwire.stream.feeds.base import Chunk, ListingOf

__all__ = ["Chunk", "ListingOf", "detect", "reader", "windower"]


def detect(path: str | Path) -> str:
    """The feed format of a file: lean, binance, cryptofeed or dbn."""
    p = str(path)
    name = Path(p).name.lower()
    if name.endswith(".zip") and "/tick/" in p.replace("\\", "/"):
        return "lean"
    if name.endswith(".dbn.zst") or name.endswith(".dbn"):
        return "dbn"
    if ".ws." in name:
        return "cryptofeed"
    if name.endswith(".gz"):
        return "binance"
    if name.endswith(".zip"):
        return "lean"
    raise ValueError(f"{p}: unknown feed format (expected a Lean tick zip, a Binance capture .gz, a cryptofeed "
                     f"capture *.ws.N.0 or a DBN file)")


def reader(fmt: str) -> Callable[..., Iterator[Chunk]]:
    if fmt == "lean":
        from marketwire.stream.feeds.lean import read
    elif fmt == "binance":
        from marketwire.stream.feeds.binance import read
    elif fmt == "cryptofeed":
        from marketwire.stream.feeds.cryptofeed import read
    elif fmt == "dbn":
        from marketwire.stream.feeds.dbn import read
    else:
        raise ValueError(f"unknown feed format {fmt!r}")
    return read


def windower(fmt: str) -> Callable[..., list[Callable[[], list[Chunk]]]] | None:
    """The function cutting a file of ``fmt`` into windows that threads can parse at once (``None``: the format is
    read whole, in order, by :func:`reader`)."""
    if fmt == "binance":
        from marketwire.stream.feeds.binance import windows

        return windows
    return None
