"""Re-export a model folder of the old artifact format (1: fitted scikit-learn pipelines) to
the serving format (2: plain data), keeping the fitted model, its metadata and evaluation.

    .venv/bin/python -m training.reexport OLD_MODEL_DIR OUT_DIR
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import classifier.features
import classifier.model
from classifier.model import ARTIFACT, METADATA, MODEL_FILES, TicketClassifier
from training import features
from training.compile import FittedModel, compile_model


@contextmanager
def _old_class_locations() -> Any:
    """Format-1 pickles name these classes where they used to live."""
    moved = {
        (classifier.model, "FittedModel"): FittedModel,
        (classifier.features, "CharNgramCounter"): features.CharNgramCounter,
        (classifier.features, "BlockScaler"): features.BlockScaler,
    }
    for (module, name), cls in moved.items():
        setattr(module, name, cls)
    try:
        yield
    finally:
        for module, name in moved:
            delattr(module, name)


def reexport(source: Path, out: Path) -> Path:
    """Compile `source`'s format-1 artifact and save it with its metadata into `out`."""
    import joblib

    metadata = json.loads((source / METADATA).read_text(encoding="utf-8"))
    if metadata.get("artifact_format", 1) != 1:
        raise SystemExit(f"{source} is not in the old format (artifact_format 1)")
    with _old_class_locations():
        fitted = joblib.load(source / ARTIFACT)
    model = TicketClassifier(compile_model(fitted), metadata)
    out.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        if name not in (ARTIFACT, METADATA) and (source / name).exists():
            (out / name).write_bytes((source / name).read_bytes())
    return model.save(out)


if __name__ == "__main__":
    print(reexport(Path(sys.argv[1]), Path(sys.argv[2])))
