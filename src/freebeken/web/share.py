"""``POST /api/share``: the page's "Share this backup" (``freebeken backup share``). Body:
``{"path": backup, "hideMac": bool, "force": bool}``; the backup must be one of freebeken's (its
data folder) or an upload of this page. Answers what was written, replaced, the device facts
and the prefilled texts; a backup that could not be checked whole is refused (409) until the
person asks again with ``force``."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import FreebekenError, SafetyError, UsageError
from ..storage import data_dir
from ..tuya.share_files import share_file
from .jobs import plain_error
from .security import guard


def route(token: str, workdir: Path) -> Route:
    async def endpoint(request: Request) -> Response:
        denied = guard(request, token)
        if denied is not None:
            return denied
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse({"error": "the request body must be a JSON object", "hint": ""}, 400)
        try:
            return JSONResponse(await run_in_threadpool(_share, body, workdir))
        except SafetyError as e:  # the page offers "share anyway" for this one
            return JSONResponse({"error": str(e), "hint": e.hint, "needs_force": True}, 409)
        except FreebekenError as e:
            return JSONResponse({"error": str(e), "hint": e.hint}, 400)
        except Exception as e:  # plain words only, as everywhere on the page
            return JSONResponse(plain_error(e), 400 if isinstance(e, (OSError, ValueError, TypeError)) else 500)

    return Route("/api/share", endpoint, methods=["POST"])


def _share(body: dict, workdir: Path) -> dict:
    path = Path(str(body.get("path") or ""))
    allowed = (data_dir().resolve(), workdir.resolve())
    if not str(body.get("path") or "") or not path.is_file() or not any(path.resolve().is_relative_to(a) for a in allowed):
        raise UsageError(
            "Choose one of freebeken's backups (this plug's is made in “Wire and back up”)",
            hint="The page shares only backups freebeken made or that were uploaded to it.",
        )
    shared = share_file(path, hide_mac=bool(body.get("hideMac")), force=bool(body.get("force")))
    return {**shared.as_dict(), "text": shared.text}
