"""The routing key that keeps one conversation on one model replica.

With several vLLM replicas behind a consistent-hash proxy (``deploy/k8s/proxy/nginx.conf``) or
vLLM's production-stack router in session mode, every request of a conversation carries
the same header value, so it reaches the replica that holds its prompt prefix in cache.
The value is a digest: proxies log headers, conversation keys name customers' tickets.
"""

import hashlib
import re

DEFAULT_ROUTING_HEADER = "X-Session-Id"
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # an HTTP header name (RFC 9110 token)


def routing_value(conversation_key: str) -> str:
    """A stable, opaque value for one conversation: 32 hex digits of its BLAKE2b digest."""
    return hashlib.blake2b(conversation_key.encode("utf-8"), digest_size=16).hexdigest()


def is_header_name(name: str) -> bool:
    return bool(_TOKEN.match(name))
