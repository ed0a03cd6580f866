"""TicketClassifier: the fitted heads plus the guide's logic; the one prediction seam.

API, CLI, batch scoring, evaluation and the behaviour tests all call
`TicketClassifier.predict(tickets) -> list[Prediction]`.
"""

from __future__ import annotations

import gc
import hashlib
import json
import pickle
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from classifier.features import Analysis, Analyzer, subject_record
from classifier.intake import Intake
from classifier.schemas import (
    CATEGORIES,
    PRIORITIES,
    Prediction,
    Ticket,
)
from classifier.signals import SIGNAL_LABELS
from classifier.vectorize import SMALL_BATCH, Csr, FeatureUnion

ARTIFACT = "model.joblib"
METADATA = "metadata.json"
# What a model folder holds (the artifact, its metadata, the evaluation and the model card).
MODEL_FILES = (ARTIFACT, METADATA, "evaluation.json", "README.md")
URGENT = ("P1", "P2")
# The guide's category x priority table: which priorities a category can have.
VALID_PRIORITIES: dict[str, tuple[str, ...]] = {
    "infrastructure": ("P1", "P2", "P3"),
    "product_usage": ("P3", "P4"),
    "cms_plugins": ("P3", "P4"),
    "out_of_scope_device": ("P4",),
}
FAILURE_PRIORITIES = ("P1", "P2", "P3")
# The artifact's layout: 2 = plain data only (compiled heads and feature steps, no
# scikit-learn object); 1 (unrecorded) = fitted scikit-learn pipelines.
ARTIFACT_FORMAT = 2
# Libraries whose version must match the one the artifact was made with (numpy arrays are
# pickled; spaCy lemmatizes). scikit-learn's version is recorded but not checked: the
# artifact holds none of its objects.
PINNED_LIBRARIES = ("numpy", "scipy", "spacy")
RECORDED_LIBRARIES = ("scikit-learn", *PINNED_LIBRARIES)
BINARY_HEADS = ("multi_issue", "error_given", "steps_given", "ip_needed", "subject_ok")
# The heads that read the ticket's feature matrix (subject_ok reads the subject's).
X_HEADS = ("category", "priority", "multi_issue", "error_given", "steps_given", "ip_needed")
# The heads whose weightiest terms explain a prediction (its category, its priority).
EXPLAINED_HEADS = ("category", "priority")


class ModelLoadError(RuntimeError):
    """The artifact is missing, corrupt, or was made with other library versions."""


@dataclass
class Thresholds:
    """Decision thresholds, chosen on cross-validation at training time."""

    auto: dict[str, dict[str, float]]  # field -> class -> probability for "auto"
    suggest: dict[str, dict[str, float]]  # field -> class -> probability for "suggest"
    urgent: float  # P(P1)+P(P2) from which a ticket is treated as urgent
    binary: dict[str, float] = field(default_factory=dict)  # head -> probability cut


@dataclass
class ServingModel:
    """What the joblib artifact holds: plain data and classifier/ classes only, compiled from
    the fitted scikit-learn pipelines at training time (training/compile.py), so that serving
    neither imports scikit-learn nor unpickles its objects."""

    featurizer: FeatureUnion
    subject_featurizer: FeatureUnion
    heads: dict[
        str, LinearHead
    ]  # category, priority, multi_issue, error_given, steps_given, ip_needed, subject_ok
    coefficients: dict[str, np.ndarray]  # head -> (n_classes, n_features) for explanations
    feature_names: np.ndarray
    thresholds: Thresholds
    lemma_tables: dict[str, dict[str, str]]
    use_signals: bool = True
    max_chars: int = 8_000
    multi_topic_weight: float = 0.0
    artifact_format: int = ARTIFACT_FORMAT


def topic_features(p_category: np.ndarray, p_priority: np.ndarray, weight: float) -> np.ndarray:
    """Stacked inputs of the multi-issue head: category and priority probabilities, their
    entropies and the runner-up category's probability (rows: tickets)."""

    def entropy(p: np.ndarray) -> np.ndarray:
        return -(p * np.log(p + 1e-9)).sum(axis=1, keepdims=True)

    runner_up = np.sort(p_category, axis=1)[:, -2:-1]
    return weight * np.hstack(
        [p_category, p_priority, entropy(p_category), entropy(p_priority), runner_up]
    )


def add_in_order(products: np.ndarray, inputs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """products + inputs @ weights, the terms added one input column at a time, as a product
    with [x | inputs] sums them after x's columns: `for j: products += inputs[:, j:j+1] *
    weights[j]`. A cumulative sum along the inputs adds in that order too (each partial sum is
    the previous one plus the next term; accumulate never sums pairwise), bit for bit, in a few
    numpy calls instead of two per input column. (rows, outputs) in and out."""
    terms = inputs[:, :, None] * weights  # (rows, inputs, outputs), each product rounded alone
    stacked = np.concatenate([products[:, None, :], terms], axis=1)
    # np.cumsum's own ufunc, without its Python wrapper (~3 us a call for one ticket)
    return np.add.accumulate(stacked, axis=1)[:, -1]


@dataclass(frozen=True)
class TicketProbabilities:
    """One ticket's probabilities as Python floats (the per-ticket logic does dozens of scalar
    operations, several times slower on numpy scalars); category and priority in the guide's
    label order, with the indices of their three likeliest labels."""

    category: list[float]
    priority: list[float]
    category_rank: list[int]
    priority_rank: list[int]
    multi_issue: float
    error_given: float
    steps_given: float
    ip_needed: float
    subject_ok: float


# metadata fields the service reads, and the JSON types they must have when present
_METADATA_TYPES: dict[str, type | tuple[type, ...]] = {
    "version": str,
    "trained_at": str,
    "metrics": dict,
    "thresholds": dict,
    "libraries": dict,
}


def _check_metadata_shape(metadata: Any, path: Path) -> None:
    """ModelLoadError unless metadata is an object whose known fields have their types."""
    if not isinstance(metadata, dict):
        raise ModelLoadError(f"{path} must hold a JSON object, not {type(metadata).__name__}")
    for name, kind in _METADATA_TYPES.items():
        value = metadata.get(name)
        if value is not None and not isinstance(value, kind):
            raise ModelLoadError(
                f"{path}: '{name}' must be a JSON {'string' if kind is str else 'object'},"
                f" not {type(value).__name__}"
            )


_VALUE = {True: "true", False: "false"}  # a binary head's classes in the thresholds


def _of_value(p_true: float, value: bool) -> float:
    """A binary head's probability of the value it gave."""
    return p_true if value else 1.0 - p_true


def _decide(probability: float, auto: float, suggest: float) -> str:
    if probability >= auto:
        return "auto"
    if probability >= suggest:
        return "suggest"
    return "review"


def joint_decode(p_category: Sequence[float], p_priority: Sequence[float]) -> tuple[str, str]:
    """The most likely (category, priority) pair the guide allows."""
    best, best_score = ("product_usage", "P4"), -1.0
    for ci, category in enumerate(CATEGORIES):
        for priority in VALID_PRIORITIES[category]:
            score = p_category[ci] * p_priority[PRIORITIES.index(priority)]
            if score > best_score:
                best, best_score = (category, priority), score
    return best


def guide_missing_info(
    category: str,
    priority: str,
    analysis: Analysis,
    *,
    error_given: bool,
    steps_given: bool,
    ip_needed: bool,
    subject_ok: bool,
) -> list[str]:
    """The guide's section 3: a code is listed when the ticket needs the item and lacks it."""
    missing = []
    if not subject_ok:
        missing.append("descriptive_subject")
    if category == "out_of_scope_device":
        return missing
    if not analysis.signals.has_server_or_domain:
        missing.append("server_or_domain")
    if priority in FAILURE_PRIORITIES:
        if not error_given:
            missing.append("error_message")
        if not steps_given:
            missing.append("steps_tried")
        if ip_needed and not analysis.signals.has_customer_ip:
            missing.append("ip_address")
    return sorted(missing)


@dataclass
class LinearHead:
    """A fitted head reduced to arrays: the linear SVM's weights (with the head's scaling of the
    signal block folded in) and the sigmoid calibration per class. It gives the same
    probabilities as the scikit-learn pipeline it is made from without the per-call validation
    that made single-ticket prediction 10x slower."""

    classes: np.ndarray
    weights: Any  # (n_features, n_outputs), scipy sparse or dense
    intercept: np.ndarray
    a: np.ndarray
    b: np.ndarray

    @classmethod
    def from_pipeline(cls, head: Any) -> LinearHead:
        scale = head.named_steps["signals"].scale_.diagonal()
        calibrated = head.named_steps["svm"].calibrated_classifiers_[0]
        svc = calibrated.estimator
        return cls(
            classes=np.asarray(head.classes_),
            weights=np.ascontiguousarray((svc.coef_ * scale).T),
            intercept=np.asarray(svc.intercept_, dtype=float),
            a=np.array([c.a_ for c in calibrated.calibrators], dtype=float),
            b=np.array([c.b_ for c in calibrated.calibrators], dtype=float),
        )

    def predict_proba(self, x: Any) -> np.ndarray:
        return self.calibrate(np.asarray(x @ self.weights) + self.intercept)

    def proba_of_products(self, products: np.ndarray) -> np.ndarray:
        """Probabilities from x @ weights computed elsewhere (several heads in one product)."""
        return self.calibrate(products + self.intercept)

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        """Probabilities from SVM decision values (n_rows, n_outputs), as scikit-learn does."""
        calibrated = self._sigmoid(scores)
        if len(self.classes) == 2:
            return np.column_stack([1.0 - calibrated[:, 0], calibrated[:, 0]])
        total = calibrated.sum(axis=1, keepdims=True)
        uniform = np.full_like(calibrated, 1.0 / len(self.classes))
        return np.divide(calibrated, total, out=uniform, where=total != 0)

    def _sigmoid(self, scores: np.ndarray) -> np.ndarray:
        scores = scores.reshape(len(scores), -1)
        return 1.0 / (1.0 + np.exp(self.a * scores + self.b))

    def positive(self, x: Any) -> np.ndarray:
        """P(class True) of a binary head for each row."""
        return self.positive_of_products(np.asarray(x @ self.weights))

    def positive_of_products(self, products: np.ndarray) -> np.ndarray:
        """P(class True) of a binary head from x @ weights: calibrate's column for True,
        computed alone (calibrate's two columns and the pick cost more than the arithmetic
        for one ticket)."""
        calibrated = self._sigmoid(products + self.intercept)[:, 0]
        return calibrated if list(self.classes).index(True) == 1 else 1.0 - calibrated


class CategoryPriorityHeads:
    """The category and priority heads' probabilities from their decision values side by side
    (rows: tickets; the category's columns, then the priority's), and the multi-issue head's
    topic inputs from them: what proba_of_products and topic_features give, bit for bit (the
    same elementwise steps, and each row's sums over its own labels in the same order), in a
    dozen numpy calls instead of about forty for the two heads apart."""

    def __init__(self, category: LinearHead, priority: LinearHead):
        n = len(CATEGORIES)
        for head, labels in ((category, CATEGORIES), (priority, PRIORITIES)):
            if sorted(head.classes.tolist()) != sorted(labels) or np.shape(head.a) != (n,):
                raise ValueError("CategoryPriorityHeads takes the two heads of four labels")
        self.n = n
        self.intercept = np.concatenate([category.intercept, priority.intercept])
        self.a = np.concatenate([category.a, priority.a])
        self.b = np.concatenate([category.b, priority.b])
        # the columns in the guide's order: categories, then priorities
        self.order = np.array(
            [category.classes.tolist().index(c) for c in CATEGORIES]
            + [n + priority.classes.tolist().index(p) for p in PRIORITIES]
        )

    def probabilities(self, products: np.ndarray) -> np.ndarray:
        """(rows, 2, labels): each head's probabilities in its classes' order."""
        calibrated = 1.0 / (1.0 + np.exp(self.a * (products + self.intercept) + self.b))
        pair = calibrated.reshape(len(products), 2, self.n)
        # the ufunc reduction ndarray.sum calls, without its Python-level wrapper
        total = np.add.reduce(pair, axis=2, keepdims=True)
        uniform = np.empty_like(pair)  # np.full_like's two steps, without its Python wrapper
        uniform.fill(1.0 / self.n)
        return np.divide(pair, total, out=uniform, where=total != 0)

    def ordered(self, pair: np.ndarray) -> np.ndarray:
        """(rows, 2 * labels): the pair's probabilities in the guide's order, categories then
        priorities (the columns ordered_columns picks of each head's)."""
        return pair.reshape(len(pair), 2 * self.n)[:, self.order]

    def topics(
        self, pair: np.ndarray, weight: float, ordered: np.ndarray | None = None
    ) -> np.ndarray:
        """topic_features of the pair's probabilities in the guide's order (`ordered`: those
        of self.ordered(pair), when already made)."""
        if ordered is None:
            ordered = self.ordered(pair)
        both = ordered.reshape(len(pair), 2, self.n)
        # ndarray.sum's reduction and np.sort's copy and sort, without their Python wrappers
        entropies = -np.add.reduce(both * np.log(both + 1e-9), axis=2)
        categories = ordered[:, : self.n].copy()
        categories.sort(axis=1)
        runner_up = categories[:, -2:-1]
        return weight * np.concatenate([ordered, entropies, runner_up], axis=1)


class BinaryHeads:
    """P(class True) of several binary heads at once, from their decision values side by side
    (rows: tickets, one column per head): each column is what the head's positive_of_products
    gives, bit for bit (the same elementwise operations in the same order, with the head's own
    intercept and calibration), in six numpy calls instead of six per head."""

    def __init__(self, heads: Sequence[LinearHead]):
        for head in heads:
            if head.intercept.shape != (1,) or np.shape(head.a) != (1,) or len(head.classes) != 2:
                raise ValueError("BinaryHeads takes binary heads with one decision value each")
        self.intercept = np.concatenate([head.intercept for head in heads])
        self.a = np.concatenate([head.a for head in heads])
        self.b = np.concatenate([head.b for head in heads])
        # calibrate's first column is P(classes[1]): heads whose True is classes[0] take 1 - it
        self.flip = np.array([list(head.classes).index(True) != 1 for head in heads])
        self.any_flip = bool(self.flip.any())

    def positives(self, products: np.ndarray) -> np.ndarray:
        calibrated = 1.0 / (1.0 + np.exp(self.a * (products + self.intercept) + self.b))
        if self.any_flip:
            calibrated[:, self.flip] = 1.0 - calibrated[:, self.flip]
        return calibrated


class StackedHeads:
    """The weights of the heads that read the same matrix, side by side: one sparse product
    gives all their decision values (each column is summed as in its own product, so the
    numbers are the same). A head whose weights go on past `n_features` (the multi-issue head's
    topic inputs) contributes its first `n_features` rows."""

    def __init__(self, heads: dict[str, LinearHead], names: Sequence[str], n_features: int):
        self.columns: dict[str, slice] = {}
        blocks, start = [], 0
        for name in names:
            width = heads[name].weights.shape[1]
            self.columns[name] = slice(start, start + width)
            blocks.append(heads[name].weights[:n_features])
            start += width
        self.weights = np.ascontiguousarray(np.hstack(blocks))
        for name in names:
            if heads[name].weights.shape[0] == n_features:
                heads[name].weights = self.weights[:, self.columns[name]]  # a view, not a copy

    def products(self, x: Any) -> np.ndarray:
        """x @ weights: every head's columns side by side (`columns` says where)."""
        return x.dot(self.weights) if isinstance(x, Csr) else np.asarray(x @ self.weights)


class TicketClassifier:
    """The fitted model plus rules and the guide's logic, behind one `predict`."""

    def __init__(
        self, fitted: ServingModel, metadata: dict[str, Any], intake: Intake | None = None
    ):
        self.fitted = fitted
        self.metadata = metadata
        self.intake = intake or Intake()
        self.analyzer = Analyzer(fitted.lemma_tables, max_chars=fitted.max_chars)
        self.urgent_threshold = fitted.thresholds.urgent
        # copies: StackedHeads points their weights into its own array; the artifact's stay
        self.heads = {name: replace(head) for name, head in fitted.heads.items()}
        self.featurizer = fitted.featurizer
        self.subject_featurizer = fitted.subject_featurizer
        n_features = self.heads["category"].weights.shape[0]
        self.stacked = StackedHeads(self.heads, X_HEADS, n_features)
        self.topic_weights = self.heads["multi_issue"].weights[n_features:]
        self.binary = BinaryHeads([self.heads[name] for name in BINARY_HEADS])
        self.pair = CategoryPriorityHeads(self.heads["category"], self.heads["priority"])
        # probabilities reads the stacked products by position: X_HEADS' order, the category
        # and priority heads' columns first, then one column per binary head
        widths = [self.pair.n, self.pair.n] + [1] * (len(X_HEADS) - 2)
        ends = np.cumsum(widths).tolist()
        if (
            X_HEADS[:2] != EXPLAINED_HEADS
            or X_HEADS[2:] != BINARY_HEADS[:-1]
            or [self.stacked.columns[name].stop for name in X_HEADS] != ends
        ):
            raise ValueError("the stacked heads' columns are not in X_HEADS' order")
        # explanation weights per head: the coefficients in C order (one flat gather reads the
        # weights of a whole batch) and each label's row in them
        self.term_weights = {
            head: (
                np.ascontiguousarray(coef),
                {
                    label: i if coef.shape[0] > 1 else 0
                    for i, label in enumerate(self.heads[head].classes.tolist())
                },
            )
            for head, coef in fitted.coefficients.items()
        }
        self.term_table = term_table(self.term_weights)

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unversioned"))

    # ---------------------------------------------------------------- persistence

    @classmethod
    def load(
        cls,
        model_dir: Path | str,
        urgent_threshold: float | None = None,
        max_chars: int | None = None,
        intake: Intake | None = None,
    ) -> TicketClassifier:
        """Load `model.joblib` after checking its sha256 and library versions against metadata."""
        model_dir = Path(model_dir)
        artifact, meta_path = model_dir / ARTIFACT, model_dir / METADATA
        if not artifact.exists() or not meta_path.exists():
            raise ModelLoadError(f"no model in {model_dir}: expected {ARTIFACT} and {METADATA}")
        try:
            metadata = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelLoadError(f"{meta_path} is not valid JSON: {exc}") from exc
        _check_metadata_shape(metadata, meta_path)
        if metadata.get("artifact_format") != ARTIFACT_FORMAT:
            raise ModelLoadError(
                f"{artifact} is in an old artifact format ({metadata.get('artifact_format', 1)}"
                f", this version reads {ARTIFACT_FORMAT}: plain data, no scikit-learn objects):"
                " retrain (ticket-classifier train) or re-export it"
            )
        digest = sha256_file(artifact)
        if digest != metadata.get("artifact_sha256"):
            raise ModelLoadError(
                f"{artifact} does not match its metadata (sha256 {digest[:12]}…, expected "
                f"{str(metadata.get('artifact_sha256'))[:12]}…): the file is corrupt or replaced"
            )
        mismatches = version_mismatches(metadata.get("libraries", {}))
        if mismatches:
            raise ModelLoadError(
                "the model was fitted with other library versions: "
                + "; ".join(mismatches)
                + ". Install the pinned versions (make install) or retrain"
                " (ticket-classifier train)."
            )
        try:
            fitted = read_artifact(artifact)
        except Exception as exc:  # unpickling raises many types on corrupt files
            raise ModelLoadError(f"{artifact} could not be loaded: {exc}") from exc
        if (
            not isinstance(fitted, ServingModel)
            or getattr(fitted, "artifact_format", None) != ARTIFACT_FORMAT
        ):
            raise ModelLoadError(
                f"{artifact} holds a {type(fitted).__name__}, not a ServingModel of format "
                f"{ARTIFACT_FORMAT}: retrain (ticket-classifier train) or re-export it"
            )
        model = cls(fitted, metadata, intake)
        if urgent_threshold is not None:
            model.urgent_threshold = urgent_threshold
        if max_chars is not None:
            model.analyzer.max_chars = max_chars
        model.analyzer.warm_up()
        # The model holds ~10^6 long-lived objects (vocabularies, lemma tables); moving them out
        # of the cyclic collector's reach stops full collections from adding 100 ms pauses to
        # random predictions.
        gc.collect()
        gc.freeze()
        return model

    def save(self, model_dir: Path | str) -> Path:
        """Write the artifact and its metadata (with the artifact's sha256)."""
        import joblib

        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        artifact = model_dir / ARTIFACT
        # The model is pickled by the C pickler and joblib stores those bytes: joblib's own
        # unpickler is pure Python (to read numpy arrays its way), 3x slower on the ~10^5
        # strings of the vocabularies and lemma tables.
        payload = pickle.dumps(self.fitted, protocol=pickle.HIGHEST_PROTOCOL)
        joblib.dump(payload, artifact, compress=3)
        self.metadata["artifact_format"] = self.fitted.artifact_format
        self.metadata["artifact_sha256"] = sha256_file(artifact)
        self.metadata["artifact_bytes"] = artifact.stat().st_size
        (model_dir / METADATA).write_text(
            json.dumps(self.metadata, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
            encoding="utf-8",
        )
        return artifact

    # ---------------------------------------------------------------- prediction

    def predict(self, tickets: Sequence[Ticket]) -> list[Prediction]:
        """Predictions for tickets, in order (the one seam every caller uses)."""
        if not tickets:
            return []
        analyses = self.analyzer.analyze(tickets)
        raw = self.probabilities(analyses)
        rows = self._rows(raw)
        decoded = [self._decode(p) for p in rows]
        top_terms, priority_terms = self._explained_terms(
            [d[0] for d in decoded], [d[1] for d in decoded], raw["_x"]
        )
        return [
            self._prediction(*values)
            for values in zip(
                tickets, analyses, rows, decoded, top_terms, priority_terms, strict=True
            )
        ]

    def _rows(self, raw: dict[str, Any]) -> list[TicketProbabilities]:
        """Each ticket's probabilities as Python floats, categories and priorities in the
        guide's order, with their ranking (argsort over the batch at once).

        The two heads' guide-ordered probabilities come side by side (probabilities' "_ordered":
        the values ordered_columns picks) and are ranked in one argsort of their (rows, 2,
        labels) view: each row of each head is sorted on its own, as the two argsorts did."""
        n = self.pair.n
        ordered = raw["_ordered"]
        # (the method np.argsort calls, without the wrapper; likewise below)
        ranks = (-ordered.reshape(len(ordered), 2, n)).argsort(axis=2)[:, :, :3].tolist()
        return [
            TicketProbabilities(p[:n], p[n:], rank[0], rank[1], *positives)
            for p, rank, positives in zip(
                ordered.tolist(), ranks, raw["_binary"].tolist(), strict=True
            )
        ]

    def probabilities(self, analyses: Sequence[Analysis]) -> dict[str, Any]:
        """Every head's probabilities for analysed tickets (also used by evaluation)."""
        fitted = self.fitted
        # the matrices as their arrays (Csr): the products run scipy's kernel on them directly
        x = self.featurizer.transform_arrays([a.record(fitted.use_signals) for a in analyses])
        xs = self.subject_featurizer.transform_arrays([subject_record(a) for a in analyses])
        # the heads' decision values side by side, in X_HEADS' order: category and priority,
        # then the multi-issue head's and the other binary heads' (columns checked in __init__)
        products = self.stacked.products(x)
        pair = self.pair.probabilities(products[:, : 2 * self.pair.n])
        ordered = self.pair.ordered(pair)
        multi = products[:, 2 * self.pair.n : 2 * self.pair.n + 1]
        if fitted.multi_topic_weight:
            topics = self.pair.topics(pair, fitted.multi_topic_weight, ordered)
            multi = add_in_order(multi, topics, self.topic_weights)
        # the binary heads' decision values side by side, in BINARY_HEADS' order
        binary = self.binary.positives(
            np.concatenate(
                [
                    multi,
                    products[:, 2 * self.pair.n + 1 :],
                    xs.dot(self.heads["subject_ok"].weights),
                ],
                axis=1,
            )
        )
        return {
            "_x": x,
            "_ordered": ordered,
            "_binary": binary,
            "category": pair[:, 0],
            "priority": pair[:, 1],
            **{name: binary[:, i] for i, name in enumerate(BINARY_HEADS)},
        }

    def _decode(self, p: TicketProbabilities) -> tuple[str, str, bool, float]:
        """The ticket's category and priority, whether it is urgent, and P(P1) + P(P2)."""
        p_pri = p.priority
        category, priority = joint_decode(p.category, p_pri)
        p_urgent = float(p_pri[0] + p_pri[1])
        urgent = p_urgent >= self.urgent_threshold
        if urgent and priority not in URGENT:
            # a missed P1 costs far more than a false alarm: treat as urgent, have it reviewed
            category = "infrastructure"
            priority = "P1" if p_pri[0] > p_pri[1] else "P2"
        return category, priority, urgent, p_urgent

    def _prediction(
        self,
        ticket: Ticket,
        analysis: Analysis,
        p: TicketProbabilities,
        decoded: tuple[str, str, bool, float],
        top_terms: list[str],
        priority_terms: list[str],
    ) -> Prediction:
        thresholds = self.fitted.thresholds
        p_cat, p_pri = p.category, p.priority
        category, priority, urgent, p_urgent = decoded
        cut = thresholds.binary
        multi_issue = bool(p.multi_issue >= cut.get("multi_issue", 0.5))
        error_given = bool(p.error_given >= cut.get("error_given", 0.5))
        steps_given = bool(p.steps_given >= cut.get("steps_given", 0.5))
        ip_needed = bool(p.ip_needed >= cut.get("ip_needed", 0.5))
        subject_ok = bool(p.subject_ok >= cut.get("subject_ok", 0.5))
        missing = guide_missing_info(
            category,
            priority,
            analysis,
            error_given=error_given,
            steps_given=steps_given,
            ip_needed=ip_needed,
            subject_ok=subject_ok,
        )
        # The prediction is validated once from plain values, nested ones included: pydantic's
        # validator builds the nested models in Rust, where model_construct of each nested
        # model in Python cost about three times as much (~11 us a ticket against ~31 us).
        secrets = [
            {"field": "subject", "start": s.start, "end": s.end, "kind": s.kind}
            for s in analysis.subject_secrets
        ] + [
            {"field": "body", "start": s.start, "end": s.end, "kind": s.kind}
            for s in analysis.body_secrets
        ]
        confidence = {
            "category": round(float(p_cat[CATEGORIES.index(category)]), 4),
            "priority": round(float(p_pri[PRIORITIES.index(priority)]), 4),
            # the probability of the value given, which the head's cut decided (not always 0.5)
            "multi_issue": round(float(_of_value(p.multi_issue, multi_issue)), 4),
            "contains_password": 1.0,
            "missing_info": round(
                float(
                    min(
                        _of_value(p.error_given, error_given),
                        _of_value(p.steps_given, steps_given),
                        _of_value(p.ip_needed, ip_needed),
                        _of_value(p.subject_ok, subject_ok),
                    )
                ),
                4,
            ),
            "urgent": round(p_urgent, 4),
        }
        decision = {
            "category": _decide(
                confidence["category"],
                thresholds.auto["category"][category],
                thresholds.suggest["category"][category],
            ),
            "priority": _decide(
                confidence["priority"],
                thresholds.auto["priority"][priority],
                thresholds.suggest["priority"][priority],
            ),
            # per value, chosen on cross-validation (artifacts before 2026-12: 0.9 and 0.7)
            "multi_issue": _decide(
                confidence["multi_issue"],
                thresholds.auto.get("multi_issue", {}).get(_VALUE[multi_issue], 0.9),
                thresholds.suggest.get("multi_issue", {}).get(_VALUE[multi_issue], 0.7),
            ),
            "contains_password": "auto",
            "missing_info": _decide(confidence["missing_info"], 0.9, 0.7),
        }
        if urgent:
            decision["priority"] = "review"
        contains_password = bool(secrets)
        issues = _issues_found(category, analysis, p.category_rank) if multi_issue else None
        return Prediction.model_validate(
            dict(
                id=ticket.id or f"t-{uuid.uuid4().hex[:12]}",
                category=category,
                priority=priority,
                missing_info=missing,
                multi_issue=multi_issue,
                contains_password=contains_password,
                language=analysis.language,
                confidence=confidence,
                alternatives={
                    "category": _top3(p_cat, p.category_rank, CATEGORIES),
                    "priority": _top3(p_pri, p.priority_rank, PRIORITIES),
                },
                decision=decision,
                needs_review=urgent or any(d == "review" for d in decision.values()),
                urgent=urgent,
                language_fallback=analysis.language_fallback,
                truncated=analysis.clean.truncated,
                explanation={
                    "rules_fired": [hit.rule_id for hit in analysis.hits],
                    "top_terms": top_terms,
                    "priority_terms": priority_terms,
                    "signals": _fired_signals(analysis),
                },
                secret_spans=secrets,
                respond_by=self.intake.respond_by(
                    ticket.received_at or datetime.now(UTC), priority, ticket.plan
                ),
                follow_up=self.intake.follow_up(
                    analysis.language,
                    missing,
                    contains_password=contains_password,
                    category=category,
                    multi_issue=multi_issue,
                    issues=issues,
                ),
                route=self.intake.route(category, priority),
                model_version=self.version,
            )
        )

    def _top_terms(self, head: str, labels: Sequence[str], x: Any, k: int = 5) -> list[list[str]]:
        """Per row of x, the features that weighed most for the row's label: those with the
        (at most) k largest positive products value x weight, largest first.

        The products are formed for the whole batch at once; each row's terms are chosen by
        _largest_positive."""
        coef, label_rows = self.term_weights.get(head, (None, {}))
        if coef is None:
            return [[] for _ in labels]
        weight_rows = np.array([label_rows.get(label, 0) for label in labels], dtype=np.intp)
        starts = (weight_rows * coef.shape[1]).repeat(x.indptr[1:] - x.indptr[:-1])
        products = x.data * coef.ravel().take(starts + x.indices)
        names, indices, indptr = self.fitted.feature_names, x.indices, x.indptr.tolist()
        # each column's readable name, made when first shown (tickets share their terms)
        readable: dict[int, str] = self.__dict__.setdefault("_readable_terms", {})
        found: list[list[str]] = []
        for row, label in enumerate(labels):
            start, end = indptr[row], indptr[row + 1]
            if label not in label_rows:
                found.append([])
                continue
            chosen = _largest_positive(products[start:end], TERM_CANDIDATES * k)
            found.append(_terms(chosen, start, indices, names, readable, k))
        return found

    def _explained_terms(
        self, categories: Sequence[str], priorities: Sequence[str], x: Any, k: int = 5
    ) -> tuple[list[list[str]], list[list[str]]]:
        """_top_terms of the category head for `categories` and of the priority head for
        `priorities`, one label of each per row of x.

        A few rows (one ticket, a micro-batch) gather their weights for both heads at once
        from the side-by-side table (term_table): the same float32 weights times the same data
        (numpy multiplies them as float64 either way), so the same products, and the same
        choice of terms from them. A larger batch gathers per head, as _top_terms."""
        n_rows = len(x.indptr) - 1
        if self.term_table is None or n_rows > SMALL_BATCH:
            return self._top_terms("category", categories, x, k), self._top_terms(
                "priority", priorities, x, k
            )
        table, columns = self.term_table
        weights = table.take(x.indices, axis=0)  # (entries, labels)
        data = x.data
        names, indices, indptr = self.fitted.feature_names, x.indices, x.indptr.tolist()
        readable: dict[int, str] = self.__dict__.setdefault("_readable_terms", {})
        found: tuple[list[list[str]], list[list[str]]] = ([], [])
        for head, labels, terms in zip(
            EXPLAINED_HEADS, (categories, priorities), found, strict=True
        ):
            label_columns = columns[head]
            for row, label in enumerate(labels):
                column = label_columns.get(label)
                if column is None:
                    terms.append([])
                    continue
                start, end = indptr[row], indptr[row + 1]
                chosen = _largest_positive(
                    data[start:end] * weights[start:end, column], TERM_CANDIDATES * k
                )
                terms.append(_terms(chosen, start, indices, names, readable, k))
        return found


def term_table(
    term_weights: dict[str, tuple[np.ndarray, dict[str, int]]],
) -> tuple[np.ndarray, dict[str, dict[str, int]]] | None:
    """The explained heads' weights side by side, one row per feature (n_features, labels), and
    each head's label -> column in it; None without both heads' weights of one shape and type.
    For a few tickets one gather then reads a term's weights for every label of both heads
    (from one cache line, where the two heads' own rows lie far apart)."""
    if not all(head in term_weights for head in EXPLAINED_HEADS):
        return None
    blocks = [term_weights[head][0] for head in EXPLAINED_HEADS]
    if blocks[0].shape[1] != blocks[1].shape[1] or blocks[0].dtype != blocks[1].dtype:
        return None
    offset, columns = 0, {}
    for head, block in zip(EXPLAINED_HEADS, blocks, strict=True):
        columns[head] = {label: offset + i for label, i in term_weights[head][1].items()}
        offset += block.shape[0]
    return np.ascontiguousarray(np.vstack(blocks).T), columns


# candidates a row's terms are chosen from: the k shown after those saying no more are left out
TERM_CANDIDATES = 3


def _largest_positive(products: np.ndarray, k: int) -> list[int]:
    """The positions of the (at most) k largest positive products, largest first.

    The row's k + 1 largest are found by a partition instead of an argsort of all its products
    (which was most of the time a prediction spent here). Equal positive products among those
    make the choice or the order ambiguous: the row then takes the argsort's answer, as before
    (quicksort puts ties in an order of its own)."""
    n = len(products)
    if n > k:
        largest = products.argpartition(n - k - 1)[-k - 1 :]
        values = products[largest].tolist()
        top = sorted(zip(values, largest.tolist(), strict=True), reverse=True)
    else:  # all of the row's products (in the order of np.arange, as before)
        values = products.tolist()
        top = sorted(zip(values, range(n), strict=True), reverse=True)
    chosen = [i for value, i in top[:k] if value > 0]
    positive = [value for value in values if value > 0]
    if len(set(positive)) < len(positive):  # ties
        order = (-products).argsort()[:k].tolist()
        chosen = [i for i in order if products[i] > 0]
    return chosen


def _terms(
    chosen: list[int],
    start: int,
    indices: np.ndarray,
    names: np.ndarray,
    readable: dict,
    k: int,
) -> list[str]:
    """The readable names of a row's chosen entries (positions from the row's `start`), each
    column's name made when first shown (tickets share their terms); at most k of them, a term
    left out when it says no more than one shown before it (the character n-grams " vps",
    "vps " and "vp" beside the word "vps")."""
    terms: list[str] = []
    cores: list[str] = []
    for i in chosen:
        column = indices.item(start + i)
        term = readable.get(column)
        if term is None:
            term = readable[column] = _readable(names[column])
        core = term.strip("“”")
        if not core or any(core in shown for shown in cores):
            continue
        terms.append(term)
        cores.append(core)
        if len(terms) == k:
            break
    return terms


def ordered_columns(
    proba: np.ndarray, classes: Sequence[str] | np.ndarray, order: Sequence[str]
) -> np.ndarray:
    """Probabilities (a row or a matrix) with their last axis in the guide's label order."""
    index = {c: i for i, c in enumerate(classes)}
    return proba[..., [index[c] for c in order]]


def _top3(proba: list[float], ranked: list[int], labels: Sequence[str]) -> list[dict[str, Any]]:
    """The ranked alternatives as plain values (the Prediction validates them)."""
    return [{"label": labels[i], "probability": round(proba[i], 4)} for i in ranked]


# the rule features' names as an explanation shows them (the signals' are SIGNAL_LABELS)
_RULE_NAMES = {
    "rule_distinct_categories": "rules: several categories",
    "rule_multi_issue": "rules: a second issue",
    "rule_priority:urgency_words": "rules: urgency words",
}


def _readable(name: str) -> str:
    """A feature's name for people: a word n-gram as it is, a character n-gram in quotes, a
    rule or signal feature in words."""
    kind, _, term = name.partition("__")
    if kind == "chars":
        return f"“{term.strip()}”"
    if kind == "numeric":
        if term in SIGNAL_LABELS:
            return "signal: " + SIGNAL_LABELS[term]
        if term in _RULE_NAMES:
            return _RULE_NAMES[term]
        if term.startswith("rule_"):  # rule_category:cms_plugins, rule_priority:P1
            return "rules: " + term.partition(":")[2]
        return term.replace("_", " ")
    return term


def _issues_found(category: str, analysis: Analysis, category_rank: list[int]) -> list[str]:
    """The topics of a multi-issue ticket, most likely first: the predicted category, then the
    categories whose rules fired, else the runner-up category (the second of the category
    ranking: _rows' argsort of the same probabilities, which this argsorted again)."""
    found = [category]
    for hit in analysis.hits:
        topic = hit.label.removeprefix("category:")
        if hit.label.startswith("category:") and topic not in found:
            found.append(topic)
    if len(found) == 1:
        runner_up = CATEGORIES[category_rank[1]]
        found.append(runner_up)
    return found


def _fired_signals(analysis: Analysis) -> list[str]:
    s = analysis.signals
    fired = []
    if s.domains or s.named_host:
        fired.append("server_or_domain")
    if s.has_customer_ip:
        fired.append("customer_ip")
    if s.error_texts:
        fired.append("error_text")
    if s.steps_cues:
        fired.append("steps_tried")
    if s.connection_cues:
        fired.append("connection_failure")
    if s.generic_subject:
        fired.append("generic_subject")
    if s.secret_spans:
        fired.append("secret")
    if s.second_issue_cues:
        fired.append("second_issue_cue")
    return fired


def read_artifact(path: Path) -> Any:
    """The object saved in a model.joblib. `save` has joblib store the model's pickled bytes
    zlib-compressed, which is a zlib stream of a plain pickle of those bytes: read that way,
    serving does not import joblib (60 ms with its process pools); other joblib files are
    read by joblib."""
    try:
        payload = pickle.loads(zlib.decompress(path.read_bytes()))
    except (zlib.error, pickle.UnpicklingError):
        import joblib

        payload = joblib.load(path)
    return pickle.loads(payload) if isinstance(payload, bytes) else payload


def copy_model_dir(source: Path, out: Path) -> None:
    """Copy a model folder's files (those present) to `out`, e.g. to publish it for serving."""
    import shutil

    out.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        if (source / name).exists():
            shutil.copy2(source / name, out / name)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def installed_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in RECORDED_LIBRARIES}


def version_mismatches(recorded: dict[str, str]) -> list[str]:
    installed = installed_versions()
    return [
        f"{name} {recorded.get(name)} (installed {installed[name]})"
        for name in PINNED_LIBRARIES
        if recorded.get(name) != installed[name]
    ]
