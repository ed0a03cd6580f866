"""TicketClassifier: the fitted heads plus the guide's logic; the one prediction seam.

API, CLI, batch scoring, evaluation and the behaviour tests all call
`TicketClassifier.predict(tickets) -> list[Prediction]`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from classifier.features import Analysis, Analyzer, subject_record
from classifier.schemas import (
    CATEGORIES,
    PRIORITIES,
    Alternative,
    Explanation,
    Prediction,
    SecretSpanOut,
    Ticket,
)

ARTIFACT = "model.joblib"
METADATA = "metadata.json"
URGENT = ("P1", "P2")
# The guide's category x priority table: which priorities a category can have.
VALID_PRIORITIES: dict[str, tuple[str, ...]] = {
    "infrastructure": ("P1", "P2", "P3"),
    "product_usage": ("P3", "P4"),
    "cms_plugins": ("P3", "P4"),
    "out_of_scope_device": ("P4",),
}
FAILURE_PRIORITIES = ("P1", "P2", "P3")
# Libraries whose version must match the one the artifact was fitted with.
PINNED_LIBRARIES = ("scikit-learn", "numpy", "scipy", "spacy")


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
class FittedModel:
    """What the joblib artifact holds: fitted scikit-learn objects and plain data only."""

    featurizer: Any
    subject_featurizer: Any
    heads: dict[
        str, Any
    ]  # category, priority, multi_issue, error_given, steps_given, ip_needed, subject_ok
    coefficients: dict[str, np.ndarray]  # head -> (n_classes, n_features) for explanations
    feature_names: np.ndarray
    thresholds: Thresholds
    lemma_tables: dict[str, dict[str, str]]
    use_signals: bool = True
    max_chars: int = 20_000


def _decide(probability: float, auto: float, suggest: float) -> str:
    if probability >= auto:
        return "auto"
    if probability >= suggest:
        return "suggest"
    return "review"


def joint_decode(p_category: np.ndarray, p_priority: np.ndarray) -> tuple[str, str]:
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


def _positive(head: Any, x: Any) -> np.ndarray:
    """P(class True) of a binary head for each row."""
    proba = head.predict_proba(x)
    return proba[:, list(head.classes_).index(True)]


class TicketClassifier:
    """The fitted model plus rules and the guide's logic, behind one `predict`."""

    def __init__(self, fitted: FittedModel, metadata: dict[str, Any]):
        self.fitted = fitted
        self.metadata = metadata
        self.analyzer = Analyzer(fitted.lemma_tables, max_chars=fitted.max_chars)
        self.urgent_threshold = fitted.thresholds.urgent

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unversioned"))

    # ---------------------------------------------------------------- persistence

    @classmethod
    def load(cls, model_dir: Path | str, urgent_threshold: float | None = None) -> TicketClassifier:
        """Load `model.joblib` after checking its sha256 and library versions against metadata."""
        import joblib

        model_dir = Path(model_dir)
        artifact, meta_path = model_dir / ARTIFACT, model_dir / METADATA
        if not artifact.exists() or not meta_path.exists():
            raise ModelLoadError(f"no model in {model_dir}: expected {ARTIFACT} and {METADATA}")
        try:
            metadata = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelLoadError(f"{meta_path} is not valid JSON: {exc}") from exc
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
            fitted = joblib.load(artifact)
        except Exception as exc:  # joblib raises many types on corrupt pickles
            raise ModelLoadError(f"{artifact} could not be loaded: {exc}") from exc
        if not isinstance(fitted, FittedModel):
            raise ModelLoadError(f"{artifact} holds a {type(fitted).__name__}, not a FittedModel")
        model = cls(fitted, metadata)
        if urgent_threshold is not None:
            model.urgent_threshold = urgent_threshold
        model.analyzer.warm_up()
        return model

    def save(self, model_dir: Path | str) -> Path:
        """Write the artifact and its metadata (with the artifact's sha256)."""
        import joblib

        model_dir = Path(model_dir)
        model_dir.mkdir(parents=True, exist_ok=True)
        artifact = model_dir / ARTIFACT
        joblib.dump(self.fitted, artifact, compress=3)
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
        return [
            self._prediction(ticket, analysis, {k: v[i] for k, v in raw.items()}, raw["_x"], i)
            for i, (ticket, analysis) in enumerate(zip(tickets, analyses, strict=True))
        ]

    def probabilities(self, analyses: Sequence[Analysis]) -> dict[str, Any]:
        """Every head's probabilities for analysed tickets (also used by evaluation)."""
        fitted = self.fitted
        x = fitted.featurizer.transform([a.record(fitted.use_signals) for a in analyses])
        xs = fitted.subject_featurizer.transform([subject_record(a) for a in analyses])
        heads = fitted.heads
        return {
            "_x": x,
            "category": heads["category"].predict_proba(x),
            "priority": heads["priority"].predict_proba(x),
            "multi_issue": _positive(heads["multi_issue"], x),
            "error_given": _positive(heads["error_given"], x),
            "steps_given": _positive(heads["steps_given"], x),
            "ip_needed": _positive(heads["ip_needed"], x),
            "subject_ok": _positive(heads["subject_ok"], xs),
        }

    def _prediction(
        self, ticket: Ticket, analysis: Analysis, p: dict[str, Any], x: Any, row: int
    ) -> Prediction:
        thresholds = self.fitted.thresholds
        p_cat = _ordered(p["category"], self.fitted.heads["category"].classes_, CATEGORIES)
        p_pri = _ordered(p["priority"], self.fitted.heads["priority"].classes_, PRIORITIES)
        category, priority = joint_decode(p_cat, p_pri)
        p_urgent = float(p_pri[0] + p_pri[1])
        urgent = p_urgent >= self.urgent_threshold
        if urgent and priority not in URGENT:
            # a missed P1 costs far more than a false alarm: treat as urgent, have it reviewed
            category = "infrastructure"
            priority = "P1" if p_pri[0] > p_pri[1] else "P2"
        cut = thresholds.binary
        multi_issue = bool(p["multi_issue"] >= cut.get("multi_issue", 0.5))
        error_given = bool(p["error_given"] >= cut.get("error_given", 0.5))
        steps_given = bool(p["steps_given"] >= cut.get("steps_given", 0.5))
        ip_needed = bool(p["ip_needed"] >= cut.get("ip_needed", 0.5))
        subject_ok = bool(p["subject_ok"] >= cut.get("subject_ok", 0.5))
        missing = guide_missing_info(
            category,
            priority,
            analysis,
            error_given=error_given,
            steps_given=steps_given,
            ip_needed=ip_needed,
            subject_ok=subject_ok,
        )
        secrets = [
            SecretSpanOut(field="subject", start=s.start, end=s.end, kind=s.kind)  # type: ignore[arg-type]
            for s in analysis.subject_secrets
        ] + [
            SecretSpanOut(field="body", start=s.start, end=s.end, kind=s.kind)  # type: ignore[arg-type]
            for s in analysis.body_secrets
        ]
        confidence = {
            "category": round(float(p_cat[CATEGORIES.index(category)]), 4),
            "priority": round(float(p_pri[PRIORITIES.index(priority)]), 4),
            "multi_issue": round(float(max(p["multi_issue"], 1 - p["multi_issue"])), 4),
            "contains_password": 1.0,
            "missing_info": round(
                float(
                    min(
                        max(q, 1 - q)
                        for q in (
                            p["error_given"],
                            p["steps_given"],
                            p["ip_needed"],
                            p["subject_ok"],
                        )
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
            "multi_issue": _decide(confidence["multi_issue"], 0.9, 0.7),
            "contains_password": "auto",
            "missing_info": _decide(confidence["missing_info"], 0.9, 0.7),
        }
        if urgent:
            decision["priority"] = "review"
        return Prediction(
            id=ticket.id or f"t-{uuid.uuid4().hex[:12]}",
            category=category,  # type: ignore[arg-type]
            priority=priority,  # type: ignore[arg-type]
            missing_info=missing,  # type: ignore[arg-type]
            multi_issue=multi_issue,
            contains_password=bool(secrets),
            language=analysis.language,  # type: ignore[arg-type]
            confidence=confidence,
            alternatives={
                "category": _top3(p_cat, CATEGORIES),
                "priority": _top3(p_pri, PRIORITIES),
            },
            decision=decision,  # type: ignore[arg-type]
            needs_review=urgent or any(d == "review" for d in decision.values()),
            urgent=urgent,
            language_fallback=analysis.language_fallback,
            truncated=analysis.clean.truncated,
            explanation=Explanation(
                rules_fired=[hit.rule_id for hit in analysis.hits],
                top_terms=self._top_terms("category", category, x, row),
                priority_terms=self._top_terms("priority", priority, x, row),
                signals=_fired_signals(analysis),
            ),
            secret_spans=secrets,
            model_version=self.version,
        )

    def _top_terms(self, head: str, label: str, x: Any, row: int, k: int = 5) -> list[str]:
        coef = self.fitted.coefficients.get(head)
        if coef is None:
            return []
        classes = list(self.fitted.heads[head].classes_)
        weights = coef[classes.index(label)] if coef.shape[0] > 1 else coef[0]
        vector = x[row]
        contributions = vector.data * weights[vector.indices]
        order = np.argsort(-contributions)[:k]
        names = self.fitted.feature_names
        return [_readable(names[vector.indices[i]]) for i in order if contributions[i] > 0]


def _ordered(proba: np.ndarray, classes: Sequence[str], order: Sequence[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    return np.array([proba[index[c]] if c in index else 0.0 for c in order])


def _top3(proba: np.ndarray, labels: Sequence[str]) -> list[Alternative]:
    order = np.argsort(-proba)[:3]
    return [Alternative(label=labels[i], probability=round(float(proba[i]), 4)) for i in order]


def _readable(name: str) -> str:
    kind, _, term = name.partition("__")
    if kind == "chars":
        return f"“{term.strip()}”"
    if kind == "numeric":
        return term
    return term


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


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def installed_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in PINNED_LIBRARIES}


def version_mismatches(recorded: dict[str, str]) -> list[str]:
    installed = installed_versions()
    return [
        f"{name} {recorded.get(name)} (installed {installed[name]})"
        for name in PINNED_LIBRARIES
        if recorded.get(name) != installed[name]
    ]
