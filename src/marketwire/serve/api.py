"""The REST layer: a thin FastAPI shell over :class:`marketwire.serve.facade.Marketwire`.

Route handlers hold no query logic. Each one parses its parameters, calls exactly one facade method and wraps
the result: ``{"data": ...}`` for a single object, ``{"data": [...], "count": n}`` for a list. Every failure,
ours or the framework's, leaves as the one error envelope ``{"error": {"code", "message", ...fields}}`` with
the status the error names (see docs/errors.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from marketwire.engine.quarantine import MAX_OFFSET, MAX_PAGE
from marketwire.errors import MarketwireError, Rows
from marketwire.serve.access import AccessPolicy, install_access
from marketwire.serve.api_fundamentals import register as register_fundamentals
from marketwire.serve.keys import KeyStore
from marketwire.serve.params import check_known, route_query_names
from marketwire.serve.writes import LocalFiles, NewArticle, add_article, add_local_files, document_writes

API_VERSION = "1.0.0"

#: bounds every request is held to (docs/bounds.md): free text and filters, ids, dates, paging
MAX_TEXT = 200
MAX_ID = 64
MAX_NEWS_OFFSET = 100_000
#: printable text: no control characters (a NUL byte in a filter is refused, never passed to a query)
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
#: an id: printable, no spaces; a colon only after a scheme the resolver knows (``isin:US0378331005``)
ID_PATTERN = r"^(?:(?:isin|cusip|figi|lei|cik|ticker|ISIN|CUSIP|FIGI|LEI|CIK|TICKER):)?[^\x00-\x20\x7f:]+$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
#: a date `YYYY-MM-DD`, or an ISO 8601 instant
#: what the schema states for a date parameter and for a time parameter (a date or an ISO 8601 instant)
DATE_FORMAT: dict[str, Any] = {"anyOf": [{"type": "string", "format": "date", "maxLength": 10}, {"type": "null"}]}
TIME_FORMAT: dict[str, Any] = {"anyOf": [{"type": "string", "format": "date", "maxLength": 10},
                                         {"type": "string", "format": "date-time", "maxLength": 40}, {"type": "null"}]}
TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$"

TAGS: list[dict[str, str]] = [
    {"name": "meta", "description": "Service health and lake state."},
    {"name": "identity", "description": "Resolve identifiers and search instruments by name or symbol."},
    {"name": "reference", "description": "Securities and listings by their marketwire ids, point in time."},
    {"name": "indexes", "description": "Index constituents, point in time."},
    {"name": "quality", "description": "Rows refused at ingest, with the rule that refused them."},
    {"name": "news", "description": "Articles and stories of the news wire: text, language, duplicates, linked "
                             "entities, bullets, topics."},
    {"name": "prices", "description": "Daily bars adjusted on read, the corporate-action ledger, series quality, "
                                      "FX reference rates and bulk Parquet / Arrow output."},
    {"name": "fundamentals", "description": "SEC facts point in time, standardised statements, ratios, consensus."},
]


# -- documentation models (describe the responses; handlers return plain JSON) ----------------------------

class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorBody(_Open):
    code: str = Field(description="Stable error code, see docs/errors.md.", examples=["not_found"])
    message: str = Field(description="Human-readable explanation.")
    param: str | None = Field(None, description="The request parameter at fault, when there is one.")
    candidates: list[dict[str, Any]] | None = Field(None, description="For `ambiguous`: the possible matches.")


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class Match(_Open):
    issuer_id: str | None = None
    security_id: str | None = None
    listing_id: str | None = None
    name: str | None = None
    type: str | None = None
    status: str | None = None
    identifiers: dict[str, str] = Field(default_factory=dict, description="Scheme (isin, cusip, figi ...) -> value.")
    listings: list[dict[str, Any]] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list, description="Codes of the quality rules this entity trips.")
    matched_by: str | None = Field(None, description="How the query matched (identifier scheme, ticker, name).")
    issuer_name: str | None = None
    ticker: str | None = None
    mic: str | None = Field(None, description="ISO 10383 venue code of the listing.")
    currency: str | None = None
    country: str | None = None
    valid_from: date | None = None
    valid_to: date | None = Field(None, description="Exclusive end of validity; null while current.")


class Bar(_Open):
    date: date
    open: float | None = None
    high: float | None = None
    low: float | None = None
    close: float
    volume: float | None = None
    flags: str | None = Field(None, description="Comma-separated rule codes (with `flags=true`).")


class PriceList(BaseModel):
    data: list[Bar]
    count: int
    meta: dict[str, str] = Field(description="listing_id, source, basis, adjust, convention, currency, unit_scale, "
                                             "as_of")


class RowList(BaseModel):
    data: list[dict[str, Any]]
    count: int


class RowItem(BaseModel):
    data: dict[str, Any]


class SearchHit(_Open):
    score: float = Field(description="Match quality, 0-100; exact tickers score 100.")
    listing_id: str
    security_id: str | None = None
    ticker: str | None = None
    mic: str | None = None
    name: str | None = None
    status: str | None = None
    currency: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None


class QuarantineRow(_Open):
    source: str
    dataset: str | None = None
    rule: str = Field(description="Code of the rule that refused the row (docs/rules.md).")
    field: str | None = None
    value: Any = None
    message: str | None = None
    file: str | None = None
    line: int | None = None
    raw: Any = Field(None, description="The row as read from the file.")
    knowledge_time: datetime | None = None
    ingest_id: str | None = None


class Member(_Open):
    index: str
    ticker: str | None = None
    listing_id: str | None = None
    name: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None


class MatchList(BaseModel):
    data: list[Match]
    count: int


class MemberList(BaseModel):
    data: list[Member]
    count: int


class SearchHitList(BaseModel):
    data: list[SearchHit]
    count: int


class QuarantineList(BaseModel):
    data: list[QuarantineRow]
    count: int


class MatchItem(BaseModel):
    data: Match


class Health(_Open):
    status: str = Field(description="`ok` when the service can answer queries.", examples=["ok"])


class HealthItem(BaseModel):
    data: Health


#: the binary table formats a price route answers with (``format=parquet`` / ``format=arrow``)
TABLE_MEDIA: dict[str, Any] = {
    "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
    "application/vnd.apache.arrow.file": {"schema": {"type": "string", "format": "binary"}},
}


def _id_path() -> Any:
    return PathParam(..., max_length=MAX_ID, pattern=ID_PATTERN, description="An id (listing, security, ticker, "
                     "ISIN ... as the route says): printable, no spaces, at most 64 characters.")


def _ccy_path() -> Any:
    return PathParam(..., pattern="^[A-Za-z]{3}$", description="ISO 4217 currency code.")


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {400: "Invalid parameter or identifier.", 404: "No such entity.",
            409: "The identifier names several instruments; `candidates` lists them.",
            500: "Unexpected server error.", 503: "The request ran past the server's time limit (`timeout`)."}
    return {s: {"model": ErrorEnvelope, "description": text[s]} for s in (*statuses, 500, 503)}


# -- serialisation ---------------------------------------------------------------------------------------

def plain(value: Any) -> Any:
    """Turn facade output into JSON-safe values: dates as ISO strings, NaN as null, numpy scalars unwrapped."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (date, datetime, time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, BaseModel):
        return plain(value.model_dump())
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return plain(value.tolist())
    return jsonable_encoder(value)


def _one(data: Any) -> JSONResponse:
    return JSONResponse({"data": plain(data)})


def _many(rows: list[Any]) -> JSONResponse:
    meta = getattr(rows, "meta", None)  # why an answer is empty (errors.Rows): the coverage of the lake
    rows = list(rows)
    return JSONResponse({"data": plain(rows), "count": len(rows), **({"meta": plain(meta)} if meta else {})})


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None,
                   **fields: Any) -> JSONResponse:
    body = {"code": code, "message": message, **{k: v for k, v in fields.items() if v is not None}}
    return JSONResponse({"error": plain(body)}, status_code=status, headers=dict(headers or {}))


# -- error handlers --------------------------------------------------------------------------------------

async def _on_marketwire_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MarketwireError)
    body = exc.to_dict()
    return JSONResponse({"error": plain(body)}, status_code=int(exc.http_status))


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errs = list(exc.errors())
    first = errs[0] if errs else {}
    loc = [str(p) for p in first.get("loc", ())]
    param = loc[-1] if len(loc) > 1 else (loc[0] if loc else None)
    msg = str(first.get("msg", "invalid value"))
    value = first.get("input")
    fields: dict[str, Any] = {"param": param, "location": loc[0] if len(loc) > 1 else None}
    if isinstance(value, (str, int, float, bool)):
        fields["value"] = value
    return error_response(400, "invalid_input", f"`{param}`: {msg}" if param else msg, **fields)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 404:
        code = "not_found"
        detail = exc.detail if exc.detail and exc.detail != "Not Found" else \
            f"no route {request.method} {request.url.path}; see /docs for the API"
    else:
        code = "internal" if status >= 500 else "invalid_input"
        detail = str(exc.detail)
        if status == 405:
            detail = f"method {request.method} is not allowed on {request.url.path}"
            allowed = _allowed_methods(request)
            if allowed:  # every route of the path, not only the first one Starlette matched
                return error_response(status, code, detail, headers={**(exc.headers or {}), "Allow": allowed},
                                      path=request.url.path)
    return error_response(status, code, str(detail), headers=exc.headers, path=request.url.path)


def _allowed_methods(request: Request) -> str:
    """The methods of every route whose path matches the request's (GET and POST on /v1/news are two routes)."""
    from starlette.routing import Match

    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE and getattr(route, "methods", None):
            methods |= set(route.methods)
    return ", ".join(sorted(methods))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Starlette logs the traceback after this response is sent; the body never carries it.
    return error_response(500, "internal", "internal server error; the server log has the details")


def _known_query_params(request: Request) -> None:
    """Every REST route refuses query parameters it does not declare (a 400 naming them), so a misspelt filter is
    never silently ignored. The names come from the route's own declaration."""
    route = request.scope.get("route")
    if route is None or not request.url.path.startswith("/v1"):
        return  # the web pages check their own filters (serve/web.py)
    check_known(request.query_params.keys(), route_query_names(route), f"{request.method} {route.path}")


# -- the app ---------------------------------------------------------------------------------------------

def create_app(home: str | Path, access: AccessPolicy | None = None) -> FastAPI:
    """One app over the lake at ``home``, sharing a single :class:`Marketwire` across requests. ``access``: who may
    ask what (docs/security.md); default: keys checked when sent, not required, any Host."""
    from marketwire.serve.facade import Marketwire

    app = FastAPI(
        title="marketwire",
        version=API_VERSION,
        description="Point-in-time, verified, traceable market reference data. "
                    "Every response is `{\"data\": ...}`; every error is `{\"error\": {\"code\", \"message\"}}`.",
        openapi_tags=TAGS,
        docs_url=None, redoc_url=None,  # served from the app's own assets: install_docs below
        dependencies=[Depends(_known_query_params)],
    )
    install_docs(app)
    app.state.marketwire = Marketwire(home, background=True)
    app.add_exception_handler(MarketwireError, _on_marketwire_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
    app.add_middleware(RequestTimeout, seconds=request_timeout())

    def mw(request: Request) -> Any:
        return request.app.state.marketwire

    as_of_q = Query(None, max_length=40, pattern=TIME_PATTERN, json_schema_extra=TIME_FORMAT,
                    description="Point-in-time date `YYYY-MM-DD`; default: today.",
                    examples=["2015-01-10"])

    @app.get("/v1/health", tags=["meta"], summary="Service health",
             response_description="Lake state: `status` is `ok` when the service can answer queries.",
             responses={200: {"model": HealthItem}, **_errors()})
    def health(request: Request) -> JSONResponse:
        return _one(mw(request).health())

    @app.get("/v1/resolve", tags=["identity"], summary="Resolve an identifier to instruments",
             description="Accepts a ticker, ISIN, CUSIP, FIGI or marketwire id. Check digits are verified.",
             response_description="The instruments the identifier names (usually one).",
             responses={200: {"model": MatchList}, **_errors(400, 404, 409)})
    def resolve(request: Request,
                id: str = Query(..., min_length=1, max_length=MAX_ID, pattern=ID_PATTERN,
                                description="Ticker, ISIN, CUSIP, FIGI or marketwire id.",
                                examples=["AAPL"]),
                as_of: str | None = as_of_q) -> JSONResponse:
        return _many(mw(request).resolve(id, as_of=as_of))

    @app.get("/v1/search", tags=["identity"], summary="Search instruments by name or symbol",
             response_description="Best matches first.",
             responses={200: {"model": SearchHitList}, **_errors(400)})
    def search(request: Request,
               q: str = Query(..., min_length=1, max_length=MAX_TEXT, pattern=TEXT_PATTERN,
                              description="Free text: company name or symbol.",
                              examples=["apple"]),
               limit: int = Query(20, ge=1, le=500, description="Maximum number of results."),
               as_of: str | None = as_of_q) -> JSONResponse:
        return _many(mw(request).search(q, limit=limit, as_of=as_of))

    @app.get("/v1/securities/{security_id}", tags=["reference"], summary="One security",
             response_description="The security with its identifiers, listings and quality flags.",
             responses={200: {"model": MatchItem}, **_errors(400, 404)})
    def security(request: Request, security_id: str = _id_path(), as_of: str | None = as_of_q) -> JSONResponse:
        return _one(mw(request).security(security_id, as_of=as_of))

    @app.get("/v1/listings/{listing_id}", tags=["reference"], summary="One listing",
             response_description="The listing (ticker on a venue, with validity dates) and its security.",
             responses={200: {"model": MatchItem}, **_errors(400, 404)})
    def listing(request: Request, listing_id: str = _id_path(), as_of: str | None = as_of_q) -> JSONResponse:
        return _one(mw(request).listing(listing_id, as_of=as_of))

    @app.get("/v1/indexes/{index}/members", tags=["indexes"], summary="Index constituents",
             response_description="Members of the index on `as_of` (default: today).",
             responses={200: {"model": MemberList}, **_errors(400, 404)})
    def members(request: Request, index: str = _id_path(), as_of: str | None = as_of_q) -> JSONResponse:
        return _many(mw(request).members(index, as_of=as_of))

    @app.get("/v1/quarantine", tags=["quality"], summary="Quarantined rows",
             response_description="Rows refused at ingest, with source, file, line and rule.",
             responses={200: {"model": QuarantineList}, **_errors(400)})
    def quarantine(request: Request,
                   source: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN,
                                              description="Only rows from this source."),
                   rule: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN,
                                            description="Only rows refused by this rule code."),
                   dataset: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN,
                                               description="Only rows of this dataset (e.g. bars_daily, "
                                                                 "news_articles)."),
                   limit: int = Query(100, ge=1, le=MAX_PAGE, description="Rows per page (stored order: oldest "
                                                                            "delivery first)."),
                   offset: int = Query(0, ge=0, le=MAX_OFFSET, description="Rows to skip (paging).")
                   ) -> JSONResponse:
        return _many(mw(request).quarantine(source=source, rule=rule, limit=limit, dataset=dataset, offset=offset))

    adjust_q = Query("none", pattern="^(none|splits|total_return)$",
                     description="`none` (as stored), `splits`, or `total_return` (splits and dividends).")
    convention_q = Query("prev_close", pattern="^(prev_close|ex_close)$",
                         description="Dividend factor: `prev_close` (CRSP, 1 - D / previous close) or `ex_close` "
                                     "(Quandl WIKI, ex close / (ex close + D)).")
    kt_q = Query(None, max_length=40, pattern=TIME_PATTERN, json_schema_extra=TIME_FORMAT,
                 description="What was known then: a date (end of that day, UTC) or an ISO timestamp.",
                 examples=["2024-01-31T12:00:00Z"])

    @app.get("/v1/prices/{id}", tags=["prices"], summary="Daily bars of one listing",
             response_description="The bars, oldest first, adjusted as asked; `meta` names listing, source and basis.",
             description="`format=json` (default) returns `{\"data\": [bars], \"count\", \"meta\"}`; `csv`, `arrow` "
                         "(IPC file) and `parquet` return the table itself with its metadata in headers.",
             responses={200: {"model": PriceList, "content": {"text/csv": {}, **TABLE_MEDIA}},
                        **_errors(400, 404, 409)})
    def prices(request: Request, id: str = _id_path(),
               start: str | None = Query(None, max_length=10, pattern=DATE_PATTERN, json_schema_extra=DATE_FORMAT,
                                         description="First date `YYYY-MM-DD`."),
               end: str | None = Query(None, max_length=10, pattern=DATE_PATTERN, json_schema_extra=DATE_FORMAT,
                                       description="Last date `YYYY-MM-DD`."),
               adjust: str = adjust_q, convention: str = convention_q, as_of: str | None = kt_q,
               currency: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN,
                                            description="Convert with the ECB rate of each date."),
               flags: bool = Query(False, description="Add the flags column (rule codes)."),
               source: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN,
                                          description="A source other than the primary one."),
               format: str = Query("json", pattern="^(json|csv|arrow|parquet)$"),
               orient: str = Query("records", pattern="^(records|columns)$",
                                   description="JSON only: `records` (a list of bar objects) or `columns` (one "
                                               "array per column; smaller, and faster to load into a DataFrame)."),
               ) -> Response:
        t = mw(request).prices(id, start=start, end=end, adjust=adjust,
                               as_of=as_of, currency=currency, flags=flags, source=source, output="arrow",
                               convention=convention)
        return table_response(t, format, orient)

    @app.get("/v1/prices", tags=["prices"], summary="Bulk bars of many listings (Parquet or Arrow IPC)",
             response_description="One file with a `listing_id` column and the bars of every listing asked for.",
             responses={200: {"content": TABLE_MEDIA}, **_errors(400, 404)})
    def prices_bulk(request: Request,
                    ids: str | None = Query(None, max_length=10_000, pattern=TEXT_PATTERN,
                                            description="Comma-separated ids; default: every listing."),
                    adjust: str = adjust_q,
                    start: str | None = Query(None, max_length=10, pattern=DATE_PATTERN, json_schema_extra=DATE_FORMAT),
                    end: str | None = Query(None, max_length=10, pattern=DATE_PATTERN, json_schema_extra=DATE_FORMAT),
                    format: str = Query("parquet", pattern="^(parquet|arrow)$")) -> Response:
        import tempfile

        with tempfile.NamedTemporaryFile(suffix="." + format) as fh:
            mw(request).export_prices([i for i in (ids or "").split(",") if i] or None, fh.name, format, adjust,
                                      start, end)
            body = Path(fh.name).read_bytes()
        media = "application/vnd.apache.parquet" if format == "parquet" else "application/vnd.apache.arrow.file"
        return Response(body, media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="bars.{format}"'})

    @app.get("/v1/actions/{id}", tags=["prices"], summary="Corporate-action ledger of one listing",
             response_description="Splits, dividends and capital gains by ex date, with source, file, line and flags.",
             responses={200: {"model": RowList}, **_errors(400, 404)})
    def actions(request: Request, id: str = _id_path(), as_of: str | None = kt_q) -> JSONResponse:
        return _many(mw(request).actions(id, as_of=as_of))

    @app.get("/v1/quality/{id}", tags=["prices"], summary="Quality report and score of one listing's series",
             response_description="Per source: rows, coverage of the exchange's sessions, flags, quarantine, score.",
             responses={200: {"model": RowItem}, **_errors(400, 404)})
    def quality(request: Request, id: str = _id_path()) -> JSONResponse:
        return _one(mw(request).quality(id))

    @app.get("/v1/disagreements/{id}", tags=["prices"], summary="Where two sources disagree on a listing",
             response_description="Dates where two sources' closes differ by more than 0.5%, with both values.",
             responses={200: {"model": RowList}, **_errors(400, 404)})
    def disagreements(request: Request, id: str = _id_path()) -> JSONResponse:
        return _many(mw(request).disagreements(id))

    @app.get("/v1/fx/{base}/{quote}", tags=["prices"], summary="Reference FX rate per date (ECB, crossed via EUR)",
             response_description="Units of `quote` per unit of `base` on each ECB publication date.",
             responses={200: {"model": RowList}, **_errors(400, 404)})
    def fx(request: Request, base: str = _ccy_path(), quote: str = _ccy_path(),
           start: str | None = Query(None, max_length=10, pattern=DATE_PATTERN, json_schema_extra=DATE_FORMAT),
           end: str | None = Query(None, max_length=10, pattern=DATE_PATTERN, json_schema_extra=DATE_FORMAT)
           ) -> JSONResponse:
        df = mw(request).fx(base, quote, start, end)
        return _many(df.to_dicts())

    news_listing_doc = ("Any id of an instrument (listing, security or issuer id, ticker, ISIN ...): articles linked "
                        "to its issuer, its security or any of its listings. An id that names nothing is a 404.")
    news_since_doc = "Published at or after: `YYYY-MM-DD` (from the start of that day, UTC) or an ISO 8601 time."
    news_until_doc = "Published at or before: `YYYY-MM-DD` (the whole day included) or an ISO 8601 time."

    @app.get("/v1/news", tags=["news"], summary="Articles, newest first (best text match first with `q`)",
             response_description="Articles matching every filter given.",
             responses={200: {"model": RowList}, **_errors(400, 404, 409)})
    def news_list(request: Request,
                  q: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN,
                                        description='Words (or "quoted phrases") that must all occur in the '
                                                          "title or body; case and accents ignored."),
                  lang: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN,
                                           description="ISO 639-1 language code.", examples=["fr"]),
                  country: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN,
                                              description="ISO 3166 alpha-2 code of a linked country.",
                                              examples=["RU"]),
                  listing: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN, description=news_listing_doc),
                  entity: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN,
                                             description="A link key (person:vladimir-putin, country:RU) or "
                                                              "words of a linked name."),
                  source: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN, description="The outlet."),
                  topic: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN,
                                            description="A topic code.", examples=["defence"]),
                  story: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN, description="A story id."),
                  since: str | None = Query(None, max_length=40, pattern=TIME_PATTERN,
                                            json_schema_extra=TIME_FORMAT, description=news_since_doc),
                  until: str | None = Query(None, max_length=40, pattern=TIME_PATTERN,
                                            json_schema_extra=TIME_FORMAT, description=news_until_doc),
                  unique: bool = Query(False, description="Leave out duplicates of earlier articles."),
                  as_of: str | None = Query(None, max_length=40, pattern=TIME_PATTERN,
                                            json_schema_extra=TIME_FORMAT,
                                            description="Answer with what the wire knew at this time."),
                  limit: int = Query(50, ge=1, le=1000, description="Maximum number of articles."),
                  offset: int = Query(0, ge=0, le=MAX_NEWS_OFFSET, description="Articles to skip (paging).")) -> JSONResponse:
        arts = mw(request).news.list(q=q, lang=lang, country=country, listing=listing, entity=entity, source=source,
                                     topic=topic, story=story, since=since, until=until, as_of=as_of, unique=unique,
                                     limit=limit, offset=offset)
        return _many(Rows([a.to_dict() for a in arts], getattr(arts, "meta", None)))

    @app.get("/v1/news/{id}", tags=["news"], summary="One article",
             response_description="The article: text, language, time, headline, bullets, linked entities, topics, "
                                  "story, duplicate link.",
             responses={200: {"model": RowItem}, **_errors(400, 404)})
    def news_show(request: Request, id: str = _id_path(),
                  as_of: str | None = Query(None, max_length=40, pattern=TIME_PATTERN,
                                            json_schema_extra=TIME_FORMAT,
                                            description="The version the wire knew at this time.")) -> JSONResponse:
        return _one(mw(request).news.show(id, as_of=as_of).to_dict())

    @app.get("/v1/stories", tags=["news"], summary="Stories: articles about one event across outlets and languages",
             response_description="Stories, newest first, with their articles, languages, sources and entities.",
             responses={200: {"model": RowList}, **_errors(400, 404, 409)})
    def stories_list(request: Request,
                     q: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN,
                                           description="Words that must all occur in an article of the story."),
                     lang: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN,
                                              description="A language of one of its articles."),
                     country: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN,
                                                 description="ISO alpha-2 code of a linked country."),
                     listing: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN, description=news_listing_doc),
                     entity: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN,
                                                description="A link key (person:vladimir-putin) or words of "
                                                                  "a name linked in one of its articles."),
                     source: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN,
                                                description="An outlet of one of its articles."),
                     topic: str | None = Query(None, max_length=MAX_TEXT, pattern=TEXT_PATTERN, description="A topic code."),
                     since: str | None = Query(None, max_length=40, pattern=TIME_PATTERN,
                                               json_schema_extra=TIME_FORMAT, description=news_since_doc),
                     until: str | None = Query(None, max_length=40, pattern=TIME_PATTERN,
                                               json_schema_extra=TIME_FORMAT, description=news_until_doc),
                     as_of: str | None = Query(None, max_length=40, pattern=TIME_PATTERN,
                                               json_schema_extra=TIME_FORMAT, description="What the wire knew at this time."),
                     limit: int = Query(50, ge=1, le=1000, description="Maximum number of stories.")
                     ) -> JSONResponse:
        found = mw(request).news.stories(q=q, lang=lang, country=country, listing=listing, entity=entity,
                                         source=source, topic=topic, since=since, until=until, as_of=as_of,
                                         limit=limit)
        return _many([s.to_dict() for s in found])

    @app.get("/v1/stories/{id}", tags=["news"], summary="One story",
             response_description="The story's articles, languages, sources and linked entities.",
             responses={200: {"model": RowItem}, **_errors(400, 404)})
    def story_show(request: Request, id: str = _id_path(),
                   as_of: str | None = Query(None, max_length=40, pattern=TIME_PATTERN,
                                             json_schema_extra=TIME_FORMAT,
                                             description="The story as the wire knew it at this time.")
                   ) -> JSONResponse:
        return _one(mw(request).news.story(id, as_of=as_of).to_dict())

    @app.post("/v1/news", tags=["news"], status_code=201, summary="Add one article (needs the `ingest` scope)",
              response_description="The article id and what adding it did: `new`, `revised` (201) or `unchanged` "
                                   "(200).",
              responses={201: {"model": RowItem}, **_errors(400),
                         413: {"model": ErrorEnvelope, "description": "The body is over 8 MB."}})
    def news_add(request: Request, body: NewArticle) -> JSONResponse:
        return add_article(mw(request), body)

    @app.post("/v1/local/news/files", include_in_schema=False)
    def news_add_local_files(request: Request, body: LocalFiles) -> JSONResponse:
        return add_local_files(mw(request), body)

    from marketwire.serve import api_stream

    api_stream.register(app, _errors)  # realtime: WebSocket /v1/stream, SSE, counters (serve/api_stream.py)
    from marketwire.serve import api_ticks

    api_ticks.register(app, mw, _errors)  # realtime store: /v1/last, /v1/ticks, /v1/bars (serve/api_ticks.py)
    from marketwire.serve.web import install_web

    register_fundamentals(app, mw, _many, _one, _errors)
    install_web(app)
    from marketwire.serve import api_esg, web_esg  # noqa: E401 - the ESG routes and company page

    api_esg.register(app, _many, _errors, _id_path)
    web_esg.register(app)
    _drop_422_from_schema(app)
    document_writes(app)
    install_access(app, KeyStore(app.state.marketwire.home), access or AccessPolicy())
    app.add_middleware(LongParams)  # outermost: an oversized parameter costs nothing further
    return app


def install_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` with their scripts and styles served by the app itself, so both work on
    a machine without internet (the assets ship in the ``fastapi-offline`` package of the ``[serve]`` extra)."""
    import fastapi_offline
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
    from fastapi.staticfiles import StaticFiles

    assets = "/docs-assets"
    app.mount(assets, StaticFiles(directory=Path(fastapi_offline.__file__).parent / "static"), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> Response:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} - API",
                                   oauth2_redirect_url="/docs/oauth2-redirect",
                                   swagger_js_url=f"{assets}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{assets}/swagger-ui.css",
                                   swagger_favicon_url=f"{assets}/favicon.png")

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def swagger_ui_redirect() -> Response:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> Response:
        return get_redoc_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} - API",
                              redoc_js_url=f"{assets}/redoc.standalone.js", redoc_favicon_url=f"{assets}/favicon.png",
                              with_google_fonts=False)


def request_timeout() -> float:
    """Seconds a request may run before it is answered 503 ``timeout`` ($MARKETWIRE_REQUEST_TIMEOUT, default 30)."""
    import os

    raw = os.environ.get("MARKETWIRE_REQUEST_TIMEOUT", "30")
    try:
        value = float(raw)
    except ValueError:
        raise MarketwireError(f"MARKETWIRE_REQUEST_TIMEOUT: {raw!r} is not a number of seconds") from None
    return value if math.isfinite(value) and value > 0 else 30.0


#: the longest raw (percent-encoded) value any query parameter may have: three bytes per character of the longest
#: declared value (the 10,000 characters of the bulk ``ids``); anything longer is refused before it is parsed
MAX_RAW_PARAM = 30_000


class LongParams:
    """ASGI middleware: a query parameter whose raw value is over :data:`MAX_RAW_PARAM` bytes is a 400 naming it,
    answered before the query string is decoded, routed or authenticated (a 100 kB ``q`` costs a split, not a
    parse)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        qs = scope.get("query_string", b"") if scope["type"] == "http" else b""
        if len(qs) > MAX_RAW_PARAM:
            for part in qs.split(b"&"):
                name, _, value = part.partition(b"=")
                if len(value) > MAX_RAW_PARAM or len(name) > MAX_RAW_PARAM:
                    param = name[:64].decode("latin-1")
                    resp = error_response(400, "invalid_input", f"`{param}`: {len(value):,} bytes, more than any "
                                          f"parameter takes ({MAX_RAW_PARAM:,})", param=param)
                    await resp(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class RequestTimeout:
    """ASGI middleware: a request that has not started its answer after ``seconds`` gets 503 ``timeout`` (the error
    envelope); the client is not kept waiting on a query that runs away."""

    def __init__(self, app: Any, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        import asyncio

        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, receive, tracked), self.seconds)
        except TimeoutError:
            if started:
                raise
            resp = error_response(503, "timeout", f"the request took longer than {self.seconds:g} s; narrow it "
                                  "(a limit, filters, a date range)", headers={"Retry-After": "5"})
            await resp(scope, receive, send)


def table_response(t: Any, fmt: str, orient: str = "records") -> Response:
    """An Arrow table as JSON rows, CSV, Arrow IPC or Parquet; its schema metadata goes to ``meta`` / headers."""
    import io

    import polars as pl

    meta = {k.decode(): v.decode() for k, v in (t.schema.metadata or {}).items()}
    t = t.replace_schema_metadata(None)
    headers = {f"X-Marketwire-{k.replace('_', '-').title()}": v for k, v in meta.items() if v}
    if fmt == "arrow":
        import pyarrow.ipc as ipc

        sink = io.BytesIO()
        with ipc.new_file(sink, t.schema) as w:
            w.write_table(t)
        return Response(sink.getvalue(), media_type="application/vnd.apache.arrow.file", headers=headers)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        sink = io.BytesIO()
        pq.write_table(t, sink, compression="zstd")
        return Response(sink.getvalue(), media_type="application/vnd.apache.parquet", headers=headers)
    df = pl.from_arrow(t)
    assert isinstance(df, pl.DataFrame)
    if fmt == "csv":
        return Response(df.write_csv(), media_type="text/csv", headers=headers)
    import json

    if orient == "columns":  # one array per column, serialised in Rust
        data = df.select(pl.all().implode()).write_ndjson().strip()
    else:
        data = df.write_json()  # a JSON array of row objects, serialised in Rust
    body = f'{{"data":{data},"count":{df.height},"meta":{json.dumps(meta)}}}'
    return Response(body, media_type="application/json", headers=headers)


def _drop_422_from_schema(app: FastAPI) -> None:
    """Validation failures leave as 400 ``invalid_input``; do not advertise FastAPI's 422 shape."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = base()
            for path in schema.get("paths", {}).values():
                for op in path.values():
                    op.get("responses", {}).pop("422", None)
            comps = schema.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                comps.pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
