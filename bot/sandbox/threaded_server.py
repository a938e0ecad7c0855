"""Serve an ASGI app with uvicorn in a daemon thread on loopback: the demo and the tests' local servers."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Literal, Self

import uvicorn


class ThreadedServer:
    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str = "asgi",
        lifespan: Literal["auto", "on", "off"] = "off",
    ) -> None:
        self.app = app
        self.host = host
        self.name = name
        self.lifespan = lifespan
        self._requested_port = port
        self._port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"the {self.name} server is not started")
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> Self:
        if self._thread is not None:
            raise RuntimeError(f"the {self.name} server is already started")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # Binding here rather than in uvicorn tells us the port before the server thread runs.
        # IPPROTO_TCP, not 0: uvicorn only sets TCP_NODELAY on sockets that say they are TCP, and without
        # it every keep-alive request stalls ~40 ms on delayed ACKs.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan=self.lifespan,
            ws="none",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=self.name, daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError(f"the {self.name} server did not start")
            time.sleep(0.01)
        self._socket, self._server, self._thread = sock, server, thread
        self._port = sock.getsockname()[1]
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url if self._port is not None else None!r})"
