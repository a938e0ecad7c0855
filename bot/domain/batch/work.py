"""The batch worker: everything a batch needs after its ack, done by whichever process gets to it first.

One pass (run every second, and at once when there is news) reads the files just received, checks the
rows waiting to be checked, closes batches whose rows are all checked, makes a request of each ready
row of a submitted batch and takes it through its gates, finishes batches whose rows have all ended, and
ends approvals nobody gave in time. Each step is leased or a compare-and-set, so several processes on one
database share a batch's work, and a crash (kill -9) leaves nothing half done for good: the next pass, in
any process, goes on where it was. A row becomes a request once (`Lifecycle.receive_row`); a request
cut short after that is repaired like any other (`bot.domain.recovery`).

Rows are checked and submitted on a bounded pool, and each step lets the acks of Slack requests go first
(`between_steps`), so a 500-row batch neither floods Tavus nor delays anyone's ack.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bot.domain.batch.checking import FileSource, RowChecker
from bot.domain.batch.csv_rows import MAX_BYTES, read_rows
from bot.domain.batch.lifecycle import ROW_ENDED, BatchLifecycle
from bot.domain.batch.problems import BatchFileRefused, FileProblem
from bot.domain.batch.rows import csv_row_values, request_fields_of
from bot.domain.errors import SubmissionFailed, SubmitProblem
from bot.domain.lifecycle import Lifecycle
from bot.domain.media import MediaStore
from bot.domain.requests import SubmitError
from bot.domain.submission import SubmissionService
from bot.photos.refusals import PreflightRefusal
from storage.batch_models import Batch, BatchRow
from storage.db import Engine
from storage.models import ReplicaRequest
from storage.repository import batch_work, batches

log = logging.getLogger(__name__)

# What a download refused for says about the file.
_DOWNLOAD_PROBLEMS = {"too_large": FileProblem.TOO_LARGE, "empty": FileProblem.EMPTY}


class BatchWork:
    def __init__(
        self,
        engine: Engine,
        lifecycle: BatchLifecycle,
        requests: Lifecycle,
        submission: SubmissionService,
        checker: RowChecker,
        files: FileSource,
        *,
        owner: str,
        max_rows: int,
        concurrency: int,
        lease_seconds: float = 300,
        media: MediaStore | None = None,
        between_steps: Callable[[], None] = lambda: None,
        stopping: threading.Event | None = None,
    ) -> None:
        self._engine = engine
        self._lifecycle = lifecycle
        self._requests = requests
        self._submission = submission
        self._checker = checker
        self._files = files
        self._owner = owner
        self._max_rows = max_rows
        self._concurrency = concurrency
        # How long a file or a row being checked is held: a process that died holding it (kill -9) lets
        # it go after this long (a graceful stop hands it over at once).
        self._lease_seconds = lease_seconds
        self._media = media
        self._between_steps = between_steps
        self._stopping = stopping or threading.Event()
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="batch")

    def run(self) -> int:
        """One pass over every step; how many things it did."""
        if self._stopping.is_set():
            return 0
        done = self._read_files()
        done += self._check_rows()
        checked = batch_work.checked_batches(self._engine)
        done += sum(self._lifecycle.all_checked(b) is not None for b in checked)
        done += self._submit_rows()
        done += sum(
            self._lifecycle.finish(b) is not None for b in batch_work.finishable(self._engine, ROW_ENDED)
        )
        done += sum(self._lifecycle.expire(b) is not None for b in batch_work.expired_approvals(self._engine))
        return done

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    # --- the file -------------------------------------------------------------------------------------

    def _read_files(self) -> int:
        read = 0
        for batch_id in batch_work.claim_unread(
            self._engine, owner=self._owner, lease_seconds=self._lease_seconds
        ):
            batch = batches.get(self._engine, batch_id)
            if batch is None or batch.file_id is None:
                continue
            try:
                data = self._files.read(batch.file_id, max_bytes=MAX_BYTES + 1)
                rows = read_rows(data, max_rows=self._max_rows, max_bytes=MAX_BYTES)
            except PreflightRefusal as refusal:
                problem = _DOWNLOAD_PROBLEMS.get(refusal.reason, FileProblem.UNREADABLE)
                self._refuse(batch, BatchFileRefused(problem, limit=MAX_BYTES))
            except BatchFileRefused as refused:
                self._refuse(batch, refused)
            except Exception:
                # Slack down, a bug: read again once the lease runs out; the other steps go on meanwhile.
                log.exception("batch %s: its file could not be read now", batch_id)
                continue
            else:
                values = csv_row_values(rows, batch.requester_id)
                if self._lifecycle.read(batch_id, values, owner=self._owner) is not None:
                    log.info("batch %s: read %d rows from %s", batch_id, len(values), batch.file_name)
            read += 1
        return read

    def _refuse(self, batch: Batch, refused: BatchFileRefused) -> None:
        assert batch.id is not None
        log.info("batch %s: %s cannot be read as a batch: %s", batch.id, batch.file_name, refused)
        self._lifecycle.refuse(batch.id, refused.stored(), owner=self._owner)

    # --- the rows -------------------------------------------------------------------------------------

    def _check_rows(self) -> int:
        cache: dict[int, Batch | None] = {}

        def check(row_id: int) -> bool:
            row = batches.row(self._engine, row_id)
            batch = self._batch_of(row, cache) if row is not None else None
            if row is None or batch is None:
                return False
            self._between_steps()
            values = self._checker.check(batch, row)
            return self._lifecycle.row_checked(row.batch_id, row_id, values, owner=self._owner)

        def claim(limit: int) -> list[int]:
            return batch_work.claim_rows(
                self._engine, owner=self._owner, limit=limit, lease_seconds=self._lease_seconds
            )

        return self._drain(claim, check, release=True)

    def _submit_rows(self) -> int:
        """Each ready row of a submitted batch becomes a request (once, whichever process gets there first)
        and goes through its gates at once: a colleague is asked, or Tavus creates the replica."""
        cache: dict[int, Batch | None] = {}
        row_ids = deque(batch_work.rows_to_submit(self._engine))

        def submit(row_id: int) -> bool:
            row = batches.row(self._engine, row_id)
            batch = self._batch_of(row, cache) if row is not None else None
            if row is None or batch is None or row.request_id is not None:
                return False
            fields, decision = request_fields_of(batch, row)
            request = self._requests.receive_row(fields, row_id, decision=decision)
            if request is None or request.id is None:
                return False
            if row.photo_key is not None and self._media is not None:
                self._media.attach(row.photo_key, request.id)
            self._between_steps()
            self._proceed(request)
            return True

        def take(limit: int) -> list[int]:
            return [row_ids.popleft() for _ in range(min(limit, len(row_ids)))]

        return self._drain(take, submit)

    def _batch_of(self, row: BatchRow, cache: dict[int, Batch | None]) -> Batch | None:
        """The row's batch, read once a pass (a benign race between workers reads it twice)."""
        if row.batch_id not in cache:
            cache[row.batch_id] = batches.get(self._engine, row.batch_id)
        return cache[row.batch_id]

    def _proceed(self, request: ReplicaRequest) -> None:
        assert request.id is not None
        try:
            self._submission.proceed(request)
        except SubmissionFailed as failed:
            # Recorded as submit_failed: the batch's card counts it, its summary says why.
            log.warning("batch request %s was not taken by Tavus: %s", request.id, failed)
        except Exception:
            log.exception("batch request %s could not be submitted", request.id)
            self._requests.give_up(request.id, SubmitError(SubmitProblem.CHECK_FAILED))

    # --- a bounded pool that feeds itself ---------------------------------------------------------------

    def _drain(
        self, claim: Callable[[int], list[int]], work: Callable[[int], bool], *, release: bool = False
    ) -> int:
        """Run `work` on every id `claim` hands out, `concurrency` at a time; ids are claimed a few ahead
        of the workers, so none waits for a whole batch of them (nor holds a lease long unworked). Once
        the process is stopping, nothing more starts, and (`release`) what was claimed is given back."""
        queue: deque[int] = deque(claim(2 * self._concurrency))
        if not queue:
            return 0
        lock = threading.Lock()
        exhausted = len(queue) < 2 * self._concurrency

        def next_id() -> int | None:
            nonlocal exhausted
            with lock:
                if self._stopping.is_set():
                    return None
                if len(queue) < self._concurrency and not exhausted:
                    more = claim(2 * self._concurrency - len(queue))
                    queue.extend(more)
                    exhausted = not more
                return queue.popleft() if queue else None

        def worker() -> int:
            done = 0
            while (item := next_id()) is not None:
                try:
                    done += bool(work(item))
                except Exception:
                    log.exception("batch work on %s failed; it is taken up again later", item)
            return done

        futures = [self._pool.submit(worker) for _ in range(self._concurrency)]
        total = sum(f.result() for f in futures)
        if release and queue:
            batch_work.release(self._engine, list(queue), owner=self._owner)
        return total

