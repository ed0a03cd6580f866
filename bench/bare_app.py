"""The yardstick for the API benchmark: a bare FastAPI endpoint that validates the same request
model and returns a constant prediction (no model, no store)."""

from __future__ import annotations

from fastapi import FastAPI

from classifier.schemas import Ticket

CONSTANT = {
    "id": "t-constant",
    "category": "product_usage",
    "priority": "P4",
    "missing_info": [],
    "multi_issue": False,
    "contains_password": False,
    "language": "nl",
}


def create_app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/predict")
    def predict(ticket: Ticket) -> dict:
        return CONSTANT

    return app
