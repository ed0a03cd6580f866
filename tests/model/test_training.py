"""Training is reproducible, and a saved model loads back to the same predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from classifier.model import TicketClassifier
from training.config import load_config
from training.dataset import load_tickets, split_tickets
from training.fit import fit_model, tickets_of


@pytest.fixture(scope="module")
def small_split():
    train, test = split_tickets(load_tickets())
    groups = train.groupby(["category", "priority"])
    sample = pd.concat(g.sample(min(len(g), 70), random_state=1) for _, g in groups)
    return sample.reset_index(drop=True), test.head(40)


@pytest.mark.slow
def test_same_data_and_config_give_the_same_model(small_split, tmp_path):
    train, test = small_split
    config = load_config().model_copy(update={"cv_folds": 3})
    quiet = lambda _message: None  # noqa: E731
    first = fit_model(train, config, "test-data", progress=quiet)
    second = fit_model(train, config, "test-data", progress=quiet)
    tickets = tickets_of(test)
    a = first.probabilities(first.analyzer.analyze(tickets))
    b = second.probabilities(second.analyzer.analyze(tickets))
    for head in ("category", "priority", "multi_issue", "error_given", "subject_ok"):
        np.testing.assert_array_equal(a[head], b[head])
    assert first.metadata["thresholds"] == second.metadata["thresholds"]

    first.save(tmp_path)
    loaded = TicketClassifier.load(tmp_path)
    before = [p.model_dump(exclude={"respond_by"}) for p in first.predict(tickets)]
    after = [p.model_dump(exclude={"respond_by"}) for p in loaded.predict(tickets)]
    assert before == after
    assert loaded.metadata["config"]["cv_folds"] == 3
    assert loaded.metadata["data_sha256"] == "test-data"
