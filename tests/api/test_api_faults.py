"""What clients may send that once reached a 500 or lost data, and store faults on every route:
each gets a clear 4xx or a JSON 503, and nothing already accepted is lost."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy

from tests.api.test_api import VPS_DOWN


def new_id() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def test_a_received_time_out_of_range_is_a_422_not_a_500(api):
    for when in ("9999-12-31T20:00:00Z", "0001-01-01T00:00:00+14:00"):
        response = api.post("/v1/predict", "intake", {**VPS_DOWN, "received_at": when})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == "received_at"
    batch = api.post(
        "/v1/predict/batch",
        "intake",
        {"tickets": [VPS_DOWN, {**VPS_DOWN, "received_at": "9999-12-31T20:00:00Z"}, VPS_DOWN]},
    )
    assert batch.status_code == 200, batch.text
    first, bad, last = batch.json()["predictions"]
    assert first["category"] and last["category"]
    assert bad["error"]["field"] == "tickets.1.received_at"


def test_ids_no_store_can_hold_are_refused_or_not_found(api):
    bad = api.post("/v1/predict", "intake", {**VPS_DOWN, "id": "a\x00b"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "id"
    for path in ("/v1/predictions/a%00b", "/v1/predictions/a%01b"):
        assert api.get(path, "engineer").status_code == 404
    erase = api.client.delete("/v1/tickets/a%00b", headers=api.headers("admin"))
    assert erase.status_code == 404
    correct = api.post("/v1/corrections", "engineer", {"ticket_id": "a\x00b", "priority": "P3"})
    assert correct.status_code == 404


def test_unstorable_characters_in_a_batch_cost_no_ticket_its_log_row(api):
    ids = [new_id() for _ in range(3)]
    tickets = [
        {"id": ids[0], **VPS_DOWN},
        # NUL: PostgreSQL refuses it in text; a lone surrogate has no UTF-8 for SQLite
        {
            "id": ids[1],
            "subject": "Site \x00 stuk",
            "body": "de site van bakkerij-peeters.be \ud800",
        },
        {"id": ids[2], **VPS_DOWN},
    ]
    body = json.dumps({"tickets": tickets})  # \u0000 and \ud800 as JSON escapes
    response = api.client.post(
        "/v1/predict/batch",
        content=body,
        headers=api.headers("intake", **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 200, response.text
    assert all("category" in p for p in response.json()["predictions"])
    for ticket_id in ids:
        stored = api.get(f"/v1/predictions/{ticket_id}", "engineer")
        assert stored.status_code == 200, (ticket_id, stored.text)
    assert "\x00" not in api.get(f"/v1/predictions/{ids[1]}", "engineer").json()["subject"]


def test_a_correction_breaking_the_guide_is_refused_and_not_written(api):
    ticket_id = new_id()
    api.post("/v1/predict", "intake", {"id": ticket_id, **VPS_DOWN})
    refused = api.post(
        "/v1/corrections",
        "engineer",
        {"ticket_id": ticket_id, "category": "out_of_scope_device", "priority": "P1"},
    )
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "priority"
    assert api.get(f"/v1/predictions/{ticket_id}", "engineer").json()["corrections"] == []
    # a P1 ticket's category alone cannot become a device question ...
    alone = api.post(
        "/v1/corrections", "engineer", {"ticket_id": ticket_id, "category": "out_of_scope_device"}
    )
    assert alone.status_code == 422
    # ... with its priority and missing information it can
    both = api.post(
        "/v1/corrections",
        "engineer",
        {
            "ticket_id": ticket_id,
            "category": "out_of_scope_device",
            "priority": "P4",
            "missing_info": [],
        },
    )
    assert both.status_code == 201, both.text
    bad_codes = api.post(
        "/v1/corrections", "engineer", {"ticket_id": ticket_id, "missing_info": ["ip_address"]}
    )
    assert bad_codes.status_code == 422 and bad_codes.json()["error"]["field"] == "missing_info"


def test_since_with_an_offset_is_compared_in_utc(api):
    ticket_id = new_id()
    api.post("/v1/predict", "intake", {"id": ticket_id, **VPS_DOWN})
    made = api.post("/v1/corrections", "engineer", {"ticket_id": ticket_id, "priority": "P2"})
    at = datetime.fromisoformat(made.json()["created_at"]).astimezone(UTC)

    def exported(since: datetime) -> set[str]:
        text = api.get("/v1/corrections", "analyst", params={"since": since.isoformat()}).text
        return {json.loads(line)["id"] for line in text.splitlines()}

    # an hour before, written in +02:00: on the wall clock an hour *after* it in UTC
    assert ticket_id in exported((at - timedelta(hours=1)).astimezone(timezone(timedelta(hours=2))))
    # an hour after, written in -05:00: on the wall clock hours *before* it in UTC
    assert ticket_id not in exported(
        (at + timedelta(hours=1)).astimezone(timezone(timedelta(hours=-5)))
    )
    early = api.get("/v1/corrections", "analyst", params={"since": "0001-01-01T00:00:00+14:00"})
    assert early.status_code == 422 and early.json()["error"]["field"] == "since"
    assert api.get("/v1/corrections", "analyst", params={"since": "not a date"}).status_code == 422


def test_a_store_failing_on_reads_is_a_json_503(api, monkeypatch):
    state = api.client.app.state.classifier

    def broken(*_args, **_kwargs):
        raise sqlalchemy.exc.OperationalError("SELECT", {}, Exception("no such table"))

    monkeypatch.setattr(state.store, "ticket", broken)
    monkeypatch.setattr(state.store, "export_corrections", broken)
    for path, role in (("/v1/predictions/t-x", "engineer"), ("/v1/corrections", "analyst")):
        response = api.get(path, role)
        assert response.status_code == 503, (path, response.text)
        assert response.json()["error"]["code"] == "store_unavailable"


def test_reload_refuses_metadata_it_cannot_describe_and_keeps_serving(api):
    meta_path = api.settings.model_dir / "metadata.json"
    original = meta_path.read_text(encoding="utf-8")
    serving = api.get("/v1/model", "admin").json()["version"]
    try:
        for broken in (
            [],
            {**json.loads(original), "thresholds": "oops"},
            {**json.loads(original), "metrics": [1]},
        ):
            meta_path.write_text(json.dumps(broken), encoding="utf-8")
            refused = api.post("/v1/admin/reload", "admin")
            assert refused.status_code == 409, refused.text
            assert refused.json()["error"]["code"] == "model_refused"
            info = api.get("/v1/model", "admin")
            assert info.status_code == 200 and info.json()["version"] == serving
    finally:
        meta_path.write_text(original, encoding="utf-8")
    assert api.post("/v1/admin/reload", "admin").status_code == 200


def test_a_batch_entry_that_is_no_ticket_or_too_large_gets_an_error_in_place(api):
    big = {"subject": "groot", "body": "x" * (api.settings.max_ticket_bytes + 1)}
    response = api.post("/v1/predict/batch", "intake", {"tickets": [VPS_DOWN, 1, None, big]})
    assert response.status_code == 200, response.text
    good, number, null, large = response.json()["predictions"]
    assert good["category"]
    assert number["error"]["field"] == "tickets.1" and null["error"]["field"] == "tickets.2"
    assert large["error"]["code"] == "too_large" and large["error"]["field"] == "tickets.3.body"


def test_a_wrong_role_is_told_what_it_may_not_do(api):
    refused = api.get("/v1/model", "intake")
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "the intake role may not read the model's details"


def test_bodies_that_are_no_json_in_utf8_are_malformed_json(api):
    headers = api.headers("intake", **{"Content-Type": "application/json"})
    for body in (b'\xff\xfe{"subject": "x"}', b'{"subject": "\xe9"}', b"[" * 100_000):
        response = api.client.post("/v1/predict", content=body, headers=headers)
        assert response.status_code == 400, body[:20]
        assert response.json()["error"]["code"] == "malformed_json"
    empty = api.client.post("/v1/predict", content=b"", headers=headers)
    assert empty.status_code == 422
    assert empty.json()["error"]["message"] == "the request needs a JSON body"


def test_correction_flags_are_json_booleans_and_the_export_times_iso(api):
    ticket_id = new_id()
    api.post("/v1/predict", "intake", {"id": ticket_id, **VPS_DOWN})
    loose = api.post("/v1/corrections", "engineer", {"ticket_id": ticket_id, "multi_issue": "yes"})
    assert loose.status_code == 422 and loose.json()["error"]["field"] == "multi_issue"
    api.post("/v1/corrections", "engineer", {"ticket_id": ticket_id, "multi_issue": True})
    lines = api.get("/v1/corrections", "analyst").text.splitlines()
    [mine] = [json.loads(line) for line in lines if json.loads(line)["id"] == ticket_id]
    assert datetime.fromisoformat(mine["corrected_at"]).tzinfo is not None
    assert "T" in mine["corrected_at"]


def test_readiness_fails_when_the_store_does(api, monkeypatch):
    assert api.client.get("/readyz").status_code == 200
    state = api.client.app.state.classifier

    def down():
        raise sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(state.store, "ping", down)
    response = api.client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "not ready", "model": True, "store": False}


def test_a_batch_over_the_limit_is_413(api):
    ticket = {"subject": "groot", "body": "x" * 100_000}
    body = json.dumps({"tickets": [ticket] * 110})  # about 11 MB, under 1,000 tickets
    response = api.client.post(
        "/v1/predict/batch",
        content=body,
        headers=api.headers("intake", **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"


def _failures(api) -> float:
    for line in api.client.get("/metrics").text.splitlines():
        if line.startswith("classifier_store_write_failures_total "):
            return float(line.split()[-1])
    raise AssertionError("the store failure counter is not exported")


def test_a_row_the_store_refuses_costs_only_that_row(api, monkeypatch):
    state = api.client.app.state.classifier
    original = state.store.log_serialized
    ids = [new_id() for _ in range(3)]

    def refusing(rows):
        if any(row.ticket["ticket_id"] == ids[1] for row in rows):
            raise sqlalchemy.exc.DataError("INSERT", {}, Exception("value refused"))
        return original(rows)

    monkeypatch.setattr(state.store, "log_serialized", refusing)
    before = _failures(api)
    tickets = [{"id": ticket_id, **VPS_DOWN} for ticket_id in ids]
    assert api.post("/v1/predict/batch", "intake", {"tickets": tickets}).status_code == 200
    assert _failures(api) == before + 1
    found = [api.get(f"/v1/predictions/{t}", "engineer").status_code for t in ids]
    assert found == [200, 404, 200]


def test_a_store_that_is_down_is_not_retried_row_by_row(api, monkeypatch):
    state = api.client.app.state.classifier
    calls = []

    def down(rows):
        calls.append(len(rows))
        raise sqlalchemy.exc.OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(state.store, "log_serialized", down)
    before = _failures(api)
    tickets = [{"id": new_id(), **VPS_DOWN} for _ in range(3)]
    response = api.post("/v1/predict/batch", "intake", {"tickets": tickets})
    assert response.status_code == 200 and all(
        "category" in p for p in response.json()["predictions"]
    )
    assert calls == [3] and _failures(api) == before + 3


def test_an_unexpected_error_is_a_json_500_logged_by_its_type_alone(api, monkeypatch, caplog_all):
    state = api.client.app.state.classifier

    def bug(*_args, **_kwargs):
        raise RuntimeError("klant schreef: wachtwoord Geheim!Wacht99")

    monkeypatch.setattr(state.store, "ticket", bug)
    response = api.get("/v1/predictions/t-any", "engineer")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal"
    assert "RuntimeError" in caplog_all.text and "Geheim" not in caplog_all.text


def test_an_oversized_batch_ticket_with_a_lone_surrogate_gets_its_error(api):
    body = "x" * api.settings.max_ticket_bytes + "\ud800"
    payload = json.dumps({"tickets": [VPS_DOWN, {"subject": "groot", "body": body}]})
    response = api.client.post(
        "/v1/predict/batch",
        content=payload,
        headers=api.headers("intake", **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 200, response.text
    assert response.json()["predictions"][1]["error"]["code"] == "too_large"
