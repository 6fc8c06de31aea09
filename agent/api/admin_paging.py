"""The admin API's pagination parameters: ``?limit=`` (1..200, default 50) and ``cursor``."""

from typing import Annotated

from fastapi import Query

Limit = Annotated[int, Query(ge=1, le=200, description="Items per page (1..200).")]
Cursor = Annotated[
    str | None,
    Query(max_length=200, description="`next_cursor` of the previous page, to continue."),
]
