"""Help Scout OAuth2 client-credentials, as an httpx auth flow inside ``HelpdeskHttp``.

``POST /v2/oauth2/token`` (form: ``grant_type=client_credentials``, ``client_id``,
``client_secret``) answers ``{"access_token", "expires_in"}``; the token is sent as
``Authorization: Bearer`` and kept until shortly before it expires. A 401 on a call made
with a cached token gets one new token and one more try; a second 401 (or a token request
refused) is the answer the caller sees, so ``HelpdeskHttp`` raises HelpdeskAuthError.
A token request that fails with 429/5xx or a timeout fails the call, which ``HelpdeskHttp``
retries as usual. The client secret and the token never appear in logs or errors.
"""

import json
import time
from collections.abc import AsyncGenerator, Callable, Generator

import httpx

from tools.errors import HelpdeskResponseInvalid

TOKEN_PATH = "/v2/oauth2/token"  # noqa: S105 (a path, not a secret)
_EARLY_S = 60.0  # renew this long before the token's announced expiry


class HelpScoutAuth(httpx.Auth):
    """Adds ``Authorization: Bearer``, getting (and once refreshing) the token as needed."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token_url = token_url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0

    def __repr__(self) -> str:
        return "HelpScoutAuth(<client credentials>)"

    def forget(self) -> None:
        self._token = None

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("HelpScoutAuth is async only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token, fresh = self._cached(), False
        if token is None:
            token = await self._accept((yield self._token_request()))
            if token is None:
                return  # the token endpoint's refusal is the answer
            fresh = True
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401 or fresh:
            return
        self.forget()
        token = await self._accept((yield self._token_request()))
        if token is not None:
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def _cached(self) -> str | None:
        if self._token is not None and self._clock() < self._expires_at:
            return self._token
        return None

    def _token_request(self) -> httpx.Request:
        return httpx.Request("POST", self._token_url, data=self._form)

    async def _accept(self, response: httpx.Response) -> str | None:
        await response.aread()
        if response.status_code != 200:
            return None
        try:
            data = json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = None
        token = data.get("access_token") if isinstance(data, dict) else None
        expires_in = data.get("expires_in") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
            raise HelpdeskResponseInvalid("helpscout token endpoint: no access_token/expires_in")
        self._token = token
        self._expires_at = self._clock() + max(0.0, float(expires_in) - _EARLY_S)
        return token
