"""REST routes of the ESG vertical: ``/v1/esg/...`` (registered on the app by :func:`register`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder as jsonable
from fastapi.responses import JSONResponse

MAX_TEXT = 200
#: printable text: no control characters (the app's own rule)
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$"
TIME_FORMAT: dict[str, Any] = {"anyOf": [{"type": "string", "format": "date", "maxLength": 10},
                                         {"type": "string", "format": "date-time", "maxLength": 40}, {"type": "null"}]}


def register(app: FastAPI, many: Callable[[list[Any]], JSONResponse],
             errors: Callable[..., dict[int | str, dict[str, Any]]], id_path: Callable[[], Any]) -> None:
    """Add the ESG routes to ``app`` (the facade is ``app.state.marketwire``), answering with the app's own
    envelope (``many``), error documentation (``errors``) and id parameter (``id_path``)."""
    _many, _errors, _id_path = many, errors, id_path

    def mw(request: Request) -> Any:
        return request.app.state.marketwire

    if app.openapi_tags is not None and not any(t.get("name") == "esg" for t in app.openapi_tags):
        app.openapi_tags.append({"name": "esg", "description": "ESG and climate metrics with units, method and "
                                                              "provenance, linked to the master; coverage and the "
                                                              "review queue."})

    @app.get("/v1/esg/metrics/{id}", tags=["esg"], summary="One company's ESG metrics",
             description="Every source's value of each metric of the issuer `id` names (ticker, ISIN, CIK, LEI, "
                         "marketwire id), with unit, period, source, method, the link's confidence and method, "
                         "boundary, citation and flags; point in time with `as_of`.",
             response_description="Metric values, one per source, metric and period.",
             responses=_errors(400, 404, 409))
    def esg_metrics(request: Request, id: str = _id_path(),
                    metric: str | None = Query(None, max_length=MAX_TEXT, pattern=r"^[A-Za-z0-9_,]+$",
                                               description="Only these metric codes, comma-separated "
                                                           "(scope1,scope2,scope3).", examples=["scope1,scope3"]),
                    as_of: str | None = Query(None, max_length=40, pattern=TIME_PATTERN,
                                              json_schema_extra=TIME_FORMAT,
                                              description="What was known then: a date or an ISO 8601 time.")
                    ) -> JSONResponse:
        codes = [c for c in (metric or "").split(",") if c] or None
        return _many(mw(request).esg.metrics(id, codes, as_of))

    @app.get("/v1/esg/derived/{id}", tags=["esg"], summary="Intensity, sector percentile and score",
             description="Emissions intensity per revenue and per market value, the sector percentile of the "
                         "intensity and the transparent score (formula in docs/esg.md), with every input.",
             response_description="The derived figures and their inputs.", responses=_errors(400, 404, 409))
    def esg_derived(request: Request, id: str = _id_path(),
                    as_of: str | None = Query(None, max_length=40, pattern=TIME_PATTERN,
                                              json_schema_extra=TIME_FORMAT,
                                              description="What was known then: a date or an ISO 8601 time.")
                    ) -> JSONResponse:
        return JSONResponse({"data": jsonable(mw(request).esg.derived(id, as_of))})

    @app.get("/v1/esg/coverage", tags=["esg"], summary="ESG coverage per source",
             response_description="Entities, linked, confirmed, waiting for review, share linked, values, rows.",
             responses=_errors())
    def esg_coverage(request: Request) -> JSONResponse:
        return _many(mw(request).esg.coverage())

    @app.get("/v1/esg/review", tags=["esg"], summary="Source entities waiting for a link",
             response_description="Raw name, country, sector, best candidates and why the link was not made.",
             responses=_errors(400))
    def esg_review(request: Request,
                   source: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN,
                                              description="Only this source's entities."),
                   limit: int = Query(100, ge=1, le=10_000, description="At most this many rows.")) -> JSONResponse:
        return _many(mw(request).esg.review(source, limit))

    @app.get("/v1/esg/catalogue", tags=["esg"], summary="The ESG metric codes",
             response_description="Code, name, kind, unit, description.", responses=_errors())
    def esg_catalogue(request: Request) -> JSONResponse:
        return _many(mw(request).esg.catalogue())
