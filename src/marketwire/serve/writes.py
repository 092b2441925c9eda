"""Write routes of the REST API: ``POST /v1/news`` adds one article from a JSON body (needs the ``ingest`` scope).

The article goes through the news service's pipeline as a file added with ``marketwire news add`` does: language,
duplicates, entities, summary, story; an input that gives no article is quarantined under ``news_articles`` and
answered with 422 and the rule. The body is ``text`` (the first line is the title unless ``title`` is given) or
``html`` (a page; its own title and time are read from it), with an optional ``url`` (the article's address: posting
the same address again revises it), ``published`` and ``source``. Without ``url`` the address is
``api://news/<hash of the text>``, so posting the same text twice stores it once.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from marketwire.errors import InvalidInput, VerificationFailed
from marketwire.timeparse import parse_instant

MAX_TEXT = 1_000_000
MAX_HTML = 5_000_000


class NewArticle(BaseModel):
    """One article to add: ``text`` or ``html``, not both."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, max_length=MAX_TEXT, description="Plain text; the first line is the title unless "
                                                                     "`title` is given.")
    html: str | None = Field(None, max_length=MAX_HTML, description="An HTML page; title, text and time are "
                                                                     "extracted from it.")
    title: str | None = Field(None, max_length=1000, description="The title (with `text` only).")
    url: str | None = Field(None, max_length=2048, description="The article's address (http or https).",
                            examples=["https://example.com/2024/08/08/rates"])
    published: str | None = Field(None, max_length=64, description="Publication time: `YYYY-MM-DD` or ISO 8601.")
    source: str | None = Field(None, max_length=200, description="The outlet (default `api`).")


def _check(body: NewArticle) -> None:
    if (body.text is None) == (body.html is None):
        raise InvalidInput("`text`: give the article as `text` or as `html` (one of them)", param="text")
    if body.title is not None and body.html is not None:
        raise InvalidInput("`title`: only with `text`; an HTML page gives its own title", param="title")
    if body.url is not None:
        parts = urlsplit(body.url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(f"`url`: {body.url!r} is not an http or https URL", param="url", value=body.url)
    if body.source is not None and (not body.source.strip() or not body.source.isprintable()):
        raise InvalidInput("`source`: printable text, not empty", param="source")


def add_article(mw: Any, body: NewArticle) -> JSONResponse:
    """Put one article through the facade's news service; 201 for a new or revised article, 200 unchanged."""
    from marketwire.news.articles import Page

    _check(body)
    when = parse_instant(body.published, "published")
    if body.html is not None:
        data, is_html = body.html.encode("utf-8"), True
    else:
        text = body.text or ""
        data, is_html = (f"{body.title.strip()}\n{text}" if body.title else text).encode("utf-8"), False
    address = body.url.strip() if body.url else "api://news/" + hashlib.sha256(data).hexdigest()[:32]
    page = Page(address=address, data=data, is_html=is_html, source=(body.source or "api").strip(),
                published=when.isoformat() if when is not None else None)
    [added] = mw.news.store.ingest([page], source="news-api")
    if added.status == "quarantined":
        raise VerificationFailed(f"no article: {added.reason}", rule=added.rule)
    return JSONResponse({"data": added.to_dict()}, status_code=200 if added.status == "unchanged" else 201)


class LocalFiles(BaseModel):
    """``marketwire news add`` handed to the running server (serve/local.py): the same files and options."""

    model_config = ConfigDict(extra="forbid")

    paths: list[str] = Field(..., min_length=1, max_length=100_000)
    source: str | None = Field(None, max_length=200)
    published: str | None = Field(None, max_length=64)


def add_local_files(mw: Any, body: LocalFiles) -> JSONResponse:
    """What ``marketwire news add PATH...`` does, done by the server that has the models loaded: every
    :class:`~marketwire.news.articles.Added` as a dict, in the order of the files."""
    added = mw.news.add(list(body.paths), source=body.source, published=body.published)
    return JSONResponse({"data": [{**a.to_dict(), "rule": a.rule, "reason": a.reason} for a in added]})


#: the answer of ``POST /v1/news`` to an input that gives no article
UNPROCESSABLE = {"description": "No article in the input: it is quarantined with the rule (`verification_failed`).",
                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}}


def document_writes(app: Any) -> None:
    """Put back the 422 of ``POST /v1/news`` (the app drops FastAPI's validation 422 from every operation)."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        schema: dict[str, Any] = base()
        op = schema.get("paths", {}).get("/v1/news", {}).get("post")
        if op is not None:
            op.setdefault("responses", {})["422"] = UNPROCESSABLE
        return schema

    app.openapi = openapi
