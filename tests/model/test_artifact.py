"""The artifact: loading checks its hash and library versions and fails clearly."""

from __future__ import annotations

import json
import shutil

import pytest

from classifier.model import ModelLoadError, TicketClassifier
from tests.conftest import MODEL_DIR


@pytest.fixture
def model_copy(tmp_path):
    for name in ("model.joblib", "metadata.json"):
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    return tmp_path


def test_metadata_records_what_the_model_is(model):
    meta = model.metadata
    assert meta["labels"]["category"] and meta["labels"]["priority"]
    assert set(meta["libraries"]) >= {"scikit-learn", "spacy", "numpy", "scipy"}
    assert len(meta["data_sha256"]) == 64 and len(meta["artifact_sha256"]) == 64
    assert meta["git_commit"] and meta["metrics"]["category_macro_f1"] > 0.9
    for field in ("category", "priority"):
        assert set(meta["thresholds"]["auto"][field]) == set(meta["labels"][field])
    assert (MODEL_DIR / "model.joblib").stat().st_size <= 25 * 1024 * 1024


def test_a_corrupt_artifact_is_refused(model_copy):
    with (model_copy / "model.joblib").open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(ModelLoadError, match="does not match its metadata"):
        TicketClassifier.load(model_copy)


def test_other_library_versions_are_refused(model_copy):
    meta_path = model_copy / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["libraries"]["numpy"] = "1.21.0"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match=r"numpy 1\.21\.0 \(installed"):
        TicketClassifier.load(model_copy)


def test_scikit_learns_version_is_recorded_but_not_required(model_copy):
    # the artifact holds plain data only (format 2): any scikit-learn, or none, can serve it
    meta_path = model_copy / "metadata.json"
    meta = json.loads(meta_path.read_text())
    assert meta["artifact_format"] == 2
    meta["libraries"]["scikit-learn"] = "0.24.2"
    meta_path.write_text(json.dumps(meta))
    assert TicketClassifier.load(model_copy).metadata["libraries"]["scikit-learn"] == "0.24.2"


def test_a_missing_model_is_named(tmp_path):
    with pytest.raises(ModelLoadError, match="no model in"):
        TicketClassifier.load(tmp_path)
