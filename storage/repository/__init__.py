"""Every SQL statement replica-bot runs, by the rows it touches.

- `replica_requests`: reading requests, and the one compare-and-set statement every status change uses
  (`transition`), with the notifications it queues in the same transaction;
- `outbox`: the notifications waiting for Slack, and what delivery records about them;
- `leases`: the exclusive leases that let several processes share one database without polling a
  replica twice or delivering a notification twice;
- `media_objects`, `seen_events`: hosted photos and Slack deliveries already acted on;
- `census`: what `/metrics` counts at each scrape; `erasure`: forgetting a person and purging old requests
  (`PERSONAL_COLUMNS`, the one list of what in a request is about a person).

Callers pass an engine (from `storage.db.make_engine`) and get model objects or plain values back; no
session or statement leaves this package.
"""
