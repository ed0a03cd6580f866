"""Confidences, decision levels, risk-aware urgency and the classification limit, checked on
the corpus's tickets against the model's own probabilities and stored thresholds."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from classifier.model import TicketClassifier
from classifier.schemas import PRIORITIES, Ticket
from tests.conftest import MODEL_DIR, ROOT

AT = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
BINARY_PARTS = ("error_given", "steps_given", "ip_needed", "subject_ok")


@pytest.fixture(scope="module")
def corpus_tickets() -> list[Ticket]:
    rows = [json.loads(line) for line in (ROOT / "data" / "tickets.jsonl").open(encoding="utf-8")]
    return [
        Ticket(id=r["id"], subject=r["subject"], body=r["body"], received_at=AT, plan=r["plan"])
        for r in rows[::4]
    ]


@pytest.fixture(scope="module")
def predicted(model, corpus_tickets):
    """Each ticket's prediction beside the probabilities it was decided from."""
    analyses = model.analyzer.analyze(corpus_tickets)
    rows = model._rows(model.probabilities(analyses))
    return list(zip(model.predict(corpus_tickets), rows, strict=True))


def _level(confidence: float, auto: float, suggest: float) -> str:
    return "auto" if confidence >= auto else "suggest" if confidence >= suggest else "review"


def test_multi_issue_confidence_is_the_probability_of_the_value_given(corpus_tickets):
    # a cut well below 0.5, so that many tickets are called multi-issue on less than even odds
    model = TicketClassifier.load(MODEL_DIR)
    model.fitted.thresholds.binary["multi_issue"] = cut = 0.2
    rows = model._rows(model.probabilities(model.analyzer.analyze(corpus_tickets)))
    between = 0
    for prediction, p in zip(model.predict(corpus_tickets), rows, strict=True):
        assert prediction.multi_issue == (p.multi_issue >= cut)
        expected = p.multi_issue if prediction.multi_issue else 1 - p.multi_issue
        assert prediction.confidence["multi_issue"] == pytest.approx(expected, abs=1e-4)
        between += cut <= p.multi_issue < 0.5
    # tickets called multi-issue on less than even odds: their confidence is under 0.5
    assert between > 0


def test_missing_info_confidence_is_its_least_certain_part(corpus_tickets):
    # cuts of their own for two of the parts, so that the probability of the value each part
    # gave differs from the larger of p and 1 - p
    model = TicketClassifier.load(MODEL_DIR)
    cuts = {"error_given": 0.3, "steps_given": 0.7}
    model.fitted.thresholds.binary.update(cuts)
    rows = model._rows(model.probabilities(model.analyzer.analyze(corpus_tickets)))
    differs = 0
    for prediction, p in zip(model.predict(corpus_tickets), rows, strict=True):
        parts = []
        for name in BINARY_PARTS:
            q, cut = getattr(p, name), cuts.get(name, 0.5)
            parts.append(q if q >= cut else 1 - q)
        expected = min(parts)
        assert prediction.confidence["missing_info"] == pytest.approx(expected, abs=1e-4)
        differs += (
            abs(expected - min(max(q, 1 - q) for q in map(p.__getattribute__, BINARY_PARTS))) > 1e-3
        )
    assert differs > 0


def test_decision_levels_follow_the_stored_thresholds(model, predicted):
    thresholds = model.fitted.thresholds
    seen = set()
    for prediction, _ in predicted:
        for field in ("category", "priority"):
            label = getattr(prediction, field)
            level = _level(
                prediction.confidence[field],
                thresholds.auto[field][label],
                thresholds.suggest[field][label],
            )
            if field == "priority" and prediction.urgent:
                level = "review"
            assert prediction.decision[field] == level, (prediction.id, field)
            seen.add(level)
        value = "true" if prediction.multi_issue else "false"
        assert prediction.decision["multi_issue"] == _level(
            prediction.confidence["multi_issue"],
            thresholds.auto["multi_issue"][value],
            thresholds.suggest["multi_issue"][value],
        )
        assert prediction.decision["contains_password"] == "auto"
        assert prediction.needs_review == (
            prediction.urgent or "review" in prediction.decision.values()
        )
    assert {"auto", "review"} <= seen


def test_urgent_tickets_are_flagged_for_review_and_never_below_p2(predicted):
    urgent = [prediction for prediction, _ in predicted if prediction.urgent]
    assert urgent
    for prediction in urgent:
        assert prediction.priority in ("P1", "P2")
        assert prediction.decision["priority"] == "review"
        assert prediction.needs_review


def test_urgency_threshold_is_configurable(corpus_tickets):
    strict = TicketClassifier.load(MODEL_DIR, urgent_threshold=1.0)
    eager = TicketClassifier.load(MODEL_DIR, urgent_threshold=0.02)
    few = strict.predict(corpus_tickets)
    many = eager.predict(corpus_tickets)
    assert not any(p.urgent for p in few)
    # a low threshold raises tickets with some P1/P2 mass to urgent, and to P1 or P2
    raised = [(a, b) for a, b in zip(few, many, strict=True) if b.urgent and not a.urgent]
    assert raised
    assert any(PRIORITIES.index(a.priority) > 1 for a, _ in raised)
    for _, b in raised:
        assert b.priority in ("P1", "P2") and b.needs_review


def test_urgency_threshold_comes_from_the_environment(monkeypatch):
    from classifier.settings import Settings

    monkeypatch.setenv("CLASSIFIER_URGENT_THRESHOLD", "0.73")
    monkeypatch.setenv("CLASSIFIER_MODEL_DIR", str(MODEL_DIR))
    assert Settings().load_model().urgent_threshold == 0.73


def test_classification_limit_is_configurable():
    body = "Onze website bakkerij-peeters.be toont een witte pagina na de update. " * 40
    ticket = Ticket(subject="Witte pagina na update", body=body, received_at=AT)
    short = TicketClassifier.load(MODEL_DIR, max_chars=1_000).predict([ticket])[0]
    default = TicketClassifier.load(MODEL_DIR).predict([ticket])[0]
    assert len(body) > 1_000
    assert short.truncated and not default.truncated
