"""bot.service.logs: configured secrets never reach a log handler's output."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Iterator

import pytest

from bot import log_context
from bot.service.logs import FORMAT, RedactSecrets, configure_logging

SECRET = "xoxb-1234-very-secret-token"
OTHER = "tavus-key-abcdef"


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("httpx", "apscheduler")}
    hooks = threading.excepthook, sys.excepthook
    yield
    threading.excepthook, sys.excepthook = hooks
    logging.captureWarnings(False)
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)


@pytest.fixture
def output() -> io.StringIO:
    """Install the app's logging with the secrets, and point its handler at a buffer."""
    configure_logging([SECRET, OTHER])
    (handler,) = logging.getLogger().handlers
    stream = io.StringIO()
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    return stream


def _boom(token: str) -> None:
    raise RuntimeError(f"Slack said invalid_auth for {token}")


# --- through configure_logging --------------------------------------------------------------------------


def test_configure_logging_installs_one_stderr_handler_with_the_filter() -> None:
    configure_logging([SECRET])
    handlers = logging.getLogger().handlers
    assert len(handlers) == 1
    (handler,) = handlers
    assert isinstance(handler, logging.StreamHandler)
    assert handler.stream is sys.stderr
    assert any(isinstance(f, RedactSecrets) for f in handler.filters)
    assert logging.getLogger().level == logging.INFO
    assert logging.getLogger("httpx").level == logging.WARNING


def test_secret_in_the_message(output: io.StringIO) -> None:
    logging.getLogger("bot.test").info(f"calling Slack with {SECRET} and {OTHER}")
    text = output.getvalue()
    assert "calling Slack with [redacted] and [redacted]" in text
    assert SECRET not in text and OTHER not in text


def test_secret_in_percent_args(output: io.StringIO) -> None:
    logging.getLogger("bot.test").warning("token=%s headers=%r", SECRET, {"Authorization": f"Bearer {OTHER}"})
    text = output.getvalue()
    assert "token=[redacted]" in text
    assert "Bearer [redacted]" in text
    assert SECRET not in text and OTHER not in text


def test_secret_in_a_traceback(output: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    try:
        _boom(SECRET)
    except RuntimeError:
        log.exception("delivery failed")
    text = output.getvalue()
    assert "delivery failed" in text
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: Slack said invalid_auth for [redacted]" in text
    assert SECRET not in text


def test_secret_in_a_chained_exception(output: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    try:
        try:
            _boom(SECRET)
        except RuntimeError as exc:
            raise ValueError(f"wrapped {OTHER}") from exc
    except ValueError:
        log.error("outer", exc_info=True)
    text = output.getvalue()
    assert "The above exception was the direct cause" in text
    assert SECRET not in text and OTHER not in text
    assert text.count("[redacted]") >= 2


def test_records_below_the_level_are_dropped(output: io.StringIO) -> None:
    logging.getLogger("bot.test").debug(f"debug {SECRET}")
    assert output.getvalue() == ""


def test_a_malformed_log_call_neither_raises_nor_leaks(
    output: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    # A wrong %-format in some log call must not turn into an exception in the caller (the stdlib reports
    # it on stderr and carries on), and that report must not print the secret either.
    logging.getLogger("bot.test").info("%d token=%s", "not-a-number", SECRET)
    assert SECRET not in output.getvalue()
    assert SECRET not in capsys.readouterr().err


# --- the filter on its own -------------------------------------------------------------------------------


def _record(msg: str, args: tuple[object, ...] | None = None, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            _boom(SECRET)
        except RuntimeError:
            exc_info = sys.exc_info()
    return logging.LogRecord("bot.test", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_filter_scrubs_message_and_args() -> None:
    record = _record("a %s b", (SECRET,))
    assert RedactSecrets([SECRET]).filter(record) is True
    assert record.getMessage() == "a [redacted] b"
    assert SECRET not in logging.Formatter(FORMAT).format(record)


def test_filter_scrubs_exception_text() -> None:
    record = _record("failed", exc=True)
    RedactSecrets([SECRET]).filter(record)
    formatted = logging.Formatter(FORMAT).format(record)
    assert "RuntimeError: Slack said invalid_auth for [redacted]" in formatted
    assert SECRET not in formatted
    assert record.exc_info is None  # a later handler cannot re-format the raw exception


def test_longest_secret_is_replaced_whole() -> None:
    record = _record(f"key={SECRET}")
    RedactSecrets([SECRET[:10], SECRET]).filter(record)
    assert record.getMessage() == "key=[redacted]"


def test_very_short_values_are_not_treated_as_secrets() -> None:
    # A 3-character "secret" would blank out ordinary words all over the log.
    record = _record("the bot is up")
    RedactSecrets(["bot", "", SECRET]).filter(record)
    assert record.getMessage() == "the bot is up"


def test_without_secrets_records_are_untouched() -> None:
    record = _record("a %s b", ("x",))
    RedactSecrets([]).filter(record)
    assert record.args == ("x",)
    assert record.msg == "a %s b"


def test_every_handler_output_is_scrubbed_when_the_filter_runs_first() -> None:
    # The filter rewrites the record itself; a second handler formatting it later sees the scrubbed text.
    record = _record("token %s", (SECRET,), exc=True)
    RedactSecrets([SECRET]).filter(record)
    for formatter in (logging.Formatter(), logging.Formatter(FORMAT), logging.Formatter("%(message)s")):
        assert SECRET not in formatter.format(record)


# --- LOG_FORMAT=json ------------------------------------------------------------------------------------


@pytest.fixture
def json_output() -> io.StringIO:
    configure_logging([SECRET], log_format="json")
    (handler,) = logging.getLogger().handlers
    stream = io.StringIO()
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    return stream


def _objects(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_is_one_object_a_line_with_the_four_fields(json_output: io.StringIO) -> None:
    logging.getLogger("bot.test").warning("two\nlines %s", SECRET)
    (record,) = _objects(json_output)
    assert record["level"] == "WARNING" and record["logger"] == "bot.test"
    assert record["message"] == "two\nlines [redacted]"
    assert str(record["time"]).endswith("+00:00")


def test_json_carries_what_the_work_is_about(json_output: io.StringIO) -> None:
    with log_context.about(request_id=7, replica_id="r1", channel="C1"), log_context.about(team="T1"):
        logging.getLogger("bot.test").info("inside")
    logging.getLogger("bot.test").info("outside")
    inside, outside = _objects(json_output)
    assert {k: inside[k] for k in log_context.FIELDS} == {
        "request_id": "7",
        "replica_id": "r1",
        "team": "T1",
        "channel": "C1",
    }
    assert not set(log_context.FIELDS) & set(outside)


def test_json_tracebacks_are_scrubbed_and_uvicorns_colours_dropped(json_output: io.StringIO) -> None:
    try:
        _boom(SECRET)
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("failed", extra={"color_message": "\x1b[31mfailed"})
    (record,) = _objects(json_output)
    assert "RuntimeError: Slack said invalid_auth for [redacted]" in str(record["exc_info"])
    assert "color_message" not in record and SECRET not in json_output.getvalue()


def test_errors_that_end_a_thread_are_logged_too(json_output: io.StringIO) -> None:
    thread = threading.Thread(target=_boom, args=(SECRET,), name="doomed")
    thread.start()
    thread.join()
    (record,) = _objects(json_output)
    assert record["message"] == "uncaught error in doomed" and SECRET not in json_output.getvalue()
