"""Prometheus metrics of one app (its own registry, so tests and reloads never collide)."""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    generate_latest,
)

from classifier.schemas import Prediction


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "classifier_requests",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "classifier_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.predictions = Counter(
            "classifier_predictions",
            "Predictions per label",
            ["field", "label"],
            registry=self.registry,
        )
        self.corrections = Counter(
            "classifier_corrections", "Corrections stored", registry=self.registry
        )
        self.store_failures = Counter(
            "classifier_store_write_failures",
            "Prediction log writes that failed",
            registry=self.registry,
        )
        self.micro_batch = Histogram(
            "classifier_micro_batch_tickets",
            "Single-ticket requests predicted together (POST /v1/predict)",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=self.registry,
        )
        self.model = Info("classifier_model", "The serving model", registry=self.registry)
        # the labelled children, looked up once per label values (`labels()` per request
        # cost as much as the counting)
        self._requests: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._predictions: dict[tuple[str, str], Any] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        children = self._requests.get((method, route, status))
        if children is None:
            children = self._requests[method, route, status] = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
        children[0].inc()
        children[1].observe(seconds)

    def count_prediction(self, prediction: Prediction) -> None:
        self._count("category", prediction.category)
        self._count("priority", prediction.priority)
        self._count("decision_priority", prediction.decision["priority"])
        if prediction.contains_password:
            self._count("contains_password", "true")

    def _count(self, field: str, label: str) -> None:
        child = self._predictions.get((field, label))
        if child is None:
            child = self._predictions[field, label] = self.predictions.labels(field, label)
        child.inc()

    def set_model(self, version: str) -> None:
        self.model.info({"version": version})

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
