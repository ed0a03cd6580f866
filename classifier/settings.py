"""One typed settings object, read from the environment (prefix CLASSIFIER_) when asked for."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from classifier.sla import SlaPolicy

if TYPE_CHECKING:
    from classifier.model import TicketClassifier

PACKAGE_ROOT = Path(__file__).resolve().parent
DEFAULT_MODEL_DIR = PACKAGE_ROOT.parent / "models"
# the accuracy report, as `ticket-classifier report` writes it and the service serves it
REPORT_JSON = "accuracy.json"
REPORT_HTML = "accuracy.html"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLASSIFIER_", extra="ignore")

    model_dir: Path = Field(default=DEFAULT_MODEL_DIR, description="folder of the model artifact")
    max_classify_chars: int | None = Field(
        default=None,
        ge=1_000,
        description="own text beyond this many characters is cut before classification "
        "(None: the limit the model was trained with)",
    )
    urgent_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="P(P1)+P(P2) from which a ticket is treated as urgent; "
        "None takes the threshold chosen at training time (model metadata)",
    )
    data_dir: Path = Field(default=Path("var"), description="embedded store and local keys")
    reports_dir: Path | None = Field(
        default=None,
        description="where accuracy reports are written and served from "
        "(default: data_dir/reports)",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in data_dir"
    )
    database_schema: str | None = Field(default=None, description="PostgreSQL schema to use")
    api_keys: str | None = Field(default=None, description="role:key,role:key")
    api_keys_file: Path | None = Field(default=None, description="one role:key per line")
    dev: bool = Field(default=False, description="development run: local keys are created")
    max_ticket_bytes: int = Field(default=256 * 1024, ge=1024)
    max_batch_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_batch_tickets: int = Field(default=1000, ge=1)
    micro_batch: int = Field(
        default=32,
        ge=1,
        le=1000,
        description="most single-ticket requests predicted together under load (1: never batch)",
    )
    sla_policy: SlaPolicy = Field(
        default_factory=SlaPolicy,
        description='first-response policy, as JSON: {"closing_days": ["2026-12-31"], ...}',
    )
    routing_file: Path | None = Field(default=None, description="queue map (default: shipped)")
    replies_file: Path | None = Field(default=None, description="follow-up templates")

    def load_model(self) -> TicketClassifier:
        """The model from model_dir with this configuration (thresholds, limits, intake)."""
        from classifier.intake import Intake
        from classifier.model import TicketClassifier

        return TicketClassifier.load(
            self.model_dir,
            self.urgent_threshold,
            self.max_classify_chars,
            Intake.from_settings(self),
        )

    @property
    def report_dir(self) -> Path:
        return self.reports_dir or self.data_dir / "reports"

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'classifier.db'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
