"""The one settings object, read from the environment and `.env` (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = REPO_ROOT / "data" / "alphavelocity.db"
# The default JWT secret; it (and any `change-me...` example value) is refused in production.
JWT_SECRET_EXAMPLE = "change-me-to-a-long-random-secret"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    app_name: str = "AlphaVelocity"
    environment: Literal["development", "test", "staging", "production"] = "development"
    log_level: str = "INFO"

    # Empty means the embedded default: a SQLite file under ./data/.
    database_url: str = ""
    # Every wait on the database is bounded (PostgreSQL; SQLite waits on its lock at most 30 s).
    # Connecting (libpq's connect_timeout: whole seconds, 1 counts as 2).
    database_connect_timeout_seconds: int = Field(3, ge=1, le=60)
    # One statement: PostgreSQL cancels it (statement_timeout); if the server does not answer
    # at all, the client closes the connection one second later.
    database_statement_timeout_seconds: float = Field(10.0, gt=0, le=3600)
    # Waiting for a free connection of the pool.
    database_pool_timeout_seconds: float = Field(5.0, gt=0, le=300)
    # Reading the data version that every cached answer is keyed on: past this, 503.
    data_version_timeout_seconds: float = Field(1.0, gt=0, le=60)
    # /health/ready answers within this, whatever the database and Redis do.
    health_check_timeout_seconds: float = Field(1.5, gt=0, le=60)
    redis_url: str = ""

    # Request bodies (backend/api/body_limit.py): every route, and the CSV imports.
    max_body_bytes: int = Field(1_048_576, ge=1024, le=1_073_741_824)
    max_import_body_bytes: int = Field(5_242_880, ge=1024, le=1_073_741_824)

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

    # Cache: Redis when REDIS_URL is set, else in-process. Keys carry the store's data
    # version, so the TTL only bounds how long entries nobody asks for any more linger.
    cache_ttl_seconds: int = Field(86_400, ge=1)
    cache_max_entries: int = Field(20_000, ge=1, description="bound of the in-process cache")
    cache_key_prefix: str = Field("alphavelocity", pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    redis_socket_timeout_seconds: float = Field(0.5, gt=0)
    redis_connect_timeout_seconds: float = Field(0.5, gt=0)
    redis_max_connections: int = Field(64, ge=1)
    # After a Redis failure, serve from the in-process cache this long before trying again.
    redis_retry_seconds: float = Field(2.0, gt=0)

    # Observability: one JSON object per log line (else plain text).
    json_logs: bool = False

    # Scheduled refresh: off by default; after the close of each trading session of the
    # exchange calendar, refresh prices then warm the cache (one replica per run, see README).
    scheduler_enabled: bool = False
    refresh_calendar: str = "XNYS"
    refresh_delay_minutes: int = Field(30, ge=0, le=720)
    refresh_lock_ttl_seconds: int = Field(1800, ge=10)
    # Tickers a warmup computes (comma-separated); empty: model portfolio and benchmarks.
    cache_warmup_tickers: str = ""

    # Authentication (backend/auth): the JWT signing secret, token lifetimes, Argon2 cost.
    # The service refuses to start in production with the example secret (or a short one).
    jwt_secret_key: str = JWT_SECRET_EXAMPLE
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    access_token_minutes: int = Field(15, ge=1, le=1440)
    refresh_token_days: int = Field(14, ge=1, le=365)
    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_cost_kib: int = Field(65_536, ge=8)
    argon2_parallelism: int = Field(4, ge=1)
    # Rate limits (slowapi; Redis storage when REDIS_URL is set, in-process otherwise), per
    # client address, in the `limits` notation ("10/minute", "100/hour", "5/second").
    rate_limit_enabled: bool = True
    rate_limit_login: str = "10/minute"
    rate_limit_expensive: str = "30/minute"
    rate_limit_key_prefix: str = Field(
        "alphavelocity-ratelimit", pattern=r"^[A-Za-z0-9_.\-:]{1,64}$"
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("DATABASE_URL must be a sqlite:// or postgresql+psycopg2:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("REDIS_URL must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("cache_warmup_tickers")
    @classmethod
    def _warmup_tickers(cls, value: str) -> str:
        from backend.market_data.bars import TICKER_RULE, normalize_ticker

        parts = [p for p in value.split(",") if p.strip()]
        bad = [p for p in parts if normalize_ticker(p) is None]
        if bad:
            raise ValueError(f"CACHE_WARMUP_TICKERS: {bad[0]!r} is not a ticker ({TICKER_RULE})")
        return ",".join(str(normalize_ticker(p)) for p in parts)

    @field_validator("rate_limit_login", "rate_limit_expensive")
    @classmethod
    def _rate_limit_notation(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate limit such as '10/minute'") from None
        return value

    @model_validator(mode="after")
    def _production_secret(self) -> "Settings":
        if self.environment == "production" and (
            self.jwt_secret_key == JWT_SECRET_EXAMPLE
            or self.jwt_secret_key.startswith("change-me")
            or len(self.jwt_secret_key) < 32
        ):
            raise ValueError(
                "JWT_SECRET_KEY must be set to a random secret of at least 32 characters in "
                "production (it is the example value or too short)"
            )
        return self

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
