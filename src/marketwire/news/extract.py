"""Article extraction: one HTML page in, its title, body text and stated metadata out.

The body comes from trafilatura run with ``favor_precision``: on the article-extraction benchmark of the news
evaluation data (``benchmarks/news_extraction.py``) that alone scores 4-gram shingle precision 0.958 and recall
0.971, against 0.942 and 0.978 for the balanced default, and text that is not the article (navigation, teasers,
newsletter prompts) is worse for a news wire than a missing sentence. When the precise run finds almost nothing
(under ``_SHORT_BODY`` characters) the balanced run is tried and kept if it finds at least twice as much, because
that pattern means the precise rules discarded the article container itself, not only its boilerplate.

Around trafilatura, a few repairs for failures it has by design:

- split bodies: trafilatura takes the *first* element that looks like an article body. Sites that cut the text
  into several sibling containers of the same class (an ad or a newsletter box between them) lose everything
  after the first cut, so those containers are merged into the first one before extraction;
- embedded posts: quoted tweets sit in wrappers whose class names say "social" or "embed", which the boilerplate
  rules remove; the quote is the article's own material, so the wrapper is dropped and the blockquote kept;
- related-article lists: a list of links under a heading such as "Related" or "More ... stories" is removed
  before extraction;
- after extraction, a repeat of the title at the top of the body is dropped (the title has its own field), and
  so are short blocks that are page furniture by their wording alone: a bare URL, a copyright or "all rights
  reserved" line, "Advertisement", "Share this", "Sign up for ...", "Subscribe to ...", "Follow us", "Read
  more: ...", "Related: ...", "Write to <name> at <email>", an unrendered WordPress shortcode.

Pages are never a reason to raise: an empty, unparsable, non-article or oversized page gives an ``Extracted`` with
an empty body, a ``status`` other than ``"ok"`` and a ``reason`` in words. Input over ``MAX_INPUT_BYTES`` (20 MB,
trafilatura's own download cap) is not parsed at all, since parsing and scoring a tree that size takes tens of
seconds and real article pages are far smaller.

Bytes are decoded here rather than by trafilatura, which ignores the page's declared charset: a byte-order mark
wins, then valid UTF-8 (a page that decodes as UTF-8 almost never is anything else, whatever it declares), then the
charset given by the caller (an HTTP header) or by the page's ``<meta>``, then charset_normalizer's guess, and
finally Windows-1252 with replacement characters so that something readable always comes out.

Extraction is deterministic and keeps no state between calls (trafilatura's ``deduplicate`` is left off: its
cache spans calls, so one page's output would depend on the pages seen before it).
"""

from __future__ import annotations

import codecs
import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import trafilatura
from charset_normalizer import from_bytes
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.metadata import extract_metadata
from trafilatura.utils import load_html
from trafilatura.xml import xmltotxt

__all__ = ["MAX_BODY_CHARS", "MAX_INPUT_BYTES", "Extracted", "Method", "Status", "extract"]

MAX_INPUT_BYTES = 20_000_000
"""Inputs larger than this (bytes, or characters for ``str``) are not parsed."""

MAX_BODY_CHARS = 500_000
"""An article text (a text file's, or what extraction found in a page) longer than this is refused as
``news.too_large``: about 80,000 words, far beyond any article, and the language steps (entities, summary,
topics, stories, the search index) on a text of millions of words take minutes and gigabytes."""

Status = Literal["ok", "no_text", "not_html", "too_large", "failed"]
Method = Literal["trafilatura-precision", "trafilatura-balanced", "none"]

_SHORT_BODY = 500
_FALLBACK_GAIN = 2.0
_BOILERPLATE_MAX_CHARS = 300
_TITLE_SCAN_BLOCKS = 3


@dataclass(frozen=True, slots=True)
class Extracted:
    """What one page says about itself.

    ``body`` holds the article text, one paragraph (or heading, list, quote, table) per block, blocks separated by
    a blank line; lines inside a block (list items, table rows, ``<br>``) by a single newline. ``published`` is ISO
    8601 exactly as precise as the page states it: a timestamp, with its offset when the page gives one, or a bare
    ``YYYY-MM-DD`` (meta tags, JSON-LD ``datePublished`` and ``itemprop`` markup first, then the date htmldate
    reads from the markup or the URL). ``language`` is the page's own declaration (``<html lang>``, ``og:locale``, a
    ``content-language`` meta), normalised to a BCP 47 tag such as ``en-US``; it is not detected from the text.
    ``method`` names what produced the body: ``trafilatura-precision``, ``trafilatura-balanced`` or ``none``.
    ``standfirst`` holds the publisher's own summary bullets when the page sets them between the headline and the
    text (a short list right after the ``<h1>``); they are not part of ``body``.
    """

    title: str | None
    body: str
    language: str | None
    published: str | None
    authors: tuple[str, ...]
    site_name: str | None
    canonical_url: str | None
    method: Method
    status: Status
    reason: str | None = None
    encoding: str | None = None
    standfirst: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether an article body was found."""
        return self.status == "ok"


def extract(html: bytes | str, url: str | None = None, *, charset: str | None = None) -> Extracted:
    """Extract the article of one HTML page.

    ``url`` is where the page was fetched from: it resolves a relative canonical link and helps trafilatura's
    metadata. ``charset`` is the encoding named by the transport (an HTTP ``Content-Type``), used for bytes only
    and only when the bytes are not valid UTF-8. Nothing is fetched: the page is all there is.
    """
    size = len(html)
    if size > MAX_INPUT_BYTES:
        unit = "bytes" if isinstance(html, bytes) else "characters"
        return _empty("too_large", f"input is {size:,} {unit}, over the {MAX_INPUT_BYTES:,} cap; not parsed")
    if not html.strip():
        return _empty("not_html", "input is empty")
    encoding: str | None = None
    if isinstance(html, bytes):
        text, encoding = _decode(html, charset)
    else:
        text = html
    tree = _parse(text)
    if tree is None:
        return _empty("not_html", "input could not be parsed as HTML", encoding)
    try:
        return _extract_tree(tree, url, encoding)
    except Exception as err:  # a library failure on one page must not stop a feed
        return _empty("failed", f"extraction failed: {type(err).__name__}: {err}", encoding)


def _extract_tree(tree: HtmlElement, url: str | None, encoding: str | None) -> Extracted:
    language = _declared_language(tree)
    published = _stated_publication(tree)
    canonical = _canonical_url(tree, url)

    anchors = {" ".join(a.text_content().split()).lower() for a in tree.iter("a")}
    _merge_split_bodies(tree)
    _keep_embedded_posts(tree)
    _drop_related_lists(tree)
    standfirst = _take_standfirst(tree)

    method: Method = "trafilatura-precision"
    blocks = _run_trafilatura(tree, url, precise=True)
    if _length(blocks) < _SHORT_BODY:
        balanced = _run_trafilatura(tree, url, precise=False)
        if _length(balanced) >= _FALLBACK_GAIN * max(_length(blocks), 1):
            blocks, method = balanced, "trafilatura-balanced"

    # htmldate without its free-text search: a date the markup or the URL states, not one guessed from the prose
    dates = {"original_date": True, "extensive_search": False}
    meta = extract_metadata(tree, default_url=url, date_config=dates, extensive=False)
    site_name = _clean(meta.sitename)
    title = _strip_site_suffix(_clean(meta.title), site_name)
    if title:
        blocks = _drop_title_repeat(blocks, title)
    body = "\n\n".join(text for _, text in blocks if not _is_boilerplate(text))
    authors = tuple(a for a in (_clean(part) for part in (meta.author or "").split(";")) if a)
    common: dict[str, Any] = {
        "title": title,
        "language": language,
        "published": published or _iso_date(meta.date),
        "authors": authors,
        "site_name": site_name,
        "canonical_url": canonical,
        "encoding": encoding,
        "standfirst": standfirst,
    }
    if not body:
        return Extracted(body="", method="none", status="no_text", reason="no article text found on the page", **common)
    if _mostly_links(body, anchors):
        reason = "the text found is mostly link titles: an index or home page, not an article"
        return Extracted(body="", method="none", status="no_text", reason=reason, **common)
    return Extracted(body=body, method=method, status="ok", **common)


def _empty(status: Status, reason: str, encoding: str | None = None) -> Extracted:
    return Extracted(
        title=None,
        body="",
        language=None,
        published=None,
        authors=(),
        site_name=None,
        canonical_url=None,
        method="none",
        status=status,
        reason=reason,
        encoding=encoding,
    )


# --- decoding and parsing -------------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:+-]{1,40})""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# Browsers treat these labels as Windows-1252 (WHATWG Encoding), and pages written in it declare them.
_AS_CP1252 = {"iso8859-1", "ascii", "cp1252"}


def _decode(data: bytes, hint: str | None) -> tuple[str, str]:
    """Bytes to text, and the name of the encoding that was used (see the module docstring for the order)."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(name, errors="replace"), name
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    declared = _META_CHARSET.search(data[:8192])
    for label in (hint, declared.group(1).decode("ascii") if declared else None):
        codec = _codec(label)
        if codec and codec != "utf-8" and not codec.startswith("utf-16"):
            try:
                return data.decode(codec), codec
            except UnicodeDecodeError:
                continue
    codec = _guess(data[:65536]) or "cp1252"
    return data.decode(codec, errors="replace"), codec


def _guess(sample: bytes) -> str | None:
    """charset_normalizer's best guess, except that Windows-1252 wins a tie.

    On Western European text several single-byte code pages decode cleanly and score alike (French ``è`` is
    ``č`` in Windows-1250), and charset_normalizer then picks the first; Windows-1252 is what browsers assume
    for an undeclared page in those languages, and the likelier truth.
    """
    matches = from_bytes(sample)
    best = matches.best()
    if best is None:
        return None
    tied = [m for m in matches if m.chaos <= best.chaos and m.coherence >= best.coherence]
    if any("cp1252" in m.could_be_from_charset for m in tied):
        return "cp1252"
    return _codec(best.encoding)


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    return "cp1252" if name in _AS_CP1252 else name


def _parse(text: str) -> HtmlElement | None:
    """Parse a page, or a fragment (an RSS item's HTML) once wrapped, since trafilatura refuses bare fragments."""
    try:
        tree = load_html(text)
        if tree is None and "<" in text:
            tree = load_html(f"<html><body>{text}</body></html>")
    except Exception:
        return None
    return tree


# --- metadata the page states ---------------------------------------------------------------------------------

_LANG_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


def _declared_language(tree: HtmlElement) -> str | None:
    candidates = [tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang")]
    candidates += tree.xpath('//meta[@property="og:locale"]/@content')
    candidates += tree.xpath(
        '//meta[translate(@http-equiv, "CONTENTLAGU", "contentlagu")="content-language"]/@content'
        '|//meta[translate(@name, "CONTENTLAGU", "contentlagu")="content-language"]/@content'
    )
    for value in candidates:
        tag = _language_tag(value)
        if tag:
            return tag
    return None


def _language_tag(value: str | None) -> str | None:
    """``en_us`` -> ``en-US``, ``fr`` -> ``fr``; the first of a list; None for what is no language tag."""
    if not value:
        return None
    first = re.split(r"[,;\s]+", value.strip())[0].replace("_", "-")
    if not _LANG_TAG.match(first) or first.lower() in {"und", "mul", "zxx"}:
        return None
    parts = first.split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 2 and part.isalpha():
            out.append(part.upper())
        elif len(part) == 4 and part.isalpha():
            out.append(part.title())
        else:
            out.append(part.lower())
    return "-".join(out)


_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "publish-date",
    "publishdate",
    "pubdate",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "date",
)


def _stated_publication(tree: HtmlElement) -> str | None:
    """The publication time in the page's markup: meta tags, JSON-LD ``datePublished``, ``itemprop`` markup."""
    metas: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        content = meta.get("content")
        if key and content and key not in metas:
            metas[key] = content
    for key in _PUBLISHED_META[:-1]:
        if found := _iso(metas.get(key)):
            return found
    for value in _json_ld_values(tree, "datePublished"):
        if found := _iso(value):
            return found
    for elem in tree.xpath('//*[@itemprop="datePublished"]'):
        if found := _iso(elem.get("datetime") or elem.get("content") or elem.text_content()):
            return found
    for elem in tree.xpath("//time[@pubdate]"):
        if found := _iso(elem.get("datetime")):
            return found
    return _iso(metas.get(_PUBLISHED_META[-1]))


def _json_ld_values(tree: HtmlElement, key: str) -> Iterator[str]:
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            data = json.loads(script, strict=False)
        except ValueError:
            continue
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(reversed(node))
            elif isinstance(node, dict):
                if isinstance(node.get(key), str):
                    yield node[key]
                stack.extend(node[k] for k in ("@graph", "mainEntity", "mainEntityOfPage") if k in node)


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso(value: str | None) -> str | None:
    """ISO 8601 text to a normalised ISO string, keeping the precision it has; None for anything else."""
    if not value:
        return None
    value = value.strip()
    if _DATE_ONLY.match(value):
        return _iso_date(value)
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp.isoformat() if 1900 < stamp.year < 2200 else None


def _iso_date(value: str | None) -> str | None:
    if not value or not _DATE_ONLY.match(value):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date().isoformat()
    except ValueError:
        return None


def _canonical_url(tree: HtmlElement, url: str | None) -> str | None:
    candidates = tree.xpath('//link[contains(concat(" ", translate(@rel, "CANONICAL", "canonical"), " "), " canonical ")]/@href')
    candidates += tree.xpath('//meta[@property="og:url"]/@content')
    for href in candidates:
        href = href.strip()
        absolute = urljoin(url, href) if url else href
        if urlsplit(absolute).scheme in ("http", "https") and urlsplit(absolute).netloc:
            return absolute
    return None


_TITLE_SEPARATOR = re.compile(r"\s+(?:\||-|–|—|::|·|»)\s+")


def _strip_site_suffix(title: str | None, site_name: str | None) -> str | None:
    """``Headline | Site`` -> ``Headline`` when the part after the last separator names the site."""
    if not title or not site_name:
        return title
    separators = list(_TITLE_SEPARATOR.finditer(title))
    if not separators:
        return title
    last = separators[-1]
    head, tail = title[: last.start()], title[last.end() :]
    tail_words = set(_WORD.findall(tail.lower()))
    site_words = set(_WORD.findall(site_name.lower()))
    names_site = bool(tail_words) and (tail_words <= site_words or site_words <= tail_words)
    return head if names_site and len(_WORD.findall(head)) >= 2 else title


def _clean(value: str | None) -> str | None:
    if not value:
        return None
    value = " ".join(value.split())
    return value or None


# --- repairs before extraction --------------------------------------------------------------------------------

_BODY_CLASS = re.compile(
    r"(?:article|story)[_-]{0,2}(?:body|content)|body[_-]?text|(?:post|entry)[_-]?content|StoryBodyCompanionColumn",
    re.IGNORECASE,
)
_CONTAINERS = frozenset({"div", "section", "article", "main"})


def _is_body_container(elem: etree._Element) -> bool:
    if elem.tag not in _CONTAINERS:
        return False
    if elem.get("itemprop") == "articleBody":
        return True
    return any(_BODY_CLASS.fullmatch(token) for token in (elem.get("class") or "").split())


def _merge_split_bodies(tree: HtmlElement) -> None:
    """Join an article body cut into several same-class containers at the same depth into the first of them.

    Only outermost body containers count (sections inside an ``entry-content`` are already one body), and only
    those holding a paragraph, so that same-class teaser boxes elsewhere on the page are left alone. Whatever
    sat between the pieces (ads, newsletter boxes) stays where it was, outside the merged body.
    """
    groups: dict[tuple[str, str, str | None, int], list[etree._Element]] = {}
    for elem in tree.iter(*_CONTAINERS):
        if not _is_body_container(elem) or elem.find(".//p") is None:
            continue
        ancestors = list(elem.iterancestors())
        if any(_is_body_container(a) for a in ancestors):
            continue
        key = (str(elem.tag), " ".join((elem.get("class") or "").split()), elem.get("itemprop"), len(ancestors))
        groups.setdefault(key, []).append(elem)
    for pieces in groups.values():
        first = pieces[0]
        for piece in pieces[1:]:
            first.extend(list(piece))
            parent = piece.getparent()
            if parent is not None:
                parent.remove(piece)


_EMBEDDED_POSTS = '//blockquote[contains(concat(" ", normalize-space(@class), " "), " twitter-tweet ")]'
_WRAPPERS = frozenset({"div", "figure", "section", "aside", "span"})


def _keep_embedded_posts(tree: HtmlElement) -> None:
    """Unwrap quoted tweets so that the boilerplate rules, which drop "social"/"embed" wrappers, keep them."""
    for quote in tree.xpath(_EMBEDDED_POSTS):
        quote.attrib.pop("class", None)
        text = " ".join(quote.text_content().split())
        parent = quote.getparent()
        while (
            parent is not None
            and parent.tag in _WRAPPERS
            and parent.getparent() is not None
            and " ".join(parent.text_content().split()) == text
        ):
            tail = parent.tail
            parent.getparent().replace(parent, quote)
            quote.tail = tail
            parent = quote.getparent()


_STANDFIRST_ITEMS = (2, 5)
_STANDFIRST_WORDS = (3, 40)


_BYLINE_HINT = re.compile(r"by|author|date|time|meta|credit|source|dateline|posted|publish", re.IGNORECASE)


def _byline_like(elem: etree._Element) -> bool:
    """A byline, a date or an empty box: short, not a sentence that announces what follows, and not a paragraph of
    text unless marked up as a byline or date."""
    text = " ".join(elem.text_content().split())
    if len(text.split()) > 20 or text.endswith(":"):
        return False
    if elem.tag == "time" or elem.find(".//time") is not None:
        return True
    marks = " ".join(filter(None, (elem.get("class"), elem.get("itemprop"), elem.get("id"), elem.get("rel"))))
    if _BYLINE_HINT.search(marks):
        return True
    return elem.tag != "p" and elem.find(".//p") is None and len(text.split()) <= 12


def _take_standfirst(tree: HtmlElement) -> tuple[str, ...]:
    """Remove and return the publisher's summary bullets: a list of 2-5 short items (3-40 words, few links) that
    follows the page's ``<h1>`` as a sibling, with nothing but a byline or a date between them, and that is itself
    followed in the same container by a paragraph of the text. Trafilatura would otherwise put it at the end of the
    body (or keep it as the first paragraph), and the body must be the text alone."""
    for h1 in tree.iter("h1"):
        sibling = h1.getnext()
        for _ in range(3):
            if sibling is None or not isinstance(sibling.tag, str):
                return ()
            if sibling.tag in ("ul", "ol"):
                items = [li for li in sibling if li.tag == "li"]
                texts = [" ".join(li.text_content().split()) for li in items]
                if not (_STANDFIRST_ITEMS[0] <= len(items) <= _STANDFIRST_ITEMS[1]) or len(items) != len(sibling):
                    return ()
                if not all(_STANDFIRST_WORDS[0] <= len(t.split()) <= _STANDFIRST_WORDS[1] for t in texts):
                    return ()
                if any(_links_most_of(li, 0.3) for li in items):
                    return ()
                after = sibling.getnext()
                has_text = False
                while after is not None:
                    if isinstance(after.tag, str) and any(
                            len(p.text_content().split()) >= 20 for p in after.iter("p")):
                        has_text = True
                        break
                    after = after.getnext()
                if not has_text:
                    return ()
                parent = sibling.getparent()
                if parent is not None:
                    if sibling.tail and sibling.tail.strip():
                        prev = sibling.getprevious()
                        if prev is not None:
                            prev.tail = (prev.tail or "") + sibling.tail
                    parent.remove(sibling)
                return tuple(texts)
            if not _byline_like(sibling):
                return ()  # text before the list: the list is the text's, not a standfirst
            sibling = sibling.getnext()
        return ()
    return ()


_RELATED_LABEL = re.compile(
    r"\b(?:related|more\s+(?:great\s+|top\s+)?\w*\s?(?:stories|news|articles|from|on)|read\s+(?:more|next|also)|"
    r"also\s+read|recommended|popular|most\s+(?:read|viewed|shared)|you\s+(?:may|might)\s+(?:also\s+)?like|"
    r"trending|see\s+also|further\s+reading|editor.?s\s+picks?|top\s+stories)\b",
    re.IGNORECASE,
)


def _drop_related_lists(tree: HtmlElement) -> None:
    """Remove lists of links that a short heading announces as related or further stories, with that heading."""
    for lst in list(tree.iter("ul", "ol")):
        items = [li for li in lst if li.tag == "li"]
        if len(items) < 2 or not all(_links_most_of(li, 0.3) for li in items):
            continue
        label_elem = lst.getprevious()
        if label_elem is None:
            parent = lst.getparent()
            only_child = parent is not None and sum(1 for c in parent if isinstance(c.tag, str)) == 1
            label_elem = parent.getprevious() if only_child and parent is not None else None
        label = " ".join(label_elem.text_content().split()) if label_elem is not None else ""
        if not label or len(label) > 80 or not _RELATED_LABEL.search(label):
            continue
        for elem in (lst, label_elem):
            parent = elem.getparent() if elem is not None else None
            if elem is not None and parent is not None:
                parent.remove(elem)


def _links_most_of(elem: etree._Element, share: float) -> bool:
    total = len("".join(elem.text_content().split()))
    linked = sum(len("".join(a.text_content().split())) for a in elem.iter("a"))
    return total > 0 and linked >= share * total


# --- extraction and rendering ---------------------------------------------------------------------------------

Block = tuple[str, str]


def _run_trafilatura(tree: HtmlElement, url: str | None, *, precise: bool) -> list[Block]:
    doc = trafilatura.bare_extraction(
        tree,
        url=url,
        favor_precision=precise,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        with_metadata=False,
    )
    body = getattr(doc, "body", None)
    return _blocks(body) if body is not None else []


def _blocks(body: etree._Element) -> list[Block]:
    """One (tag, text) block per top-level element of trafilatura's body, rendered by its own text writer."""
    out: list[Block] = []
    for child in body:
        holder = etree.Element("body")
        holder.append(copy.deepcopy(child))
        text = "\n".join(line.strip() for line in xmltotxt(holder, False).strip().splitlines() if line.strip())
        if text:
            out.append((str(child.tag), text))
    return out


def _length(blocks: list[Block]) -> int:
    return sum(len(text) for _, text in blocks)


_LINK_TEXT_SHARE = 0.5


def _mostly_links(body: str, anchors: set[str]) -> bool:
    """Whether most of the body is lines that are the whole text of some link on the page: a list of teasers.

    Real articles in the benchmark stay under a fifth; home and section pages that slip through extraction are
    mostly headlines that link to their stories.
    """
    lines = [line for line in body.splitlines() if line.strip()]
    total = sum(len(line) for line in lines)
    linked = sum(len(line) for line in lines if " ".join(line.split()).lower() in anchors)
    return total > 0 and linked > _LINK_TEXT_SHARE * total


# --- repairs after extraction ---------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"""[.!?。！？…]["'”’»)\]]*$""")


def _drop_title_repeat(blocks: list[Block], title: str) -> list[Block]:
    """Drop a heading-like block near the top whose words are the title's (it has its own field)."""
    title_words = set(_WORD.findall(title.lower()))
    if not title_words:
        return blocks

    def repeats(tag: str, text: str) -> bool:
        if tag != "head" and _SENTENCE_END.search(text):
            return False  # a lede sentence that happens to echo the headline is body text
        words = set(_WORD.findall(text.lower()))
        shared = len(words & title_words)
        return bool(words) and shared >= 0.8 * len(words) and shared >= 0.6 * len(title_words)

    head = [block for block in blocks[:_TITLE_SCAN_BLOCKS] if not repeats(*block)]
    return head + blocks[_TITLE_SCAN_BLOCKS:]


_BOILERPLATE = re.compile(
    r"""^(?:
      https?://\S+
    | (?:copyright\b|©|\(c\)\s*\d{4}).*
    | .*\ball\s+rights\s+reserved\b.*
    | (?:advertisement|sponsored(?:\s+content)?|tags?|comments?|share(?:\s+this)?(?:\s+(?:article|story|post))?)\s*:?
    | (?:like\s+this\s+(?:story|article)\W+)?share\s+(?:it|this)\b.*
    | (?:follow\s+(?:us|@)|sign\s+up\s+(?:for|to|now)|subscribe\s+(?:to|now|here|for)|click\s+here|
         tell\s+us\s+what\s+you\s+think|also\s+on\s|read\s+more\s*:|related\s*:|see\s+also\s*:|order\s+reprints|
         print\s+article|write\s+to\s+.{1,80}?\s+at\s+\S+@).*
    | \[(\w+)\b[^\]]*\].*\[/\1\]
    )$""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)


def _is_boilerplate(text: str) -> bool:
    """A short block that is page furniture by its wording alone (English wording: a list, not a model)."""
    return len(text) <= _BOILERPLATE_MAX_CHARS and _BOILERPLATE.match(text) is not None
