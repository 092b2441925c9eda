"""Server-side request forgery guard: decide whether a URL may be fetched before any socket is opened.

Feed URLs are user input, and every redirect target is chosen by a server we do not control. Unchecked, either
could make the poller read cloud credentials from 169.254.169.254, talk to services bound to loopback or probe the
private network. The guard therefore

* accepts only ``http`` and ``https``;
* parses the authority itself and normalises every spelling of the host before judging it: IPv4 in the
  ``inet_aton`` forms (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``), bracketed IPv6 with zone ids,
  IPv4-mapped/compatible, NAT64, 6to4 and Teredo embeddings, trailing dots, userinfo, upper case and
  internationalised names (full-width ``１２７.０.０.１`` maps to ``127.0.0.1``);
* refuses names that only mean something locally (``localhost``, cloud metadata names, single-label names,
  ``.internal`` ...) without resolving them;
* resolves every other name and refuses the URL if *any* address is not public, since the client may pick any.

:func:`check` returns a :class:`Target` carrying the addresses it vetted. Connecting to exactly those addresses
(see :class:`marketwire.news.fetch.PinnedBackend`) is what closes the DNS-rebinding window: the name is never
resolved a second time between the check and the connect.

A :class:`Policy` allow-list opens chosen networks, names or single ports (tests reach loopback this way); the
default policy lets only public addresses through.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import idna

from marketwire.errors import InvalidInput, MarketwireError, SourceError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]
"""``resolver(host, port) -> addresses``; raises ``OSError`` when the name does not resolve."""

DEFAULT_PORTS = {"http": 80, "https": 443}


class SsrfRefused(MarketwireError):
    """A URL was refused before any connection. ``rule`` is a stable name for the rule, ``reason`` the detail."""

    code = "ssrf_refused"
    http_status = 403

    def __init__(self, url: str, reason: str, *, rule: str) -> None:
        super().__init__(f"refused {url!r}: {reason}", url=url, reason=reason, rule=rule)
        self.url = url
        self.reason = reason
        self.rule = rule


class UnresolvableHost(SourceError):
    """The name has no address: a connection problem (often transient), not a refusal."""

    code = "unresolvable_host"

    def __init__(self, url: str, host: str, detail: str) -> None:
        super().__init__(f"cannot resolve {host!r}: {detail}", transient=True, url=url, host=host)


@dataclass(frozen=True)
class Target:
    """A URL the guard has parsed; after :func:`check` also the addresses it vetted for it."""

    url: str
    scheme: str
    host: str
    """Canonical host: lower-case ASCII name without trailing dot, dotted-quad IPv4, or compressed IPv6."""
    port: int
    given_host: str
    """The host as spelled in the URL, kept for messages."""
    addresses: tuple[str, ...] = ()
    """Every address the host resolved to, all vetted; empty until :func:`check` fills it."""

    @property
    def is_literal(self) -> bool:
        return _as_ip(self.host) is not None


# --- address rules --------------------------------------------------------------------------------------------

_Rule = tuple[IPNetwork, str, str]


def _rules(*rows: tuple[str, str, str]) -> tuple[_Rule, ...]:
    return tuple((ipaddress.ip_network(net), rule, label) for net, rule, label in rows)


# Written out rather than read from ``ipaddress.is_global``: its tables differ between patch releases (3.11.7
# calls 192.0.0.192, 64:ff9b::7f00:1 and ::7f00:1 global), and a guard must not change with the interpreter.
_V4_RULES = _rules(
    ("0.0.0.0/32", "unspecified", "unspecified address"),
    ("0.0.0.0/8", "reserved", "reserved 'this network' address"),
    ("127.0.0.0/8", "loopback", "loopback address"),
    ("10.0.0.0/8", "private", "private address"),
    ("172.16.0.0/12", "private", "private address"),
    ("192.168.0.0/16", "private", "private address"),
    ("100.64.0.0/10", "shared", "shared address space (RFC 6598) address"),
    ("169.254.0.0/16", "link-local", "link-local address"),
    ("192.0.0.0/24", "reserved", "reserved IETF protocol address"),
    ("192.0.2.0/24", "reserved", "reserved documentation address"),
    ("198.51.100.0/24", "reserved", "reserved documentation address"),
    ("203.0.113.0/24", "reserved", "reserved documentation address"),
    ("192.88.99.0/24", "reserved", "reserved 6to4 relay address"),
    ("198.18.0.0/15", "reserved", "reserved benchmarking address"),
    ("224.0.0.0/4", "multicast", "multicast address"),
    ("255.255.255.255/32", "reserved", "reserved broadcast address"),
    ("240.0.0.0/4", "reserved", "reserved address"),
)
_V6_RULES = _rules(
    ("::/128", "unspecified", "unspecified address"),
    ("::1/128", "loopback", "loopback address"),
    ("fe80::/10", "link-local", "link-local address"),
    ("fc00::/7", "private", "private (unique local) address"),
    ("fec0::/10", "private", "private (site-local) address"),
    ("ff00::/8", "multicast", "multicast address"),
    ("64:ff9b:1::/48", "private", "private (local-use NAT64) address"),
    ("100::/64", "reserved", "reserved discard-only address"),
    ("2001:db8::/32", "reserved", "reserved documentation address"),
    ("3fff::/20", "reserved", "reserved documentation address"),
    ("2001::/23", "reserved", "reserved IETF protocol address"),
)
_V6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean ...
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.169.253",  # AWS VPC DNS
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS Time Sync / DNS over IPv6
    )
)

# Names that never mean a public host, refused without asking DNS.
_METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
        "metadata.platformequinix.com",
    }
)
_LOCAL_SUFFIXES = ("local", "internal", "localdomain", "lan", "home.arpa", "intranet", "corp", "home", "svc")


def _strip_scope(addr: IPAddress) -> IPAddress:
    return ipaddress.IPv6Address(int(addr)) if isinstance(addr, ipaddress.IPv6Address) and addr.scope_id else addr


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str, bool] | None:
    """The IPv4 address an IPv6 address carries, how, and whether a packet to it really goes to that IPv4 host."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped, "IPv4-mapped in", True
    if addr in _V4_COMPATIBLE and int(addr) > 1:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF), "IPv4-compatible in", True
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF), "NAT64 in", True
    if addr.sixtofour is not None:
        return addr.sixtofour, "6to4 in", False
    if addr.teredo is not None:
        return addr.teredo[1], "Teredo client in", False
    return None


def classify_address(address: str | IPAddress) -> tuple[str, str] | None:
    """``(rule, description)`` when an address is not a public unicast address, ``None`` when it is.

    ``rule`` is one of ``metadata``, ``unspecified``, ``loopback``, ``private``, ``link-local``, ``shared``,
    ``multicast``, ``reserved``. IPv6 forms that carry an IPv4 address are judged by that address first.
    """
    addr = _strip_scope(ipaddress.ip_address(address) if isinstance(address, str) else address)
    if addr in _METADATA_ADDRESSES:
        return "metadata", f"cloud metadata address {addr}"
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(addr)
        if embedded is not None:
            v4, how, exact = embedded
            inner = classify_address(v4)
            if inner is not None:
                return inner[0], f"{inner[1]} ({how} {addr})"
            if exact:
                return None
        for net, rule, label in _V6_RULES:
            if addr in net:
                return rule, f"{label} {addr}"
        if addr not in _V6_GLOBAL_UNICAST:
            return "reserved", f"reserved address {addr}"
    else:
        for net, rule, label in _V4_RULES:
            if addr in net:
                return rule, f"{label} {addr}"
    if not addr.is_global:
        return "reserved", f"non-public address {addr}"
    return None


def _name_refusal(host: str) -> tuple[str, str] | None:
    """Why a (non-IP) host name is refused before resolution, or ``None``."""
    if host in _METADATA_NAMES:
        return "metadata", f"cloud metadata host name {host}"
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback", f"loopback host name {host}"
    if "." not in host:
        return "hostname", f"single-label host name {host} (it would resolve through local search domains)"
    for suffix in _LOCAL_SUFFIXES:
        if host.endswith("." + suffix):
            return "hostname", f"host name {host} under the non-public .{suffix} domain"
    return None


# --- host parsing ---------------------------------------------------------------------------------------------

_V4_PART = re.compile(r"0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*")
_ENDS_IN_NUMBER = re.compile(r"(?:^|\.)(?:[0-9]+|0x[0-9a-f]*)$")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_ZONE = re.compile(r"[A-Za-z0-9._~-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address ``inet_aton`` (and so ``getaddrinfo``) would read from ``host``: 1 to 4 parts, each decimal,
    0-prefixed octal or 0x-prefixed hex, the last part filling the remaining bytes. ``None`` if it is no IPv4."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_V4_PART.fullmatch(p) for p in parts):
        return None
    values = [int(p[2:] or "0", 16) if p.startswith("0x") else int(p, 8) if p.startswith("0") else int(p) for p in parts]
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        return None
    number = last
    for i, v in enumerate(head):
        number |= v << (24 - 8 * i)
    return ipaddress.IPv4Address(number)


def _parse_ipv6(text: str) -> ipaddress.IPv6Address:
    address, percent, zone = text.partition("%")
    if percent:
        zone = zone[2:] if zone.startswith("25") and len(zone) > 2 else zone  # RFC 6874 spells '%' as '%25'
        if not _ZONE.fullmatch(zone):
            raise ValueError(f"invalid IPv6 zone id {zone!r}")
        address = f"{address}%{zone}"
    return ipaddress.IPv6Address(address)


def _parse_host(raw: str) -> tuple[str, IPAddress | None]:
    """Canonical host and its address if it is a literal. Raises ``ValueError`` for anything malformed."""
    if raw.startswith("["):
        if not raw.endswith("]"):
            raise ValueError("unbalanced brackets")
        inner = raw[1:-1]
        if inner[:1].lower() == "v":
            raise ValueError("IPvFuture literals are not supported")
        v6 = _parse_ipv6(inner)
        return str(v6), v6
    if ":" in raw:  # a bare IPv6 literal, as HTTP clients and resolvers report hosts
        v6 = _parse_ipv6(raw)
        return str(v6), v6
    if "%" in raw:
        raise ValueError("percent-encoded host")
    host = raw
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError) as exc:
            raise ValueError(f"invalid internationalised host name ({exc})") from exc
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    v4 = _parse_ipv4(host)
    if v4 is not None:
        return str(v4), v4
    if _ENDS_IN_NUMBER.search(host):
        raise ValueError("numeric host that is not a valid IPv4 address")
    if not host or len(host) > 253 or not all(_LABEL.fullmatch(label) for label in host.split(".")):
        raise ValueError("not a valid host name")
    return host, None


def normalize_host(host: str) -> str:
    """The canonical form the guard judges: ``0x7F.1`` -> ``127.0.0.1``, ``[::FFFF:7f00:1]`` -> ``::ffff:7f00:1``,
    ``Example.COM.`` -> ``example.com``. Raises ``ValueError`` for a malformed host."""
    return _parse_host(host)[0]


def _as_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _split_port(hostport: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise ValueError("unbalanced brackets")
        host, rest = hostport[: end + 1], hostport[end + 1 :]
    else:
        host, colon, port_text = hostport.partition(":")
        rest = colon + port_text
    if not rest:
        return host, None
    if not rest.startswith(":"):
        raise ValueError(f"unexpected {rest!r} after the host")
    port_text = rest[1:]
    if not port_text:
        return host, None
    if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"invalid port {port_text!r}")
    return host, int(port_text)


def parse_url(url: str) -> Target:
    """Split and normalise a URL without resolving anything. Raises :class:`SsrfRefused` (rule ``scheme`` or
    ``syntax``) for a URL the guard cannot or will not read."""
    text = url.strip()
    if _CONTROL.search(text):
        raise SsrfRefused(url, "control character in the URL", rule="syntax")
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise SsrfRefused(url, f"unparsable URL ({exc})", rule="syntax") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        shown = f"scheme {scheme!r}" if scheme else "a URL without a scheme"
        raise SsrfRefused(url, f"{shown} is not allowed (only http and https)", rule="scheme")
    hostport = parts.netloc.rpartition("@")[2]  # userinfo never names the host; the last '@' ends it
    if not hostport:
        raise SsrfRefused(url, "no host in the URL", rule="syntax")
    if "\\" in parts.netloc:
        raise SsrfRefused(url, "backslash in the URL authority", rule="syntax")
    try:
        given, port = _split_port(hostport)
        host, _ = _parse_host(given)
    except ValueError as exc:
        raise SsrfRefused(url, f"invalid host {hostport!r}: {exc}", rule="syntax") from exc
    return Target(url=text, scheme=scheme, host=host, port=port or DEFAULT_PORTS[scheme], given_host=given)


# --- policy ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Allowed:
    network: IPNetwork | None
    host: str | None
    port: int | None

    def covers(self, port: int) -> bool:
        return self.port is None or self.port == port


def _parse_allowed(entry: str) -> _Allowed:
    text, port = entry.strip(), None
    try:
        if text.startswith("[") or text.count(":") == 1:
            inner, port = _split_port(text)
            text = inner[1:-1] if inner.startswith("[") else inner
        try:
            return _Allowed(ipaddress.ip_network(text, strict=False), None, port)
        except ValueError:
            host, address = _parse_host(text)
    except ValueError as exc:
        raise InvalidInput(f"`allow`: {entry!r} is not a network or a host name ({exc})", param="allow",
                           value=entry) from exc
    if address is not None:
        return _Allowed(ipaddress.ip_network(address), None, port)
    return _Allowed(None, host, port)


@dataclass(frozen=True)
class Policy:
    """What the guard lets through besides public addresses.

    ``allow`` holds networks (``"127.0.0.0/8"``, ``"::1"``) or host names (``"feeds.intranet.example"``), each
    optionally scoped to one port (``"127.0.0.1:8080"``, ``"[::1]:8080"``, ``"localhost:8080"``). A port-scoped
    entry opens one service rather than every service on an address, which is how tests let a loopback server in
    while a canary on another loopback port stays refused. An allowed host name skips the name rules and accepts
    whatever its addresses are (the operator vouches for that name); an allowed network accepts the addresses in
    it, however the URL spelled them. The default, ``Policy()``, allows public addresses only.
    """

    allow: Sequence[str] = ()
    _entries: tuple[_Allowed, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "allow", tuple(self.allow))
        object.__setattr__(self, "_entries", tuple(_parse_allowed(e) for e in self.allow))

    def allows_host(self, host: str, port: int) -> bool:
        """Whether a canonical host name is on the allow-list for ``port``."""
        return any(e.host == host and e.covers(port) for e in self._entries)

    def allows_address(self, address: IPAddress, port: int) -> bool:
        """Whether an address (or the IPv4 address an IPv6 form carries) is in an allowed network for ``port``."""
        plain = _strip_scope(address)
        candidates: list[IPAddress] = [plain]
        if isinstance(plain, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(plain)) and embedded[2]:
            candidates.append(embedded[0])
        return any(
            e.network is not None and e.covers(port) and a.version == e.network.version and a in e.network
            for e in self._entries
            for a in candidates
        )


DEFAULT_POLICY = Policy()


# --- the check ------------------------------------------------------------------------------------------------


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``getaddrinfo`` returns for a TCP connection to ``host:port``."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _resolve(target: Target, resolver: Resolver | None) -> list[IPAddress]:
    resolve = resolver or system_resolver
    try:
        found = [ipaddress.ip_address(a) for a in resolve(target.host, target.port)]
    except (OSError, UnicodeError, ValueError) as exc:
        raise UnresolvableHost(target.url, target.host, str(exc) or type(exc).__name__) from exc
    if not found:
        raise UnresolvableHost(target.url, target.host, "no address")
    return found


def check(url: str, policy: Policy = DEFAULT_POLICY, *, resolver: Resolver | None = None) -> Target:
    """Vet ``url`` and return its :class:`Target` with the vetted addresses; connect to those and nothing else.

    Literal hosts are never resolved; names are resolved once with ``resolver`` (``getaddrinfo`` by default) and
    every address must pass. No connection is made. Raises :class:`SsrfRefused` or :class:`UnresolvableHost`.
    """
    target = parse_url(url)
    literal = _as_ip(target.host)
    name_allowed = literal is None and policy.allows_host(target.host, target.port)
    if literal is not None:
        addresses, via = [literal], f"from {target.given_host}"
    else:
        if not name_allowed and (named := _name_refusal(target.host)) is not None:
            raise SsrfRefused(url, f"{named[1]} (from {target.given_host})", rule=named[0])
        addresses, via = _resolve(target, resolver), f"resolved from {target.host}"
    for address in addresses:
        if name_allowed or policy.allows_address(address, target.port):
            continue
        verdict = classify_address(address)
        if verdict is not None:
            raise SsrfRefused(url, f"{verdict[1]} ({via})", rule=verdict[0])
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
            raise SsrfRefused(url, f"IPv6 zone id on a non-link-local address {address} ({via})", rule="syntax")
    return replace(target, addresses=tuple(dict.fromkeys(str(a) for a in addresses)))
