"""The embedded store under concurrent writers (as with several uvicorn workers)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from classifier.store import Store


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
