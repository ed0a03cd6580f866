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
    meta["libraries"]["scikit-learn"] = "0.24.2"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match=r"scikit-learn 0\.24\.2 \(installed"):
        TicketClassifier.load(model_copy)


def test_a_missing_model_is_named(tmp_path):
    with pytest.raises(ModelLoadError, match="no model in"):
        TicketClassifier.load(tmp_path)


def test_compiled_features_and_heads_match_scikit_learn(model):
    from classifier.features import subject_record
    from classifier.schemas import Ticket

    tickets = [
        Ticket(subject="", body="Outlook op mijn laptop installeren?"),
        Ticket(subject="VPS down", body="vps-4.garage-lemaire.be reageert niet, ssh time-out"),
        Ticket(subject="Facture", body=""),
    ]
    analyses = model.analyzer.analyze(tickets)
    records = [a.record(model.fitted.use_signals) for a in analyses]
    subjects = [subject_record(a) for a in analyses]
    fast, slow = model.featurizer.transform(records), model.fitted.featurizer.transform(records)
    assert abs(fast - slow).max() < 1e-12
    fast_s = model.subject_featurizer.transform(subjects)
    assert abs(fast_s - model.fitted.subject_featurizer.transform(subjects)).max() < 1e-12
    for name in ("category", "priority", "error_given", "steps_given", "ip_needed"):
        expected = model.fitted.heads[name].predict_proba(slow)
        assert abs(model.heads[name].predict_proba(fast) - expected).max() < 1e-9
