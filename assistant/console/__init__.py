"""The staff web console: one plain page over the admin API (no build step, no npm).

``GET /console`` serves the page; its script and style are under ``/console/static/``. The page
itself is public; everything it shows comes from the admin API with the token staff log in with.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).resolve().parent / "static"


async def console_page(_: web.Request) -> web.FileResponse:
    response = web.FileResponse(STATIC_DIR / "console.html")
    response.headers["Cache-Control"] = "no-store"
    # Only our own script and style run; the page may not be framed (clickjacking).
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def console_redirect(_: web.Request) -> web.Response:
    raise web.HTTPFound("/console")


def console_routes() -> list[web.AbstractRouteDef]:
    """The console page and its static files."""
    return [
        web.get("/console", console_page),
        web.get("/console/", console_redirect),
        web.static("/console/static", STATIC_DIR),
    ]
