"""The training configuration: a versioned JSON file validated by a pydantic model."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_CONFIG = Path(__file__).resolve().parent / "config.json"
HEADS = (
    "category",
    "priority",
    "multi_issue",
    "error_given",
    "steps_given",
    "ip_needed",
    "subject_ok",
)


class TrainConfig(BaseModel):
    """Every value explicit; the whole object is recorded with the model."""

    model_config = ConfigDict(extra="forbid")

    config_version: int = Field(ge=1)
    seed: int
    cv_folds: int = Field(ge=2, le=10)
    max_classify_chars: int = Field(ge=1000)
    max_word_features: int = Field(ge=1000)
    max_char_features: int = Field(ge=1000)
    use_signals: bool
    head_c: dict[str, float]
    head_signal_weight: dict[str, float] = Field(
        description="scale of the signal and rule features for each head (0 switches them off)"
    )
    multi_topic_weight: float = Field(
        ge=0, description="weight of the stacked topic probabilities in the multi-issue head"
    )
    n_jobs: int = Field(ge=1, description="processes for the cross-validation fits")
    auto_precision: float = Field(gt=0, le=1)
    suggest_precision: float = Field(gt=0, le=1)
    urgent_recall_target: float = Field(gt=0, le=1)

    def model_post_init(self, context: object) -> None:
        for name, values in (
            ("head_c", self.head_c),
            ("head_signal_weight", self.head_signal_weight),
        ):
            missing = set(HEADS) - set(values)
            if missing:
                raise ValueError(f"{name} lacks {sorted(missing)}")


def load_config(path: Path | str = DEFAULT_CONFIG) -> TrainConfig:
    return TrainConfig.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
