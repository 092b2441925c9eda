"""REST routes of the realtime store: ``/v1/last/{id}``, ``/v1/ticks/{id}`` and ``/v1/bars/{id}``, answered from the
stream's log and the lake alike (:class:`~marketwire.stream.service.StreamService`). Errors are the app's
(``{"error": {"code", "message"}}`` with 400/404/409) since the service raises the one error tree."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

#: the most ticks one answer carries (narrow start/end for more)
MAX_TICKS = 100_000
_ID = r"^[^\x00-\x20\x7f:/]+$"
_TIME = r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$"


def _plain(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def _rows(t: Any, time_col: str) -> list[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if time_col == "ts_event":
        iso = pc.strftime(pc.cast(t.column("ts_event"), pa.timestamp("ns", tz="UTC")), "%Y-%m-%dT%H:%M:%S%z")
        t = t.append_column("time", iso)
    return [_plain(r) for r in t.to_pylist()]


def register(app: FastAPI, mw: Any, errors: Any = None) -> None:
    """Add the routes; ``mw(request)`` returns the app's facade, ``errors(*statuses)`` the documented error
    answers (the app's error envelope)."""
    documented = errors(400, 404, 409) if errors else None
    id_path = PathParam(..., max_length=64, pattern=_ID, description="A listing id, a ticker, or a stream symbol.")
    time_q = {"max_length": 40, "pattern": _TIME}

    @app.get("/v1/last/{id}", tags=["realtime"], summary="Last trade and quotes of a listing",
             response_description="Last trade, each venue's last quote and the consolidated best bid/offer.",
             responses=documented)
    def last(request: Request, id: str = id_path) -> JSONResponse:
        return JSONResponse({"data": _plain(mw(request).last(id))})

    @app.get("/v1/ticks/{id}", tags=["realtime"], summary="Trades or quotes of a listing",
             response_description="Events in exchange-time order (ns since the epoch, and `time` in ISO 8601).",
             responses=documented)
    def ticks(request: Request, id: str = id_path,
              type: str = Query("trades", pattern="^(trades|quotes)$", description="trades or quotes"),
              start: str | None = Query(None, description="From (date or ISO 8601 instant, UTC unless stated).",
                                        **time_q),
              end: str | None = Query(None, description="Until (exclusive).", **time_q),
              as_of: str | None = Query(None, description="As known at this instant.", **time_q),
              flags: bool = Query(False, description="Only flagged events."),
              limit: int = Query(10_000, ge=1, le=MAX_TICKS, description="At most this many (the first).")
              ) -> JSONResponse:
        t = mw(request).ticks(id, type, start, end, flags=flags, as_of=as_of, output="arrow")
        total = t.num_rows
        rows = _rows(t.slice(0, limit), "ts_event")
        return JSONResponse({"data": rows, "count": len(rows), "total": total})

    @app.get("/v1/bars/{id}", tags=["realtime"], summary="Intraday bars of a listing",
             response_description="OHLCV, VWAP and trade count per bar; `time` is the bar start (UTC).",
             responses=documented)
    def bars(request: Request, id: str = id_path,
             interval: str = Query("1m", pattern="^(1s|1m)$", description="1s or 1m"),
             start: str | None = Query(None, description="From (date or ISO 8601 instant).", **time_q),
             end: str | None = Query(None, description="Until (exclusive).", **time_q),
             as_of: str | None = Query(None, description="As known at this instant.", **time_q)) -> JSONResponse:
        t = mw(request).bars(id, interval, start, end, as_of=as_of, output="arrow")
        rows = _rows(t, "time")
        return JSONResponse({"data": rows, "count": len(rows)})
