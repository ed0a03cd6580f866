"""The HTTP API against both stores: predictions, log, corrections, roles, errors, faults."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy

from tests.api.conftest import PG_URL

VPS_DOWN = {
    "subject": "VPS onbereikbaar",
    "body": "Onze VPS vps-21.schrijnwerk-lemmens.be reageert niet meer sinds 9u, ssh time-out.",
    "received_at": "2026-03-02T09:40:00+01:00",
    "channel": "email",
    "plan": "premium",
}


def new_id() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def test_predict_returns_the_cli_shape_and_logs_the_ticket(api):
    ticket_id = new_id()
    response = api.post("/v1/predict", "intake", {"id": ticket_id, **VPS_DOWN})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == ticket_id
    assert body["category"] == "infrastructure" and body["priority"] in ("P1", "P2")
    assert {
        "missing_info",
        "confidence",
        "alternatives",
        "decision",
        "explanation",
        "secret_spans",
        "model_version",
    } <= set(body)
    stored = api.get(f"/v1/predictions/{ticket_id}", "engineer").json()
    assert stored["prediction"]["priority"] == body["priority"]
    assert stored["current"]["category"] == "infrastructure"
    assert stored["body"] == VPS_DOWN["body"]


def test_an_id_is_generated_when_absent(api):
    body = api.post(
        "/v1/predict", "intake", {"subject": "Factuur", "body": "Mijn factuur klopt niet"}
    ).json()
    assert body["id"].startswith("t-")
    assert api.get(f"/v1/predictions/{body['id']}", "analyst").status_code == 200


CONCURRENT = [
    ("Mailbox vol", "Mijn mailbox info@bakkerij-claes.be zit vol, ik kan niets meer ontvangen."),
    ("Site plat!!", "Onze webshop www.fietsen-peeters.be geeft sinds 10u een 502 Bad Gateway."),
    ("Question facture", "Bonjour, pourquoi ma facture de novembre est-elle plus élevée ?"),
    ("WordPress plugin", "After updating WooCommerce the checkout page is blank on my site."),
    ("Printer", "Mijn printer op kantoor drukt niet meer af, kunnen jullie helpen?"),
    ("DNS", "Ik wil een A-record toevoegen voor shop.kapsalon-nele.be, hoe doe ik dat?"),
]


def test_concurrent_requests_are_batched_and_each_gets_its_own_prediction(api):
    """Requests arriving while the predictor is busy are predicted together (micro-batching):
    every client still gets the prediction of its own ticket, as when it is sent alone, and
    every ticket is logged."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    tickets = [
        {"id": new_id(), "subject": subject, "body": body, "received_at": VPS_DOWN["received_at"]}
        for subject, body in CONCURRENT * 2
    ]
    alone = {}
    for ticket in tickets[:6]:
        alone[ticket["subject"]] = api.post("/v1/predict", "intake", ticket).json()
    batcher = api.client.app.state.classifier.batcher
    busy = threading.Event()
    batcher._executor.submit(busy.wait, 10)  # the predictor is busy: requests pile up
    before = batcher.batches
    with ThreadPoolExecutor(len(tickets)) as pool:
        futures = [pool.submit(api.post, "/v1/predict", "intake", t) for t in tickets]
        for _ in range(1000):
            if len(batcher._pending) >= len(tickets) - 1:
                break
            threading.Event().wait(0.01)
        busy.set()
        responses = [f.result() for f in futures]
    assert all(r.status_code == 200 for r in responses)
    assert batcher.batches - before <= 2
    # /metrics counts the held-up requests as one batch of 9 to 16 in its size histogram
    from prometheus_client.parser import text_string_to_metric_families

    buckets = {
        sample.labels["le"]: sample.value
        for family in text_string_to_metric_families(api.client.get("/metrics").text)
        if family.name == "classifier_micro_batch_tickets"
        for sample in family.samples
        if sample.name.endswith("_bucket")
    }
    assert buckets["16.0"] - buckets["8.0"] == 1
    for ticket, response in zip(tickets, responses, strict=True):
        got, solo = response.json(), alone[ticket["subject"]]
        assert got["id"] == ticket["id"]
        for field in ("category", "priority", "missing_info", "multi_issue", "confidence"):
            assert got[field] == solo[field], (ticket["subject"], field)
        stored = api.get(f"/v1/predictions/{ticket['id']}", "engineer").json()
        assert stored["prediction"]["category"] == got["category"]


def test_batch_keeps_order_and_reports_bad_tickets_in_place(api):
    tickets = [
        {
            "id": new_id(),
            "subject": "Outlook op laptop",
            "body": "Kunnen jullie Outlook op mijn laptop zetten?",
        },
        {"id": new_id(), "subject": 5, "body": "x"},
        {"id": new_id(), "subject": "", "body": ""},
        {"id": new_id(), **VPS_DOWN},
    ]
    response = api.post("/v1/predict/batch", "engineer", {"tickets": tickets})
    assert response.status_code == 200, response.text
    out = response.json()["predictions"]
    assert len(out) == 4
    assert out[0]["id"] == tickets[0]["id"] and out[0]["category"] == "out_of_scope_device"
    assert out[1]["error"]["field"] == "tickets.1.subject"
    assert out[2]["error"]["field"] == "tickets.2.body"
    assert out[3]["id"] == tickets[3]["id"]
    too_many = api.post("/v1/predict/batch", "intake", {"tickets": [{"subject": "x"}] * 1001})
    assert too_many.status_code == 422 and too_many.json()["error"]["field"] == "tickets"


@pytest.mark.parametrize(
    ("role", "path", "method", "status"),
    [
        (None, "/v1/predict", "post", 401),
        ("intake", "/v1/predictions/x", "get", 403),
        ("analyst", "/v1/predict", "post", 403),
        ("intake", "/v1/corrections", "get", 403),
        ("engineer", "/v1/admin/reload", "post", 403),
        ("analyst", "/v1/tickets/x", "delete", 403),
        ("engineer", "/v1/model", "get", 403),
        ("intake", "/v1/reports/accuracy", "get", 403),
        ("engineer", "/reports", "get", 403),
        (None, "/reports", "get", 401),
    ],
)
def test_roles(api, role, path, method, status):
    headers = api.headers(role) if role else {}
    response = api.client.request(
        method.upper(), path, headers=headers, json=VPS_DOWN if method == "post" else None
    )
    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message", "field"}


def test_unknown_key_is_401(api):
    response = api.client.post(
        "/v1/predict", json=VPS_DOWN, headers={"Authorization": "Bearer not-a-key-at-all-000000"}
    )
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_bad_requests_get_a_clear_error(api):
    wrong_type = api.post("/v1/predict", "intake", {"subject": ["x"], "body": "y"})
    assert wrong_type.status_code == 422 and wrong_type.json()["error"]["field"] == "subject"
    extra = api.post("/v1/predict", "intake", {"subject": "x", "body": "y", "urgent": True})
    assert extra.status_code == 422 and extra.json()["error"]["field"] == "urgent"
    naive = api.post(
        "/v1/predict", "intake", {"subject": "x", "body": "y", "received_at": "2026-03-02T09:40:00"}
    )
    assert naive.status_code == 422 and naive.json()["error"]["field"] == "received_at"
    malformed = api.client.post(
        "/v1/predict",
        content=b'{"subject": ',
        headers=api.headers("intake", **{"Content-Type": "application/json"}),
    )
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "malformed_json"
    text = api.client.post(
        "/v1/predict",
        content=b"subject=x",
        headers=api.headers("intake", **{"Content-Type": "text/plain"}),
    )
    assert text.status_code == 415
    huge = api.post("/v1/predict", "intake", {"subject": "x", "body": "a " * 140_000})
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "too_large"


def test_the_fast_predict_path_answers_as_fastapi_does(api):
    """POST /v1/predict validates a well-formed request itself (PredictRoute) and leaves every
    other to FastAPI: with any dependency override FastAPI handles them all, and the answers
    (status, error body, prediction) are the same either way."""
    import re

    good = {"subject": "Site plat", "body": "de webshop www.fietsen-peeters.be geeft een 502"}
    requests = []
    for auth in (api.headers("intake"), api.headers("analyst"), {}, {"Authorization": "Bearer"}):
        for content_type in ("application/json", "application/json; charset=utf-8", "text/plain"):
            for body in (
                json.dumps(good).encode(),
                b'{"subject": ',
                b"\xef\xbb\xbf" + json.dumps(good).encode(),  # json.loads takes a BOM
                json.dumps({**good, "urgent": True}).encode(),
                json.dumps({"subject": " ", "body": ""}).encode(),
                json.dumps({**good, "received_at": "2026-03-02T09:40:00"}).encode(),
                b"[]",
                b"",
            ):
                requests.append(({**auth, "Content-Type": content_type}, body))

    def answers() -> list[tuple[int, str]]:
        out = []
        for headers, body in requests:
            response = api.client.post("/v1/predict", content=body, headers=headers)
            text = re.sub(r'"t-[0-9a-f]{12}"', "ID", response.text)
            out.append((response.status_code, re.sub(r'"respond_by":"[^"]+"', "BY", text)))
        return out

    fast = answers()
    app = api.client.app
    app.dependency_overrides[test_the_fast_predict_path_answers_as_fastapi_does] = dict
    try:
        assert answers() == fast
    finally:
        app.dependency_overrides.clear()
    assert {status for status, _ in fast} == {200, 400, 401, 403, 415, 422}


def _chunks(data: bytes, size: int = 8192):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_a_body_without_a_length_is_cut_off_at_the_limit(api):
    """A chunked body (no Content-Length) is counted as it is read: past the limit it is a
    413, like a declared length over the limit; within it, it is predicted as usual."""
    headers = api.headers("intake", **{"Content-Type": "application/json"})
    huge = json.dumps({"subject": "x", "body": "a " * 140_000}).encode()
    response = api.client.post("/v1/predict", content=_chunks(huge), headers=headers)
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "too_large",
        "message": f"the body is over {api.settings.max_ticket_bytes} bytes",
        "field": None,
    }
    correction = json.dumps({"ticket_id": "t-x", "note": "n" * 70_000}).encode()
    response = api.client.post(
        "/v1/corrections",
        content=_chunks(correction),
        headers=api.headers("engineer", **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    small = json.dumps({"id": new_id(), **VPS_DOWN}).encode()
    response = api.client.post("/v1/predict", content=_chunks(small, 16), headers=headers)
    assert response.status_code == 200 and response.json()["category"] == "infrastructure"


def test_corrections_history_latest_wins_and_idempotency(api):
    ticket_id = api.post("/v1/predict", "intake", {"id": new_id(), **VPS_DOWN}).json()["id"]
    first = api.post("/v1/corrections", "engineer", {"ticket_id": ticket_id, "priority": "P1"})
    assert first.status_code == 201, first.text
    key = uuid.uuid4().hex
    payload = {"ticket_id": ticket_id, "priority": "P2", "note": "several packages, not the VPS"}
    second = api.post("/v1/corrections", "engineer", payload, headers={"Idempotency-Key": key})
    assert second.status_code == 201
    assert second.json()["before"] == {"priority": "P1"} and second.json()["after"] == {
        "priority": "P2"
    }
    replay = api.post("/v1/corrections", "engineer", payload, headers={"Idempotency-Key": key})
    assert replay.status_code == 200 and replay.json() == second.json()
    reused = api.post(
        "/v1/corrections",
        "engineer",
        {**payload, "priority": "P3"},
        headers={"Idempotency-Key": key},
    )
    assert reused.status_code == 422 and reused.json()["error"]["field"] == "Idempotency-Key"
    stored = api.get(f"/v1/predictions/{ticket_id}", "engineer").json()
    assert [c["after"]["priority"] for c in stored["corrections"]] == ["P1", "P2"]
    assert stored["current"]["priority"] == "P2"
    assert stored["corrections"][0]["author"] == "engineer"
    unknown = api.post("/v1/corrections", "engineer", {"ticket_id": "t-nope", "priority": "P1"})
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "ticket_id"
    nothing = api.post("/v1/corrections", "engineer", {"ticket_id": ticket_id})
    assert nothing.status_code == 422


def test_the_deadline_follows_a_corrected_priority(api):
    ticket = {
        "id": new_id(),
        **VPS_DOWN,
        "plan": "standard",
        "received_at": "2026-03-13T16:30:00+01:00",
    }
    predicted = api.post("/v1/predict", "intake", ticket).json()
    assert predicted["route"].startswith("infra")
    api.post("/v1/corrections", "engineer", {"ticket_id": ticket["id"], "priority": "P1"})
    assert (
        api.get(f"/v1/predictions/{ticket['id']}", "engineer").json()["current"]["respond_by"]
        == "2026-03-16T10:30:00+01:00"
    )
    api.post("/v1/corrections", "engineer", {"ticket_id": ticket["id"], "priority": "P4"})
    assert (
        api.get(f"/v1/predictions/{ticket['id']}", "engineer").json()["current"]["respond_by"]
        == "2026-03-17T16:30:00+01:00"
    )


def test_correction_export_is_redacted_json_lines(api):
    body = "FTP lukt niet meer op fietsen-goris.be, wachtwoord: Ketting#2026 user goris"
    ticket_id = api.post(
        "/v1/predict", "intake", {"id": new_id(), "subject": "FTP", "body": body}
    ).json()["id"]
    api.post(
        "/v1/corrections",
        "engineer",
        {
            "ticket_id": ticket_id,
            "category": "product_usage",
            "missing_info": ["steps_tried", "error_message"],
        },
    )
    response = api.get("/v1/corrections", "analyst", params={"since": "2020-01-01T00:00:00Z"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in response.text.splitlines()]
    mine = next(r for r in records if r["id"] == ticket_id)
    assert mine["category"] == "product_usage"
    assert mine["missing_info"] == ["error_message", "steps_tried"]
    assert "Ketting#2026" not in response.text and "[REDACTED]" in mine["body"]
    later = api.get("/v1/corrections", "analyst", params={"since": "2999-01-01T00:00:00Z"})
    assert later.text == ""


def test_erasing_a_ticket_keeps_only_its_labels(api):
    ticket_id = api.post("/v1/predict", "intake", {"id": new_id(), **VPS_DOWN}).json()["id"]
    api.post(
        "/v1/corrections",
        "engineer",
        {"ticket_id": ticket_id, "priority": "P1", "note": "klant belde"},
    )
    assert (
        api.client.delete(f"/v1/tickets/{ticket_id}", headers=api.headers("admin")).status_code
        == 204
    )
    stored = api.get(f"/v1/predictions/{ticket_id}", "admin").json()
    assert stored["erased"] and stored["subject"] is None and stored["body"] is None
    assert stored["current"]["priority"] == "P1"
    assert stored["corrections"][0]["note"] is None
    assert "explanation" not in stored["prediction"]
    assert api.client.delete("/v1/tickets/t-nope", headers=api.headers("admin")).status_code == 404


def test_model_info_health_and_metrics(api):
    info = api.get("/v1/model", "analyst").json()
    assert info["version"] and info["metrics"]["category_macro_f1"] > 0.9
    assert "urgent" in info["thresholds"]
    assert api.client.get("/healthz").json() == {"status": "ok"}
    assert api.client.get("/readyz").json() == {"status": "ready", "model": True, "store": True}
    api.post("/v1/predict", "intake", {"subject": "x", "body": "mijn mailbox is vol"})
    text = api.client.get("/metrics").text
    for name in (
        "classifier_requests_total",
        "classifier_request_seconds_bucket",
        "classifier_predictions_total",
        "classifier_corrections_total",
        "classifier_model_info",
    ):
        assert name in text


def test_reload_refuses_a_corrupt_model_and_keeps_serving(api):
    artifact = api.settings.model_dir / "model.joblib"
    original = artifact.read_bytes()
    try:
        artifact.write_bytes(original[:1000] + b"corrupt" + original[1007:])
        refused = api.post("/v1/admin/reload", "admin")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "model_refused"
        assert api.post("/v1/predict", "intake", VPS_DOWN).status_code == 200
    finally:
        artifact.write_bytes(original)
    reloaded = api.post("/v1/admin/reload", "admin")
    assert reloaded.status_code == 200 and reloaded.json()["version"]


def test_a_failing_store_never_loses_the_prediction(api, monkeypatch):
    state = api.client.app.state.classifier

    def broken(*_args, **_kwargs):
        raise sqlalchemy.exc.OperationalError("INSERT", {}, Exception("disk full"))

    def failures() -> float:
        for line in api.client.get("/metrics").text.splitlines():
            if line.startswith("classifier_store_write_failures_total "):
                return float(line.split()[-1])
        raise AssertionError("the store failure counter is not exported")

    before = failures()
    monkeypatch.setattr(state.store, "log_serialized", broken)
    response = api.post("/v1/predict", "intake", VPS_DOWN)
    assert response.status_code == 200 and response.json()["category"]
    assert failures() == before + 1
    monkeypatch.setattr(state.store, "correct", broken)
    failed = api.post("/v1/corrections", "engineer", {"ticket_id": "t-any", "priority": "P1"})
    assert failed.status_code == 503 and failed.json()["error"]["code"] == "store_unavailable"


SECRETS = [
    ("Mijn wachtwoord is Zomerzon!2026", "Zomerzon!2026"),
    ("mot de passe : Gaufre#Liege77", "Gaufre#Liege77"),
    ("DB_PASSWORD=Kx7pL2vQ9#", "Kx7pL2vQ9#"),
    ("define('DB_PASSWORD', 'Wafel-Kermis-88');", "Wafel-Kermis-88"),
    ("mysql://webshop:Sp3culoos!@db.internal/shop", "Sp3culoos!"),
    ("ftp login: bakker_ftp / Broodje&Kaas5", "Broodje&Kaas5"),
    ("De EPP-code is Tr4nsfer#Code9", "Tr4nsfer#Code9"),
    ("token ghp_Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp", "ghp_Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp"),
]


def test_planted_secrets_are_never_stored_or_logged(api, caplog_all):
    ids = []
    for text, _secret in SECRETS:
        ticket_id = new_id()
        ids.append(ticket_id)
        body = f"Hallo, de site van kapsalon-mira.be werkt niet. {text} Groeten"
        response = api.post(
            "/v1/predict", "intake", {"id": ticket_id, "subject": f"Site stuk {text}", "body": body}
        )
        assert response.status_code == 200 and response.json()["contains_password"]
        # an engineer's note may quote the secret too
        note = f"klant gaf het door: {text}"
        corrected = api.post(
            "/v1/corrections", "engineer", {"ticket_id": ticket_id, "priority": "P3", "note": note}
        )
        assert corrected.status_code == 201 and "[REDACTED]" in corrected.json()["note"]
    secrets = [secret for _, secret in SECRETS]
    if api.backend == "sqlite":
        raw = b"".join(p.read_bytes() for p in api.data_dir.glob("classifier.db*"))
        assert raw, "the SQLite file should exist"
        dumped = raw.decode("utf-8", "replace")
    else:
        engine = sqlalchemy.create_engine(
            PG_URL, connect_args={"options": f"-csearch_path={api.schema}"}
        )
        with engine.connect() as connection:
            rows = [
                str(tuple(r))
                for table in ("tickets", "predictions", "corrections")
                for r in connection.exec_driver_sql(f"SELECT * FROM {table}")
            ]
        engine.dispose()
        dumped = "\n".join(rows)
    exported = api.get("/v1/corrections", "analyst").text
    logs = caplog_all.text
    for secret in secrets:
        assert secret not in dumped, f"{secret} stored in {api.backend}"
        assert secret not in exported and secret not in logs
    assert "[REDACTED]" in dumped


def test_openapi_declares_every_error_status(api):
    spec = api.client.get("/openapi.json").json()
    predict = spec["paths"]["/v1/predict"]["post"]["responses"]
    assert {"200", "400", "401", "403", "413", "415", "422"} <= set(predict)
    corrections = spec["paths"]["/v1/corrections"]["post"]["responses"]
    assert {"201", "404", "409", "422", "503"} <= set(corrections)


def test_the_latest_accuracy_report_is_served_to_analysts(api, model):
    """Before a report exists: a clear 404. After `report` wrote one from this service's own
    store (predictions and a correction made through the API): the same figures and page."""
    from training.dataset import load_tickets, split_tickets
    from training.pipeline import read_live_rows
    from training.report import build_report, write_report

    missing = api.get("/v1/reports/accuracy", "analyst")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_report"
    assert "ticket-classifier report" in missing.json()["error"]["message"]
    ticket_id = api.post("/v1/predict", "intake", {"id": new_id(), **VPS_DOWN}).json()["id"]
    api.post("/v1/corrections", "engineer", {"ticket_id": ticket_id, "priority": "P2"})
    settings = api.settings
    rows = read_live_rows(settings.store_url, settings.database_schema)
    assert ticket_id in {r["ticket_id"] for r in rows[0]}
    _, test = split_tickets(load_tickets())
    written = build_report(model, test.head(20), rows)
    write_report(written, settings.report_dir)
    figures = api.get("/v1/reports/accuracy", "analyst")
    assert figures.status_code == 200 and figures.headers["content-type"] == "application/json"
    assert figures.json()["live"]["status"] == "ok"
    assert figures.json()["live"]["corrections"] >= 1
    page = api.get("/reports", "admin")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Agreement with the final labels" in page.text
    assert page.text.count("data:image/png;base64,") == len(figures.json()["figures"])
