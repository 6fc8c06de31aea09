"""The headers that carry a backend's credentials (never logged, never shown to the model)."""

import base64

from tools.http_tools.spec import AuthSpec


def auth_headers(auth: AuthSpec | None) -> dict[str, str]:
    if auth is None:
        return {}
    if auth.bearer is not None:
        return {"Authorization": f"Bearer {auth.bearer.get_secret_value()}"}
    if auth.header is not None:
        return {auth.header.name: auth.header.value.get_secret_value()}
    assert auth.basic is not None
    pair = f"{auth.basic.username}:{auth.basic.password.get_secret_value()}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
