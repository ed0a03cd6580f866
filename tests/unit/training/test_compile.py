"""The serving artifact's compiled steps compute exactly what the fitted scikit-learn objects do."""

from __future__ import annotations

import json
import shutil

import joblib
import numpy as np
import pytest
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfVectorizer

from classifier.features import subject_record
from classifier.model import LinearHead, ModelLoadError, TicketClassifier, sha256_file
from classifier.schemas import Ticket
from classifier.vectorize import DictFeatures, WordNgrams
from tests.conftest import MODEL_DIR
from training.compile import NotCompilable, compile_step, compile_union
from training.dataset import load_tickets
from training.features import TOKEN_PATTERN, build_featurizer, build_subject_featurizer
from training.fit import make_head, tickets_of

ODD_TEXTS = [
    "",
    " ",
    "\n\t\r",
    "a",
    "I",
    "x y z",
    "!!!???...,,,;;;:::" * 50,
    "---'''---''' -- ' - '",
    "l'erreur d’installation, aujourd'hui c'est-à-dire",
    "e-mail re-install wp-config.php 'quoted' -dash- trailing- -leading",
    "ÉCOLE Straße İstanbul ǅemal ﬁle ＡＢＣ ΣΊΣΥΦΟΣ",
    "日本語のテキスト 中文 한국어 العربية עברית",
    "emoji 🙂🙂 😀test test😀 👍🏽",
    "digits 123 4.5.6 1,000 0x1F ½ ² ٣",
    "under_score __init__ _a_ a_",
    "zero\u200bwidth\u00a0nbsp soft\u00adhyphen combining e\u0301",
    "tab\tseparated\nlines\r\nand\u2028separators\u2029end",
    "a" * 5000,
    "word " * 2000,
]


@pytest.fixture(scope="module")
def corpus():
    return load_tickets()


@pytest.fixture(scope="module")
def analyses(model, corpus):
    return model.analyzer.analyze(tickets_of(corpus))


def test_word_terms_equal_scikit_learns_analyzer_on_the_corpus(corpus, analyses):
    expected = TfidfVectorizer(token_pattern=TOKEN_PATTERN, ngram_range=(1, 2)).build_analyzer()
    words = WordNgrams(TOKEN_PATTERN, (1, 2), {})
    texts = [a.lemmas for a in analyses] + [a.text for a in analyses]
    texts += list(corpus["subject"]) + list(corpus["body"]) + ODD_TEXTS
    mismatches = [i for i, text in enumerate(texts) if words.analyze(text) != expected(text)]
    assert mismatches == []


@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 3), (2, 3)])
def test_other_ngram_ranges_give_scikit_learns_terms(ngram_range):
    expected = TfidfVectorizer(token_pattern=TOKEN_PATTERN, ngram_range=ngram_range)
    words = WordNgrams(TOKEN_PATTERN, ngram_range, {})
    for text in ODD_TEXTS:
        assert words.analyze(text) == expected.build_analyzer()(text)


def test_compiled_featurizers_equal_scikit_learns(model, analyses):
    fit_rows, check_rows = analyses[:1500], analyses[1500:]
    featurizer = build_featurizer(max_char_features=20_000, max_word_features=10_000)
    featurizer.fit([a.record() for a in fit_rows])
    subjects = build_subject_featurizer().fit([subject_record(a) for a in fit_rows])
    odd = model.analyzer.analyze([Ticket(subject=t[:200], body=t) for t in ODD_TEXTS])
    rows = check_rows + odd
    records = [a.record() for a in rows]
    expected = featurizer.transform(records)
    got = compile_union(featurizer).transform(records)
    assert got.shape == expected.shape
    assert abs(got - expected).max() < 1e-12
    np.testing.assert_array_equal(got.indptr, expected.indptr)
    subject_rows = [subject_record(a) for a in rows]
    expected_s = subjects.transform(subject_rows)
    assert abs(compile_union(subjects).transform(subject_rows) - expected_s).max() < 1e-12


def test_compiled_heads_equal_scikit_learns(analyses, corpus):
    featurizer = build_featurizer(max_char_features=5_000, max_word_features=3_000)
    x = featurizer.fit_transform([a.record() for a in analyses[:800]])
    y = corpus["category"].to_numpy()[:800]
    start = x.shape[1] - 40
    head = make_head(1.0, 0, 3, start, 0.3).fit(x, y)
    compiled = LinearHead.from_pipeline(head)
    np.testing.assert_array_equal(compiled.classes, head.classes_)
    assert abs(compiled.predict_proba(x) - head.predict_proba(x)).max() < 1e-9


def test_dict_features_equal_dict_vectorizer_with_strings():
    rows = [{"a": 1.0, "kind": "vps", "b": True}, {"kind": "mail", "c": 2}, {}]
    vectorizer = DictVectorizer().fit(rows)
    check = [*rows, {"kind": "unseen", "a": 0.0, "z": 5.0}]
    compiled = DictFeatures(vectorizer.vocabulary_, vectorizer.separator)
    got = compiled(check)
    expected = vectorizer.transform(check)
    np.testing.assert_array_equal(got.indices, expected.indices)
    np.testing.assert_array_equal(got.data, expected.data)
    np.testing.assert_array_equal(got.indptr, expected.indptr)


def test_settings_the_serving_steps_do_not_reproduce_are_refused():
    with pytest.raises(NotCompilable, match="stop_words"):
        compile_step(TfidfVectorizer(stop_words="english").fit(["server down now"]))
    with pytest.raises(NotCompilable, match="no serving form"):
        compile_step(object())


@pytest.fixture
def model_copy(tmp_path):
    for name in ("model.joblib", "metadata.json"):
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    return tmp_path


def test_an_old_format_artifact_is_refused_clearly(model_copy):
    meta_path = model_copy / "metadata.json"
    meta = json.loads(meta_path.read_text())
    del meta["artifact_format"]  # format 1: fitted scikit-learn pipelines
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match=r"old artifact format.*retrain.*re-export"):
        TicketClassifier.load(model_copy)


def test_an_artifact_holding_something_else_is_refused(model_copy):
    joblib.dump({"not": "a model"}, model_copy / "model.joblib")
    meta_path = model_copy / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["artifact_sha256"] = sha256_file(model_copy / "model.joblib")
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match=r"not a ServingModel.*retrain.*re-export"):
        TicketClassifier.load(model_copy)
