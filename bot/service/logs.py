"""Logging setup. Every record is scrubbed of the configured secrets before it is written anywhere.

`text` (the default) is for people; `json` writes one JSON object a line — `time`, `level`, `logger`,
`message`, and where known `request_id`, `replica_id`, `team`, `channel` (`bot.log_context`) — for
every logger of the process: ours, Bolt's, uvicorn's, APScheduler's, warnings, and uncaught errors in
threads.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from bot import log_context

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LogFormat = Literal["text", "json"]

_JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
_JSON_NAMES = {"asctime": "time", "levelname": "level", "name": "logger"}
# uvicorn decorates some records with an ANSI-coloured copy of the message; the plain one is enough.
_NOT_LOGGED = (*RESERVED_ATTRS, "color_message")


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                # A malformed log call must not crash the caller, nor leak its arguments in the
                # "--- Logging error ---" report logging would print instead.
                message = f"{record.msg} (log arguments did not match the format)"
            record.msg = self._scrub(message)
            record.args = None
            if record.exc_info:
                # Format the traceback now, scrubbed, so handlers never see the raw exception text.
                record.exc_text = self._scrub(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


class AddContext(logging.Filter):
    """Puts what the work in progress is about (`bot.log_context`) on the record, as attributes."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in log_context.current().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonLines(JsonFormatter):
    """One JSON object a line, with the time in UTC ISO 8601."""

    def __init__(self) -> None:
        super().__init__(_JSON_FIELDS, rename_fields=_JSON_NAMES, reserved_attrs=_NOT_LOGGED)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def configure_logging(
    secrets: Iterable[str] = (), level: int = logging.INFO, log_format: LogFormat = "text"
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(FORMAT))
    handler.addFilter(RedactSecrets(secrets))
    handler.addFilter(AddContext())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO; keep the operator's log about the bot.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Whatever else would write to stderr goes through the same handler: warnings, and errors that end a
    # thread or the program.
    logging.captureWarnings(True)
    threading.excepthook = _log_thread_error
    sys.excepthook = _log_uncaught


def _log_thread_error(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "a thread"
    exc_info = (args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)
    logging.getLogger("bot").error("uncaught error in %s", name, exc_info=exc_info)


def _log_uncaught(exc_type: type[BaseException], exc: BaseException, traceback: object) -> None:
    logging.getLogger("bot").critical("uncaught error", exc_info=(exc_type, exc, traceback))  # type: ignore[arg-type]
