"""Who may ask what: the Host allow-list, API keys, scopes, dataset entitlements, rate limits, usage metering and
the hiding of local file paths, as one ASGI middleware in front of the REST API and the pages.

Every route of the app is mapped in :data:`POLICY` to the action it needs (``read``, ``ingest`` or ``admin``) and
the datasets it serves; a request passes when its key grants the action and is entitled to every dataset. A route
the table does not name is for ``admin`` keys only, and a test fails until it is mapped.

A request goes through, in order:

1. **Host**: the ``Host`` header must name an allowed host (default: the loopback names and the bound address), else
   400 ``invalid_host``; this keeps a browser page on another site from reaching a local server by DNS rebinding.
2. **Key**: ``Authorization: Bearer mwk_...``; missing (when keys are required), unknown, revoked or expired is a 401
   ``unauthorized`` with ``WWW-Authenticate: Bearer``. Without keys required, a request with no key is the single
   local user, who may do everything.
3. **Rate limit** per key (the key's own, else the server's default): over it is a 429 ``rate_limited`` with
   ``Retry-After``; every answer to a keyed request carries ``RateLimit-Policy`` and ``RateLimit``
   (draft-ietf-httpapi-ratelimit-headers: ``"key";q=600;w=60`` and ``"key";r=599;t=60``).
4. **Scope and entitlement**: a 403 ``not_entitled`` naming the scope or the ``dataset`` that is missing.
5. **Metering**: one count per key, dataset and UTC day of the requests answered (with errors, rows and bytes).
6. **Paths**: for keys without ``admin``, local file paths in answers (quarantine ``file``, an article's ``url`` when
   it is a file, paths inside messages and raw records) are cut to the file name.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import json
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.routing import Match, Mount

from marketwire.errors import MarketwireError
from marketwire.serve.local import HEADER as LOCAL_HEADER
from marketwire.serve.keys import ALL, GROUPS, LOCAL, NO_DATASET, Key, KeyRefused, KeyStore, NotEntitled, RateLimit

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
DEFAULT_RATE = RateLimit(600, 60)
#: the name of the one quota policy in the RateLimit headers
log = logging.getLogger(__name__)
POLICY_NAME = "key"
#: how often buffered usage counts are written to the key store (and always at shutdown)
FLUSH_SECONDS = 1.0
#: how many (method, path) -> route answers the middleware remembers
ROUTE_CACHE = 10_000
#: the largest request body a write route reads
MAX_BODY = 8 * 1024 * 1024

REFERENCE = ("issuers", "securities", "listings", "identifiers")


@dataclass(frozen=True)
class Access:
    """What one route needs: an action and the datasets it serves (``datasets`` may depend on the query)."""

    scope: str = "read"
    datasets: tuple[str, ...] = ()
    #: extra datasets by query parameter: ``{"adjust": ("corporate_actions", lambda v: v != "none")}``
    when: Mapping[str, tuple[str, Callable[[str], bool]]] = field(default_factory=dict)
    #: the dataset is named by this query parameter (the quarantine): required unless the key has every dataset
    dataset_param: str | None = None
    #: the answer may carry local file paths
    paths: bool = False
    max_body: int | None = None

    def needs(self, query: Mapping[str, list[str]]) -> tuple[str, ...]:
        out = list(self.datasets)
        for param, (ds, test) in self.when.items():
            values = query.get(param)
            if values and test(values[-1]) and ds not in out:
                out.append(ds)
        if self.dataset_param and query.get(self.dataset_param):
            out.append(query[self.dataset_param][-1])
        return tuple(out)


def _adjusted(v: str) -> bool:
    return v not in ("", "none")


def _given(v: str) -> bool:
    return v != ""


PRICES = Access("read", ("bars_daily",), when={"adjust": ("corporate_actions", _adjusted),
                                               "currency": ("fx_rates", _given)})
NEWS = Access("read", ("news_articles",), paths=True)
SCHEMA = Access("read")

#: every route: path template -> method -> what it needs
POLICY: dict[str, dict[str, Access]] = {
    "/v1/health": {"GET": Access("read")},
    "/v1/resolve": {"GET": Access("read", REFERENCE)},
    "/v1/search": {"GET": Access("read", REFERENCE)},
    "/v1/securities/{security_id}": {"GET": Access("read", REFERENCE)},
    "/v1/listings/{listing_id}": {"GET": Access("read", REFERENCE)},
    "/v1/indexes/{index}/members": {"GET": Access("read", ("index_membership",))},
    "/v1/quarantine": {"GET": Access("read", dataset_param="dataset", paths=True)},
    "/v1/prices/{id}": {"GET": PRICES},
    "/v1/prices": {"GET": Access("read", ("bars_daily",), when={"adjust": ("corporate_actions", _adjusted)})},
    "/v1/actions/{id}": {"GET": Access("read", ("corporate_actions",), paths=True)},
    "/v1/quality/{id}": {"GET": Access("read", ("bars_daily",), paths=True)},
    "/v1/disagreements/{id}": {"GET": Access("read", ("price_disagreements",), paths=True)},
    "/v1/fx/{base}/{quote}": {"GET": Access("read", ("fx_rates",))},
    "/v1/news": {"GET": NEWS, "POST": Access("ingest", ("news_articles",), paths=True, max_body=MAX_BODY)},
    "/v1/news/{id}": {"GET": NEWS},
    # hand-offs of the CLI to the running server (serve/local.py): its own user, loopback, this run's token
    "/v1/local/news/files": {"POST": Access("local", ("news_articles",), paths=True, max_body=MAX_BODY)},
    "/v1/stories": {"GET": NEWS},
    "/v1/stories/{id}": {"GET": NEWS},
    "/news": {"GET": Access("read", ("news_articles",))},
    "/news/{id}": {"GET": Access("read", ("news_articles",))},
    "/v1/fundamentals/{id}/facts": {"GET": Access("read", ("sec_facts",))},
    "/v1/fundamentals/{id}/statements/{statement}": {"GET": Access("read", ("sec_facts",),
                                                                   when={"adjust": ("corporate_actions", _adjusted)})},
    "/v1/fundamentals/{id}/ratios": {"GET": Access("read", ("sec_facts", "bars_daily", "corporate_actions"))},
    "/v1/estimates/{id}/consensus": {"GET": Access("read", ("consensus",))},
    "/v1/estimates/{id}/surprises": {"GET": Access("read", ("consensus",))},
    "/companies/{id}": {"GET": Access("read", ("sec_facts",))},
    "/v1/last/{id}": {"GET": Access("read", ("trades", "quotes"))},
    "/v1/ticks/{id}": {"GET": Access("read", ("trades", "quotes"))},
    "/v1/bars/{id}": {"GET": Access("read", ("bars_intraday", "trades"))},
    "/v1/stream/sse": {"GET": Access("read", ("trades", "quotes", "bars_intraday"))},
    "/v1/stream/stats": {"GET": Access("read", ("trades", "quotes"))},
    "/stream/{id}": {"GET": Access("read", ("trades", "quotes", "bars_intraday"))},
    "/v1/esg/metrics/{id}": {"GET": Access("read", ("esg_metrics", "esg_links"))},
    "/v1/esg/derived/{id}": {"GET": Access("read", ("esg_metrics", "esg_links"))},
    "/v1/esg/coverage": {"GET": Access("read", ("esg_links", "esg_metrics"))},
    "/v1/esg/review": {"GET": Access("read", ("esg_links",))},
    "/v1/esg/catalogue": {"GET": Access("read", ("esg_metrics",))},
    "/companies/{id}/esg": {"GET": Access("read", ("esg_metrics", "esg_links"))},
    "/static": {"GET": Access("read")},
    "/openapi.json": {"GET": SCHEMA},
    "/docs": {"GET": SCHEMA},
    "/docs/oauth2-redirect": {"GET": SCHEMA},
    "/redoc": {"GET": SCHEMA},
    "/docs-assets": {"GET": SCHEMA},  # the Swagger UI and ReDoc scripts and styles /docs and /redoc load
}
#: a route missing from the table
UNMAPPED = Access("admin")
#: a path no route matches (or a method the route does not take): any valid key gets the 404 / 405
UNROUTED = Access("read")


@dataclass(frozen=True)
class AccessPolicy:
    """How a server admits requests. ``require_keys``: every request needs a key; ``allowed_hosts``: the Host
    names accepted (``None``: any; ``"*"`` in it: any); ``rate_limit``: the default per key (``None``: none)."""

    require_keys: bool = False
    allowed_hosts: tuple[str, ...] | None = None
    rate_limit: RateLimit | None = DEFAULT_RATE
    #: the token of this run's ``/v1/local/*`` routes (:mod:`marketwire.serve.local`); None: they answer 403
    local_token: str | None = None
    #: where rate limits are counted: None, in this process; ``redis://HOST:PORT/DB``, shared by every process
    rate_store: str | None = None


class KeysRequired(MarketwireError):
    """A server would expose the lake on the network without keys."""

    code = "keys_required"
    http_status = 500


# -- the serve modes ---------------------------------------------------------------------------------------------

def is_loopback(host: str) -> bool:
    h = host.strip().strip("[]").lower()
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    return host.strip().strip("[]") in ("0.0.0.0", "::", "")


def default_hosts(host: str, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The loopback names, the bound host (for a wildcard bind: this machine's name) and ``extra``."""
    out = list(LOOPBACK_NAMES)
    bound = host.strip().strip("[]").lower()
    if is_wildcard(host):
        out.append(socket.gethostname().lower())
    elif bound:
        out.append(bound)
    for h in extra:
        h = h.strip().strip("[]").lower().rstrip(".")
        if h:
            out.append(h)
    return tuple(dict.fromkeys(out))


def serve_policy(home: str | Path | None, host: str, *, require_keys: bool = False, insecure: bool = False,
                 allowed_hosts: Iterable[str] = (), rate_limit: RateLimit | None = DEFAULT_RATE
                 ) -> tuple[AccessPolicy, list[str]]:
    """The policy ``marketwire serve`` runs with, and what to tell the operator. A non-loopback ``host`` requires
    keys; with no usable key in the home that is :class:`KeysRequired`, unless ``insecure``."""
    loopback = is_loopback(host)
    active = KeyStore(home).active()
    notes: list[str] = []
    required = require_keys or (not loopback and not insecure)
    if required and not loopback and active == 0 and not insecure:
        raise KeysRequired(
            f"refusing to serve on {host}: a non-loopback address needs API keys and this home has no active key. "
            "Create one with `marketwire keys create --scope read` (clients send `Authorization: Bearer KEY`), or "
            "pass --insecure to serve everything to anyone who can reach the address, without a key.")
    if required and active == 0:
        notes.append("keys are required and this home has no active key: every request is refused until "
                      "`marketwire keys create` makes one")
    hosts = tuple(allowed_hosts)
    policy = AccessPolicy(require_keys=required,
                          allowed_hosts=None if "*" in hosts else default_hosts(host, hosts),
                          rate_limit=rate_limit)
    if insecure and not loopback and not required:
        notes.append(insecure_notice(host))
    if not loopback and policy.allowed_hosts is not None:
        notes.append(f"answering only for Host {', '.join(policy.allowed_hosts)}: add the names and addresses "
                     "clients use with --allowed-host (repeatable)")
    return policy, notes


def insecure_notice(host: str) -> str:
    routes = ", ".join(sorted(p for p in POLICY if p.startswith("/v1/")))
    return (f"--insecure: no key is needed on {host}. Anyone who can reach it can read every dataset ({routes}), "
            "add articles (POST /v1/news), see the local file paths in quarantine and news answers, and read the "
            "API schema at /docs and /openapi.json. Use keys instead: marketwire keys create.")


# -- the middleware ----------------------------------------------------------------------------------------------

@dataclass
class Principal:
    """Who is asking: a key, or the local user (no key, on a server that does not require one)."""

    key: Key | None

    @property
    def id(self) -> str:
        return self.key.id if self.key else LOCAL

    def grants(self, scope: str) -> bool:
        return self.key is None or self.key.grants(scope)

    def entitled(self, dataset: str) -> bool:
        return self.key is None or self.key.entitled(dataset)

    @property
    def all_datasets(self) -> bool:
        return self.key is None or ALL in self.key.datasets

    @property
    def sees_paths(self) -> bool:
        return self.key is None or self.key.grants("admin")


class Limiter:
    """A fixed window per key, counted in this process: ``quota`` requests, then 429 until the window ends."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key_id: str, limit: RateLimit, now: float | None = None) -> tuple[bool, int, int]:
        """Count one request: (allowed, remaining, seconds until the window resets)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            start, used = self._windows.get(key_id, (now, 0))
            if now - start >= limit.window:
                start, used = now, 0
            allowed = used < limit.quota
            if allowed:
                used += 1
            self._windows[key_id] = (start, used)
        reset = max(1, int(limit.window - (now - start) + 0.999))
        return allowed, max(0, limit.quota - used), reset


class RedisLimiter:
    """Fixed windows counted in Redis, so that every API process sharing the store counts against one quota (N
    stateless processes behind a load balancer). Windows are aligned to multiples of their length; the counter of a
    window expires with it. If Redis stops answering, requests are counted in this process meanwhile (the API
    keeps answering; a warning is logged once per outage) and Redis is asked again after :data:`RETRY` seconds."""

    RETRY = 5.0

    def __init__(self, url: str) -> None:
        try:
            import redis
        except ImportError as e:  # pragma: no cover - depends on the install
            raise RateStoreUnavailable(f"--rate-store {url}: the redis package is not installed (pip install "
                                       "'marketwire[serve]')") from e
        self.url = url
        try:
            self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
            self._redis.ping()
        except (redis.RedisError, ValueError) as e:
            raise RateStoreUnavailable(f"--rate-store {url}: Redis does not answer ({e})") from e
        self._errors = redis.RedisError
        self._local = Limiter()
        self._down_until = 0.0

    def hit(self, key_id: str, limit: RateLimit, now: float | None = None) -> tuple[bool, int, int]:
        """Count one request: (allowed, remaining, seconds until the window resets)."""
        if time.monotonic() < self._down_until:
            return self._local.hit(key_id, limit)
        now = time.time() if now is None else now
        start = int(now // limit.window) * limit.window
        counter = f"marketwire:ratelimit:{key_id}:{limit.window}:{start}"
        try:
            pipe = self._redis.pipeline()
            pipe.incr(counter)
            pipe.expire(counter, limit.window + 1)
            used = int(pipe.execute()[0])
        except self._errors as e:
            if self._down_until == 0.0:
                log.warning("rate limits: Redis at %s does not answer (%s); counting in this process", self.url, e)
            self._down_until = time.monotonic() + self.RETRY
            return self._local.hit(key_id, limit)
        self._down_until = 0.0
        reset = max(1, int(start + limit.window - now + 0.999))
        return used <= limit.quota, max(0, limit.quota - used), reset


class RateStoreUnavailable(MarketwireError):
    """``--rate-store`` names a store that cannot be used."""

    code = "rate_store_unavailable"
    http_status = 500


class Meter:
    """Usage counts buffered in memory and added to the key store every :data:`FLUSH_SECONDS` and at shutdown."""

    def __init__(self, store: KeyStore) -> None:
        self.store = store
        self._counts: dict[tuple[str, str, str], list[int]] = {}
        self._last: dict[tuple[str, str, str], str] = {}
        self._lock = threading.Lock()
        self._flushed = time.monotonic()

    def count(self, key_id: str, datasets: Iterable[str], status: int, rows: int, size: int) -> None:
        now = datetime.now(timezone.utc)
        day, stamp = now.date().isoformat(), now.isoformat(timespec="seconds")
        with self._lock:
            for ds in tuple(datasets) or (NO_DATASET,):
                c = self._counts.setdefault((key_id, ds, day), [0, 0, 0, 0])
                c[0] += 1
                c[1] += 1 if status >= 400 else 0
                c[2] += rows
                c[3] += size
                self._last[(key_id, ds, day)] = stamp
        if time.monotonic() - self._flushed >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            counts, last = self._counts, self._last
            self._counts, self._last = {}, {}
            self._flushed = time.monotonic()
        self.store.add_usage(counts, last)


class AccessMiddleware:
    """The ASGI middleware; ``routes`` is the app whose routes it maps (see :func:`install_access`)."""

    def __init__(self, app: Any, *, routes: Any, store: KeyStore, policy: AccessPolicy, meter: Meter,
                 limiter: Limiter | RedisLimiter) -> None:
        self.app = app
        self.routes = routes
        self.store = store
        self.policy = policy
        self.meter = meter
        self.limiter = limiter
        self._routes: dict[tuple[str, str], str | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        method, path = scope["method"], scope.get("path", "")
        if self.policy.allowed_hosts is not None and not _host_allowed(headers.get("host"), self.policy.allowed_hosts):
            await _send_error(send, 400, "invalid_host", "the Host header names a host this server does not answer "
                              "for (start it with --allowed-host NAME to add one)", param="Host")
            return
        template = self._route(scope)
        access = UNROUTED if template is None else \
            POLICY.get(template, {}).get("GET" if method == "HEAD" else method, UNMAPPED)
        if access.scope == "local":  # the server's own user on this machine (serve/local.py), nobody else
            given = headers.get(LOCAL_HEADER, "")
            client = (scope.get("client") or ("", 0))[0]
            if not (self.policy.local_token and given and is_loopback(client or "")
                    and hmac.compare_digest(given.encode(), self.policy.local_token.encode())):
                await _send_error(send, 403, "not_entitled", f"{method} {template} serves commands of the server's "
                                  "own user on this machine only")
                return
            await self._answer(scope, receive, send, Principal(None), access.datasets, access, [])
            return
        # -- who is asking
        auth = headers.get("authorization")
        if auth is not None:
            scheme, _, token = auth.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                await _send_error(send, 401, "unauthorized", "the Authorization header must be `Bearer KEY`",
                                  headers={"WWW-Authenticate": 'Bearer realm="marketwire", error="invalid_request"'})
                return
            try:
                who = Principal(self.store.verify(token.strip()))
            except KeyRefused as e:
                await _send_error(send, 401, e.code, e.message,
                                  headers={"WWW-Authenticate": 'Bearer realm="marketwire", error="invalid_token"'})
                return
        elif self.policy.require_keys:
            await _send_error(send, 401, "unauthorized", "this server requires an API key: send `Authorization: "
                              "Bearer KEY` (`marketwire keys create` makes one)",
                              headers={"WWW-Authenticate": 'Bearer realm="marketwire"'})
            return
        else:
            who = Principal(None)
        # -- rate limit
        extra: list[tuple[bytes, bytes]] = []
        limit = (who.key.limit() or self.policy.rate_limit) if who.key else None
        if limit is not None:
            allowed, remaining, reset = self.limiter.hit(who.id, limit)
            extra = [(b"ratelimit-policy", f'"{POLICY_NAME}";q={limit.quota};w={limit.window}'.encode()),
                     (b"ratelimit", f'"{POLICY_NAME}";r={remaining};t={reset}'.encode())]
            if not allowed:
                await _send_error(send, 429, "rate_limited", f"this key may make {limit.quota} requests every "
                                  f"{limit.window} s; retry after {reset} s", extra=extra,
                                  headers={"Retry-After": str(reset)})
                return
        # -- scope and datasets
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if not who.grants(access.scope):
            scopes = ", ".join(who.key.scopes) if who.key else ""
            await _send_error(send, 403, "not_entitled", f"{method} {template or path} needs the `{access.scope}` "
                              f"scope; this key has {scopes}", scope=access.scope, extra=extra,
                              headers={"WWW-Authenticate": f'Bearer realm="marketwire", error="insufficient_scope", '
                                                           f'scope="{access.scope}"'})
            return
        needed = access.needs(query)
        if access.dataset_param and not query.get(access.dataset_param) and not who.all_datasets:
            await _send_error(send, 403, "not_entitled", f"this key is entitled to some datasets only: name one with "
                              f"`{access.dataset_param}` ({', '.join(who.key.datasets if who.key else ())})",
                              param=access.dataset_param, extra=extra)
            return
        missing = [d for d in needed if not who.entitled(d)]
        if missing:
            await _send_error(send, 403, "not_entitled", f"this key is not entitled to the dataset {missing[0]}",
                              dataset=missing[0], extra=extra)
            return
        if access.max_body is not None:
            size = headers.get("content-length")
            if size is not None and (not size.isdigit() or int(size) > access.max_body):
                await _send_error(send, 413, "invalid_input", f"the request body is over {access.max_body:,} bytes",
                                  param="body", extra=extra)
                return
            receive = _capped(receive, access.max_body)
        await self._answer(scope, receive, send, who, needed, access, extra)

    def _route(self, scope: Scope) -> str | None:
        """:func:`route_of`, remembered per method and path (at most :data:`ROUTE_CACHE` of them)."""
        key = (scope["method"], scope.get("path", ""))
        try:
            return self._routes[key]
        except KeyError:
            pass
        if len(self._routes) >= ROUTE_CACHE:
            self._routes.clear()
        found = self._routes[key] = route_of(self.routes, scope)
        return found

    async def _answer(self, scope: Scope, receive: Receive, send: Send, who: Principal, needed: tuple[str, ...],
                      access: Access, extra: list[tuple[bytes, bytes]]) -> None:
        redact = access.paths and not who.sees_paths
        state: dict[str, Any] = {"status": 500, "size": 0, "tail": b"", "lines": 0, "type": b"", "start": None,
                                 "body": []}

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                hdrs = [h for h in message.get("headers", [])] + extra
                state["type"] = next((v for k, v in hdrs if k.lower() == b"content-type"), b"")
                message = {**message, "headers": hdrs}
                if redact and state["type"].startswith(b"application/json"):
                    state["start"] = message
                    return
                await send(message)
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if state["start"] is not None:
                    state["body"].append(chunk)
                    if message.get("more_body", False):
                        return
                    body = redact_json(b"".join(state["body"]))
                    start = state["start"]
                    hdrs = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                    hdrs.append((b"content-length", str(len(body)).encode()))
                    await send({**start, "headers": hdrs})
                    message = {"type": "http.response.body", "body": body}
                    chunk = body
                state["size"] += len(chunk)
                if state["type"].startswith(b"text/csv"):
                    state["lines"] += chunk.count(b"\n")
                state["tail"] = (state["tail"] + chunk[-4096:])[-4096:]
                await send(message)
            else:
                await send(message)

        try:
            await self.app(scope, receive, wrapped)
        finally:
            self.meter.count(who.id, needed, state["status"], _rows(state), state["size"])


def install_access(app: Any, store: KeyStore, policy: AccessPolicy) -> None:
    """Put the middleware in front of ``app`` and declare the bearer scheme in its OpenAPI schema."""
    meter = Meter(store)
    limiter: Limiter | RedisLimiter = RedisLimiter(policy.rate_store) if policy.rate_store else Limiter()
    app.state.access = meter
    app.add_middleware(AccessMiddleware, routes=app, store=store, policy=policy, meter=meter, limiter=limiter)
    app.router.on_shutdown.append(meter.flush)
    base = app.openapi

    def openapi() -> dict[str, Any]:
        schema: dict[str, Any] = base()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
            "type": "http", "scheme": "bearer",
            "description": "An API key from `marketwire keys create` (mwk_...). Required when the server runs with "
                           "--require-keys or on a non-loopback address; see docs/security.md."}
        schema["security"] = [{"bearer": []}, {}]
        return schema

    app.openapi = openapi


def route_of(app: Any, scope: Scope) -> str | None:
    """The path template of the route that answers ``scope`` (a mount's path for a mount); None when none does."""
    for route in app.routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return str(route.path)
    return None


def routes_of(app: Any) -> list[tuple[str, str]]:
    """Every (method, path template) the app answers, mounts included (as GET)."""
    out = []
    for route in app.routes:
        if isinstance(route, Mount):
            out.append(("GET", route.path))
            continue
        for m in sorted(getattr(route, "methods", None) or ()):
            if m != "HEAD":
                out.append((m, route.path))
    return out


# -- helpers -----------------------------------------------------------------------------------------------------

def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _host_allowed(value: str | None, allowed: tuple[str, ...]) -> bool:
    if not value:
        return False
    v = value.strip().lower()
    if v.startswith("["):
        host = v[1:v.find("]")] if "]" in v else ""
    elif v.count(":") <= 1:
        host = v.partition(":")[0]
    else:
        return False
    return host.rstrip(".") in allowed


async def _send_error(send: Send, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None,
                      extra: Iterable[tuple[bytes, bytes]] = (), **fields: Any) -> None:
    body = json.dumps({"error": {"code": code, "message": message,
                                 **{k: v for k, v in fields.items() if v is not None}}},
                      separators=(",", ":")).encode("utf-8")
    hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    hdrs += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    hdrs += list(extra)
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body})


def _capped(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def inner() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                from starlette.exceptions import HTTPException

                raise HTTPException(413, f"the request body is over {limit:,} bytes")
        return message

    return inner


_COUNT = re.compile(rb'"count":\s*(\d+)[,}]')


def _rows(state: Mapping[str, Any]) -> int:
    """Rows of an answer: a JSON list's ``count``, 1 for one JSON object, the lines of a CSV; 0 otherwise."""
    if state["status"] >= 400:
        return 0
    ctype = state["type"]
    if ctype.startswith(b"application/json"):
        found = _COUNT.findall(state["tail"])
        return int(found[-1]) if found else 1
    if ctype.startswith(b"text/csv"):
        return max(0, state["lines"] - 1)
    return 0


# -- local paths -------------------------------------------------------------------------------------------------

#: keys whose whole value may be a local path
PATH_KEYS = frozenset({"file", "url", "canonical_url", "address", "path", "final_url", "from"})
#: keys whose text may contain local paths
TEXT_KEYS = frozenset({"message", "raw", "value", "reason", "extract_reason", "fetch_error"})
_FILE_URI = re.compile(r"file://[^\s\"'<>]*")
_ABS_PATH = re.compile(r"(?<![\w.:/~\\-])/(?:[^\s/\"'<>:]+/)+[^\s/\"'<>:,;)]*")
_WIN_PATH = re.compile(r"(?<![\w])[A-Za-z]:\\(?:[^\s\\\"'<>:]+\\)+[^\s\\\"'<>:,;)]*")


def _name(path: str) -> str:
    return re.split(r"[/\\]", path.rstrip("/\\"))[-1]


def is_local_path(value: str) -> bool:
    v = value.strip()
    return v.startswith(("/", "file:", "\\\\", "~/")) or bool(re.match(r"^[A-Za-z]:[\\/]", v))


def scrub(text: str) -> str:
    """``text`` with every local path (POSIX, Windows, file: URI) cut to its file name."""
    for rx in (_FILE_URI, _ABS_PATH, _WIN_PATH):
        text = rx.sub(lambda m: _name(m.group(0)), text)
    return text


def redact(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if isinstance(value, str):
        if key in PATH_KEYS and is_local_path(value):
            return _name(value.removeprefix("file://"))
        if key in TEXT_KEYS:
            return scrub(value)
    return value


def redact_json(body: bytes) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    return json.dumps(redact(data), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


__all__ = ["ALL", "GROUPS", "NO_DATASET", "NotEntitled", "Access", "AccessPolicy", "KeysRequired", "POLICY",
           "install_access", "route_of", "routes_of", "serve_policy"]
