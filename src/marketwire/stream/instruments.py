"""Instruments of the realtime feeds as listings of the master, through the identity service.

Every feed names its instruments by an *instrument key*, ``<symbol>@<venue>``:

* US equities: ``IBM@US`` (the consolidated tape; the listing is the master's primary US listing of the ticker).
* FX pairs: ``EUR/USD@FXCM``, ``EUR/USD@OANDA`` -- one listing per pair and liquidity venue.
* Futures: ``<root><YYYYMM>@<MIC>`` -- ``GC201312@XCEC`` (COMEX), ``ESH4@XCME`` (CME Globex); one listing per
  contract month.
* Crypto: ``<BASE>/<QUOTE>@<VENUE>`` for spot and ``<BASE>/<QUOTE>:PERP@<VENUE>`` for perpetual swaps
  (``:<settle>`` for inverse COIN-M: ``BTC/USD:PERP-BTC@BINANCE-COINM``). Crypto venues have no ISO 10383 MIC, so the
  venue code is the exchange's name in capitals, suffixed by its market where one exchange runs several:
  ``BINANCE`` (spot), ``BINANCE-USDM``, ``BINANCE-COINM``, ``COINBASE``, ``KRAKEN``, ``BITSTAMP``.

A key the master knows (an equity ticker on a US venue) maps to the master's listing (``identity.map_symbol``);
any other key gets a permanent provisional listing id from the identity service's id registry
(``identity.provisional_ids``, key ``stream:<instrument key>``), so events are keyed by a listing id either way.
The map is kept in ``<home>/stream/instruments.json`` (key -> listing id and description) for lookups by symbol.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import date
from pathlib import Path
from typing import Any

from marketwire.engine.write import Provenance
from marketwire.sources.prices import SymbolHint
from marketwire.timeparse import utc_now


class Instruments:
    def __init__(self, identity: Any, path: Path) -> None:
        self.identity = identity
        self.path = Path(path)
        self._lock = threading.Lock()
        self._map: dict[str, dict[str, Any]] = {}
        self._stamp: float | None = None
        self.reload()

    def reload(self) -> None:
        """Re-read the map when another process changed it."""
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if stamp != self._stamp:
            self._map = json.loads(self.path.read_text())
            self._stamp = stamp

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._map, indent=1, sort_keys=True, default=str))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def listing_of(self, key: str, meta: dict[str, Any] | None = None, when: date | None = None) -> str:
        """The listing id of an instrument key (registered on first sight)."""
        hit = self._map.get(key)
        if hit is not None:
            return str(hit["listing_id"])
        with self._lock:
            hit = self._map.get(key)
            if hit is not None:
                return str(hit["listing_id"])
            meta = dict(meta or {})
            lid = None
            if meta.get("kind") == "equity" and self.identity is not None:
                try:
                    m = self.identity.map_symbol(SymbolHint(meta["symbol"], meta["symbol"], country="US",
                                                            currency="USD"), when or utc_now().date())
                except Exception:  # noqa: BLE001 - an unbuilt master answers nothing: provisional below
                    m = None
                if m and m.get("listing_id"):
                    lid, meta["master"] = m["listing_id"], True
            if lid is None:
                if self.identity is None:
                    lid = "stream:" + key
                else:
                    now = utc_now()
                    prov = Provenance(now, now, "stream", f"stream-{now:%Y%m%d%H%M%S}")
                    lid = self.identity.provisional_ids([f"stream:{key}"], prov)[f"stream:{key}"][0]
                meta["master"] = False
            self._map[key] = {"listing_id": lid, **meta}
            self._save()
            return str(lid)

    def find(self, text: str) -> list[str]:
        """Listing ids whose key, symbol or listing id is ``text`` (case-insensitive)."""
        t = text.strip().upper()
        out = []
        for key, d in self._map.items():
            lid = str(d["listing_id"])
            names = {key.upper(), str(d.get("symbol", "")).upper(), lid.upper(), key.split("@")[0].upper()}
            if t in names and lid not in out:
                out.append(lid)
        return out

    def describe(self, listing_id: str) -> dict[str, Any] | None:
        for key, d in self._map.items():
            if d["listing_id"] == listing_id:
                return {"key": key, **d}
        return None

    def all(self) -> dict[str, dict[str, Any]]:
        return dict(self._map)
