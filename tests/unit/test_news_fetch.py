"""The SSRF guard and the polite fetcher, against servers on loopback only.

Every test that needs a name uses a fake resolver; the real resolver is replaced by one that fails the test, so no
DNS query leaves the machine. Hostile URLs are refused by the guard before any connection; the canary server proves
it by counting hits that must stay at zero.
"""

from __future__ import annotations

import asyncio
import http.server
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketwire.errors import InvalidInput
from marketwire.news import ssrf
from marketwire.news.fetch import Fetcher, FetchPolicy, FetchRequest, FetchResult, PinnedBackend, retry_after_seconds
from marketwire.news.ssrf import Policy, SsrfRefused, UnresolvableHost, check, classify_address, normalize_host

pytestmark = pytest.mark.unit

FAST = FetchPolicy(
    per_host_delay=0,
    connect_timeout=2,
    read_timeout=2,
    deadline=3,
    backoff_base=0.01,
    backoff_max=0.05,
)


# --- a small loopback server ----------------------------------------------------------------------------------

Route = Callable[["_Handler"], None]


def reply(h: http.server.BaseHTTPRequestHandler, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
    h.send_response(status)
    for name, value in (headers or {}).items():
        h.send_header(name, value)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _HTTPServer

    def do_GET(self) -> None:
        owner = self.server.owner
        owner.record(self)
        route = owner.routes.get(self.path.split("?")[0]) or owner.routes.get("*")
        with owner.tracking():
            try:
                if route is None:
                    reply(self, 404)
                else:
                    route(self)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: Server
    tls: ssl.SSLContext | None = None

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = super().get_request()
        self.owner.accepted += 1  # counts TCP connections, not only complete HTTP requests
        if self.tls is not None:  # handshake later, in the handler thread
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class Server:
    """A threaded HTTP server on a loopback address that records every request it receives."""

    def __init__(self, routes: dict[str, Route], host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None):
        self.routes = routes
        self.requests: list[tuple[str, dict[str, str], float]] = []
        self.release = threading.Event()
        self.accepted = 0
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        self.httpd = _HTTPServer((host, port), _Handler)
        self.httpd.owner = self
        self.httpd.tls = tls
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def paths(self) -> list[str]:
        return [path for path, _, _ in self.requests]

    def record(self, h: http.server.BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests.append((h.path, dict(h.headers.items()), time.monotonic()))

    @contextmanager
    def tracking(self) -> Iterator[None]:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            yield
        finally:
            with self._lock:
                self.active -= 1

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def serve() -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(routes: dict[str, Route] | None = None, **kwargs: Any) -> Server:
        server = Server(routes or {}, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(autouse=True)
def no_real_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(host: str, port: int) -> list[str]:
        raise AssertionError(f"the test tried real DNS for {host!r}")

    monkeypatch.setattr(ssrf, "system_resolver", refuse)


def only(*servers: Server) -> Policy:
    """A policy that lets exactly these servers (address and port) in, and nothing else on loopback."""
    return Policy(allow=[f"127.0.0.1:{s.port}" for s in servers])


def fetch_all(urls: list[Any], policy: FetchPolicy = FAST, ssrf_policy: Policy | None = None, **kwargs: Any) -> list[FetchResult]:
    async def go() -> list[FetchResult]:
        async with Fetcher(policy, ssrf_policy, **kwargs) as fetcher:
            return await fetcher.fetch_many(urls)

    return asyncio.run(go())


def fetch_one(url: str, policy: FetchPolicy = FAST, ssrf_policy: Policy | None = None, **kwargs: Any) -> FetchResult:
    return fetch_all([url], policy, ssrf_policy, **kwargs)[0]


# --- the guard ------------------------------------------------------------------------------------------------

HOSTILE = [
    ("http://127.0.0.1/", "loopback", "127.0.0.1"),
    ("http://2130706433/", "loopback", "2130706433"),
    ("http://0177.0.0.1/", "loopback", "0177.0.0.1"),
    ("http://017700000001/", "loopback", "017700000001"),
    ("http://0x7f.0x0.0x0.0x1/", "loopback", "0x7f.0x0.0x0.0x1"),
    ("http://0x7f000001/", "loopback", "0x7f000001"),
    ("http://0x7f.1/", "loopback", "0x7f.1"),
    ("http://0X7F.0.01/", "loopback", "0X7F.0.01"),
    ("http://127.1/", "loopback", "127.1"),
    ("http://10.1/", "private", "10.0.0.1"),
    ("http://0xa.0250.1/", "private", "10.168.0.1"),
    ("http://127.0.0.1./", "loopback", "127.0.0.1."),
    ("HTTP://127.0.0.1:8080/feed", "loopback", "127.0.0.1"),
    ("http://evil@127.0.0.1/", "loopback", "127.0.0.1"),
    ("http://user:pass@0x7f000001:8080/", "loopback", "0x7f000001"),
    ("http://a@b@127.0.0.1/", "loopback", "127.0.0.1"),
    ("http://１２７.０.０.１/", "loopback", "127.0.0.1"),
    ("http://[::1]/", "loopback", "::1"),
    ("http://[0:0:0:0:0:0:0:1]:8080/", "loopback", "::1"),
    ("http://[::ffff:127.0.0.1]/", "loopback", "IPv4-mapped"),
    ("http://[::ffff:7f00:1]/", "loopback", "127.0.0.1"),
    ("http://[::127.0.0.1]/", "loopback", "IPv4-compatible"),
    ("http://[64:ff9b::a00:1]/", "private", "NAT64"),
    ("http://[2002:7f00:1::]/", "loopback", "6to4"),
    ("http://[2002:a00:1::1]/", "private", "6to4"),
    ("http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/", "private", "Teredo"),
    ("http://[fe80::1%25eth0]/", "link-local", "fe80::1"),
    ("http://[FE80::1%eth0]:80/", "link-local", "fe80::1"),
    ("http://169.254.169.254/latest/meta-data/", "metadata", "169.254.169.254"),
    ("http://0xa9.0xfe.0xa9.0xfe/", "metadata", "169.254.169.254"),
    ("http://[::ffff:169.254.169.254]/", "metadata", "169.254.169.254"),
    ("http://[fd00:ec2::254]/", "metadata", "fd00:ec2::254"),
    ("http://169.254.1.1/", "link-local", "169.254.1.1"),
    ("http://0.0.0.0/", "unspecified", "0.0.0.0"),
    ("http://0/", "unspecified", "0.0.0.0"),
    ("http://[::]/", "unspecified", "::"),
    ("http://224.0.0.1/", "multicast", "224.0.0.1"),
    ("http://[ff02::1]/", "multicast", "ff02::1"),
    ("http://240.0.0.1/", "reserved", "240.0.0.1"),
    ("http://255.255.255.255/", "reserved", "broadcast"),
    ("http://100.64.0.1/", "shared", "100.64.0.1"),
    ("http://192.168.1.1/", "private", "192.168.1.1"),
    ("http://172.16.0.1/", "private", "172.16.0.1"),
    ("http://[fc00::1]/", "private", "fc00::1"),
    ("http://[fd12:3456::1]/", "private", "fd12:3456::1"),
    ("http://localhost/", "loopback", "localhost"),
    ("http://LOCALHOST./", "loopback", "localhost"),
    ("http://feeds.localhost:8080/", "loopback", "feeds.localhost"),
    ("http://ｌｏｃａｌｈｏｓｔ/", "loopback", "localhost"),
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata", "metadata.google.internal"),
    ("http://Metadata.Google.Internal./", "metadata", "metadata.google.internal"),
    ("http://metadata/", "metadata", "metadata"),
    ("http://intranet/", "hostname", "single-label"),
    ("http://db.corp.internal/", "hostname", ".internal"),
    ("http://printer.local/", "hostname", ".local"),
]


@pytest.mark.parametrize(("url", "rule", "detail"), HOSTILE)
def test_hostile_spellings_are_refused_with_the_rule_named(url: str, rule: str, detail: str) -> None:
    with pytest.raises(SsrfRefused) as caught:
        check(url)
    assert caught.value.rule == rule
    assert (rule if rule != "hostname" else "host name") in caught.value.reason
    assert detail in caught.value.reason


def test_the_reason_names_the_rule_the_address_and_the_spelling() -> None:
    with pytest.raises(SsrfRefused) as caught:
        check("http://0x7f000001/")
    assert caught.value.reason == "loopback address 127.0.0.1 (from 0x7f000001)"
    assert caught.value.url == "http://0x7f000001/"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/feed.xml",
        "gopher://127.0.0.1:70/_x",
        "data:text/plain,hello",
        "javascript:alert(1)",
        "dict://127.0.0.1:11211/",
        "ldap://127.0.0.1/",
        "//127.0.0.1/feed",
        "127.0.0.1/feed",
        "localhost:8080/feed",
        "",
    ],
)
def test_non_http_schemes_are_refused(url: str) -> None:
    with pytest.raises(SsrfRefused) as caught:
        check(url)
    assert caught.value.rule == "scheme"
    assert "only http and https" in caught.value.reason


@pytest.mark.parametrize(
    "url",
    [
        "http://%31%32%37.0.0.1/",
        "http://1.2.3.08/",
        "http://256.0.0.1/",
        "http://127.0.0.1\\@example.com/",
        "http://exa\tmple.com/",
        "http://example.com\x00.evil/",
        "http://[::1/",
        "http://[::ffff:0177.0.0.1]/",
        "http://[v1.fe]/",
        "http://example.com:99999/",
        "http://example.com:-1/",
        "http:///path",
        "http://a b.example/",
        "http://[2606:4700::1%25eth0]/",
    ],
)
def test_malformed_or_ambiguous_hosts_are_refused(url: str) -> None:
    with pytest.raises(SsrfRefused) as caught:
        check(url)
    assert caught.value.rule == "syntax"


def test_a_public_literal_passes_without_resolving_or_connecting(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_socket(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the guard opened a socket")

    monkeypatch.setattr(socket, "socket", no_socket)
    monkeypatch.setattr(socket, "create_connection", no_socket)
    target = check("http://93.184.216.34/feed.xml")
    assert target.addresses == ("93.184.216.34",) and target.host == "93.184.216.34" and target.port == 80
    target = check("https://[2606:2800:220:1:248:1893:25c8:1946]:8443/x")
    assert target.addresses == ("2606:2800:220:1:248:1893:25c8:1946",) and target.port == 8443
    assert check("http://[::ffff:93.184.216.34]/").addresses == ("::ffff:5db8:d822",)


def resolver_from(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


def test_names_are_refused_when_any_address_is_private() -> None:
    resolve = resolver_from(
        {
            "feeds.example": ["10.0.0.7"],
            "mixed.example": ["93.184.216.34", "192.168.0.1"],
            "six.example": ["2606:2800:220:1:248:1893:25c8:1946", "::1"],
            "mapped.example": ["::ffff:169.254.169.254"],
            "public.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "93.184.216.34"],
        }
    )
    for host, rule in [
        ("feeds.example", "private"),
        ("mixed.example", "private"),
        ("six.example", "loopback"),
        ("mapped.example", "metadata"),
    ]:
        with pytest.raises(SsrfRefused) as caught:
            check(f"https://{host}/rss", resolver=resolve)
        assert caught.value.rule == rule and f"resolved from {host}" in caught.value.reason
    target = check("https://Public.Example./rss", resolver=resolve)
    assert target.host == "public.example" and target.addresses == ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")
    with pytest.raises(UnresolvableHost):
        check("https://missing.example/rss", resolver=resolve)


def test_local_names_are_refused_without_asking_the_resolver() -> None:
    for url in ["http://localhost:8080/", "http://metadata.google.internal/", "http://intranet/"]:
        with pytest.raises(SsrfRefused):
            check(url, resolver=resolver_from({}))  # would raise UnresolvableHost if it were asked


def test_the_allow_list_opens_networks_names_and_single_ports() -> None:
    loopback = Policy(allow=["127.0.0.0/8", "::1"])
    assert check("http://0x7f.1:8080/", loopback).addresses == ("127.0.0.1",)
    assert check("http://[::1]:8080/", loopback).addresses == ("::1",)
    assert check("http://[::ffff:127.0.0.1]/", loopback).addresses == ("::ffff:7f00:1",)
    with pytest.raises(SsrfRefused):
        check("http://10.0.0.1/", loopback)
    with pytest.raises(SsrfRefused):
        check("http://localhost/", loopback)  # names are opened by name, not by the addresses they might have

    one_port = Policy(allow=["127.0.0.1:8080", "[::1]:8080"])
    assert check("http://127.0.0.1:8080/", one_port).addresses == ("127.0.0.1",)
    assert check("http://[::1]:8080/", one_port).addresses == ("::1",)
    for url in ["http://127.0.0.1:8081/", "http://127.0.0.1/", "http://[::1]:8081/"]:
        with pytest.raises(SsrfRefused):
            check(url, one_port)

    named = Policy(allow=["feeds.corp.internal", "localhost:9000"])
    resolve = resolver_from({"feeds.corp.internal": ["10.1.2.3"], "localhost": ["127.0.0.1"]})
    assert check("https://feeds.corp.internal/rss", named, resolver=resolve).addresses == ("10.1.2.3",)
    assert check("http://localhost:9000/", named, resolver=resolve).addresses == ("127.0.0.1",)
    with pytest.raises(SsrfRefused):
        check("http://localhost:9001/", named, resolver=resolve)

    for bad in ["127.0.0.1:http", "[::1", "not a host", "10.0.0.0/33"]:
        with pytest.raises(InvalidInput):
            Policy(allow=[bad])


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("ab1０x.:@[]%/\\?#-_ １。ß"), max_size=24))
def test_the_guard_answers_any_authority_with_a_target_or_its_own_errors(authority: str) -> None:
    try:
        target = check(f"http://{authority}/feed", Policy(allow=["0.0.0.0/0", "::/0"]), resolver=lambda h, p: ["93.184.216.34"])
    except (SsrfRefused, UnresolvableHost):
        return
    assert target.addresses and target.scheme == "http" and 0 < target.port < 65536


def test_normalisation_and_classification_helpers() -> None:
    assert normalize_host("0x7F.1") == "127.0.0.1"
    assert normalize_host("[::FFFF:7F00:1]") == "::ffff:7f00:1"
    assert normalize_host("Bücher.Example.") == "xn--bcher-kva.example"
    assert classify_address("93.184.216.34") is None
    assert classify_address("8.8.8.8") is None
    assert classify_address("::ffff:8.8.8.8") is None
    assert classify_address("192.0.2.1") == ("reserved", "reserved documentation address 192.0.2.1")
    assert classify_address("198.18.0.1") is not None
    assert classify_address("2001:db8::1") is not None


# --- the fetcher: SSRF end to end -----------------------------------------------------------------------------


def test_canary_on_loopback_is_never_reached_with_the_default_policy(serve: Callable[..., Server]) -> None:
    canary = serve()
    p = canary.port
    urls = [
        f"http://127.0.0.1:{p}/",
        f"http://2130706433:{p}/",
        f"http://0x7f.1:{p}/",
        f"http://0177.0.0.1:{p}/",
        f"http://127.1:{p}/",
        f"http://[::ffff:127.0.0.1]:{p}/",
        f"http://[::1]:{p}/",
        f"http://localhost:{p}/",
        f"http://LOCALHOST.:{p}/",
        f"http://user@127.0.0.1:{p}/",
    ]
    results = fetch_all(urls)
    assert [r.status for r in results] == ["refused_ssrf"] * len(urls)
    assert all(r.attempts == 0 and r.body is None and r.error for r in results)
    assert canary.accepted == 0 and canary.requests == []


def test_the_canary_does_record_hits_when_a_policy_lets_it_in(serve: Callable[..., Server]) -> None:
    canary = serve({"/": lambda h: reply(h, 200, b"tweet")})
    result = fetch_one(f"http://0x7f.1:{canary.port}/", ssrf_policy=only(canary))
    assert result.status == "ok" and result.body == b"tweet"
    assert canary.paths == ["/robots.txt", "/"] and canary.accepted == 2


def test_redirects_to_disallowed_targets_are_refused_before_connecting(serve: Callable[..., Server]) -> None:
    canary = serve()
    pc = canary.port

    def to(location: str) -> Route:
        return lambda h: reply(h, 302, headers={"Location": location})

    origin = serve(
        {
            "/octal": to(f"http://0177.0.0.1:{pc}/"),
            "/mapped": to(f"http://[::ffff:127.0.0.1]:{pc}/"),
            "/localhost": to(f"http://localhost:{pc}/"),
            "/decimal": to(f"http://2130706433:{pc}/"),
            "/metadata": to("http://169.254.169.254/latest/meta-data/iam/"),
            "/file": to("file:///etc/passwd"),
            "/gopher": to(f"gopher://127.0.0.1:{pc}/_x"),
            "/relative": to("/feed"),
            "/feed": lambda h: reply(h, 200, b"<rss/>"),
        }
    )
    base = f"http://127.0.0.1:{origin.port}"
    names = ["octal", "mapped", "localhost", "decimal", "metadata", "file", "gopher", "relative"]
    results = fetch_all([f"{base}/{n}" for n in names], ssrf_policy=only(origin))
    by_name = dict(zip(names, results))
    for name in ["octal", "mapped", "localhost", "decimal", "metadata"]:
        assert by_name[name].status == "refused_ssrf", name
        assert by_name[name].attempts == 1
    assert "loopback address 127.0.0.1 (from 0177.0.0.1)" in (by_name["octal"].error or "")
    assert by_name["octal"].final_url == f"http://0177.0.0.1:{pc}/"
    assert by_name["file"].status == "bad_scheme" and by_name["gopher"].status == "bad_scheme"
    assert by_name["relative"].status == "ok" and by_name["relative"].final_url == f"{base}/feed"
    assert canary.accepted == 0 and canary.requests == []


def test_connections_go_to_the_vetted_address_not_a_rebound_one(serve: Callable[..., Server]) -> None:
    """The name resolves to an allowed address once and to the canary afterwards: the fetch still lands on the
    vetted address (no second lookup), and the next fetch, vetted anew, is refused."""
    try:
        good = serve({"/feed": lambda h: reply(h, 200, b"good")}, host="127.0.0.2")
        canary = serve(host="127.0.0.1", port=good.port)
    except OSError:
        pytest.skip("cannot bind the same port on 127.0.0.1 and 127.0.0.2 here")
    lookups: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.2"] if len(lookups) == 1 else ["127.0.0.1"]

    policy = FetchPolicy(per_host_delay=0, deadline=3, respect_robots=False)

    async def go() -> tuple[FetchResult, FetchResult]:
        async with Fetcher(policy, Policy(allow=["127.0.0.2"]), resolver=rebinding) as fetcher:
            first = await fetcher.fetch(f"http://feeds.example:{good.port}/feed")
            second = await fetcher.fetch(f"http://feeds.example:{good.port}/feed")
            return first, second

    first, second = asyncio.run(go())
    assert first.status == "ok" and first.body == b"good"
    assert good.requests[0][1]["Host"] == f"feeds.example:{good.port}"
    assert second.status == "refused_ssrf" and "loopback address 127.0.0.1 (resolved from feeds.example)" in (second.error or "")
    assert lookups == ["feeds.example", "feeds.example"]
    assert canary.accepted == 0 and canary.requests == []


def test_the_backend_refuses_hosts_it_holds_no_vetted_address_for() -> None:
    with pytest.raises(httpcore.ConnectError, match="no vetted address"):
        asyncio.run(PinnedBackend().connect_tcp("example.com", 80))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        + ["-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=feeds.example"]
        + ["-addext", "subjectAltName=DNS:feeds.example"],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_tls_uses_the_real_name_for_sni_and_verification_while_connecting_to_the_pinned_address(
    serve: Callable[..., Server], certificate: tuple[str, str]
) -> None:
    cert, key = certificate
    names: list[str | None] = []
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    server_tls.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,func-returns-value]
    server = serve({"/feed": lambda h: reply(h, 200, b"secure")}, tls=server_tls)
    resolve = resolver_from({"feeds.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
    client_tls = ssl.create_default_context(cafile=cert)

    good = fetch_one(
        f"https://feeds.example:{server.port}/feed", ssrf_policy=only(server), resolver=resolve, ssl_context=client_tls
    )
    assert good.status == "ok" and good.body == b"secure"
    assert "feeds.example" in names
    assert server.requests[-1][1]["Host"] == f"feeds.example:{server.port}"

    wrong = fetch_one(
        f"https://other.example:{server.port}/feed",
        FetchPolicy(per_host_delay=0, deadline=3, max_attempts=1),
        only(server),
        resolver=resolve,
        ssl_context=client_tls,
    )
    assert wrong.status == "connection_error" and "certificate" in (wrong.error or "").lower()

    lax = ssl.create_default_context()
    lax.check_hostname = False
    lax.verify_mode = ssl.CERT_NONE
    with pytest.raises(InvalidInput):
        Fetcher(ssl_context=lax)


def test_non_http_schemes_are_refused_by_the_fetcher_and_bad_urls_never_raise(serve: Callable[..., Server]) -> None:
    urls = ["ftp://127.0.0.1/feed", "file:///etc/passwd", "gopher://127.0.0.1:70/", "", "http://[::1", "not a url"]
    results = fetch_all(urls)
    assert [r.status for r in results] == ["bad_scheme", "bad_scheme", "bad_scheme", "bad_scheme", "refused_ssrf", "bad_scheme"]
    assert all(r.url == u and r.error for r, u in zip(results, urls))


# --- the fetcher: politeness and HTTP -------------------------------------------------------------------------


def test_conditional_get_returns_not_modified(serve: Callable[..., Server]) -> None:
    lm = "Wed, 21 Oct 2015 07:28:00 GMT"

    def feed(h: http.server.BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == '"v1"' or h.headers.get("If-Modified-Since") == lm:
            reply(h, 304)
        else:
            reply(h, 200, b"<rss/>", {"ETag": '"v1"', "Last-Modified": lm, "Content-Type": "application/rss+xml"})

    server = serve({"/feed": feed})
    url = f"http://127.0.0.1:{server.port}/feed"

    async def go() -> list[FetchResult]:
        async with Fetcher(FAST, only(server)) as fetcher:
            first = await fetcher.fetch(url)
            again = await fetcher.fetch(url, etag=first.headers.etag, last_modified=first.headers.last_modified)
            by_date = await fetcher.fetch(url, last_modified=lm)
            return [first, again, by_date]

    first, again, by_date = asyncio.run(go())
    assert first.status == "ok" and first.body == b"<rss/>" and first.http_status == 200
    assert first.headers.etag == '"v1"' and first.headers.last_modified == lm
    assert first.headers.content_type == "application/rss+xml"
    assert again.status == "not_modified" and again.http_status == 304 and again.body is None
    assert again.headers.etag == '"v1"' and again.headers.last_modified == lm  # echoed for the caller to store
    assert by_date.status == "not_modified"
    sent = [headers for path, headers, _ in server.requests if path == "/feed"]
    assert "If-None-Match" not in sent[0] and sent[1]["If-None-Match"] == '"v1"' and sent[1]["If-Modified-Since"] == lm
    assert sent[0]["User-Agent"] == "marketwire/0.1 (+https://github.com/marketwire)"


def test_bodies_over_the_cap_are_dropped(serve: Callable[..., Server]) -> None:
    def streamed(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.end_headers()  # no Content-Length: the body runs until the connection closes
        for _ in range(64):
            h.wfile.write(b"x" * 16384)

    def declared(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(50 * 1024 * 1024))
        h.end_headers()
        h.wfile.write(b"x" * 1024)

    server = serve({"/streamed": streamed, "/declared": declared, "/small": lambda h: reply(h, 200, b"x" * 1000)})
    base = f"http://127.0.0.1:{server.port}"
    policy = FetchPolicy(per_host_delay=0, deadline=3, max_body=64 * 1024)
    streamed_r, declared_r, small_r = fetch_all([f"{base}/streamed", f"{base}/declared", f"{base}/small"], policy, only(server))
    assert streamed_r.status == "too_large" and streamed_r.body is None and streamed_r.http_status == 200
    assert declared_r.status == "too_large" and declared_r.body is None
    assert small_r.status == "ok" and len(small_r.body or b"") == 1000


def test_a_hanging_server_times_out_within_the_deadline(serve: Callable[..., Server]) -> None:
    def hang(h: http.server.BaseHTTPRequestHandler) -> None:
        h.server.owner.release.wait(10)  # type: ignore[attr-defined]

    def drip(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        for _ in range(100):
            if h.server.owner.release.wait(0.05):  # type: ignore[attr-defined]
                return
            h.wfile.write(b"x")
            h.wfile.flush()

    server = serve({"/hang": hang, "/drip": drip})
    base = f"http://127.0.0.1:{server.port}"
    once = FetchPolicy(per_host_delay=0, read_timeout=5, deadline=0.4, max_attempts=1)
    started = time.monotonic()
    hung, dripped = fetch_all([f"{base}/hang", f"{base}/drip"], once, only(server))
    assert hung.status == "timeout" and 0.35 <= hung.elapsed < 1.5 and hung.attempts == 1
    assert dripped.status == "timeout" and dripped.elapsed < 1.5  # each read is quick; the total deadline stops it
    twice = FetchPolicy(per_host_delay=0, read_timeout=0.2, deadline=5, max_attempts=2, backoff_base=0.01)
    retried = fetch_one(f"{base}/hang", twice, only(server))
    assert retried.status == "timeout" and retried.attempts == 2
    assert time.monotonic() - started < 3


def test_redirect_loops_and_long_chains_stop(serve: Callable[..., Server]) -> None:
    def to(location: str) -> Route:
        return lambda h: reply(h, 302, headers={"Location": location})

    server = serve(
        {
            "/loop": to("/loop"),
            "/a": to("/b"),
            "/b": to("/a#again"),
            "/r3": to("/r2"),
            "/r2": to("/r1"),
            "/r1": to("/r0"),
            "/r0": lambda h: reply(h, 200, b"end"),
            "/nowhere": lambda h: reply(h, 301),
        }
    )
    base = f"http://127.0.0.1:{server.port}"
    loop, pingpong, long_chain, two, nowhere = fetch_all(
        [f"{base}/loop", f"{base}/a", f"{base}/r3", f"{base}/r2", f"{base}/nowhere"], FAST, only(server)
    )
    assert loop.status == "redirect_loop" and loop.attempts == 1
    assert pingpong.status == "redirect_loop" and pingpong.attempts == 2
    assert long_chain.status == "too_many_redirects" and long_chain.attempts == 3 and long_chain.final_url == f"{base}/r1"
    assert two.status == "ok" and two.body == b"end" and two.final_url == f"{base}/r0" and two.attempts == 3
    assert nowhere.status == "http_error" and nowhere.http_status == 301
    assert server.paths.count("/r0") == 1  # only the two-hop chain got there


def test_retry_after_and_backoff(serve: Callable[..., Server]) -> None:
    calls: dict[str, int] = {}

    def flaky(h: http.server.BaseHTTPRequestHandler) -> None:
        calls["flaky"] = calls.get("flaky", 0) + 1
        if calls["flaky"] == 1:
            reply(h, 503, b"busy", {"Retry-After": "1"})
        else:
            reply(h, 200, b"fine")

    server = serve(
        {
            "/flaky": flaky,
            "/down": lambda h: reply(h, 500),
            "/later": lambda h: reply(h, 429, headers={"Retry-After": "3600"}),
            "/gone": lambda h: reply(h, 404),
        }
    )
    base = f"http://127.0.0.1:{server.port}"
    flaky_r, down, later, gone = fetch_all([f"{base}/flaky", f"{base}/down", f"{base}/later", f"{base}/gone"], FAST, only(server))
    assert flaky_r.status == "ok" and flaky_r.body == b"fine" and flaky_r.attempts == 2
    assert flaky_r.elapsed >= 0.95  # Retry-After: 1 was honoured
    assert down.status == "http_error" and down.http_status == 500 and down.attempts == FAST.max_attempts
    assert later.status == "http_error" and later.http_status == 429 and later.attempts == 1
    assert later.headers.retry_after == "3600"  # too long to wait here: reported for the caller to reschedule
    assert gone.status == "http_error" and gone.http_status == 404 and gone.attempts == 1
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None


def test_robots_txt_is_honoured_and_fetched_once_per_host(serve: Callable[..., Server]) -> None:
    robots = b"User-agent: *\nDisallow: /private\n\nUser-agent: marketwire\nDisallow: /no-bots\n"
    page = lambda h: reply(h, 200, b"page")  # noqa: E731
    server = serve({"/robots.txt": lambda h: reply(h, 200, robots), "*": page})
    base = f"http://127.0.0.1:{server.port}"
    results = fetch_all([f"{base}/public", f"{base}/no-bots/x", f"{base}/public2", f"{base}/private"], FAST, only(server))
    assert [r.status for r in results] == ["ok", "refused_robots", "ok", "ok"]  # our own group replaces the '*' one
    assert results[1].attempts == 0 and "robots.txt" in (results[1].error or "")
    assert server.paths.count("/robots.txt") == 1
    assert "/no-bots/x" not in server.paths


def test_robots_failures_other_than_4xx_disallow_everything(serve: Callable[..., Server]) -> None:
    broken = serve({"/robots.txt": lambda h: reply(h, 503), "*": lambda h: reply(h, 200, b"page")})
    missing = serve({"*": lambda h: reply(h, 200, b"page")})  # robots.txt is a 404
    policy = FetchPolicy(per_host_delay=0, deadline=3, max_attempts=1)
    on_broken, on_missing = fetch_all(
        [f"http://127.0.0.1:{broken.port}/feed", f"http://127.0.0.1:{missing.port}/feed"], policy, only(broken, missing)
    )
    assert on_broken.status == "refused_robots" and "unreachable" in (on_broken.error or "")
    assert "/feed" not in broken.paths
    assert on_missing.status == "ok"


def test_per_host_concurrency_and_spacing_are_respected(serve: Callable[..., Server]) -> None:
    def slow(h: http.server.BaseHTTPRequestHandler) -> None:
        time.sleep(0.15)
        reply(h, 200, b"slow")

    server = serve({"*": slow, "/robots.txt": lambda h: reply(h, 404)})
    base = f"http://127.0.0.1:{server.port}"
    requests = [FetchRequest(f"{base}/item/{i}") for i in range(8)]
    results = fetch_all(
        requests, FetchPolicy(per_host_delay=0, deadline=3, per_host_concurrency=2, global_concurrency=50), only(server)
    )
    assert all(r.status == "ok" for r in results)
    assert [r.url for r in results] == [r.url for r in requests]
    assert server.max_active == 2

    spaced = serve({"*": lambda h: reply(h, 200, b"x"), "/robots.txt": lambda h: reply(h, 404)})
    base = f"http://127.0.0.1:{spaced.port}"
    fetch_all([f"{base}/t/{i}" for i in range(3)], FetchPolicy(per_host_delay=0.15, deadline=3), only(spaced))
    starts = [t for path, _, t in spaced.requests]
    assert len(starts) == 4  # robots.txt and three pages, each at least the delay after the one before
    assert all(later - earlier >= 0.12 for earlier, later in zip(starts, starts[1:]))
