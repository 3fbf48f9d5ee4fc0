"""The page's calls about chip families and modules: which families the page can flash and what the
person does differently for each (the boot pin), the modules of a family with their wiring
picture, and the verify job (the chip proves it holds the release flashed, or a backup)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import UsageError
from ..families.registry import FAMILIES
from ..storage import data_dir
from . import family_jobs
from .chip_jobs import family_of_request
from .family_modules import FAMILY_MODULES
from .jobs import Body, Job, Jobs
from .wiring import MODULES, module_named, wiring_svg

Handler = Callable[[Request, Body], Response]

#: The families the page offers, in its words (Beken first: found by itself, as before).
LABELS = {
    "beken": "Beken BK7231T/N/U/M, BK7238, BK7252N (Tuya WB*, CB*, T*): found by itself",
    "rtl8720cf": "Realtek RTL8720CF (Tuya WBR2, WBR3)",
    "ln882h": "Lightning LN882H (Tuya WL2S, WL2H-U)",
}


def families(request: Request, body: Body) -> Response:
    out: list[dict[str, Any]] = [{"name": "beken", "label": LABELS["beken"], "download_mode": "", "restart": "", "wiring": ""}]
    for spec in dict.fromkeys(FAMILIES.values()):  # each family once (the registry has aliases)
        out.append(
            {
                "name": spec.name,
                "label": LABELS.get(spec.name, spec.name.upper()),
                "download_mode": spec.download_mode,
                "restart": spec.start_firmware,
                "release": spec.release_name("<version>"),
                "wiring": "; ".join(f"adapter {adapter} to {pin}" for adapter, pin in spec.wiring),
                "integrity": spec.integrity,
            }
        )
    return JSONResponse({"families": out})


def modules(request: Request, body: Body) -> Response:
    """The modules of a family (``?family=rtl8720cf``; Beken's without it), each with its wires."""
    family = request.query_params.get("family", "beken")
    if family == "beken":
        found: list[Any] = list(MODULES.values())
    elif family in {s.name for s in FAMILIES.values()}:
        found = [m for m in FAMILY_MODULES.values() if m.family == family]
    else:
        raise UsageError(f"No chip family {family!r}", hint="Pick one of the families listed.")
    return JSONResponse(
        {
            "modules": [
                {
                    "name": m.name,
                    "chip": m.chip,
                    "family": getattr(m, "family", "beken"),
                    "datasheet": m.datasheet,
                    "source": getattr(m, "source", "datasheet (Tuya)"),
                    "wires": [{"adapter": a, "pad": p, "why": w} for a, p, w in m.wires()],
                }
                for m in found
            ]
        }
    )


def wiring(request: Request, body: Body) -> Response:
    name = request.query_params.get("module", "")
    module = module_named(name)
    if module is None:
        return JSONResponse({"error": f"No wiring picture for {name!r}", "hint": "Pick a module from the list."}, 404)
    return Response(wiring_svg(module), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


def routes(api: Callable[[Handler], Callable], jobs: Jobs, uploads: Path) -> list[Route]:
    def verify(request: Request, body: Body) -> Response:
        port = str(body.get("port") or "")
        spec = family_of_request(port, body.get("chip"))
        if spec is None:
            raise UsageError(
                "Verifying from the page is for the RTL8720CF and LN882H",
                hint="A Beken's flash is verified by its CRC as it is written; `freebeken verify` checks one by hand.",
            )
        given = Path(str(body["path"])) if body.get("path") else None
        if given is not None and not any(given.resolve().is_relative_to(a) for a in (data_dir().resolve(), uploads.resolve())):
            raise UsageError("Choose one of the backups, or upload a file first")

        def work(job: Job) -> dict[str, Any]:
            return family_jobs.verify(spec, port, given, job)

        return JSONResponse({"job": jobs.start("verify", work).id})

    return [
        Route("/api/families", api(families)),
        Route("/api/modules", api(modules)),
        Route("/api/wiring", api(wiring)),
        Route("/api/verify", api(verify), methods=["POST"]),
    ]
