"""Many replica requests at once: a CSV or a handful of photos, checked together before anything is spent,
submitted with one click, followed on one card. Each ready row becomes an ordinary request linked to its
batch (`storage.batch_models`); `lifecycle` holds the batch's statuses and moves, `work` what runs after
the ack, `service` what people do with a batch."""

from bot.domain.batch.checking import FileSource, RowChecker
from bot.domain.batch.lifecycle import BATCH_TRANSITIONS, ROW_ENDED, BatchLifecycle
from bot.domain.batch.rows import MAX_PHOTOS, SharedPhoto
from bot.domain.batch.service import Batches, batch_number
from bot.domain.batch.work import BatchWork

__all__ = [
    "BATCH_TRANSITIONS",
    "MAX_PHOTOS",
    "ROW_ENDED",
    "BatchLifecycle",
    "BatchWork",
    "Batches",
    "FileSource",
    "RowChecker",
    "SharedPhoto",
    "batch_number",
]
