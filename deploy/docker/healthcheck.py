"""The image's health check: GET a local URL, exit 0 on a 2xx answer, 1 otherwise.

The URL is DESKHAND_HEALTHCHECK_URL when set (a worker: its metrics port), else the API's
liveness route http://127.0.0.1:$DESKHAND_PORT/healthz. Standard library only, so it
costs no import of deskhand (and of torch) every few seconds.
"""

import os
import sys
import urllib.error
import urllib.request


def health_url(environ: dict[str, str]) -> str:
    explicit = environ.get("DESKHAND_HEALTHCHECK_URL")
    if explicit:
        return explicit
    return f"http://127.0.0.1:{environ.get('DESKHAND_PORT') or '8080'}/healthz"


def main() -> int:
    url = health_url(dict(os.environ))
    try:
        with urllib.request.urlopen(url, timeout=4.0) as response:  # noqa: S310
            status = int(response.status)
    except (OSError, ValueError, urllib.error.URLError) as error:
        print(f"unhealthy: GET {url}: {error}", file=sys.stderr)
        return 1
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
