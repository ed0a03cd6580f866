"""The service's Prometheus metrics (classifier/api/metrics.py): counted per label values."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from classifier.api.metrics import Metrics
from classifier.schemas import Prediction


def samples(metrics: Metrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    body, _ = metrics.render()
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == name
    }


def test_requests_are_counted_per_method_route_and_status():
    metrics = Metrics()
    for status in (200, 200, 422, 200, 401):
        metrics.observe("POST", "/v1/predict", status, 0.003)
    metrics.observe("GET", "/v1/predict", 405, 0.001)
    metrics.observe("POST", "/v1/predict/batch", 200, 0.2)
    counted = samples(metrics, "classifier_requests_total")
    post = (("method", "POST"), ("route", "/v1/predict"))
    assert counted[(*post, ("status", "200"))] == 3
    assert counted[(*post, ("status", "422"))] == 1
    assert counted[(*post, ("status", "401"))] == 1
    assert counted[(("method", "GET"), ("route", "/v1/predict"), ("status", "405"))] == 1
    batch = (("method", "POST"), ("route", "/v1/predict/batch"), ("status", "200"))
    assert counted[batch] == 1
    latency = samples(metrics, "classifier_request_seconds_count")
    assert latency[post] == 5  # latency per method and route, every status
    assert samples(metrics, "classifier_request_seconds_sum")[post] == 0.015


def test_predictions_are_counted_per_label():
    metrics = Metrics()
    raw = {
        "id": "t-1",
        "category": "infrastructure",
        "priority": "P1",
        "missing_info": [],
        "multi_issue": False,
        "contains_password": False,
        "language": "nl",
        "confidence": {},
        "alternatives": {},
        "decision": {"priority": "auto"},
        "needs_review": False,
        "urgent": True,
        "language_fallback": False,
        "truncated": False,
        "explanation": {"rules_fired": [], "top_terms": [], "priority_terms": [], "signals": []},
        "secret_spans": [],
        "respond_by": "2026-03-02T10:40:00+01:00",
        "follow_up": None,
        "route": "infra",
        "model_version": "v1",
    }
    first = Prediction.model_validate(raw)
    second = Prediction.model_validate(
        {**raw, "priority": "P3", "contains_password": True, "decision": {"priority": "review"}}
    )
    for prediction in (first, second, first):
        metrics.count_prediction(prediction)
    counted = {
        dict(labels)["field"] + "=" + dict(labels)["label"]: value
        for labels, value in samples(metrics, "classifier_predictions_total").items()
    }
    assert counted == {
        "category=infrastructure": 3,
        "priority=P1": 2,
        "priority=P3": 1,
        "decision_priority=auto": 2,
        "decision_priority=review": 1,
        "contains_password=true": 1,
    }
