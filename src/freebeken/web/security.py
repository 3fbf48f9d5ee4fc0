"""What keeps other pages and other machines from driving the local page: loopback Host headers
only (DNS rebinding), the per-session token, the Origin of POSTs (CSRF), and response headers
that forbid framing, foreign scripts and a Referer carrying the token elsewhere."""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

LOOPBACK = {"127.0.0.1", "localhost", "[::1]"}


def guard(request: Request, token: str) -> Response | None:
    """None when the request may be served; else the refusal."""
    host = request.headers.get("host", "")
    if host.rsplit(":", 1)[0] not in LOOPBACK:
        return JSONResponse({"error": "only for this computer"}, 403)
    if request.method == "POST":
        origin = request.headers.get("origin")
        if origin is not None and origin != f"http://{host}":  # another site driving this browser
            return JSONResponse({"error": "requests from other pages are refused"}, 403)
        given = request.headers.get("x-freebeken-token", "")  # never in a POST's URL (logs, history)
    else:  # EventSource and download links cannot set headers
        given = request.headers.get("x-freebeken-token") or request.query_params.get("token", "")
    if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode()):
        return JSONResponse({"error": "missing or wrong session token; open the link freebeken printed"}, 403)
    return None


class SecurityHeaders:
    """No framing, no inline or foreign scripts, no Referer carrying the token elsewhere."""

    HEADERS = [
        (
            b"content-security-policy",
            b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-content-type-options", b"nosniff"),
    ]

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + self.HEADERS
            await send(message)

        await self.app(scope, receive, with_headers)
