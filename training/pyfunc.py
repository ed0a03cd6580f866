"""The MLflow pyfunc flavor of the model: the same TicketClassifier behind `predict(df)`.

`mlflow.pyfunc.load_model("models:/ticket-classifier@champion").predict(df)` with a DataFrame
of `id`, `subject`, `body` (and optionally `received_at`, `channel`, `plan`) returns one row per
ticket with the fields of `ticket-classifier predict`'s JSON lines.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd

TICKET_COLUMNS = ("id", "subject", "body", "received_at", "channel", "plan")


class TicketClassifierModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context: Any) -> None:
        from classifier.model import TicketClassifier

        self.model = TicketClassifier.load(context.artifacts["model_dir"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        from classifier.schemas import Ticket

        tickets = []
        for row in model_input.to_dict(orient="records"):
            fields = {k: row[k] for k in TICKET_COLUMNS if k in row and not _missing(row[k])}
            tickets.append(Ticket.model_validate(fields))
        predictions = self.model.predict(tickets)
        return pd.DataFrame([p.model_dump(mode="json") for p in predictions])


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
