"""``/docs``: Swagger UI over ``/openapi.json``, served from the packaged copy of its
assets (swagger-ui-bundle), so the page works on a machine without internet access."""

from pathlib import Path

import swagger_ui_bundle
from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from agent.api.errors import ApiError

ASSETS = Path(swagger_ui_bundle.swagger_ui_path)
SERVED = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="deskhand API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon-32x32.png",
    )


@router.get("/docs/assets/{name}")
async def swagger_asset(name: str) -> FileResponse:
    if name not in SERVED:
        raise ApiError(404, f"no such file {name!r}")
    return FileResponse(ASSETS / name, media_type=SERVED[name])
