"""A loopback web server for files people link to (a headshot, a video); used by the demo and tests."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class StaticServer:
    def __init__(self) -> None:
        self._files: dict[str, tuple[bytes, str]] = {}
        self._hits: dict[str, int] = {}
        self._stalls: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        files, hits, take_stall = self._files, self._hits, self._take_stall

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits[self.path] = hits.get(self.path, 0) + 1
                time.sleep(take_stall(self.path))
                if self.path not in files:
                    self.send_error(404)
                    return
                body, content_type = files[self.path]
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def put(self, path: str, body: bytes, content_type: str = "application/octet-stream") -> str:
        self._files[path] = (body, content_type)
        return self.url + path

    def stall(self, path: str, seconds: float, *, count: int = 1) -> None:
        """Answer the next `count` requests for `path` only after `seconds` (a slow photo host)."""
        with self._lock:
            self._stalls.setdefault(path, []).extend([seconds] * count)

    def _take_stall(self, path: str) -> float:
        with self._lock:
            queue = self._stalls.get(path)
            return queue.pop(0) if queue else 0.0

    def hits(self, path: str) -> int:
        return self._hits.get(path, 0)

    def __enter__(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
