"""The analyst's notebook runs top to bottom against a store with predictions and corrections,
and is stored without outputs."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from classifier.store import Store
from tests.conftest import ROOT

NOTEBOOK = ROOT / "notebooks" / "accuracy-review.ipynb"


def test_the_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def _text(cell) -> str:
    parts = []
    for output in cell.outputs:
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
        parts.append(output.get("data", {}).get("text/markdown", ""))
    return "\n".join(parts)


@pytest.mark.slow
def test_the_notebook_runs_against_a_live_store(tmp_path, monkeypatch):
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    store = Store.open(f"sqlite:///{data_dir / 'classifier.db'}")
    for n, (category, priority) in enumerate(
        [("infrastructure", "P1"), ("cms_plugins", "P3"), ("product_usage", "P4")]
    ):
        store.log_prediction(
            {"ticket_id": f"t-{n}", "subject": "s", "body": "b"},
            {
                "model_version": "v1",
                "category": category,
                "priority": priority,
                "missing_info": [],
                "multi_issue": False,
                "contains_password": False,
                "decision": {"category": "auto", "priority": "suggest"},
            },
        )
    store.correct("t-1", "engineer", {"category": "product_usage", "priority": "P4"}, None)
    store.close()
    monkeypatch.setenv("CLASSIFIER_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CLASSIFIER_MODEL_DIR", str(ROOT / "models"))
    monkeypatch.delenv("CLASSIFIER_DATABASE_URL", raising=False)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    texts = [_text(c) for c in notebook.cells if c.cell_type == "code"]
    everything = "\n".join(texts)
    assert "test split: " in texts[0]
    assert "category_macro_f1" in everything
    assert "ok" in texts[next(i for i, t in enumerate(texts) if "accuracy_final" in t) - 1]
    assert "cms_plugins" in everything and "product_usage" in everything
    images = sum(
        1 for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    )
    assert images >= 4
