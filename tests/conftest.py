"""Shared fixtures: the shipped model, loaded once per test session."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy

from classifier.model import TicketClassifier
from classifier.schemas import Ticket
from classifier.store import Store

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = ROOT / "models"
PG_URL = os.environ.get(
    "CLASSIFIER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def model() -> TicketClassifier:
    return TicketClassifier.load(MODEL_DIR)


@pytest.fixture(scope="session")
def predict_one(model):
    def run(subject: str = "", body: str = "", **extra):
        return model.predict([Ticket(subject=subject, body=body, **extra)])[0]

    return run


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    """An empty store on each backend: a SQLite file, or a fresh schema on the PostgreSQL
    server (dropped afterwards)."""
    if request.param == "sqlite":
        opened = Store.open(f"sqlite:///{tmp_path / 'classifier.db'}")
        yield opened
        opened.close()
        return
    schema = f"tc_store_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(PG_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    opened = Store.open(PG_URL, schema)
    yield opened
    opened.close()
    with admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()
