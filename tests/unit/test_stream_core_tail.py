"""The live tail's NATS protocol client (:class:`marketwire.stream.bus.CoreTail`) against a loopback server that
speaks the protocol's server side, so that it can drop the connection, refuse the credentials and split messages
across reads (the real server's behaviour is tested in tests/integration/test_stream_live_bus.py)."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest

from marketwire.errors import MarketwireError
from marketwire.stream.bus import CoreTail


class FakeNats:
    """A loopback server: sends ``INFO`` (with ``tls_required`` when ``tls`` is set), records what each connection sends (``CONNECT`` options, ``SUB``s),
    answers ``PING`` with ``PONG`` (or with ``-ERR`` when ``refuse`` is set) and lets the test write to the newest
    connection or drop it."""

    def __init__(self, refuse: str | None = None, tls: bool = False) -> None:
        self.refuse, self.tls = refuse, tls
        self.connects: list[dict[str, Any]] = []
        self.subs: list[list[str]] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.pongs = 0
        self.server: Any = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b'INFO {"server_id":"fake","version":"2.10.0","max_payload":1048576,"headers":true'
                     + (b',"tls_required":true' if self.tls else b"") + b"}\r\n")
        subs: list[str] = []
        self.subs.append(subs)
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"CONNECT "):
                self.connects.append(json.loads(line[8:]))
            elif line.startswith(b"SUB "):
                subs.append(line.decode().split()[1])
            elif line.startswith(b"PING"):
                if self.refuse:
                    writer.write(f"-ERR '{self.refuse}'\r\n".encode())
                    await writer.drain()
                    writer.close()
                    return
                self.writers.append(writer)
                writer.write(b"PONG\r\n")
            elif line.startswith(b"PONG"):
                self.pongs += 1

    async def send(self, data: bytes) -> None:
        w = self.writers[-1]
        w.write(data)
        await w.drain()

    def drop(self) -> None:
        self.writers[-1].transport.abort()

    async def stop(self) -> None:
        for w in self.writers:
            w.transport.abort()
        self.server.close()
        await self.server.wait_closed()


async def _until(cond: Any, timeout: float = 5.0) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def test_messages_split_across_reads_headers_pings_and_a_failing_handler() -> None:
    """Every message is handed over whole, whatever the read boundaries: a ``MSG`` cut mid-line and mid-payload, an
    ``HMSG`` whose payload follows its headers; a ``PING`` between them is answered; a handler that raises is logged
    and the next message still arrives."""

    async def go() -> tuple[list[tuple[str, bytes]], FakeNats, CoreTail]:
        fake = FakeNats()
        port = await fake.start()
        got: list[tuple[str, bytes]] = []

        def handle(subject: str, data: bytes) -> None:
            if data == b"boom":
                raise ValueError("a bad message")
            got.append((subject, data))

        tail = await CoreTail(f"nats://127.0.0.1:{port}", {"mw.trades.>": handle, "mw.quotes.>": handle}).connect()
        assert fake.subs[0] == ["mw.trades.>", "mw.quotes.>"]
        assert fake.connects[0]["verbose"] is False and fake.connects[0]["headers"] is True
        headers = b"NATS/1.0\r\nX-Test: 1\r\n\r\n"
        stream = (b"MSG mw.trades.A 1 5\r\nhello\r\n"
                  b"MSG mw.trades.B 1 4\r\nboom\r\n"
                  b"PING\r\n"
                  + f"HMSG mw.quotes.C 2 {len(headers)} {len(headers) + 5}\r\n".encode() + headers + b"world\r\n"
                  b"MSG mw.trades.D 1 reply.to 0\r\n\r\n")
        pieces = [stream[0:7], stream[7:19], stream[19:40], stream[40:75], stream[75:]]
        for p in pieces:
            await fake.send(p)
            await asyncio.sleep(0.02)
        await _until(lambda: len(got) == 3 and fake.pongs == 1)
        tail.close()
        await fake.stop()
        return got, fake, tail

    got, fake, tail = asyncio.run(go())
    assert got == [("mw.trades.A", b"hello"), ("mw.quotes.C", b"world"), ("mw.trades.D", b"")]
    assert tail.messages == 4  # the one whose handler failed included


def test_a_lost_connection_is_re_established_and_the_subjects_subscribed_again() -> None:
    async def go() -> tuple[list[bytes], FakeNats, CoreTail]:
        fake = FakeNats()
        port = await fake.start()
        got: list[bytes] = []
        tail = await CoreTail(f"nats://127.0.0.1:{port}", {"mw.trades.>": lambda s, d: got.append(d)}).connect()
        await fake.send(b"MSG mw.trades.A 1 3\r\none\r\n")
        await _until(lambda: got == [b"one"])
        fake.drop()
        await _until(lambda: tail.reconnects == 1)
        await fake.send(b"MSG mw.trades.A 1 3\r\ntwo\r\n")
        await _until(lambda: got == [b"one", b"two"])
        tail.close()
        await fake.stop()
        return got, fake, tail

    got, fake, tail = asyncio.run(go())
    assert fake.subs == [["mw.trades.>"], ["mw.trades.>"]] and len(fake.connects) == 2


def test_credentials_from_the_url_and_a_refusal_named() -> None:
    async def go() -> tuple[dict[str, Any], dict[str, Any], str]:
        ok = FakeNats()
        port = await ok.start()
        tail = await CoreTail(f"nats://svc:p%40ss@127.0.0.1:{port}", {"x.>": lambda s, d: None}).connect()
        user = ok.connects[0]
        tail.close()
        tail = await CoreTail(f"nats://s3cret@127.0.0.1:{port}", {"x.>": lambda s, d: None}).connect()
        token = ok.connects[1]
        tail.close()
        await ok.stop()
        bad = FakeNats(refuse="Authorization Violation")
        port = await bad.start()
        with pytest.raises(MarketwireError) as e:
            await CoreTail(f"nats://svc:wrong@127.0.0.1:{port}", {"x.>": lambda s, d: None}).connect()
        await bad.stop()
        tls = FakeNats(tls=True)
        port = await tls.start()
        with pytest.raises(MarketwireError) as t:
            await CoreTail(f"nats://127.0.0.1:{port}", {"x.>": lambda s, d: None}).connect()
        await tls.stop()
        assert tls.connects == [] and "requires TLS" in str(t.value)
        return user, token, str(e.value)

    user, token, refused = asyncio.run(go())
    assert (user["user"], user["pass"]) == ("svc", "p@ss") and "auth_token" not in user
    assert token["auth_token"] == "s3cret" and "user" not in token
    assert "refused the subscription: Authorization Violation" in refused


def test_nothing_listening_is_a_clear_error_and_only_plain_nats_urls_use_it() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there

    async def go() -> str:
        with pytest.raises(MarketwireError) as e:
            await CoreTail(f"nats://127.0.0.1:{port}", {"x.>": lambda s, d: None}).connect(timeout=1)
        return str(e.value)

    assert f"cannot subscribe at NATS nats://127.0.0.1:{port}" in asyncio.run(go())
    assert CoreTail.usable("nats://127.0.0.1:4222") and CoreTail.usable("127.0.0.1:4222")
    assert not CoreTail.usable("tls://127.0.0.1:4222")
    assert not CoreTail.usable("nats://a:4222,nats://b:4222")
