"""Micro-batching of single-ticket requests: what arrives while a batch is being predicted is
predicted together in the next one.

A prediction costs far less per ticket in a batch than alone (one spaCy, feature and head pass
for many tickets, one transaction for their log rows), and a single worker thread writing the
log means concurrent requests never wait on each other's SQLite write lock. Nothing waits for
a batch to fill: a request that finds the worker idle is predicted at once, alone, so a lone
client sees no added latency; under load the batches grow by themselves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

log = logging.getLogger("classifier.api")

In = TypeVar("In")
Out = TypeVar("Out")


class MicroBatcher(Generic[In, Out]):
    """Runs `work(items) -> results` (same length, same order) on one worker thread, for the
    items queued since the previous call, at most `max_batch` at a time.

    If a batch raises, its items are retried one by one, so that one bad item fails only its
    own request."""

    def __init__(
        self,
        work: Callable[[list[In]], Sequence[Out]],
        max_batch: int = 32,
        linger: float = 0.002,
    ):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.work = work
        self.max_batch = max_batch
        self.linger = linger
        self._pending: list[tuple[In, asyncio.Future[Out]]] = []
        self._expected = 1  # how many items the next batch waits for (at most `linger`)
        self._filled: asyncio.Event | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict")
        self._drainer: asyncio.Task[None] | None = None
        self.batches = 0  # how many batches were run

    async def submit(self, item: In) -> Out:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Out] = loop.create_future()
        self._pending.append((item, future))
        if self._filled is not None and len(self._pending) >= self._expected:
            self._filled.set()
        if self._drainer is None:
            self._drainer = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                if len(self._pending) < self._expected:
                    await self._gather()
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                items = [item for item, _ in batch]
                self.batches += 1
                try:
                    results = await loop.run_in_executor(self._executor, self._isolated, items)
                except Exception as exc:  # the executor itself failed: fail this batch
                    results = [exc] * len(batch)
                # the clients of this batch will be back, and those waiting are still here
                self._expected = min(self.max_batch, len(batch) + len(self._pending))
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():  # the client went away; its ticket was still predicted
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._drainer = None

    async def _gather(self) -> None:
        """Wait up to `linger` for as many items as were in flight when the last batch ended
        (its own, whose clients come back within a round trip, and those queued meanwhile).
        Without the wait, n steady clients split into two half batches that take turns,
        costing more per ticket. A lone client never waits: when its batch ended nothing else
        was in flight, so the one item expected is its own next request."""
        self._filled = asyncio.Event()
        try:
            await asyncio.wait_for(self._filled.wait(), self.linger)
        except TimeoutError:
            pass
        finally:
            self._filled = None

    def _isolated(self, items: list[In]) -> list[Out | BaseException]:
        try:
            return list(self.work(items))
        except Exception as exc:
            if len(items) == 1:
                return [exc]
            # the type only: an exception's message may quote a ticket
            log.warning(
                "a batch of %d failed (%s); predicting one by one", len(items), type(exc).__name__
            )
        results: list[Out | BaseException] = []
        for item in items:
            try:
                results.extend(self.work([item]))
            except Exception as exc:
                results.append(exc)
        return results

    def close(self) -> None:
        self._executor.shutdown(wait=True)
