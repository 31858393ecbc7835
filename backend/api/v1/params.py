"""Query parameters that more than one router declares (the same schema everywhere)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from backend.momentum.universes import universe_names
from backend.research.models import model_names

# The names the server accepts, declared as the schema's enum (the same registries check them).
ModelParam = Annotated[
    str,
    Query(
        description=f"The model: {', '.join(model_names())} (GET /api/v1/research/models). "
        "Other models than alphavelocity-v1 answer with their own score shape.",
        json_schema_extra={"enum": model_names()},
    ),
]
Universe = Annotated[
    str,
    Query(
        description="all, model-portfolio, or a category slug (large-cap-anchors, ...)",
        json_schema_extra={"enum": universe_names()},
    ),
]
