"""The admin API's shared query parameters: ``?limit=`` (1..200, default 50), ``cursor``,
and moments (``since``/``until``: ISO 8601 or Unix seconds)."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query

Limit = Annotated[int, Query(ge=1, le=200, description="Items per page (1..200).")]
Cursor = Annotated[
    str | None,
    Query(max_length=200, description="`next_cursor` of the previous page, to continue."),
]
Moment = Annotated[
    datetime | None, Query(description="ISO 8601 (UTC when no offset) or Unix seconds.")
]


def epoch_seconds(moment: datetime | None) -> float | None:
    """Unix seconds of a query moment (one without an offset is UTC); None stays None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
