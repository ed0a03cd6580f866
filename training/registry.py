"""MLflow tracking and the model registry: every model is registered as `ticket-classifier`,
gets the alias `challenger`, and becomes `champion` only through the promotion gate.

Tracking defaults to an embedded store in the working directory (`mlflow.db` and
`mlartifacts/`, both git-ignored); `MLFLOW_TRACKING_URI` points elsewhere.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

MODEL_NAME = "ticket-classifier"
EXPERIMENT = "ticket-classifier"
CHAMPION, CHALLENGER = "champion", "challenger"
ROOT = Path(__file__).resolve().parent.parent

# The promotion gate (the thresholds).
MAX_MACRO_F1_DROP = 0.01
MAX_CLASS_RECALL_DROP = 0.03
MAX_LANGUAGE_ACCURACY_DROP = 0.02


def configure_tracking(workdir: Path | None = None) -> str:
    """Use MLFLOW_TRACKING_URI, or the embedded store in the working directory."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    workdir = workdir or Path.cwd()
    if not uri:
        uri = f"sqlite:///{(workdir / 'mlflow.db').resolve()}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        location = (
            None
            if os.environ.get("MLFLOW_TRACKING_URI")
            else ((workdir / "mlartifacts").resolve().as_uri())
        )
        mlflow.create_experiment(EXPERIMENT, artifact_location=location)
    mlflow.set_experiment(EXPERIMENT)
    return uri


@dataclass
class GateResult:
    passed: bool
    failures: list[str]

    def __str__(self) -> str:
        return "passed" if self.passed else "failed: " + "; ".join(self.failures)


def promotion_gate(new: dict[str, Any], old: dict[str, Any]) -> GateResult:
    """Compare two evaluation reports made on the same frozen test split."""
    failures = []
    for metric in ("category_macro_f1", "priority_macro_f1"):
        drop = old["overall"][metric] - new["overall"][metric]
        if drop > MAX_MACRO_F1_DROP:
            failures.append(
                f"{metric} dropped by {drop:.3f} "
                f"({old['overall'][metric]:.3f} -> {new['overall'][metric]:.3f}; "
                f"at most {MAX_MACRO_F1_DROP})"
            )
    for field in ("category", "priority"):
        for label, before in old["per_class"][field].items():
            after = new["per_class"][field].get(label, {"recall": 0.0})
            drop = before["recall"] - after["recall"]
            if drop > MAX_CLASS_RECALL_DROP:
                failures.append(
                    f"{field} {label} recall dropped by {drop:.3f} "
                    f"({before['recall']:.3f} -> {after['recall']:.3f}; "
                    f"at most {MAX_CLASS_RECALL_DROP})"
                )
    for name, before in old["slices"].items():
        if not name.startswith("language="):
            continue
        after = new["slices"].get(name)
        for metric in ("category_accuracy", "priority_accuracy"):
            drop = before[metric] - (after[metric] if after else 0.0)
            if drop > MAX_LANGUAGE_ACCURACY_DROP:
                failures.append(
                    f"{name} {metric} dropped by {drop:.3f} (at most {MAX_LANGUAGE_ACCURACY_DROP})"
                )
    if new["overall"]["urgent_recall"] < old["overall"]["urgent_recall"]:
        failures.append(
            f"P1+P2 recall dropped ({old['overall']['urgent_recall']:.3f} -> "
            f"{new['overall']['urgent_recall']:.3f}; it may not drop)"
        )
    return GateResult(not failures, failures)


def log_model(model_dir: Path, data_sha256: str) -> mlflow.models.model.ModelInfo:
    """Log the model folder as a pyfunc model (in the active run) and register it."""
    import pandas as pd

    from training.pyfunc import TicketClassifierModel

    example = pd.DataFrame(
        [
            {
                "id": "t-example",
                "subject": "Mailbox vol",
                "body": "De mailbox info@bakkerij-voorbeeld.be is vol.",
            }
        ]
    )
    return mlflow.pyfunc.log_model(
        name="model",
        python_model=TicketClassifierModel(),
        input_example=example,
        artifacts={"model_dir": str(model_dir)},
        code_paths=[str(ROOT / "classifier")],
        pip_requirements=_runtime_requirements(),
        registered_model_name=MODEL_NAME,
        metadata={"data_sha256": data_sha256},
    )


def _runtime_requirements() -> list[str]:
    """The runtime's pinned requirements, from the installed distribution."""
    from importlib.metadata import requires

    return [r for r in (requires("ticket-classifier") or []) if "extra ==" not in r]


def version_of_run(run_id: str) -> str:
    client = MlflowClient()
    versions = client.search_model_versions(f"name='{MODEL_NAME}' and run_id='{run_id}'")
    return str(max(int(v.version) for v in versions))


def champion_version() -> str | None:
    try:
        return str(MlflowClient().get_model_version_by_alias(MODEL_NAME, CHAMPION).version)
    except MlflowException:
        return None


def download_model_dir(version: str) -> Path:
    """The TicketClassifier folder of a registered version, downloaded to a temporary folder."""
    uri = f"models:/{MODEL_NAME}/{version}"
    target = Path(tempfile.mkdtemp(prefix="tc-model-"))
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(target)))
    found = next(local.rglob("metadata.json"), None)
    if found is None:
        raise FileNotFoundError(f"version {version} of {MODEL_NAME} holds no metadata.json")
    return found.parent


def promote(version: str, reason: str | None = None) -> None:
    """Move `champion` to a version (with a reason: a recorded manual override)."""
    client = MlflowClient()
    client.set_registered_model_alias(MODEL_NAME, CHAMPION, version)
    if reason:
        client.set_model_version_tag(MODEL_NAME, version, "promotion_override", reason)


def export(alias: str, out: Path) -> Path:
    from classifier.model import copy_model_dir

    """Write the model behind an alias to `out` (artifact and metadata) for the service."""
    client = MlflowClient()
    version = str(client.get_model_version_by_alias(MODEL_NAME, alias).version)
    copy_model_dir(download_model_dir(version), out)
    return out
