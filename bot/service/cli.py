"""`replica-bot serve | socket | demo | stats`."""

from __future__ import annotations

import logging
import re
import sys
from datetime import timedelta
from typing import TYPE_CHECKING

import click

from bot.service.logs import configure_logging
from bot.service.settings import Settings, SettingsError, load_settings
from storage.db import DatabaseError, Engine

if TYPE_CHECKING:
    from bot.domain.stats import PreflightStats
    from bot.domain.verdict_stats import Agreement, VerdictStats
    from bot.service.runtime import Runtime

log = logging.getLogger(__name__)


@click.group()
def cli() -> None:
    """replica-bot: request Tavus replicas from Slack and hear back in the thread."""


@cli.command()
def serve() -> None:
    """Run the HTTP app: /slack/events, /healthz and /tavus/callback/<token>."""
    import uvicorn

    from bot.service.bolt_app import create_bolt_app
    from bot.service.web import create_web_app

    settings = _settings("slack_bot_token", "slack_signing_secret", "tavus_api_key")
    runtime = _runtime(settings)
    web = create_web_app(runtime, create_bolt_app(runtime))
    runtime.start()
    try:
        uvicorn.run(web, host=settings.host, port=settings.port, log_config=None, access_log=False)
    finally:
        runtime.close()


@cli.command()
def socket() -> None:
    """Run over Socket Mode (no public URL: no Tavus callbacks, polling only)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.service.bolt_app import create_bolt_app

    settings = _settings("slack_bot_token", "slack_app_token", "tavus_api_key")
    runtime = _runtime(settings, socket_mode=True)
    bolt = create_bolt_app(runtime, socket_mode=True)
    runtime.start()
    try:
        SocketModeHandler(bolt, settings.secret("slack_app_token")).start()
    finally:
        runtime.close()


@cli.command()
def stats() -> None:
    """How often the offline photo check and Tavus' image check agreed with the training outcome."""
    from bot.domain.stats import preflight_stats
    from bot.domain.verdict_stats import verdict_stats

    settings = load_settings()
    configure_logging(settings.secrets(), level=logging.WARNING)
    engine = _database(settings)
    click.echo(_stats_report(preflight_stats(engine)))
    click.echo(_verdict_report(verdict_stats(engine)))


@cli.command()
@click.option("--since", default="30d", show_default=True, help="How far back: days (30d) or hours (12h).")
@click.option("--csv", "as_csv", is_flag=True, help="Write CSV (for compliance) instead of a table.")
def audit(since: str, as_csv: bool) -> None:
    """Who asked for whose face, and who allowed, approved or denied it: every request since --since."""
    from bot.service.audit_report import write_audit

    settings = load_settings()
    configure_logging(settings.secrets(), level=logging.WARNING)
    write_audit(_database(settings), since=_duration(since), as_csv=as_csv, out=sys.stdout)


@cli.command()
@click.option("--speed", default=1.0, show_default=True, help="Slow the story down (2 = twice as slow).")
def demo(speed: float) -> None:
    """The whole story on this machine: no credentials, a local Slack and Tavus, an embedded database."""
    # The one place outside the sandbox that uses it: the demo is made of stand-ins.
    from bot.sandbox.demo import run_demo

    # The story is told on stdout; only real trouble belongs between its lines.
    configure_logging(level=logging.ERROR)
    sys.exit(run_demo(speed=speed))


def _database(settings: Settings) -> Engine:
    """The database, migrated, for a command that reads it; a clear line if it cannot be opened."""
    from storage.db import make_engine, migrate

    try:
        engine = make_engine(settings.database_url)
        migrate(engine)
    except DatabaseError as exc:
        raise SettingsError(f"DATABASE_URL: cannot open the database ({type(exc).__name__})") from None
    return engine


def _duration(text: str) -> timedelta:
    """`30d` or `12h` (a number of days or hours)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dh])\s*", text.lower())
    if match is None:
        raise click.BadParameter(f"{text!r}: write a number of days or hours, like 30d or 12h")
    amount = float(match.group(1))
    return timedelta(days=amount) if match.group(2) == "d" else timedelta(hours=amount)


def _settings(*required: str) -> Settings:
    settings = load_settings()
    for name in required:
        settings.secret(name)
    configure_logging(settings.secrets())
    return settings


def _runtime(settings: Settings, *, socket_mode: bool = False) -> Runtime:
    from bot.service.runtime import build_runtime

    try:
        return build_runtime(settings, socket_mode=socket_mode)
    except DatabaseError as exc:
        raise SettingsError(f"DATABASE_URL: cannot open the database ({type(exc).__name__})") from None


def _stats_report(stats: PreflightStats) -> str:
    def share(value: float | None) -> str:
        return "—" if value is None else f"{value:.0%}"

    lines = [
        "Offline photo check vs. Tavus' verdict (finished requests checked before submission)",
        f"  warned, Tavus rejected:        {stats.flagged_rejected} (same reason: {stats.same_reason})",
        f"  warned, submitted, accepted:   {stats.flagged_accepted}",
        f"  clean, Tavus rejected:         {stats.clean_rejected}",
        f"  clean, Tavus accepted:         {stats.clean_accepted}",
        f"  precision (warnings that were right): {share(stats.precision)}",
        f"  recall (rejections it warned about):  {share(stats.recall)}",
    ]
    if stats.by_kind:
        lines.append("  by finding: kind — rejected / accepted")
        lines.extend(f"    {kind} — {r} / {a}" for kind, (r, a) in stats.by_kind.items())
    return "\n".join(lines)


def _verdict_report(stats: VerdictStats) -> str:
    def agreed(value: Agreement) -> str:
        share = "—" if value.share is None else f"{value.share:.0%}"
        return f"{value.agreed} of {value.counted} ({share})"

    lines = [
        "Both checks before submission vs. the training outcome (finished requests)",
        f"  offline photo check agreed:  {agreed(stats.offline)}",
        f"  Tavus' image check agreed:   {agreed(stats.tavus)}",
    ]
    if stats.offline_by_check or stats.tavus_by_check:
        lines.append("  per check (objected or failed for its reason; both happened):")
        lines.extend(f"    offline {kind} — {agreed(a)}" for kind, a in stats.offline_by_check.items())
        lines.extend(f"    tavus {key} — {agreed(a)}" for key, a in stats.tavus_by_check.items())
    return "\n".join(lines)


def main() -> None:
    try:
        cli(standalone_mode=False)
    except SettingsError as exc:
        click.echo(f"replica-bot: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
