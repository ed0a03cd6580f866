"""The store: re-sent and erased tickets in the prediction log (SQLite and PostgreSQL), and the
embedded store under concurrent writers (as with several uvicorn workers)."""

from __future__ import annotations

import json
import sqlite3
import threading
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
        "category": "infrastructure",
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
    for store in workers:
        store.close()


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
    service.close()
    analyst.close()


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


def _in_wal(connection: sqlite3.Connection) -> int:
    """The pages in the WAL now (what a checkpoint reports; it copies nothing new here)."""
    return connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]


@pytest.fixture
def quiet_store(tmp_path):
    """A SQLite store whose checkpoint thread runs once (at the first write) and then sleeps
    for the test's length: the test runs the checkpoints itself."""
    path = tmp_path / "classifier.db"
    store = Store.open(f"sqlite:///{path}")
    assert store.checkpointer is not None
    store.checkpointer.interval = 3600
    store.log_serialized([_row(-1)])
    deadline = time.monotonic() + 30
    while store.checkpointer.checkpoints < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.checkpointer.checkpoints == 1
    yield store, path
    store.close()


def test_writes_do_not_checkpoint_the_wal_themselves_the_store_thread_does(quiet_store):
    """A commit that fills the WAL used to copy it into the database and sync the file itself
    (15-20 ms for every 150th prediction); the Store's own thread does that now."""
    store, path = quiet_store
    for n in range(700):  # about 7 pages each
        store.log_serialized([_row(n)])
    # SQLite's own checkpoints would have started the WAL over at 1,000 pages
    assert _wal_pages(path) > 3000
    store.close()  # a last checkpoint of what was written
    assert store.checkpointer.checkpoints == 2
    reopened = Store.open(f"sqlite:///{path}")
    assert reopened.counts()["predictions"] == 701
    reopened.close()


def test_a_wal_over_max_pages_is_copied_with_the_writers_held_and_then_starts_over(quiet_store):
    store, _ = quiet_store
    checkpointer = store.checkpointer
    checkpointer.max_pages = 500
    for n in range(200):
        store.log_serialized([_row(n)])
    connection = checkpointer.connect()
    try:
        assert _in_wal(connection) > 1000
        checkpointer.checkpoint(connection)
        assert checkpointer.caught_up == 1
        store.log_serialized([_row(1000)])  # this write starts the WAL over
        assert _in_wal(connection) < 50
    finally:
        connection.close()


def test_a_reader_of_an_old_snapshot_is_not_waited_for_and_the_held_copy_backs_off(quiet_store):
    """A long report keeps any checkpoint from copying past its snapshot. Writers are then not
    held again and again: the held checkpoint waits `backoff` before its next try."""
    store, path = quiet_store
    checkpointer = store.checkpointer
    checkpointer.max_pages = 500
    reader = sqlite3.connect(path, isolation_level=None)
    connection = checkpointer.connect()
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM predictions").fetchone()  # holds its snapshot
        for n in range(200):
            store.log_serialized([_row(n)])
        checkpointer.checkpoint(connection)
        assert checkpointer.caught_up == 0
        held_after = checkpointer._held_after
        assert held_after > time.monotonic()
        checkpointer.checkpoint(connection)  # within the back-off: no held try
        assert checkpointer._held_after == held_after
        reader.execute("COMMIT")
        checkpointer._held_after = 0.0
        checkpointer.checkpoint(connection)  # the reader is gone: all of it is copied
        assert checkpointer.caught_up == 1
    finally:
        reader.close()
        connection.close()


def test_only_store_connections_leave_checkpoints_to_the_thread(tmp_path):
    from classifier.store import make_engine

    url = f"sqlite:///{tmp_path / 'classifier.db'}"
    store = Store.open(url)
    plain = make_engine(url)  # an engine without a Store's checkpoint thread
    try:
        with store.engine.connect() as connection:
            setting = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
            assert setting == store.checkpointer.SAFETY_NET_PAGES
        with plain.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    finally:
        plain.dispose()
        store.close()


def test_a_new_database_is_in_wal_mode_before_any_engine_connection_opens_it(tmp_path):
    """Switching to WAL needs the file to itself and fails at once otherwise: engines of
    several workers opening their first connections together used to meet "database is
    locked" (test_concurrent_writers_never_see_database_is_locked failed about 1 run in 30)."""
    path = tmp_path / "classifier.db"
    store = Store.open(f"sqlite:///{path}")
    try:
        assert store.engine.pool.checkedin() == 0  # no connection of the engine yet
        with sqlite3.connect(path) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        store.close()


def test_the_held_checkpoint_waits_for_the_stores_writers(quiet_store):
    """The copy that lets the WAL start over runs with this process's writers held: while a
    write holds the store's lock, it waits."""
    store, _ = quiet_store
    checkpointer = store.checkpointer
    checkpointer.max_pages = 500
    for n in range(200):
        store.log_serialized([_row(n)])

    def checkpoint() -> None:
        connection = checkpointer.connect()
        try:
            checkpointer.checkpoint(connection)
        finally:
            connection.close()

    worker = threading.Thread(target=checkpoint)
    with store._write_lock:  # a write in progress
        worker.start()
        worker.join(0.5)
        assert worker.is_alive() and checkpointer.caught_up == 0
    worker.join(30)
    assert not worker.is_alive() and checkpointer.caught_up == 1


def test_a_correction_breaking_the_guide_writes_nothing(store):
    from classifier.store import LabelConflict

    prediction = {
        "model_version": "v1",
        "category": "cms_plugins",
        "priority": "P3",
        "missing_info": ["steps_tried"],
        "multi_issue": False,
        "contains_password": False,
    }
    store.log_prediction({"ticket_id": "t-g", "subject": "s", "body": "b"}, prediction)
    with pytest.raises(LabelConflict) as raised:
        store.correct("t-g", "engineer", {"priority": "P1"}, None)
    assert raised.value.field == "priority"
    assert store.ticket("t-g")["corrections"] == []
    # a new priority drops the predicted codes it does not allow, in the same correction ...
    made = store.correct("t-g", "engineer", {"priority": "P4"}, None)
    assert made.after == {"priority": "P4", "missing_info": []}
    assert made.before == {"priority": "P3", "missing_info": ["steps_tried"]}
    assert store.ticket("t-g")["current"]["missing_info"] == []
    # ... and a corrected list must fit the labels
    with pytest.raises(LabelConflict):
        store.correct("t-g", "engineer", {"missing_info": ["error_message"]}, None)
    assert len(store.ticket("t-g")["corrections"]) == 1
