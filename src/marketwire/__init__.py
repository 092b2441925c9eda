"""marketwire: open, self-hostable market data - point-in-time, verified, traceable.

>>> import marketwire
>>> mw = marketwire.open("~/marketwire")          # doctest: +SKIP
>>> mw.resolve("SAN.PA")[0]["security_id"]         # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from marketwire.serve.facade import Marketwire


def open(home: str | Path | None = None, **options: Any) -> Marketwire:  # noqa: A001 - mirrors the CLI's --home
    """The platform over the lake in ``home`` (else ``$MARKETWIRE_HOME``, else a per-user folder).

    ``scheduler``: a Dask scheduler address for bulk jobs (else ``$MARKETWIRE_SCHEDULER``, else threads);
    ``background=True``: rebuild lookup caches in the background after a lake change (a server)."""
    from marketwire.serve.facade import Marketwire

    return Marketwire(home, **options)


__all__ = ["__version__", "open"]
