"""`python -m bench` (or `make bench`): every scenario in one run, then one table.

    .venv/bin/python -m bench                       # the figures docs/benchmarks.md quotes (~10 min)
    .venv/bin/python -m bench --quick               # smaller numbers, a couple of minutes
    .venv/bin/python -m bench --only sweep --db postgres --concurrency 16,32,64

Everything runs on loopback: the Slack fake, the Tavus emulator and a photo host in this process; the
app (`python -m bot serve`), a bare Bolt app, the load generator and the sweep in child processes.
Exit status 1 if a target is missed or a correctness check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench import batches, harness, limits, operations, scenarios
from bench.scenarios import Report, Row

SCENARIOS = ("ack", "sweep", "reporting", "limits", "preflight", "metrics", "restart", "batch")


def table(rows: list[Row]) -> str:
    header = ("figure", "target", "measured", "ratio", "")
    lines = [header] + [
        (r.figure, r.target, r.measured, r.ratio, "" if r.ok is None else ("✓" if r.ok else "✗"))
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not the figures")
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated subset of {SCENARIOS}")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--concurrency",
        default="",
        help="extra POLL_CONCURRENCY values to sweep at besides the default, e.g. 8,16,64,128",
    )
    parser.add_argument("--json", type=Path, help="also write every raw number here")
    args = parser.parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    extra = [int(c) for c in args.concurrency.split(",") if c.strip()]

    report = Report()
    report.details["machine"] = scenarios.machine_line()
    report.details["argv"] = sys.argv[1:] if argv is None else argv
    quick = args.quick
    began = time.monotonic()
    print(f"replica-bot benchmarks on {report.details['machine']}", file=sys.stderr, flush=True)
    with harness.world() as world:
        if "ack" in only:
            print("ack …", file=sys.stderr, flush=True)
            for kind in ("command", "mention"):
                scenarios.ack(
                    world,
                    report,
                    db=args.db,
                    count=20 if quick else 100,
                    bursts=1 if quick else 3,
                    pause=1,
                    kind=kind,
                )
        if "sweep" in only:
            print("sweep …", file=sys.stderr, flush=True)
            scenarios.sweep(
                world,
                report,
                db=args.db,
                n=500 if quick else 10_000,
                latency_ms=100,
                concurrencies=[None, *extra],
                sequential_sample=50 if quick else 200,
                history=5_000 if quick else 100_000,
            )
        if "reporting" in only:
            print("reporting …", file=sys.stderr, flush=True)
            # Then the same with two app processes sharing the work through the database's leases.
            for processes in (1, 2):
                scenarios.reporting(
                    world,
                    report,
                    db=args.db,
                    n=100 if quick else 1000,
                    channels=10 if quick else 100,
                    poll_interval=10,
                    processes=processes,
                )
        if "limits" in only:
            print("limits …", file=sys.stderr, flush=True)
            # One process on SQLite (or --db), then three sharing PostgreSQL and its budgets.
            for processes, db in ((1, args.db), (3, "postgres")):
                limits.limits(
                    world,
                    report,
                    db=db,
                    n=200 if quick else 2000,
                    channels=20 if quick else 200,
                    failing=50 if quick else 500,
                    poll_interval=10,
                    processes=processes,
                    cards_timeout=120 if quick else 780,
                )
        if "preflight" in only:
            print("preflight …", file=sys.stderr, flush=True)
            scenarios.preflight(report)
        if "metrics" in only:
            print("metrics …", file=sys.stderr, flush=True)
            # What a scrape costs beside months of history, on --db and on PostgreSQL.
            for db in sorted({args.db, "postgres"}):
                finished, active = (5_000, 500) if quick else (100_000, 10_000)
                operations.scrape(world, report, db=db, finished=finished, active=active)
        if "restart" in only:
            print("restart …", file=sys.stderr, flush=True)
            operations.rolling_restart(
                world,
                report,
                n=60 if quick else 300,
                channels=20 if quick else 100,
                poll_interval=5 if quick else 10,
                outcome_seconds=30 if quick else 60,
            )
        if "batch" in only:
            print("batch …", file=sys.stderr, flush=True)
            # One process on SQLite, three sharing PostgreSQL; Tavus' check answering in a second.
            for db, processes in (("sqlite", 1), ("postgres", 3)):
                batches.batch(
                    world, report, db=db, rows=100 if quick else 500, latency=1.0, concurrency=8,
                    processes=processes, poll_interval=10,
                )
    report.details["seconds"] = time.monotonic() - began

    print()
    print(
        f"Machine: {report.details['machine']}; database: {args.db}; took {report.details['seconds']:.0f} s"
    )
    print(table(report.rows))
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    if args.json:
        args.json.write_text(
            json.dumps({"rows": [r.__dict__ for r in report.rows], **report.details}, indent=2)
        )
    missed = [r for r in report.rows if r.ok is False]
    return 1 if missed or report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
