"""An app per store backend: embedded SQLite and the PostgreSQL server on this machine, each test
module in its own schema (dropped afterwards)."""

from __future__ import annotations

import logging
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy
from fastapi.testclient import TestClient

from classifier.api import create_app
from classifier.settings import Settings
from tests.conftest import MODEL_DIR, PG_URL

KEYS = {
    "intake": "intake-key-0123456789abcdef",
    "engineer": "engineer-key-0123456789abcdef",
    "analyst": "analyst-key-0123456789abcdef",
    "admin": "admin-key-0123456789abcdef",
}


@dataclass
class Api:
    client: TestClient
    backend: str
    settings: Settings
    data_dir: Path
    schema: str | None

    def headers(self, role: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {KEYS[role]}", **extra}

    def post(self, path: str, role: str, json=None, **kw):
        return self.client.post(
            path, json=json, headers=self.headers(role, **kw.pop("headers", {})), **kw
        )

    def get(self, path: str, role: str, **kw):
        return self.client.get(path, headers=self.headers(role), **kw)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def api(request, tmp_path_factory):
    backend = request.param
    data_dir = tmp_path_factory.mktemp(f"api-{backend}")
    model_dir = data_dir / "model"
    shutil.copytree(MODEL_DIR, model_dir, ignore=shutil.ignore_patterns("*.md", "evaluation.json"))
    schema = None
    url = None
    if backend == "postgres":
        schema = f"tc_test_{uuid.uuid4().hex[:10]}"
        admin = sqlalchemy.create_engine(PG_URL)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = PG_URL
    settings = Settings(
        model_dir=model_dir,
        data_dir=data_dir,
        database_url=url,
        database_schema=schema,
        api_keys=",".join(f"{role}:{key}" for role, key in KEYS.items()),
    )
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, backend, settings, data_dir, schema)
    if schema:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def caplog_all(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog
