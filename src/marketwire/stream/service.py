"""The stream service (``mw.stream``): replay of feed files through verification into the durable log, live derived
state (last-value cache, bars), ticks and bars answered from the log and the lake alike, the end-of-day roll.

Contract used by the serving side:

* ``StreamService.log`` -- the :class:`~marketwire.stream.log.Log` of this home (``<home>/stream/log``).
* ``StreamService.subscribe(channels, ids)`` -- an async iterator of events, delegated to
  :mod:`marketwire.stream.hub` (imported when first called).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from marketwire.stream.log import Log


class StreamService:
    def __init__(self, lake: Any, engine: Any, identity: Any, home: Path) -> None:
        self.lake = lake
        self.engine = engine
        self.identity = identity
        self.home = Path(home)
        self._log: Log | None = None

    @property
    def log(self) -> Log:
        if self._log is None:
            self._log = Log(self.home / "stream" / "log")
        return self._log

    def subscribe(self, channels: Sequence[str], ids: Sequence[str] | str = "*", **options: Any) -> Any:
        """An async iterator of the events of ``channels`` (trades, quotes, book, bars_1s, bars_1m) for listings
        ``ids`` (ids, tickers or ``*``); see :mod:`marketwire.stream.hub`."""
        from marketwire.stream import hub  # owned by the serving side; loaded on first use

        return hub.subscribe(self, channels, ids, **options)
