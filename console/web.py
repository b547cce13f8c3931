"""The built front end (web/dist): assets by name, every other page the single-page app."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

router = APIRouter(include_in_schema=False)

NOT_BUILT = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>正风</title>
<body><p>控制台前端尚未构建：请在项目根目录运行 <code>make console</code>。</p></body></html>"""

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _file(web: Path, path: str) -> Path | None:
    candidate = (web / path).resolve()
    if candidate.is_file() and candidate.is_relative_to(web.resolve()):
        return candidate
    return None


@router.get("/{path:path}")
async def page(path: str, request: Request) -> Response:
    """An asset of the build, else index.html (the router of the app picks the page)."""
    web: Path = request.app.state.settings.web_dir
    if path.startswith(("api/", "auth/")):
        return Response(status_code=404)
    if asset := _file(web, path):
        immutable = path.startswith("assets/")
        cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
        return FileResponse(asset, headers={"Cache-Control": cache, **SECURITY_HEADERS})
    index = web / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT, status_code=503, headers=SECURITY_HEADERS)
    return FileResponse(index, headers={"Cache-Control": "no-cache", **SECURITY_HEADERS})
