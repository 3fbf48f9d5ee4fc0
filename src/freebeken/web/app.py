"""HTTP API of the local page. Every /api call needs the per-session token (header
``X-Freebeken-Token``, or ``token=`` for EventSource/downloads), and only loopback Host headers are
served, so other sites open in the same browser cannot drive it (CSRF, DNS rebinding)."""

from __future__ import annotations

import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..convert.first_boot import wait_for_plug
from ..convert.journey import locked, on_adapter, verdict
from ..device.client import AP_ADDRESS, ObkClient
from ..device.config import apply_template
from ..device.discover import display_mac, find_mac, is_mac, local_networks, parse_networks
from ..device.pinfinder import PinFinder
from ..errors import FreebekenError, UsageError
from ..events import NullReporter
from ..firmware.settings import Settings, check
from ..flasher import operations as ops
from ..ha.broker import Broker
from ..ha.operations import setup as ha_setup
from ..ha.operations import verify as ha_verify
from ..link.ports import list_serial
from ..storage import data_dir
from ..templates import known, lists, submit
from ..templates.model import Template, TemplateSyntaxError, load
from . import chip_jobs, family_jobs, family_routes, journey_routes
from .asker import WebAsker
from .jobs import Body, Job, Jobs, plain_error
from .journey_routes import template_in_box
from .security import SecurityHeaders, guard
from .share import route as share_route
from .wiring import pins_picture, pins_words

STATIC = Path(__file__).with_name("static")


def sharing(template: Template, devices_json: str | None) -> dict[str, str]:
    """Whether the page offers to submit these pins: never a device the list has with identical
    pins (as ``template submit`` refuses), never an issue without the device's name."""
    try:
        matches = known.match(template, lists.devices(devices_json))
    except lists.ListError as e:
        matches, unchecked = [], f" (OpenBeken's list was not checked: {e})"
    else:
        unchecked = ""
    same = next((m for m in matches if m.identical), None)
    if same is not None:
        return {
            "issue_link": "",
            "share": f"Already in OpenBeken's device list with these pins: {same.known.title}. Nothing to submit.",
        }
    if not (template.vendor or template.name):
        return {"issue_link": "", "share": 'Give the template the product\'s "vendor" and "name" (as on the box) to share it.'}
    close = f" The closest entry, {matches[0].known.title}, differs: {'; '.join(matches[0].differences)}." if matches else ""
    return {"issue_link": submit.issue_link(template), "share": f"Not in the list yet.{close}{unchecked}"}


def _settings(form: dict) -> Settings:
    """The page's "set it up while flashing" fields, checked as the CLI checks them."""
    text = str(form.get("template") or "").strip()
    template = template_in_box(text) if text else None
    broker = Broker.from_url(str(form.get("broker") or "")) if form.get("broker") else None
    s = Settings(
        wifi_ssid=str(form.get("ssid") or "") or None,
        wifi_password=str(form.get("password") or ""),
        broker=broker,
        name=str(form.get("name") or "") or None,
        template=template,
    )
    if s.wifi_ssid is None or broker is None:
        raise UsageError(
            "Setting it up while flashing needs your Wi-Fi name and the broker address",
            hint="Fill both in, or untick “set it up while flashing”.",
        )
    check(s)  # every check, before the chip is touched
    return s


def create_app(token: str, workdir: Path) -> Starlette:
    jobs = Jobs()
    uploads = workdir / "uploads"

    def api(handler):
        """Token check, JSON body, the handler in the thread pool (it does blocking I/O), and
        freebeken errors turned into messages the page shows."""

        async def endpoint(request: Request) -> Response:
            denied = guard(request, token)
            if denied is not None:
                return denied
            body = Body()
            if request.method == "POST":
                if request.headers.get("content-type", "").startswith("application/json"):
                    try:
                        parsed = json.loads(await request.body())
                    except ValueError:
                        return JSONResponse({"error": "the request body is not valid JSON", "hint": ""}, 400)
                    if not isinstance(parsed, dict):
                        return JSONResponse({"error": "the request body must be a JSON object", "hint": ""}, 400)
                    body = Body(parsed)
                else:
                    body = Body(_raw=await request.body())
            try:
                return await run_in_threadpool(handler, request, body)
            except FreebekenError as e:
                return JSONResponse({"error": str(e), "hint": e.hint}, 400)
            except Exception as e:  # in plain words: no exception text reaches the page
                return JSONResponse(plain_error(e), 400 if isinstance(e, OSError) else 500)

        return endpoint

    def started(job: Job) -> JSONResponse:
        return JSONResponse({"job": job.id})

    def ports(request: Request, body: Body) -> Response:
        real = [{"port": p.device, "label": p.label, "adapter": p.adapter} for p in list_serial()]
        sims = [
            {"port": f"sim://{c}?time_scale=0.02&image={workdir / (c + '.bin')}", "label": f"Simulated {c.upper()} plug"}
            for c in ("bk7231t", "bk7231n")
        ] + chip_jobs.family_sim_ports(workdir)
        return JSONResponse({"ports": real + sims})

    def backup(request: Request, body: Body) -> Response:
        try:
            timeout = min(60.0, max(2.0, body.number("timeout", 15)))  # seconds to keep trying to link
        except (TypeError, ValueError):
            raise UsageError("timeout must be a number of seconds") from None

        port, chip = str(body["port"]), str(body.get("chip") or "") or None
        chip_jobs.family_of_request(port, chip)  # a family the simulated port contradicts: 400, in words
        return started(jobs.start("backup", lambda job: chip_jobs.backup(port, timeout, job, chip)))

    def check_template(request: Request, body: Body) -> Response:
        try:
            [(template, problems)] = load(body["text"])[:1]
        except TemplateSyntaxError as e:
            return JSONResponse(
                {
                    "ok": False,
                    "problems": [{"severity": "error", "where": f"line {e.line}, column {e.column}", "message": str(e)}],
                }
            )
        errors = [p for p in problems if p.severity == "error"]
        share = sharing(template, local_list(body, "devices_json")) if not errors else {"issue_link": "", "share": ""}
        return JSONResponse(
            {
                "ok": not errors,
                "problems": [p.__dict__ for p in problems],
                "entry": submit.fragment(template) if not errors else "",
                **share,
            }
        )

    def local_list(body: Body, key: str) -> str | None:
        """A copy of a public list the person gave the page (uploaded), instead of the download."""
        given = str(body.get(key) or "")
        if not given:
            return None
        path = Path(given)
        if not path.is_file() or not path.resolve().is_relative_to(uploads.resolve()):
            raise UsageError("That list copy is not one given to this page", hint="Choose the file again.")
        return str(path)

    def upload(request: Request, body: Body) -> Response:
        name = Path(request.query_params.get("name", "firmware.bin")).name
        uploads.mkdir(parents=True, exist_ok=True)
        target = uploads / name
        target.write_bytes(body["_raw"])
        return JSONResponse({"path": str(target)})

    def flash(request: Request, body: Body) -> Response:
        settings = _settings(body["configure"]) if body.get("configure") else None  # bad input: 400 before linking
        port, firmware, chip = str(body["port"]), str(body["firmware"]), str(body.get("chip") or "") or None
        chip_jobs.refuse_settings(port, chip, settings)
        return started(jobs.start("flash", lambda job: chip_jobs.flash(port, firmware, settings, job, chip)))

    def lookup(request: Request, body: Body) -> Response:
        text = str(body.get("text") or "").strip()
        if not text:
            raise UsageError("Type what the box or the listing says, e.g. Aoycocr U3")
        version = str(body.get("firmware") or "") or None
        return JSONResponse(
            lists.lookup(
                text,
                version,
                devices_json=local_list(body, "devices_json"),
                cutter_file=local_list(body, "cloudcutter"),
                reporter=NullReporter(),
            )
        )

    def first_boot(request: Request, body: Body) -> Response:
        broker = Broker.from_url(str(body.get("broker") or ""))
        cid = str(body.get("client_id") or "")
        if not cid:
            raise UsageError("Flash with “set it up while flashing” first: the page needs the plug's client id")

        name = str(body.get("journey") or "")

        def power(job: Job) -> None:
            """Listening already: a simulated plug boots now, as if the adapter was removed."""
            if name:
                with locked(name) as journey:
                    if journey.simulated is not None:
                        journey.power_on(job)

        def work(job: Job) -> dict:
            host = wait_for_plug(
                broker, cid, body.number("wait", 180), job, http_port=int(body.number("http_port", 80)), before=lambda: power(job)
            )
            if name:  # kept even when Home Assistant then fails: the plug was found
                with locked(name) as journey:
                    journey.found(host)
            result = ha_verify(ObkClient(host), broker, reporter=job)
            view = None
            if name:
                with locked(name) as journey:
                    journey.home_assistant(result)
                    view = journey.view()
            return {"host": host, "ha": {**result.as_dict(), "verdict": verdict(result)}, "journey": view}

        return started(jobs.start("first_boot", work))

    def resume(request: Request, body: Body) -> Response:
        def work(job: Job) -> dict:
            family = chip_jobs.family_of_request(str(body["port"]), body.get("chip"))
            if family is not None:  # an RTL8720CF/LN882H: its cut-off flash, finished through its journal
                return family_jobs.resume(family, str(body["port"]), job)
            with on_adapter(body["port"], job) as io:
                result = ops.resume(io)
                return {**(result.as_dict() if result else {}), "pending": result is not None}

        return started(jobs.start("resume", work))

    def pins(request: Request, body: Body) -> Response:
        def work(job: Job) -> dict:
            client = ObkClient(body["host"], body.get("password") or None)
            asker = WebAsker(job)  # numbers its questions from what the pin finder reports
            result = PinFinder(client, asker, asker, pulse=body.number("pulse", 0.4)).run()
            return {"template": result.template.to_entry(), "notes": result.notes}

        return started(jobs.start("pins", work))

    def find(request: Request, body: Body) -> Response:
        def work(job: Job) -> dict:
            nets = parse_networks([body["network"]]) if body.get("network") else local_networks()
            port, password = int(body.number("port", 80)), body.get("password") or None
            macs = [m for m in body.get("macs") or [] if is_mac(m)]  # from its access point or its backup
            search = find_mac(macs, nets, port, password, wait=0, reporter=job)
            match = search.match.address if search.match else None
            view = None
            if match and body.get("journey"):
                with locked(str(body["journey"])) as journey:
                    journey.found(match)
                    view = journey.view()
            return {"devices": [d.as_dict() for d in search.seen], "match": match, "journey": view}

        return started(jobs.start("find", work))

    def wifi(request: Request, body: Body) -> Response:
        if not body.get("ssid"):
            raise UsageError("Enter your home Wi-Fi name first")
        ap = ObkClient(body.get("ap") or AP_ADDRESS, body.get("devicePassword") or None)
        ssid, password = str(body["ssid"]), str(body.get("password") or "")
        if body.get("journey"):
            with locked(str(body["journey"])) as journey:
                mac = journey.send_wifi(ap, ssid, password).mac
                view = journey.view()
        else:
            mac, view = ap.join_wifi(ssid, password), None
        return JSONResponse({"mac": display_mac(mac), "journey": view})

    def apply(request: Request, body: Body) -> Response:
        text = str(body.get("template") or "").strip()
        if not text:
            raise UsageError(
                "There is no template yet", hint="Back up the plug (its pins are read from the backup) or run “Find the pins”."
            )
        template = template_in_box(text)
        client = ObkClient(body["host"], body.get("password") or None)
        if not body.get("journey"):
            apply_template(client, template)
            return JSONResponse({"ok": True, "journey": None})
        with locked(str(body["journey"])) as journey:
            journey.apply(client, template, str(body.get("source") or "page"))
            return JSONResponse({"ok": True, "journey": journey.view()})

    def backups(request: Request, body: Body) -> Response:
        folder = data_dir() / "backups"
        found = sorted(folder.glob("*.bin"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.exists() else []
        found = [p for p in found if not p.name.endswith(".shared.bin")]  # stand-in secrets: for analysts, not for a plug
        return JSONResponse({"backups": [{"path": str(p), "name": p.name, "size": p.stat().st_size} for p in found]})

    def restore(request: Request, body: Body) -> Response:
        path = Path(str(body.get("path") or ""))
        if not path.is_file() or not any(path.resolve().is_relative_to(a) for a in (data_dir().resolve(), uploads.resolve())):
            raise UsageError("Choose one of the backups, or upload a backup file first")

        port, other, chip = str(body["port"]), bool(body.get("otherDevice")), str(body.get("chip") or "") or None
        chip_jobs.family_of_request(port, chip)
        return started(jobs.start("restore", lambda job: chip_jobs.restore(port, path, other, job, chip)))

    def ha(request: Request, body: Body) -> Response:
        def work(job: Job) -> dict:
            client = ObkClient(body["host"], body.get("password") or None)
            result = ha_setup(client, Broker.from_url(body["broker"]), name=body.get("name") or None, reporter=job)
            view = None
            if body.get("journey"):
                with locked(str(body["journey"])) as journey:
                    journey.home_assistant(result)
                    view = journey.view()
            return {**result.as_dict(), "verdict": verdict(result), "journey": view}

        return started(jobs.start("ha", work))

    def template_picture(request: Request, body: Body) -> Response:
        template = template_in_box(str(body.get("text") or ""))
        return JSONResponse({"svg": pins_picture(template, str(body.get("module") or "") or None), "words": pins_words(template)})

    def answer(request: Request, body: Body) -> Response:
        job = jobs.get(body["job"])
        if job is None:
            return JSONResponse({"error": "no such job"}, 404)
        job.answer(str(body["answer"]))
        return JSONResponse({"ok": True})

    def job_events(request: Request, body: Body) -> Response:
        job = jobs.get(request.path_params["job"])
        if job is None:
            return JSONResponse({"error": "no such job"}, 404)

        def stream():
            seen = 0
            while True:
                batch = job.wait_events(seen)
                for record in batch:
                    yield f"data: {json.dumps(record, default=str)}\n\n"
                seen += len(batch)
                if job.done and seen >= len(job.events):
                    return
                if not batch:
                    yield ": keep-alive\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    def download(request: Request, body: Body) -> Response:
        path = Path(request.query_params["path"]).resolve()
        allowed = [data_dir().resolve(), workdir.resolve()]
        if not any(path.is_relative_to(a) for a in allowed) or not path.is_file():
            return JSONResponse({"error": "not a freebeken file"}, 404)
        return FileResponse(path, filename=path.name)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    routes = [
        Route("/", index),
        Route("/api/ports", api(ports)),
        Route("/api/backup", api(backup), methods=["POST"]),
        Route("/api/template/check", api(check_template), methods=["POST"]),
        Route("/api/upload", api(upload), methods=["POST"]),
        Route("/api/flash", api(flash), methods=["POST"]),
        Route("/api/resume", api(resume), methods=["POST"]),
        Route("/api/first_boot", api(first_boot), methods=["POST"]),
        Route("/api/lookup", api(lookup), methods=["POST"]),
        Route("/api/backups", api(backups)),
        Route("/api/restore", api(restore), methods=["POST"]),
        Route("/api/pins", api(pins), methods=["POST"]),
        Route("/api/wifi", api(wifi), methods=["POST"]),
        Route("/api/find", api(find), methods=["POST"]),
        Route("/api/apply", api(apply), methods=["POST"]),
        Route("/api/ha", api(ha), methods=["POST"]),
        Route("/api/answer", api(answer), methods=["POST"]),
        *family_routes.routes(api, jobs, uploads),  # families, modules and their wiring, verify
        Route("/api/template/picture", api(template_picture), methods=["POST"]),
        Route("/api/jobs/{job}/events", api(job_events)),
        Route("/api/download", api(download)),
        share_route(token, workdir),
        *journey_routes.routes(api),
        Mount("/static", StaticFiles(directory=STATIC)),
    ]
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])
