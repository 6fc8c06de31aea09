"""vLLM readiness: GET /v1/models answers and lists the served model (and each adapter).

/health only says the engine process lives (it can answer 200 after a GPU fault); a model
list proves the API server took the weights. Used by the image's HEALTHCHECK and by
compose. Exit status 0 ready, 1 not. Standard library only (it runs in the vLLM image).

    python3 ready.py [BASE_URL]     # default http://127.0.0.1:$VLLM_PORT (8000)
Expects VLLM_SERVED_MODEL_NAME (default qwen3.5-9b) and the names in VLLM_LORA_MODULES;
sends VLLM_API_KEY as a bearer token when set.
"""

import json
import os
import sys
import urllib.error
import urllib.request


def expected_models(environ: dict[str, str]) -> set[str]:
    names = {environ.get("VLLM_SERVED_MODEL_NAME") or "qwen3.5-9b"}
    for adapter in (environ.get("VLLM_LORA_MODULES") or "").split():
        names.add(adapter.split("=", 1)[0])
    return names


def served_models(base_url: str, api_key: str | None, timeout_s: float) -> set[str]:
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"{base_url!r} is not an http(s) URL")
    request = urllib.request.Request(base_url.rstrip("/") + "/v1/models")  # noqa: S310
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
        body = json.load(response)
    return {str(entry.get("id")) for entry in body.get("data", []) if isinstance(entry, dict)}


def main(argv: list[str]) -> int:
    environ = dict(os.environ)
    port = environ.get("VLLM_PORT") or "8000"
    base_url = argv[1] if len(argv) > 1 else f"http://127.0.0.1:{port}"
    try:
        served = served_models(base_url, environ.get("VLLM_API_KEY"), timeout_s=5.0)
    except (OSError, ValueError, urllib.error.URLError) as error:
        print(f"not ready: GET {base_url}/v1/models failed: {error}", file=sys.stderr)
        return 1
    missing = expected_models(environ) - served
    if missing:
        print(
            f"not ready: {sorted(missing)} not served (serving {sorted(served)})", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
