"""A real uvicorn server on 127.0.0.1 (port 0) in a background thread, for the realtime tests."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class LiveServer:
    def __init__(self, home: Path) -> None:
        import uvicorn

        from marketwire.serve.api import create_app

        self.app = create_app(home)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning",
                                                    ws="websockets-sansio", lifespan="on"))
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve())

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    @property
    def port(self) -> int:
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/stream"

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the server's loop (where the hub lives) and return its result."""
        assert self.loop is not None

        async def go() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(go(), self.loop).result(10)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli() -> list[str]:
    """The command line of this interpreter's ``marketwire`` (the installed script, else the module)."""
    import sys

    script = Path(sys.executable).with_name("marketwire")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from marketwire.cli import run; run()"]


class ServedHome:
    """``marketwire --home HOME serve`` in a subprocess on a free loopback port, answering ``/v1/health`` before
    :meth:`start` returns (``timeout`` seconds at most: a loaded machine starts a server slowly). ``args`` are
    more ``serve`` options; ``env`` the subprocess's environment (default: this one without proxies).

    ``with ServedHome(home) as base: ...`` gives the base URL and stops the server after the block."""

    def __init__(self, home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60.0,
                 healthy: tuple[int, ...] = (200,)) -> None:
        import os

        self.home, self.args, self.timeout, self.healthy = home, args, timeout, healthy
        self.env = env if env is not None else {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        self.env.setdefault("NO_PROXY", "*")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: Any = None

    def start(self) -> str:
        import subprocess
        import urllib.error
        import urllib.request

        self.proc = subprocess.Popen([*cli(), "--home", str(self.home), "serve", "--host", "127.0.0.1", "--port",
                                      str(self.port), *self.args], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=self.env)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + self.timeout
        while True:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode(errors="replace") if self.proc.stdout else ""
                raise AssertionError(f"the server exited ({self.proc.returncode}): {out}")
            try:
                status = opener.open(f"{self.base}/v1/health", timeout=5).status
            except urllib.error.HTTPError as e:
                status = e.code
            except OSError:
                status = None
            if status in self.healthy:
                return self.base
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the server did not answer within {self.timeout:.0f} s (last status {status})")
            time.sleep(0.2)

    def stop(self) -> None:
        import subprocess

        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
