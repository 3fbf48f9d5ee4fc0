"""The page's calls about one plug's journey: the list of plugs, one plug's view, what the person
typed (pins, address), skipping Home Assistant, and a simulated plug's power and button. Each
parses the request, calls ``Journey``, and answers its view as JSON."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..convert.journey import Journey, locked
from ..convert.records import PAGE_LABELS, PageStep
from ..device.client import ObkClient
from ..errors import UsageError
from ..events import ListReporter
from ..templates.model import Template, TemplateSyntaxError, load
from .jobs import Body

Handler = Callable[[Request, Body], Response]


def template_in_box(text: str) -> Template:
    """The template box's text, or an error that says where in the box to look."""
    try:
        [(template, problems)] = load(text)[:1]
    except TemplateSyntaxError as e:
        raise UsageError(
            f"The template is not valid JSON (line {e.line}, column {e.column}): {e}",
            hint="Fix it in the box above; “Check template” shows every problem.",
        ) from None
    errors = [str(p) for p in problems if p.severity == "error"]
    if errors:
        raise UsageError("The template has errors: " + "; ".join(errors), hint="“Check template” shows where.")
    return template


def journeys(request: Request, body: Body) -> Response:
    return JSONResponse(
        {
            "journeys": Journey.summaries(),
            "order": [s.value for s in PageStep],
            "labels": {s.value: label for s, label in PAGE_LABELS.items()},
        }
    )


def one_journey(request: Request, body: Body) -> Response:
    return JSONResponse(Journey.load(request.query_params.get("id", "")).view())


def journey_template(request: Request, body: Body) -> Response:
    text = str(body.get("text") or "").strip()
    if text:
        template_in_box(text)  # only a template the firmware accepts is kept for flashing
    with locked(str(body.get("journey") or "")) as journey:
        journey.save_template(text)
        return JSONResponse(journey.view())


def journey_skip(request: Request, body: Body) -> Response:
    with locked(str(body.get("journey") or "")) as journey:
        journey.skip_home_assistant()
        return JSONResponse(journey.view())


def journey_device(request: Request, body: Body) -> Response:
    """The plug's address typed in by the person (from the router's list): proven, then kept in
    place of one found or typed before."""
    name, host = str(body.get("journey") or ""), str(body.get("host") or "").strip()
    Journey.load(name)  # an unknown plug is refused before its address is tried
    if not host:
        raise UsageError("Type the plug's address first", hint="Your router's list of clients shows it.")
    ObkClient(host, body.get("password") or None).info()  # an address that does not answer is not kept
    with locked(name) as journey:
        journey.found(host)
        return JSONResponse(journey.view())


def sim_power(request: Request, body: Body) -> Response:
    """A simulated plug off the adapter: powered on (it boots from its flash file), or off."""
    said = ListReporter()
    with locked(str(body.get("journey") or "")) as journey:
        if body.get("on", True):
            journey.power_on(said)
        else:
            journey.power_off()
        return JSONResponse({"said": [e.message for e in said.events], "journey": journey.view()})


def sim_press(request: Request, body: Body) -> Response:
    """A finger on the simulated plug's button (the pin finder asks for it)."""
    try:
        number = int(body.number("button", 1))
    except ValueError:
        raise UsageError("button must be a number") from None
    pin = Journey.load(str(body.get("journey") or "")).press(number)
    return JSONResponse({"pressed": number, "pin": pin})


def routes(api: Callable[[Handler], Callable]) -> list[Route]:
    return [
        Route("/api/journeys", api(journeys)),
        Route("/api/journey", api(one_journey)),
        Route("/api/journey/template", api(journey_template), methods=["POST"]),
        Route("/api/journey/skip", api(journey_skip), methods=["POST"]),
        Route("/api/journey/device", api(journey_device), methods=["POST"]),
        Route("/api/sim/power", api(sim_power), methods=["POST"]),
        Route("/api/sim/press", api(sim_press), methods=["POST"]),
    ]
