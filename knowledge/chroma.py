"""Chroma at the boundary: open an embedded or server client, and translate its errors.

A store that cannot be opened or reached raises ``KnowledgeUnavailable``, naming the
path or the server's URL; a missing collection can be told apart (``CollectionGone``).
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import chromadb
import httpx
from chromadb.api import ClientAPI
from chromadb.config import Settings
from chromadb.errors import ChromaError, NotFoundError

from knowledge.config import KnowledgeConfig
from knowledge.errors import KnowledgeError, KnowledgeUnavailable

logger = logging.getLogger(__name__)


class CollectionGone(Exception):
    """The collection does not exist (any more)."""


@contextmanager
def translated(action: str, gone_ok: bool = False) -> Iterator[None]:
    """Turn Chroma and transport errors into KnowledgeUnavailable.

    With ``gone_ok``, a missing collection raises ``CollectionGone`` instead, for
    callers that treat it as empty.
    """
    try:
        yield
    except NotFoundError as error:
        if gone_ok:
            raise CollectionGone(str(error)) from error
        raise KnowledgeUnavailable(f"{action}: {error}") from error
    except (ChromaError, httpx.HTTPError, OSError) as error:
        raise KnowledgeUnavailable(f"{action}: {_described(error)}") from error


def _described(error: Exception) -> str:
    """The error, naming the Chroma server when a request to it failed (it is down, say)."""
    if not isinstance(error, httpx.TransportError):
        return str(error)
    try:
        url = error.request.url
    except RuntimeError:  # an error raised without its request
        return str(error)
    return f"chroma at {url.scheme}://{url.netloc.decode('ascii')} does not answer: {error}"


def conflict(name: str, error: ValueError) -> KnowledgeError:
    """Chroma refuses a collection made with another embedding function."""
    return KnowledgeError(f"collection {name} cannot be used: {error}")


def connect(config: KnowledgeConfig) -> ClientAPI:
    settings = Settings(anonymized_telemetry=False)
    if config.chroma_url:
        return _connect_http(config.chroma_url, config.timeout_s, settings)
    try:
        config.persist_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(config.persist_dir), settings=settings)
    except Exception as error:  # any failure here means there is no store to use
        raise KnowledgeUnavailable(
            f"cannot open the knowledge store in {config.persist_dir}: {error}"
        ) from error


def _connect_http(url: str, timeout_s: float, settings: Settings) -> ClientAPI:
    """Connect to a Chroma server, every request bounded by ``timeout_s``.

    chromadb's HTTP client has no timeout setting and makes a first request while
    it is being built, so the server is checked first with a bounded heartbeat, and
    the client's session gets the timeout as soon as it exists.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise KnowledgeUnavailable(f"chroma url {url!r} must look like http(s)://host[:port]")
    _check_heartbeat(url.rstrip("/"), timeout_s)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        client = chromadb.HttpClient(
            host=parts.hostname, port=port, ssl=parts.scheme == "https", settings=settings
        )
    except Exception as error:  # any failure here means the server cannot be used
        raise KnowledgeUnavailable(f"cannot connect to chroma at {url}: {error}") from error
    _set_http_timeout(client, timeout_s)
    return client


def _check_heartbeat(url: str, timeout_s: float) -> None:
    try:
        response = httpx.get(f"{url}/api/v2/heartbeat", timeout=timeout_s)
        response.raise_for_status()
    except httpx.HTTPError as error:
        raise KnowledgeUnavailable(f"chroma at {url} does not answer: {error}") from error


def _set_http_timeout(client: ClientAPI, timeout_s: float) -> None:
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(timeout_s)
    else:
        logger.warning("cannot set a timeout on chromadb's HTTP client; requests are unbounded")
