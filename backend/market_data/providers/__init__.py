"""Price providers behind one interface (`base.PriceProvider`)."""

from __future__ import annotations

from backend.config import Settings
from backend.market_data.providers.base import PriceProvider


def build_provider(settings: Settings) -> PriceProvider | None:
    """The live provider the settings name (DATA_PROVIDER), or None for `none`."""
    if settings.data_provider == "none":
        return None
    from backend.market_data.providers.yahoo import YFinanceProvider

    return YFinanceProvider(
        timeout=settings.provider_timeout_seconds, retries=settings.provider_retries
    )
