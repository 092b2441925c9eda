"""The news pages: the wire (``/news``) and one article (``/news/{id}``), rendered on the server.

The pages are a thin shell over the news service the REST API calls too (``mw.news.list`` / ``mw.news.show``);
they hold no query logic. Templates live in ``serve/templates`` (Jinja2, autoescaped), the one stylesheet in
``serve/static``. No JavaScript and nothing from outside the server: the Content-Security-Policy says so.

The wire passes every filter of the query string (``q``, ``lang``, ``country``, ``listing``, ``entity``, ``topic``,
``source``, ``story``, ``since``, ``until``) to the service as it is; the service parses the times and resolves the
listing, and what it refuses (a time that is not a time, an id that names nothing) is the error page with the
status the REST API would answer (400, 404, 409).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from marketwire.errors import MarketwireError, NotFound
from marketwire.serve.params import check_known

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

#: articles on one page of the wire
PER_PAGE = 25
#: the filters of the wire's query string, in the order the page shows them; each goes to ``mw.news.list`` under
#: the same name
FILTERS = ("q", "lang", "country", "listing", "entity", "topic", "source", "story", "since", "until")
#: link kinds shown as companies and listings on the article page
COMPANY_KINDS = ("issuer", "company", "security", "listing", "organization", "org")
#: no scripts, no frames, nothing fetched from anywhere but this server
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


def install_web(app: FastAPI) -> None:
    """Add the news pages and their stylesheet to ``app`` (kept out of the OpenAPI schema)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_api_route("/news", wire_page, methods=["GET"], include_in_schema=False, response_class=HTMLResponse)
    app.add_api_route("/news/{id}", article_page, methods=["GET"], include_in_schema=False,
                      response_class=HTMLResponse)
    app.add_api_route("/stream/{id}", stream_page, methods=["GET"], include_in_schema=False,
                      response_class=HTMLResponse)


# -- handlers --------------------------------------------------------------------------------------------

def wire_page(request: Request) -> HTMLResponse:
    params = request.query_params
    try:  # the same rule as REST: a filter the page does not take is refused, never ignored
        check_known(params.keys(), (*FILTERS, "page"), "the wire page /news")
    except MarketwireError as e:
        return _error_page(int(e.http_status), e.code, e.message)
    filters = {k: v.strip() for k in FILTERS if (v := params.get(k)) and v.strip()}
    raw_page = params.get("page") or "1"
    if not raw_page.isdigit() or len(raw_page) > 6 or int(raw_page) < 1:
        return _error_page(400, "invalid_input", f"`page`: {raw_page} is not a page number (1, 2, 3 ...)")
    page = int(raw_page)
    try:
        rows = [_record(a) for a in _facade(request).news.list(**filters, offset=(page - 1) * PER_PAGE,
                                                                   limit=PER_PAGE + 1)]
    except MarketwireError as e:
        return _error_page(int(e.http_status), e.code, e.message)
    more = len(rows) > PER_PAGE  # one more than a page was asked for: there is a next page
    items = [_wire_item(r) for r in rows[:PER_PAGE]]
    chips = [{"name": k, "value": v, "remove": _wire_url({n: w for n, w in filters.items() if n != k})}
             for k, v in filters.items()]
    return _render("wire.html", 200, items=items, filters=filters, chips=chips, page=page,
                   prev_url=_wire_url(filters, page - 1) if page > 1 else None,
                   next_url=_wire_url(filters, page + 1) if more else None, html_lang="en",
                   page_title="Wire" + (f" · {', '.join(f'{k}: {v}' for k, v in filters.items())}" if filters else ""))


def article_page(request: Request, id: str) -> HTMLResponse:
    try:
        check_known(request.query_params.keys(), (), "the article page /news/{id}")
    except MarketwireError as e:
        return _error_page(int(e.http_status), e.code, e.message)
    news = _facade(request).news
    try:
        art = _record(news.show(id))
    except NotFound:
        return _error_page(404, "not_found", f"There is no article {id} on this wire.")
    except MarketwireError as e:
        return _error_page(int(e.http_status), e.code, e.message)
    original = None
    if art.get("duplicate_of"):
        try:
            original = _record(news.show(art["duplicate_of"]))
        except MarketwireError:
            original = None
    view = _article_view(art)
    lang = view["language"] or "und"
    return _render("article.html", 200, a=view, original=original and _wire_item(original), html_lang=lang,
                   page_title=view["title"])


# -- the wire: filters and pages -------------------------------------------------------------------------

def _wire_url(filters: dict[str, str], page: int = 1) -> str:
    query = [(k, v) for k, v in filters.items() if v]
    if page > 1:
        query.append(("page", str(page)))
    return "/news" + ("?" + urlencode(query) if query else "")


def filter_url(name: str, value: str) -> str:
    return _wire_url({name: value})


# -- shaping the service's records for the templates ----------------------------------------------------

def _record(a: Any) -> dict[str, Any]:
    """An article record of the service as the plain dict the helpers below read."""
    return a.to_dict() if hasattr(a, "to_dict") else dict(a)


def _wire_item(a: dict[str, Any]) -> dict[str, Any]:
    return {"id": a.get("id"), "title": _title(a), "bullets": _bullets(a.get("bullets")),
            "source": a.get("source"), "time": _time(a.get("published") or a.get("first_seen")),
            "language": a.get("language"), "duplicate_of": a.get("duplicate_of"), "story_id": a.get("story_id")}


def _article_view(a: dict[str, Any]) -> dict[str, Any]:
    return {**_wire_item(a), "paragraphs": _paragraphs(a.get("body")), "groups": _entity_groups(a.get("entities")),
            "topics": _topics(a.get("topics")), "url": a.get("url"), "revision": a.get("revision"),
            "language_name": _language_name(a.get("language")), "standfirst": _bullets(a.get("standfirst"))}


def _title(a: dict[str, Any]) -> str:
    return str(a.get("title") or a.get("headline") or "(untitled)")


def _loads(value: Any) -> Any:
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _bullets(value: Any) -> list[str]:
    out = []
    for b in _loads(value) or []:
        text = b.get("text") if isinstance(b, dict) else b
        if isinstance(text, str) and text.strip():
            out.append(text.strip())
    return out


def _paragraphs(body: Any) -> list[str]:
    if not isinstance(body, str):
        return []
    text = body.replace("\r\n", "\n")
    return [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]


def _topics(value: Any) -> list[dict[str, str]]:
    out = []
    for t in _loads(value) or []:
        name = (t.get("topic") or t.get("label") or t.get("name")) if isinstance(t, dict) else t
        if isinstance(name, str) and name.strip():
            out.append({"name": name.strip(), "url": filter_url("topic", name.strip())})
    return out


def flag(code: str | None) -> str:
    """The flag emoji of a two-letter ISO 3166 code (regional indicator letters); "" for anything else."""
    if not code or len(code) != 2 or not code.isascii() or not code.isalpha():
        return ""
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in code.upper())


def _entity_groups(value: Any) -> list[dict[str, Any]]:
    """Entities grouped for the page: countries, people, companies and listings, other linked, unlinked."""
    groups: dict[str, list[dict[str, Any]]] = {"countries": [], "people": [], "companies": [], "other": [],
                                                "unlinked": []}
    seen: set[tuple[str, str]] = set()
    for e in _loads(value) or []:
        if not isinstance(e, dict):
            continue
        text = str(e.get("text") or "").strip()
        link = e.get("link") if isinstance(e.get("link"), dict) else None
        if not link or not link.get("id") or not link.get("kind"):
            if text and ("", text.casefold()) not in seen:
                seen.add(("", text.casefold()))
                groups["unlinked"].append({"text": text, "type": e.get("type")})
            continue
        kind, lid = str(link["kind"]).lower(), str(link["id"])
        if (kind, lid) in seen:
            continue
        seen.add((kind, lid))
        name = str(link.get("name") or "") or text or lid
        item = {"text": text or name, "name": name, "kind": kind, "id": lid, "type": e.get("type"),
                "confidence": link.get("confidence")}
        if kind == "country":
            item.update(code=lid.upper(), flag=flag(lid), url=filter_url("country", lid.upper()))
            groups["countries"].append(item)
        elif kind == "listing":
            item["url"] = filter_url("listing", lid)
            groups["companies"].append(item)
        else:
            item["url"] = filter_url("entity", f"{kind}:{lid}")
            groups["people" if kind == "person" else "companies" if kind in COMPANY_KINDS else "other"].append(item)
    titles = {"countries": "Countries", "people": "People", "companies": "Companies and listings",
              "other": "Other", "unlinked": "Also mentioned"}
    return [{"key": k, "title": titles[k], "items": v} for k, v in groups.items() if v]


def _time(value: Any) -> dict[str, str] | None:
    if not value:
        return None
    try:
        dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return {"iso": str(value), "text": str(value)}
    dt = (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    return {"iso": dt.isoformat(), "text": dt.strftime("%d %b %Y, %H:%M UTC").lstrip("0")}


def _language_name(code: Any) -> str | None:
    if not isinstance(code, str) or not code:
        return None
    try:
        from babel import Locale

        return str(Locale.parse(code).get_display_name("en") or code)
    except Exception:  # unknown or malformed codes are shown as they are
        return code


# -- rendering -------------------------------------------------------------------------------------------

#: the live page's policy: its own script, and events from this server only
STREAM_CSP = ("default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; "
              "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


async def stream_page(request: Request, id: str) -> HTMLResponse:
    """The live page of one listing: last trade and quote and a chart of 1-minute bars, kept current by the page's
    own script (``/static/stream.js``) from the Server-Sent Events of ``/v1/stream/sse``."""
    import asyncio

    from marketwire.serve.api_stream import stream_hub

    try:
        check_known(request.query_params.keys(), (), "the live page /stream/{id}")
        [listing] = await asyncio.get_running_loop().run_in_executor(None, stream_hub(request.app).resolve, [id])
    except NotFound:
        return _error_page(404, "not_found", f"No listing is known as {id}.")
    except MarketwireError as e:
        return _error_page(int(e.http_status), e.code, e.message)
    resp = _render("stream.html", 200, listing=listing, asked=id, html_lang="en", page_title=f"Live · {id}")
    resp.headers["Content-Security-Policy"] = STREAM_CSP
    return resp


def _facade(request: Request) -> Any:
    return request.app.state.marketwire


@lru_cache(maxsize=1)
def _env() -> Any:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.ChainableUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["filter_url"] = filter_url
    return env


def _render(template: str, http_status: int, **context: Any) -> HTMLResponse:
    body = _env().get_template(template).render(**context)
    return HTMLResponse(body, status_code=http_status,
                        headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                                 "Referrer-Policy": "no-referrer"})


def _error_page(status: int, code: str, message: str) -> HTMLResponse:
    titles = {400: "Bad request", 404: "Not found", 409: "Ambiguous"}
    return _render("error.html", status, status=status, code=code, message=message, html_lang="en",
                   page_title=titles.get(status, "Error"))

