"""One verifying TLS context per process, shared by all its HTTP clients.

Building a context parses the CA bundle: about 50 ms of CPU on a small machine, which every
new httpx client paid again (the model client, the delivery client, each helpdesk client,
the HTTP tools' pool). The context is made once, on first use, the way httpx makes its
default one (``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` when set, else certifi's bundle); a
worker supervisor makes it before forking, so its worker processes start with it.
"""

import functools
import ssl

import httpx


@functools.cache
def default_tls_context() -> ssl.SSLContext:
    """The process's TLS context for outbound HTTPS (certificates and host names verified)."""
    return httpx.create_ssl_context()
