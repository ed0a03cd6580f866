"""Shared fixtures: the shipped model, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier.model import TicketClassifier
from classifier.schemas import Ticket

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = ROOT / "models"


@pytest.fixture(scope="session")
def model() -> TicketClassifier:
    return TicketClassifier.load(MODEL_DIR)


@pytest.fixture(scope="session")
def predict_one(model):
    def run(subject: str = "", body: str = "", **extra):
        return model.predict([Ticket(subject=subject, body=body, **extra)])[0]

    return run
