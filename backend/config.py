"""The one settings object, read from the environment and `.env` (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = REPO_ROOT / "data" / "alphavelocity.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    app_name: str = "AlphaVelocity"
    environment: Literal["development", "test", "staging", "production"] = "development"
    log_level: str = "INFO"

    # Empty means the embedded default: a SQLite file under ./data/.
    database_url: str = ""
    redis_url: str = ""

    # Where new prices come from: "yfinance" (live) or "none" (only what is stored).
    data_provider: Literal["yfinance", "none"] = "yfinance"
    provider_timeout_seconds: float = Field(10.0, gt=0)
    provider_retries: int = Field(3, ge=0, le=10)

    # Load the shipped offline sample when the store is empty at start-up.
    load_sample_on_empty: bool = True
    # Apply migrations at start-up.
    migrate_on_start: bool = True

    # Composite weights of the momentum model (defaults from docs/momentum-model.md).
    weight_price: float = Field(0.50, ge=0)
    weight_technical: float = Field(0.35, ge=0)
    weight_relative: float = Field(0.15, ge=0)

    admin_token: str = ""
    workers: int = Field(1, ge=1)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("DATABASE_URL must be a sqlite:// or postgresql+psycopg2:// URL")
        return value

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> "Settings":
        total = self.weight_price + self.weight_technical + self.weight_relative
        if abs(total - 1.0) > 1e-9:
            raise ValueError(
                f"WEIGHT_PRICE + WEIGHT_TECHNICAL + WEIGHT_RELATIVE must be 1, not {total}"
            )
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{DEFAULT_SQLITE_PATH}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
