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
    # hide_input_in_errors: a refused setting must not print the secrets beside it.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

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
    # A score request waits at most this long for a score book being computed (the first one
    # after start-up, or after a data change), then answers 503 `scores_not_ready`.
    score_book_wait_seconds: float = Field(30.0, gt=0, le=600)
    # Score books materialised in the database (backend/momentum/snapshots.py): a restart or a
    # new replica starts from the newest instead of scoring the whole store; one is written
    # after a full build and whenever the newest is this many data versions behind.
    score_snapshots: bool = True
    score_snapshot_every_versions: int = Field(20, ge=1, le=1_000_000)
    redis_url: str = ""

    # Request bodies (backend/api/body_limit.py): every route, and the CSV imports.
    max_body_bytes: int = Field(1_048_576, ge=1024, le=1_073_741_824)
    max_import_body_bytes: int = Field(5_242_880, ge=1024, le=1_073_741_824)

    # Where new prices come from: "yfinance" (live) or "none" (only what is stored).
    data_provider: Literal["yfinance", "none"] = "yfinance"
    provider_timeout_seconds: float = Field(10.0, gt=0)
    provider_retries: int = Field(3, ge=0, le=10)
    # On-demand fetches (a ticker the store does not hold, asked of the live provider by a
    # request): how long a request waits, retries included; how long a miss is remembered
    # (the provider has no such ticker / the provider is unreachable); the provider's own
    # threads and how many fetches may be admitted at once (more: 503 provider_busy at once);
    # how many unknown tickers one batch may fetch; fetches per client (`limits` notation).
    on_demand_deadline_seconds: float = Field(5.0, gt=0, le=60)
    on_demand_miss_ttl_seconds: int = Field(3600, ge=1)
    on_demand_unavailable_ttl_seconds: int = Field(60, ge=1)
    on_demand_workers: int = Field(4, ge=1, le=64)
    on_demand_max_pending: int = Field(16, ge=1, le=1024)
    on_demand_batch_max_fetches: int = Field(3, ge=0, le=100)
    rate_limit_on_demand: str = "20/minute"
    # The most scores `GET /momentum/top` answers (at least the universe: `all` is 504 on
    # the sample); at most TOP_LIMIT_CEILING, the bound declared in the OpenAPI schema.
    top_limit_max: int = Field(10_000, ge=1, le=10_000)
    # The correlation of holdings: a pair with fewer overlapping daily returns is null (with
    # the reason), and so is the diversification ratio over fewer common days.
    correlation_min_observations: int = Field(60, ge=2, le=10_000)

    # Watchlists (backend/portfolios/watchlists.py, momentum_watchlist.py): candidates per
    # category in `GET /watchlist`; per user, how many named lists, how many tickers in one,
    # how long a name.
    watchlist_max_per_category: int = Field(5, ge=1, le=100)
    watchlist_max_lists: int = Field(20, ge=1, le=1000)
    watchlist_max_tickers: int = Field(100, ge=1, le=1000)
    watchlist_name_max_length: int = Field(60, ge=1, le=100)
    # How long an Idempotency-Key of a portfolio write is remembered (its repeat answered with
    # the first answer); past it the key is as if never used (backend/portfolios/idempotency.py).
    idempotency_key_hours: int = Field(24, ge=1, le=720)

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

    # Options analytics (backend/options, docs in README "Options"): the continuously
    # compounded risk-free rate of Black-Scholes-Merton; the fewest daily snapshots an IV rank
    # needs (fewer: null with the count); how long one ticker's live snapshot may take
    # (yfinance, every expiry), how many expiries it reads, how many tickers one POST takes;
    # whether the scheduler snapshots after the close (with the price refresh).
    options_risk_free_rate: float = Field(0.04, ge=-0.05, le=0.25)
    options_min_history: int = Field(60, ge=2, le=252)
    options_snapshot_deadline_seconds: float = Field(30.0, gt=0, le=600)
    options_max_expiries: int = Field(16, ge=1, le=60)
    options_snapshot_max_tickers: int = Field(20, ge=1, le=500)
    options_scheduled_snapshots: bool = True
    # Alerts (backend/alerts): limits per user, how often the data version is looked at
    # (0: only when a scheduled refresh pokes), and the webhooks: private/loopback targets
    # refused unless allowed (tests, a receiver on your own network), time-out of one post,
    # retries with exponential back-off (ALERT_WEBHOOK_BACKOFF_SECONDS x 1, 2, 4, ...).
    alert_rules_max_per_user: int = Field(50, ge=1, le=10_000)
    alert_tickers_max_per_rule: int = Field(100, ge=1, le=500)
    alert_evaluation_interval_seconds: float = Field(30.0, ge=0, le=86_400)
    alert_webhook_allow_private: bool = False
    alert_webhook_timeout_seconds: float = Field(5.0, gt=0, le=60)
    alert_webhook_retries: int = Field(3, ge=0, le=10)
    alert_webhook_backoff_seconds: float = Field(1.0, ge=0, le=60)

    # Authentication (backend/auth): the JWT signing secret, token lifetimes, Argon2 cost.
    # In production the service refuses to start unless JWT_SECRET_KEY (and ADMIN_TOKEN, when
    # set) is a real secret (backend/auth/secret_rules.py: 32+ characters, 128+ bits estimated).
    jwt_secret_key: str = JWT_SECRET_EXAMPLE
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    access_token_minutes: int = Field(15, ge=1, le=1440)
    refresh_token_days: int = Field(14, ge=1, le=365)
    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_cost_kib: int = Field(65_536, ge=8)
    argon2_parallelism: int = Field(4, ge=1)
    # How long a process trusts its last check of a login (session id of an access token, user
    # still active); a revoked access token is refused at once by the process that revoked it
    # and within this many seconds by every other worker and replica. 0: check every request.
    auth_session_cache_seconds: float = Field(5.0, ge=0, le=300)
    # Rate limits (the `limits` library; Redis storage when REDIS_URL is set, in-process
    # otherwise), in its notation ("10/minute", "100/hour", "10/15 minutes", "5/minute;50/day").
    rate_limit_enabled: bool = True
    rate_limit_login: str = "10/minute"
    # Failed logins per account (normalised e-mail), whatever the client address.
    rate_limit_login_account: str = "10/15 minutes"
    rate_limit_expensive: str = "30/minute"
    rate_limit_key_prefix: str = Field(
        "alphavelocity-ratelimit", pattern=r"^[A-Za-z0-9_.\-:]{1,64}$"
    )
    # Addresses (IPs or CIDRs, comma-separated) of the reverse proxies whose X-Forwarded-For
    # and X-Forwarded-Proto are believed; the client is the right-most address of
    # X-Forwarded-For that is not one of them. Empty: no proxy is trusted, the peer is the client.
    trusted_proxies: str = ""

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
        from backend.reference.tickers import TICKER_RULE, normalize_ticker

        parts = [p for p in value.split(",") if p.strip()]
        bad = [p for p in parts if normalize_ticker(p) is None]
        if bad:
            raise ValueError(f"CACHE_WARMUP_TICKERS: {bad[0]!r} is not a ticker ({TICKER_RULE})")
        return ",".join(str(normalize_ticker(p)) for p in parts)

    @field_validator(
        "rate_limit_login",
        "rate_limit_login_account",
        "rate_limit_expensive",
        "rate_limit_on_demand",
    )
    @classmethod
    def _rate_limit_notation(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate limit such as '10/minute'") from None
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        from backend.auth.proxies import parse_trusted_proxies

        return ",".join(str(net) for net in parse_trusted_proxies(value))

    @model_validator(mode="after")
    def _on_demand_pool(self) -> "Settings":
        if self.on_demand_max_pending < self.on_demand_workers:
            raise ValueError(
                f"ON_DEMAND_MAX_PENDING ({self.on_demand_max_pending}) must be at least "
                f"ON_DEMAND_WORKERS ({self.on_demand_workers})"
            )
        return self

    @model_validator(mode="after")
    def _production_secrets(self) -> "Settings":
        """In production, JWT_SECRET_KEY and ADMIN_TOKEN (when set) must be real secrets: see
        `backend.auth.secret_rules` for the rule; the error names the setting, never the value."""
        if self.environment != "production":
            return self
        from backend.auth.secret_rules import secret_problem

        problems = [
            f"{name}: {problem}"
            for name, value in (
                ("JWT_SECRET_KEY", self.jwt_secret_key),
                ("ADMIN_TOKEN", self.admin_token),
            )
            if (name == "JWT_SECRET_KEY" or value)
            and (problem := secret_problem(value, JWT_SECRET_EXAMPLE)) is not None
        ]
        if self.admin_token and self.admin_token == self.jwt_secret_key:
            problems.append("ADMIN_TOKEN: must not be the same value as JWT_SECRET_KEY")
        if problems:
            raise ValueError("refused in production: " + "; ".join(problems))
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
