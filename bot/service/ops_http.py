"""What an operator's tools ask a process over HTTP: `/healthz` (alive), `/readyz` (ready for work, or
why not, in one line) and `/metrics`. `serve` answers them beside Slack's endpoint; with METRICS_PORT set
(Socket Mode has no other listener) a small listener of their own answers them too."""

from __future__ import annotations

import logging
import threading

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.service.metrics import CONTENT_TYPE
from bot.service.process import Process

log = logging.getLogger(__name__)


def ops_routes(process: Process) -> list[Route]:
    async def healthz(_: Request) -> Response:
        healthy = await run_in_threadpool(process.healthy)
        return JSONResponse({"ok": healthy}, status_code=200 if healthy else 503)

    async def readyz(_: Request) -> Response:
        reason = await run_in_threadpool(process.not_ready)
        if reason is None:
            return PlainTextResponse("ready\n")
        return PlainTextResponse(f"not ready: {reason}\n", status_code=503)

    async def metrics(_: Request) -> Response:
        body = await run_in_threadpool(process.runtime.metrics.render)
        return Response(body, media_type=CONTENT_TYPE)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


class MetricsListener:
    """`/metrics`, `/healthz` and `/readyz` on a port of their own, served from a daemon thread."""

    def __init__(self, process: Process, *, host: str, port: int) -> None:
        config = uvicorn.Config(
            Starlette(routes=ops_routes(process)), host=host, port=port, log_config=None, access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="metrics-listener", daemon=True)
        self.port = port

    def start(self) -> MetricsListener:
        # Off the main thread, uvicorn leaves the signals to the process.
        self._thread.start()
        log.info("metrics, health and readiness on port %s", self.port)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)
