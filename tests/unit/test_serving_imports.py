"""Serving never imports training code, mlflow, scikit-learn or pandas, nor scipy.sparse's
Python package (checked in a fresh interpreter, after loading the model and predicting)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = """
import sys
import classifier.cli, classifier.model, classifier.features, classifier.settings
from classifier.api import create_app
app = create_app()
from classifier.model import TicketClassifier
from classifier.schemas import Ticket
model = TicketClassifier.load("models")
model.predict([Ticket(subject="VPS down", body="vps-1.example-shop.be reageert niet")])
forbidden = ("training", "mlflow", "sklearn", "pandas")
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(forbidden))
heavy = sorted(m for m in sys.modules if m == "scipy.sparse" or m.startswith("scipy.stats"))
print(",".join(loaded + heavy))
"""


def test_prediction_loads_neither_training_nor_mlflow_nor_scikit_learn():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
