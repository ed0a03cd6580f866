"""The intake policy is configuration: closing days, 24/7 priorities and queues change the
predictions without code or retraining."""

from __future__ import annotations

import json

from classifier.schemas import Ticket
from classifier.settings import Settings
from tests.conftest import MODEL_DIR

VPS_DOWN = Ticket(
    subject="VPS volledig down",
    body="Onze VPS vps-8.tegelwerken-claes.be is volledig onbereikbaar, ssh time-out, alles ligt plat.",
    received_at="2026-03-13T16:30:00+01:00",
    plan="standard",
)


def test_closing_days_routes_and_round_the_clock_come_from_settings(tmp_path, monkeypatch):
    routing = tmp_path / "routing.json"
    routing.write_text(json.dumps({"default": "desk", "routes": {"infrastructure:*": "noc"}}))
    monkeypatch.setenv("CLASSIFIER_SLA_POLICY", json.dumps({"closing_days": ["2026-03-16"]}))
    settings = Settings(model_dir=MODEL_DIR, routing_file=routing)
    [p] = settings.load_model().predict([VPS_DOWN])
    assert p.priority == "P1"
    assert p.respond_by.isoformat() == "2026-03-17T10:30:00+01:00"  # Monday closed
    assert p.route == "noc"
    premium = VPS_DOWN.model_copy(update={"plan": "premium"})
    [q] = settings.load_model().predict([premium])
    assert q.respond_by.isoformat() == "2026-03-13T18:30:00+01:00"  # 24/7 for premium P1
