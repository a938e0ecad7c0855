"""`replica-bot serve | socket | doctor | forget | purge | stats | demo`."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

import click

from bot.service.logs import configure_logging
from bot.service.one_off import age, database
from bot.service.settings import Settings, SettingsError, load_settings
from storage.db import DatabaseError

if TYPE_CHECKING:
    from bot.domain.stats import PreflightStats
    from bot.domain.verdict_stats import Agreement, VerdictStats
    from bot.service.ops_http import MetricsListener
    from bot.service.process import Process

log = logging.getLogger(__name__)


@click.group()
def cli() -> None:
    """replica-bot: request Tavus replicas from Slack and hear back in the thread."""


@cli.command()
def serve() -> None:
    """Run the HTTP app: /slack/events, /tavus/callback/<token>, /healthz, /readyz and /metrics."""
    import uvicorn

    from bot.service.bolt_app import create_bolt_app
    from bot.service.web import GracefulServer, create_web_app

    settings = _settings("slack_bot_token", "slack_signing_secret", "tavus_api_key")
    process = _process(settings)
    web = create_web_app(process, create_bolt_app(process.runtime))
    config = uvicorn.Config(
        web,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        # In-flight Slack requests are answered; the rest of the grace is the hand-over's.
        timeout_graceful_shutdown=max(1, int(settings.shutdown_grace_seconds) - 1),
    )
    server = GracefulServer(config, on_exit=process.begin_stop)
    listener = _metrics_listener(process, settings)
    with process.signals_handled():
        # Listening before the database is ready: /readyz says what is missing meanwhile.
        process.start_in_background()
        try:
            server.run()
        finally:
            if listener is not None:
                listener.stop()
            code = process.finish()
    sys.exit(code)


@cli.command()
def socket() -> None:
    """Run over Socket Mode (no public URL: no Tavus callbacks, polling only)."""
    from bot.service.bolt_app import create_bolt_app, socket_mode_handler

    settings = _settings("slack_bot_token", "slack_app_token", "tavus_api_key")
    process = _process(settings, socket_mode=True)
    bolt = create_bolt_app(process.runtime, socket_mode=True)
    app_token = settings.secret("slack_app_token")
    listener = _metrics_listener(process, settings)
    with process.signals_handled():
        try:
            if process.start():
                handler = socket_mode_handler(bolt, app_token, process.runtime.metrics)
                handler.connect()
                try:
                    # Until SIGTERM or SIGINT, which set `stopping` and begin the hand-over.
                    while not process.runtime.stopping.wait(1.0):
                        pass
                finally:
                    handler.close()
        finally:
            if listener is not None:
                listener.stop()
            code = process.finish()
    sys.exit(code)


@cli.command()
def stats() -> None:
    """How often the offline photo check and Tavus' image check agreed with the training outcome."""
    from bot.domain.stats import preflight_stats
    from bot.domain.verdict_stats import verdict_stats

    engine = database(_quiet_settings())
    click.echo(_stats_report(preflight_stats(engine)))
    click.echo(_verdict_report(verdict_stats(engine)))


@cli.command()
@click.option("--since", default="30d", show_default=True, help="How far back: days (30d) or hours (12h).")
@click.option("--csv", "as_csv", is_flag=True, help="Write CSV (for compliance) instead of a table.")
def audit(since: str, as_csv: bool) -> None:
    """Who asked for whose face, and who allowed, approved or denied it: every request since --since."""
    from bot.service.audit_report import write_audit

    try:
        back = age(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    write_audit(database(_quiet_settings()), since=back, as_csv=as_csv, out=sys.stdout)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for machines.")
def doctor(as_json: bool) -> None:
    """Check the deployment: settings, Slack token and scopes, Tavus key, database, media store."""
    import json

    from bot.service.doctor import diagnose

    # Only the checks' own lines: a fallback or retry the clients log would read as a finding.
    configure_logging(level=logging.CRITICAL)
    diagnosis = diagnose()
    if as_json:
        click.echo(json.dumps(diagnosis.as_json(), ensure_ascii=False))
    else:
        for check in diagnosis.checks:
            click.echo(check.line())
    sys.exit(0 if diagnosis.ok else 1)


@cli.command()
@click.argument("user_id")
@click.option(
    "--include-active", is_flag=True, help="Requests in progress too: their faces are deleted in Tavus first."
)
def forget(user_id: str, include_active: bool) -> None:
    """Remove a person's photos and personal details from every request they asked for or appear in."""
    from bot.service.erasure_cli import forget_person

    settings = _quiet_settings()
    click.echo(forget_person(settings, user_id.strip(), include_active=include_active))


@cli.command()
@click.option("--older-than", "older_than", required=True, help="How long ago they ended: 90d (days) or 12h.")
def purge(older_than: str) -> None:
    """Delete finished requests (rows, notifications, photos) that ended longer ago than that; cron-safe."""
    from bot.service.erasure_cli import purge_finished

    try:
        cutoff = age(older_than)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
    click.echo(purge_finished(_quiet_settings(), cutoff, older_than))


@cli.command()
@click.option("--speed", default=1.0, show_default=True, help="Slow the story down (2 = twice as slow).")
def demo(speed: float) -> None:
    """The whole story on this machine: no credentials, a local Slack and Tavus, an embedded database."""
    # The one place outside the sandbox that uses it: the demo is made of stand-ins.
    from bot.sandbox.demo import run_demo

    # The story is told on stdout; only real trouble belongs between its lines.
    configure_logging(level=logging.ERROR)
    sys.exit(run_demo(speed=speed))


def _settings(*required: str) -> Settings:
    settings = load_settings()
    for name in required:
        settings.secret(name)
    configure_logging(settings.secrets(), log_format=settings.log_format)
    return settings


def _quiet_settings() -> Settings:
    """The settings of a one-off command: only warnings and worse are logged beside its answer."""
    settings = load_settings()
    configure_logging(settings.secrets(), level=logging.WARNING, log_format=settings.log_format)
    return settings


def _process(settings: Settings, *, socket_mode: bool = False) -> Process:
    from bot.service.process import Process
    from bot.service.runtime import build_runtime

    try:
        runtime = build_runtime(settings, socket_mode=socket_mode)
    except DatabaseError as exc:
        raise SettingsError(f"DATABASE_URL: cannot open the database ({type(exc).__name__})") from None
    return Process(runtime, grace=settings.shutdown_grace_seconds)


def _metrics_listener(process: Process, settings: Settings) -> MetricsListener | None:
    if settings.metrics_port is None:
        return None
    from bot.service.ops_http import MetricsListener

    return MetricsListener(process, host=settings.host, port=settings.metrics_port).start()


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
