"""Read a request body without ever holding more than the allowed size."""

from fastapi import Request

from agent.api.errors import ApiError


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"body is larger than the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"body is larger than the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)
