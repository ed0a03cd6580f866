"""Micro-batching of single-ticket requests (classifier/api/batching.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from classifier.api.batching import MicroBatcher


class Recorder:
    """A work function that upper-cases strings, fails on "bad", and can hold its first batch
    until told, so that the next requests pile up behind it."""

    def __init__(self, hold_first: bool = False):
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        if not hold_first:
            self.release.set()

    def __call__(self, items: list[str]) -> list[str]:
        self.release.wait(timeout=10)
        self.batches.append(list(items))
        if "bad" in items:
            raise ValueError("cannot handle 'bad'")
        return [item.upper() for item in items]


async def first_batch_started(batcher: MicroBatcher, item: str) -> asyncio.Future:
    task = asyncio.ensure_future(batcher.submit(item))
    while batcher.batches == 0:
        await asyncio.sleep(0.001)
    return task


async def submit_all(batcher: MicroBatcher, items: list[str], work: Recorder) -> list:
    """The first item alone (held), then the others while it is being worked on."""
    tasks = [await first_batch_started(batcher, items[0])]
    tasks += [asyncio.ensure_future(batcher.submit(item)) for item in items[1:]]
    while len(batcher._pending) < len(items) - 1:
        await asyncio.sleep(0.001)
    work.release.set()
    return await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.parametrize(
    ("max_batch", "sizes"),
    [(32, [1, 19]), (8, [1, 8, 8, 3])],
)
def test_requests_arriving_during_a_batch_are_predicted_together_in_order(max_batch, sizes):
    work = Recorder(hold_first=True)
    batcher = MicroBatcher(work, max_batch=max_batch)
    items = [f"ticket-{i}" for i in range(20)]
    results = asyncio.run(submit_all(batcher, items, work))
    batcher.close()
    assert results == [item.upper() for item in items]
    assert [len(b) for b in work.batches] == sizes
    assert [item for b in work.batches for item in b] == items


def test_a_failing_item_fails_only_its_own_request():
    work = Recorder(hold_first=True)
    batcher = MicroBatcher(work)
    items = ["first", "a", "bad", "b"]
    results = asyncio.run(submit_all(batcher, items, work))
    batcher.close()
    assert results[0] == "FIRST" and results[1] == "A" and results[3] == "B"
    assert isinstance(results[2], ValueError)
    # the batch of three failed, then each was tried alone
    assert work.batches[1:] == [["a", "bad", "b"], ["a"], ["bad"], ["b"]]


def test_a_lone_client_never_waits_for_the_linger():
    work = Recorder()
    batcher = MicroBatcher(work, linger=60.0)

    async def one_after_another() -> list[str]:
        return [await asyncio.wait_for(batcher.submit(f"t{i}"), 5) for i in range(5)]

    assert asyncio.run(one_after_another()) == ["T0", "T1", "T2", "T3", "T4"]
    batcher.close()
    assert work.batches == [["t0"], ["t1"], ["t2"], ["t3"], ["t4"]]


def test_steady_clients_are_gathered_into_whole_batches():
    """Eight clients, each sending its next request when its answer comes: after the first
    rounds every batch holds all eight (the batcher waits for the clients of the last batch)."""
    work = Recorder()
    batcher = MicroBatcher(work, max_batch=32, linger=5.0)

    async def client(n: int) -> None:
        for i in range(30):
            await batcher.submit(f"c{n}-{i}")
            await asyncio.sleep(0)  # a round trip

    async def run() -> None:
        await asyncio.gather(*(client(n) for n in range(8)))

    asyncio.run(run())
    batcher.close()
    sizes = [len(b) for b in work.batches]
    assert sum(sizes) == 240
    assert sizes[-20:] == [8] * 20


def test_a_client_that_goes_away_does_not_disturb_the_others():
    work = Recorder(hold_first=True)
    batcher = MicroBatcher(work)

    async def run() -> list:
        first = await first_batch_started(batcher, "first")
        gone = asyncio.ensure_future(batcher.submit("gone"))
        stays = asyncio.ensure_future(batcher.submit("stays"))
        await asyncio.sleep(0.01)
        gone.cancel()
        work.release.set()
        return [await first, await stays]

    assert asyncio.run(run()) == ["FIRST", "STAYS"]
    batcher.close()
    assert work.batches == [["first"], ["gone", "stays"]]


def test_max_batch_must_be_positive():
    with pytest.raises(ValueError, match="max_batch"):
        MicroBatcher(Recorder(), max_batch=0)
