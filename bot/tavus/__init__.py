"""The Tavus replica API as a small typed client: `TavusClient`, the answers it returns, and its errors."""

from bot.tavus.client import TavusClient
from bot.tavus.errors import TavusAuthError, TavusBadRequest, TavusError, TavusNotFound, TavusUnavailable
from bot.tavus.models import CreatedReplica, FinetuneState, Replica, ReplicaState, parse_training_progress

__all__ = [
    "CreatedReplica",
    "FinetuneState",
    "Replica",
    "ReplicaState",
    "TavusAuthError",
    "TavusBadRequest",
    "TavusClient",
    "TavusError",
    "TavusNotFound",
    "TavusUnavailable",
    "parse_training_progress",
]
