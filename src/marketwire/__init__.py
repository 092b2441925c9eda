"""marketwire: open, self-hostable market data - point-in-time, verified, traceable.

>>> import marketwire
>>> mw = marketwire.open("~/marketwire")          # doctest: +SKIP
>>> mw.resolve("SAN.PA")[0]["security_id"]         # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from marketwire.serve.facade import Marketwire


def open(home: str | Path | None = None) -> Marketwire:  # noqa: A001 - mirrors the CLI's --home
    """The platform over the lake in ``home`` (else ``$MARKETWIRE_HOME``, else a per-user folder)."""
    from marketwire.serve.facade import Marketwire

    return Marketwire(home)


__all__ = ["__version__", "open"]
