"""The store: re-sent and erased tickets in the prediction log (SQLite and PostgreSQL), and the
embedded store under concurrent writers (as with several uvicorn workers)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import pytest

from classifier.store import LogRow, Store, as_utc


def test_concurrent_writers_never_see_database_is_locked(tmp_path):
    url = f"sqlite:///{tmp_path / 'classifier.db'}"
    Store.open(url)
    workers = [Store.open(url) for _ in range(4)]  # one engine per "worker process"
    prediction = {
        "model_version": "v1",
        "category": "cms_plugins",
        "priority": "P3",
        "missing_info": [],
        "multi_issue": False,
        "contains_password": False,
    }

    def work(n: int) -> None:
        store = workers[n % len(workers)]
        ticket_id = f"t-{n}"
        store.log_prediction({"ticket_id": ticket_id, "subject": "s", "body": "b"}, prediction)
        store.correct(ticket_id, "engineer", {"priority": "P2"}, None, f"key-{n}")
        store.correct(ticket_id, "engineer", {"priority": "P2"}, None, f"key-{n}")  # a retry

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(200)))  # re-raises any "database is locked"
    assert workers[0].counts() == {"tickets": 200, "predictions": 200, "corrections": 200}
    assert workers[1].ticket("t-7")["current"]["priority"] == "P2"


def _logged(store, ticket_id, body, category="cms_plugins"):
    return (
        {"ticket_id": ticket_id, "subject": "s", "body": body},
        {
            "model_version": "v1",
            "category": category,
            "priority": "P3",
            "missing_info": [],
            "multi_issue": False,
            "contains_password": False,
        },
    )


@pytest.fixture(params=["driver", "core"])
def log_path(request, store):
    """The store writing its log with the driver's own SQL (SQLite, PostgreSQL) or with
    SQLAlchemy Core (what other databases get): both must store the same."""
    if request.param == "core":
        store._driver_log = None
    return store


def test_resent_tickets_update_their_text_unless_erased(log_path):
    store = log_path
    store.log_predictions([_logged(store, "a", "first")])
    store.log_predictions([_logged(store, "a", "second", "product_usage")])  # one re-sent
    assert store.ticket("a")["body"] == "second"
    assert store.ticket("a")["prediction"]["category"] == "product_usage"
    store.erase("a")
    store.log_predictions([_logged(store, "a", "third")])  # erased stays erased
    assert store.ticket("a")["body"] is None and store.ticket("a")["erased"]
    store.log_predictions([_logged(store, "b", "b1")])
    store.log_predictions(  # a batch: new, erased, known, and one id twice (the last wins)
        [
            _logged(store, "c", "c1"),
            _logged(store, "a", "a4"),
            _logged(store, "b", "b2"),
            _logged(store, "c", "c2"),
        ]
    )
    assert store.ticket("a")["body"] is None
    assert store.ticket("b")["body"] == "b2"
    assert store.ticket("c")["body"] == "c2"
    assert store.counts() == {"tickets": 3, "predictions": 8, "corrections": 0}
    predictions, _ = store.report_rows()
    assert sorted(p["ticket_id"] for p in predictions) == ["a", "b", "c"]  # newest per ticket


def test_a_report_read_never_holds_the_service_writes_up(tmp_path):
    url = f"sqlite:///{tmp_path / 'classifier.db'}"
    service, analyst = Store.open(url), Store.open(url)  # two processes' engines
    service.log_predictions([_logged(service, "a", "first")])
    with analyst.reading() as connection:
        connection.exec_driver_sql("SELECT count(*) FROM predictions").scalar()
        service.log_predictions([_logged(service, "b", "during the read")])  # not blocked
        seen = connection.exec_driver_sql("SELECT count(*) FROM predictions").scalar()
    assert seen == 1  # the read is one snapshot
    assert sorted(p["ticket_id"] for p in analyst.report_rows()[0]) == ["a", "b"]


def test_a_serialized_prediction_and_the_ticket_columns_read_back_as_written(log_path):
    store = log_path
    received = datetime(2026, 3, 2, 9, 40, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    ticket = {
        "ticket_id": "t-1",
        "subject": "Site plat",
        "body": "Onze webshop geeft een 502 sinds 10u — dringend",
        "received_at": received.astimezone(UTC),
        "channel": "email",
        "plan": "premium",
    }
    prediction = {
        "model_version": "v7",
        "category": "infrastructure",
        "priority": "P1",
        "confidence": {"category": 0.987654321, "priority": 1e-07},
        "follow_up": "Bedankt — wij bekijken het",
    }
    store.log_serialized([LogRow(ticket, "v7", json.dumps(prediction, ensure_ascii=False))])
    stored = store.ticket("t-1")
    assert stored["prediction"] == prediction
    assert as_utc(stored["received_at"]) == received
    assert (stored["subject"], stored["body"], stored["plan"]) == (
        ticket["subject"],
        ticket["body"],
        "premium",
    )
    logged, _ = store.report_rows()
    assert logged[0]["model_version"] == "v7"
    assert abs(logged[0]["created_at"] - datetime.now(UTC)) < timedelta(minutes=5)


def _wal_pages(path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size // 4096 if wal.exists() else 0


def _row(n: int, body: str = "b" * 3000) -> LogRow:
    return LogRow({"ticket_id": f"t-{n}", "subject": "s", "body": body}, "v1", "{}")


def test_writes_do_not_checkpoint_the_wal_themselves_the_checkpointer_thread_does(tmp_path):
    """A commit that fills the WAL used to copy it into the database and sync the file itself
    (15-20 ms for every 150th prediction); the Store's own thread does that now."""
    path = tmp_path / "classifier.db"
    store = Store.open(f"sqlite:///{path}")
    assert store.checkpointer is not None
    store.checkpointer.interval = 3600  # one checkpoint, then none during this test's writes
    store.log_serialized([_row(0)])
    deadline = time.monotonic() + 10
    while store.checkpointer.checkpoints < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.checkpointer.checkpoints == 1
    for n in range(1, 1500):
        store.log_serialized([_row(n)])
    # SQLite's own checkpoints would have started the WAL over at 1,000 pages
    assert _wal_pages(path) > 5000
    store.close()  # a last checkpoint of everything
    assert store.checkpointer.checkpoints == 2 and store.checkpointer.restarts == 1
    reopened = Store.open(f"sqlite:///{path}")
    assert reopened.counts()["predictions"] == 1500
    reopened.close()


def test_the_checkpointer_bounds_the_wal_under_steady_writes(tmp_path):
    """Back-to-back writes never leave the WAL fully copied, so it would never start over:
    past `max_pages` a RESTART checkpoint (under the write lock) makes it."""
    path = tmp_path / "classifier.db"
    store = Store.open(f"sqlite:///{path}")
    store.checkpointer.interval = 0.01
    store.checkpointer.max_pages = 500
    largest = 0
    for n in range(3000):  # about 7 pages each: 22,000 pages in all
        store.log_serialized([_row(n)])
        largest = max(largest, _wal_pages(path))
    store.close()
    assert store.checkpointer.restarts >= 1
    assert largest < 5000
