"""The dashboard page: one self-contained HTML document (no CDN, nothing fetched but the API). It holds
no figures; in the browser it calls the reports with the manager's token, so it shows exactly what the
API shows to that token's area."""
from functools import cache
from pathlib import Path

from aiohttp import web

PAGE = Path(__file__).with_name("dashboard.html")


@cache
def _page() -> str:
    return PAGE.read_text(encoding="utf-8")


async def dashboard(_request: web.Request) -> web.Response:
    return web.Response(text=_page(), content_type="text/html", charset="utf-8", headers={
        "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                   "connect-src 'self'; img-src 'self' data:",
        "Cache-Control": "no-store"})
