"""A polite, guarded HTTP fetcher for the news wire.

Politeness: per-host concurrency and spacing, robots.txt (and its Crawl-delay), conditional GET, exponential
backoff with jitter that honours Retry-After. Safety: every URL and every redirect target passes the SSRF guard
(:mod:`marketwire.news.ssrf`), TLS is always verified, bodies are capped, redirects are few and followed by hand.
No per-URL problem raises: :meth:`Fetcher.fetch` returns a :class:`FetchResult` whose ``status`` says what
happened, so a poller reads statuses and never crashes over one feed.

DNS rebinding. The guard resolves a name once and vets every address. The fetcher pins those addresses *below*
httpx: the connection pool runs on :class:`PinnedBackend`, a network backend whose ``connect_tcp`` looks up
``(host, port)`` in a table filled only from vetted :class:`~marketwire.news.ssrf.Target` objects, connects to
those IPs, and refuses any host it holds no pin for. httpx and httpcore still see the original URL, so the Host
header, the TLS SNI name and certificate verification all use the real host name, while the socket goes to an
address that was checked and no second lookup happens. (Rewriting the URL to the IP and passing Host and the
``sni_hostname`` extension would also work, but the pool would then key connections by IP and could reuse a TLS
connection opened for one name for another name served from the same IP.) Environment proxies are ignored
(``trust_env=False``): a proxy would resolve the name itself and undo the pin.

Redirects. At most ``max_redirects`` (2) are followed. Each ``Location`` is joined to the current URL as a plain
string and the result goes through the guard, robots.txt and the per-host gate like a new URL, so a public server
cannot bounce the fetcher into the private network. A target already visited in this fetch is a ``redirect_loop``.

robots.txt (RFC 9309). Fetched once per origin through the same guarded path, cached for ``robots_ttl``. A 2xx is
parsed (first 500 KiB); a 4xx or a redirect chain that does not end means "no rules" (allow); a 5xx, timeout,
connection error or refused redirect means "unreachable", which is read as *disallow everything* (5xx is never
taken as permission) and cached only for ``robots_error_ttl`` so it is asked again soon. The page is then not
requested; its status is ``refused_robots``, or ``timeout`` / ``connection_error`` when robots.txt could not be
reached at all, so a dead host reads as a dead host.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import logging
import random
import ssl
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

import httpcore
import httpx

from marketwire.errors import InvalidInput
from marketwire.news.ssrf import (
    DEFAULT_POLICY,
    DEFAULT_PORTS,
    Policy,
    Resolver,
    SsrfRefused,
    Target,
    UnresolvableHost,
    check,
    normalize_host,
    parse_url,
)

log = logging.getLogger(__name__)

Status = Literal[
    "ok",
    "not_modified",
    "http_error",
    "timeout",
    "too_large",
    "refused_ssrf",
    "refused_robots",
    "redirect_loop",
    "too_many_redirects",
    "connection_error",
    "bad_scheme",
]

USER_AGENT = "marketwire/0.1 (+https://github.com/marketwire)"
ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309 asks crawlers to read at least 500 KiB
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_LOCATION = "x-marketwire-location"


@dataclass(frozen=True)
class FetchPolicy:
    """How hard and how politely to fetch. Times are seconds, sizes bytes."""

    per_host_concurrency: int = 2
    per_host_delay: float = 1.0
    """Minimum gap between the starts of two requests to one host; robots.txt Crawl-delay may raise it."""
    max_crawl_delay: float = 60.0
    """Cap on a robots.txt Crawl-delay, so one host cannot stall a batch."""
    global_concurrency: int = 200
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    deadline: float = 60.0
    """Wall-clock limit for one request: connect, headers and body. Name resolution has ``connect_timeout``."""
    max_body: int = 20 * 1024 * 1024
    max_redirects: int = 2
    max_attempts: int = 3
    """Requests per URL (and per redirect hop) when 429/5xx/timeouts/network errors call for a retry."""
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    max_retry_after: float = 120.0
    """A Retry-After longer than this is not waited for: the result reports it and the caller reschedules."""
    user_agent: str = USER_AGENT
    respect_robots: bool = True
    robots_ttl: float = 24 * 3600.0
    robots_error_ttl: float = 120.0
    """How long an unreachable robots.txt (read as disallow-all) is remembered before it is asked again."""

    def __post_init__(self) -> None:
        for name in ("per_host_concurrency", "global_concurrency", "max_attempts", "max_body"):
            if getattr(self, name) < 1:
                raise InvalidInput(f"{name} must be at least 1", param=name)
        for name in ("connect_timeout", "read_timeout", "deadline"):
            if getattr(self, name) <= 0:
                raise InvalidInput(f"{name} must be positive", param=name)
        for name in ("per_host_delay", "max_crawl_delay", "backoff_base", "backoff_max", "max_retry_after"):
            if getattr(self, name) < 0:
                raise InvalidInput(f"{name} must not be negative", param=name)
        if self.max_redirects < 0:
            raise InvalidInput("max_redirects must not be negative", param="max_redirects")


@dataclass(frozen=True)
class ResponseHeaders:
    """The response headers the wire keeps: validators for the next conditional GET and scheduling hints."""

    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    retry_after: str | None = None


@dataclass(frozen=True)
class FetchRequest:
    """One URL for :meth:`Fetcher.fetch_many`, with the validators from its previous fetch."""

    url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """What happened to one URL. ``body`` is set only when ``status == "ok"``.

    For ``not_modified`` the validators the caller sent are echoed in ``headers`` when the 304 omits them, so a
    poller can always store ``headers.etag`` / ``headers.last_modified`` back.
    """

    url: str
    final_url: str
    status: Status
    http_status: int | None = None
    headers: ResponseHeaders = field(default_factory=ResponseHeaders)
    body: bytes | None = None
    elapsed: float = 0.0
    attempts: int = 0
    """HTTP requests sent for this URL, counting redirect hops and retries but not robots.txt."""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# --- pinned connections ---------------------------------------------------------------------------------------


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that connects only to addresses the SSRF guard vetted for the host being reached.

    The pin table maps the host exactly as the HTTP client will name it (``httpx.URL.raw_host``) and the port to
    the vetted addresses. A host without a pin is refused, so nothing reaches the network unvetted even if some
    path forgot to call the guard.
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()
        self._pins: dict[tuple[str, int], tuple[str, ...]] = {}

    def pin(self, host: str, port: int, target: Target) -> None:
        """Route connections for ``host:port`` to ``target``'s vetted addresses (replacing an older pin)."""
        if not target.addresses:
            raise ValueError(f"{target.url} has not been vetted")
        self._pins[(host, port)] = target.addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = self._pins.get((host, port))
        if not addresses:
            raise httpcore.ConnectError(f"refusing to connect to {host}:{port}: no vetted address")
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by the news fetcher")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


_ERROR_MAP: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
)


@contextmanager
def _httpx_errors() -> Iterator[None]:
    """Re-raise httpcore errors as their httpx counterparts, as httpx's own transport does."""
    try:
        yield
    except Exception as exc:
        for source, target in _ERROR_MAP:
            if isinstance(exc, source):
                raise target(str(exc)) from exc
        raise


class _Body(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        with _httpx_errors():
            await self._stream.aclose()


class PinnedTransport(httpx.AsyncBaseTransport):
    """httpx transport over an httpcore pool whose sockets come from a :class:`PinnedBackend`.

    httpx 0.28 has no public way to hand its default transport a network backend, so this is the small adapter
    httpx itself uses, built on public httpx and httpcore API only.
    """

    def __init__(self, backend: PinnedBackend, ssl_context: ssl.SSLContext, *, max_connections: int) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
            network_backend=backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = await self._pool.handle_async_request(core)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


def _require_verification(context: ssl.SSLContext) -> ssl.SSLContext:
    if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:
        raise InvalidInput("TLS verification cannot be turned off for the news fetcher", param="ssl_context")
    return context


# --- politeness -----------------------------------------------------------------------------------------------


class _HostGate:
    """Per-host concurrency limit plus a minimum gap between request starts; ``defer`` pushes the next start."""

    def __init__(self, limit: int, delay: float) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._order = asyncio.Lock()
        self._next_start = 0.0
        self.delay = delay

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._slots:
            async with self._order:
                # a Retry-After deferral can arrive while this start sleeps: look again, and never shorten it
                while (wait := self._next_start - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                self._next_start = max(self._next_start, time.monotonic() + self.delay)
            yield

    def defer(self, seconds: float) -> None:
        self._next_start = max(self._next_start, time.monotonic() + seconds)


@dataclass
class _Robots:
    parser: RobotFileParser
    expires: float
    failure: tuple[Status, str] | None = None


@dataclass
class _Reply:
    """The outcome of one HTTP request (one attempt at one hop)."""

    status: Status | Literal["redirect"]
    http_status: int | None = None
    headers: ResponseHeaders = field(default_factory=ResponseHeaders)
    body: bytes | None = None
    location: str | None = None
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None


@dataclass
class _Run:
    """Book-keeping for one fetch: where it is, how many requests it sent, since when."""

    url: str
    final_url: str
    started: float = field(default_factory=time.monotonic)
    attempts: int = 0

    def result(self, status: Status, **fields: Any) -> FetchResult:
        return FetchResult(
            url=self.url,
            final_url=self.final_url,
            status=status,
            elapsed=time.monotonic() - self.started,
            attempts=self.attempts,
            **fields,
        )


def _response_headers(response: httpx.Response) -> ResponseHeaders:
    h = response.headers
    return ResponseHeaders(
        etag=h.get("etag"),
        last_modified=h.get("last-modified"),
        content_type=h.get("content-type"),
        retry_after=h.get("retry-after"),
    )


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); ``None`` if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


async def _read_capped(response: httpx.Response, cap: int, truncate: bool) -> bytes | None:
    """The decoded body, or ``None`` once it passes ``cap`` (or its first ``cap`` bytes when truncating).

    The cap applies to decoded bytes, so a compressed bomb stops at the cap too (give or take one decoded chunk).
    """
    declared = response.headers.get("content-length", "")
    if not truncate and declared.isdigit() and int(declared) > cap:
        return None
    buffer = bytearray()
    async for chunk in response.aiter_bytes():
        buffer += chunk
        if len(buffer) > cap:
            return bytes(buffer[:cap]) if truncate else None
    return bytes(buffer)


def _url_key(url: str) -> str:
    """A URL without its fragment, for spotting redirect loops."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


def _host_key(url: str) -> str:
    """The politeness key of a URL, or "" for one the guard will refuse anyway."""
    try:
        return parse_url(url).host
    except Exception:
        return ""


async def _set_location_aside(response: httpx.Response) -> None:
    """Move ``Location`` out of httpx's sight.

    httpx parses ``Location`` with its own stricter parser even when it does not follow redirects, and fails the
    whole response on spellings such as ``0177.0.0.1``. The guard, not the client, must judge redirect targets, so
    the raw value is kept under another name; a response with several ``Location`` headers keeps none.
    """
    values = response.headers.get_list("location")
    if values:
        del response.headers["location"]
        if len(values) == 1:
            response.headers[_LOCATION] = values[0]


def _no_cookies() -> http.cookiejar.CookieJar:
    """A jar that stores nothing: feeds do not need sessions, and a long-lived poller must not grow a jar."""
    return http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


# --- the fetcher ----------------------------------------------------------------------------------------------


class Fetcher:
    """Fetches URLs politely through the SSRF guard. Use as ``async with Fetcher(...) as f:`` or call ``aclose``.

    ``resolver`` replaces ``getaddrinfo`` for the guard (tests use it to avoid real DNS); ``ssl_context`` may add
    trust anchors but must verify certificates and host names.
    """

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        ssrf_policy: Policy | None = None,
        *,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy or FetchPolicy()
        self.ssrf_policy = ssrf_policy or DEFAULT_POLICY
        self._resolver = resolver
        self.backend = PinnedBackend()
        p = self.policy
        context = _require_verification(ssl_context or httpx.create_ssl_context())
        self._client = httpx.AsyncClient(
            transport=PinnedTransport(self.backend, context, max_connections=p.global_concurrency),
            timeout=httpx.Timeout(connect=p.connect_timeout, read=p.read_timeout, write=p.read_timeout, pool=p.deadline),
            follow_redirects=False,
            trust_env=False,
            cookies=_no_cookies(),
            event_hooks={"response": [_set_location_aside]},
            headers={"User-Agent": p.user_agent, "Accept-Encoding": "gzip, deflate"},
        )
        self._global = asyncio.Semaphore(p.global_concurrency)
        self._gates: dict[str, _HostGate] = {}
        self._robots: dict[tuple[str, str, int], _Robots] = {}
        self._robots_locks: dict[tuple[str, str, int], asyncio.Lock] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """Fetch one URL (conditionally when validators are given). Never raises for a problem with the URL."""
        run = _Run(url=url, final_url=url)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            result = await self._run(run, headers, robots=self.policy.respect_robots, cap=self.policy.max_body)
        except Exception as exc:  # a bug here must cost one feed, not the poller
            log.exception("unexpected error fetching %s", url)
            return run.result("connection_error", error=f"unexpected {type(exc).__name__}: {exc}")
        if result.status == "not_modified":
            h = result.headers
            echoed = ResponseHeaders(h.etag or etag, h.last_modified or last_modified, h.content_type, h.retry_after)
            result = replace(result, headers=echoed)
        return result

    async def fetch_many(self, requests: Iterable[FetchRequest | str]) -> list[FetchResult]:
        """Fetch many URLs, results in input order.

        At most ``global_concurrency`` fetches run at once (a fixed set of workers, never a task per URL), and
        workers pick hosts round-robin among those below their per-host limit, so a thousand URLs on one host
        neither exceed its limit nor park every worker behind it. Only the returned list holds bodies; for very
        large batches call this in chunks.
        """
        items = [r if isinstance(r, FetchRequest) else FetchRequest(r) for r in requests]
        results: list[FetchResult | None] = [None] * len(items)
        queues: dict[str, deque[int]] = {}
        for i, item in enumerate(items):
            queues.setdefault(_host_key(item.url), deque()).append(i)
        limit = self.policy.per_host_concurrency
        running: Counter[str] = Counter()
        ready: deque[str] = deque(queues)
        in_ready = set(queues)
        pending = len(items)
        changed = asyncio.Condition()

        def offer(host: str) -> None:
            if queues[host] and running[host] < limit and host not in in_ready:
                ready.append(host)
                in_ready.add(host)

        async def worker() -> None:
            nonlocal pending
            while True:
                async with changed:
                    while not ready:
                        if pending == 0:
                            return
                        await changed.wait()
                    host = ready.popleft()
                    in_ready.discard(host)
                    index = queues[host].popleft()
                    pending -= 1
                    running[host] += 1
                    offer(host)
                item = items[index]
                try:
                    results[index] = await self.fetch(item.url, etag=item.etag, last_modified=item.last_modified)
                finally:
                    async with changed:
                        running[host] -= 1
                        offer(host)
                        changed.notify_all()

        workers = min(self.policy.global_concurrency, len(items))
        await asyncio.gather(*(worker() for _ in range(workers)))
        return [r for r in results if r is not None]

    # --- one fetch, hop by hop ---

    async def _run(self, run: _Run, headers: dict[str, str], *, robots: bool, cap: int, truncate: bool = False) -> FetchResult:
        seen: set[str] = set()
        redirects = 0
        while True:
            try:
                target = await self._vet(run.final_url)
            except SsrfRefused as exc:
                return run.result("bad_scheme" if exc.rule == "scheme" else "refused_ssrf", error=exc.reason)
            except UnresolvableHost as exc:
                return run.result("connection_error", error=exc.message)
            except TimeoutError:
                return run.result("timeout", error=f"resolving the host took longer than {self.policy.connect_timeout}s")
            if robots and (refusal := await self._robots_refusal(target)):
                return run.result(refusal[0], error=refusal[1])
            reply = await self._exchange(target, headers, run, cap, truncate)
            if reply.status != "redirect":
                return run.result(
                    reply.status, http_status=reply.http_status, headers=reply.headers, body=reply.body, error=reply.error
                )
            assert reply.location is not None
            seen.add(_url_key(run.final_url))
            following = urljoin(run.final_url, reply.location)
            if _url_key(following) in seen:
                return run.result("redirect_loop", http_status=reply.http_status, error=f"redirect back to {following}")
            redirects += 1
            if redirects > self.policy.max_redirects:
                error = f"more than {self.policy.max_redirects} redirects (next: {following})"
                return run.result("too_many_redirects", http_status=reply.http_status, error=error)
            run.final_url = following

    async def _vet(self, url: str) -> Target:
        """The guard's verdict; names are resolved off the event loop and within ``connect_timeout``."""
        if parse_url(url).is_literal:
            return check(url, self.ssrf_policy)
        async with asyncio.timeout(self.policy.connect_timeout):
            return await asyncio.to_thread(check, url, self.ssrf_policy, resolver=self._resolver)

    def _gate(self, host: str) -> _HostGate:
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = _HostGate(self.policy.per_host_concurrency, self.policy.per_host_delay)
        return gate

    async def _exchange(self, target: Target, headers: dict[str, str], run: _Run, cap: int, truncate: bool) -> _Reply:
        """One hop with retries. Waits happen in the host gate, so a 429 or 503 slows every request to that host."""
        gate = self._gate(target.host)
        attempt = 0
        while True:
            attempt += 1
            run.attempts += 1
            async with gate.slot(), self._global:
                reply = await self._attempt(target, headers, cap, truncate)
            if not reply.retryable or attempt >= self.policy.max_attempts:
                return reply
            wait = self._backoff(attempt, reply.retry_after)
            if wait is None:
                return reply
            gate.defer(wait)

    def _backoff(self, attempt: int, retry_after: float | None) -> float | None:
        """Exponential backoff with jitter (half fixed, half random), never shorter than Retry-After."""
        p = self.policy
        step = min(p.backoff_max, p.backoff_base * 2 ** (attempt - 1))
        wait = step / 2 + random.uniform(0, step / 2)
        if retry_after is not None:
            if retry_after > p.max_retry_after:
                return None
            wait = max(wait, retry_after)
        return wait

    async def _attempt(self, target: Target, headers: dict[str, str], cap: int, truncate: bool) -> _Reply:
        try:
            url = httpx.URL(target.url)
            host = url.raw_host.decode("ascii")
            same = (url.scheme, normalize_host(host), url.port or DEFAULT_PORTS[url.scheme]) == (
                target.scheme,
                target.host,
                target.port,
            )
        except (httpx.InvalidURL, ValueError, KeyError) as exc:
            return _Reply("refused_ssrf", error=f"the HTTP client cannot read the vetted URL ({exc})")
        if not same:
            return _Reply("refused_ssrf", error=f"the HTTP client reads another host than the guard vetted ({host})")
        self.backend.pin(host, url.port or DEFAULT_PORTS[url.scheme], target)
        try:
            async with asyncio.timeout(self.policy.deadline):
                response = await self._client.send(self._client.build_request("GET", url, headers=headers), stream=True)
                try:
                    return await self._reply(response, cap, truncate)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException) as exc:
            return _Reply("timeout", error=f"{type(exc).__name__}: no complete answer in time", retryable=True)
        except httpx.TransportError as exc:
            retry = isinstance(exc, httpx.NetworkError)
            return _Reply("connection_error", error=f"{type(exc).__name__}: {exc}", retryable=retry)
        except httpx.HTTPError as exc:
            return _Reply("connection_error", error=f"{type(exc).__name__}: {exc}")

    async def _reply(self, response: httpx.Response, cap: int, truncate: bool) -> _Reply:
        code = response.status_code
        headers = _response_headers(response)
        if code == 304:
            return _Reply("not_modified", code, headers)
        if code in REDIRECT_STATUSES:
            location = response.headers.get(_LOCATION)
            if location:
                return _Reply("redirect", code, headers, location=location)
            return _Reply("http_error", code, headers, error=f"HTTP {code} without a usable Location header")
        if 200 <= code < 300:
            body = await _read_capped(response, cap, truncate)
            if body is None:
                return _Reply("too_large", code, headers, error=f"body larger than {cap} bytes")
            return _Reply("ok", code, headers, body=body)
        return _Reply(
            "http_error",
            code,
            headers,
            error=f"HTTP {code}",
            retryable=code in RETRY_STATUSES,
            retry_after=retry_after_seconds(headers.retry_after),
        )

    # --- robots.txt ---

    async def _robots_refusal(self, target: Target) -> tuple[Status, str] | None:
        """``(status, reason)`` when robots.txt keeps the fetcher off ``target``; loaded once per origin."""
        key = (target.scheme, target.host, target.port)
        entry = self._robots.get(key)
        if entry is None or entry.expires <= time.monotonic():
            lock = self._robots_locks.setdefault(key, asyncio.Lock())
            async with lock:
                entry = self._robots.get(key)
                if entry is None or entry.expires <= time.monotonic():
                    entry = self._robots[key] = await self._load_robots(target)
        if entry.failure is not None:
            return entry.failure
        if not entry.parser.can_fetch(self.policy.user_agent, target.url):
            return "refused_robots", "disallowed by robots.txt"
        return None

    async def _load_robots(self, target: Target) -> _Robots:
        authority = urlsplit(target.url).netloc.rpartition("@")[2]
        robots_url = f"{target.scheme}://{authority}/robots.txt"
        parser = RobotFileParser(robots_url)
        run = _Run(url=robots_url, final_url=robots_url)
        got = await self._run(run, {}, robots=False, cap=ROBOTS_MAX_BYTES, truncate=True)
        now = time.monotonic()
        if got.status == "ok" and got.body is not None:
            parser.parse(got.body.decode("utf-8", "replace").splitlines())
            delay = parser.crawl_delay(self.policy.user_agent)
            if delay is not None:
                gate = self._gate(target.host)
                gate.delay = max(self.policy.per_host_delay, min(float(delay), self.policy.max_crawl_delay))
            return _Robots(parser, now + self.policy.robots_ttl)
        unavailable = got.status in ("too_many_redirects", "redirect_loop") or (
            got.status == "http_error" and got.http_status is not None and 400 <= got.http_status < 500
        )
        if unavailable:
            parser.parse([])  # no rules: everything allowed
            return _Robots(parser, now + self.policy.robots_ttl)
        detail = got.error or got.status
        if got.http_status:
            detail = f"HTTP {got.http_status}"
        status: Status = got.status if got.status in ("timeout", "connection_error") else "refused_robots"
        failure = status, f"robots.txt unreachable ({got.status}: {detail}), read as disallow-all"
        return _Robots(parser, now + self.policy.robots_error_ttl, failure=failure)
