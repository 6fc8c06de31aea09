"""What the model-call gateway remembers: recent successful answers, by request key.

A request's key is the SHA-256 of its method, path, session header, credentials and body,
so that two conversations (or two API keys) never share an answer. Only answers with a
2xx status are kept, each for ``ttl_s`` seconds; the cache holds at most ``max_entries``
answers and ``max_bytes`` bytes of them, dropping the oldest first.
"""

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(frozen=True)
class StoredResponse:
    """An upstream answer, buffered whole (an SSE stream too: its bytes as they came)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status < 300

    @property
    def cacheable(self) -> bool:
        """Only successes are kept: errors, 429s and timeouts are asked again next time."""
        return self.succeeded

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(name) + len(value) for name, value in self.headers)


def request_key(method: str, target: str, session: str, credentials: str, body: bytes) -> str:
    """The identity of a request: equal keys get the same answer."""
    digest = hashlib.sha256()
    for part in (method.upper(), target, session, credentials):
        encoded = part.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
    digest.update(body)
    return digest.hexdigest()


@dataclass(frozen=True)
class _Entry:
    response: StoredResponse
    expires: float


class ResponseCache:
    """Answers by key, expiring after ``ttl_s``, bounded in count and bytes (oldest out)."""

    def __init__(
        self, ttl_s: float, max_entries: int, max_bytes: int, clock: Clock = time.monotonic
    ) -> None:
        if ttl_s < 0 or max_entries < 0 or max_bytes < 0:
            raise ValueError("cache limits must be 0 or more")
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # oldest first = expiring first
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> StoredResponse | None:
        self.expire()
        entry = self._entries.get(key)
        return entry.response if entry is not None else None

    def put(self, key: str, response: StoredResponse) -> bool:
        """Keep a successful answer; whether it was kept (not an error, not too big)."""
        if not response.cacheable or self.ttl_s == 0 or response.size > self.max_bytes:
            return False
        self._drop(key)
        self._entries[key] = _Entry(response, self._clock() + self.ttl_s)
        self.bytes += response.size
        self.expire()
        while self._entries and (
            len(self._entries) > self.max_entries or self.bytes > self.max_bytes
        ):
            self._drop(next(iter(self._entries)))
        return key in self._entries

    def expire(self) -> None:
        """Drop the answers past their time (``get`` and ``put`` do it as they go)."""
        now = self._clock()
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if entry.expires > now:
                return
            self._drop(key)

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.bytes -= entry.response.size
