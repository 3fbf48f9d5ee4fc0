"""The conversion journey as the local page shows it: the same per-chip state file that
``freebeken convert`` keeps (``<data dir>/convert/<identity>.json``), so the page and the command
continue each other's work, and a reload or a closed tab loses nothing.

The page walks its own steps over those records: ``connect`` (detect, backup, analyze), ``pins``
(the template reviewed), ``flash`` (and the configuration written with it), ``network`` (first
boot on the broker, or the access-point way), ``live`` (the template on the running plug, or the
pin finder), ``home_assistant``, ``done``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..storage import data_dir
from .wizard import State, report

PAGE_STEPS = ("connect", "pins", "flash", "network", "live", "home_assistant", "done")
_IDENTITY = re.compile(r"[A-Za-z0-9]+-[A-Za-z0-9]+")


def folder() -> Path:
    return data_dir() / "convert"


def load(identity: str) -> State:
    """An existing journey by its chip identity; a name that is not one is refused (it becomes a path)."""
    if not _IDENTITY.fullmatch(identity or "") or not (folder() / f"{identity}.json").is_file():
        raise UsageError(f"There is no conversion of a plug called {identity!r} on this computer",
                         hint="Pick one of the plugs listed, or start with the adapter connected.")  # fmt: skip
    return State.load(identity)


def next_step(state: State) -> str:
    done, data = state.done, state.data
    if not (done("backup") and done("analyze")):
        return "connect"
    if not done("flash"):
        return "flash" if data.get("pins_reviewed") else "pins"
    if not (done("first_boot") if done("configure") else done("wifi")):
        return "network"
    if not (done("template") or state.get("configure").get("pins")):
        return "live"
    if not (done("home_assistant") or data.get("ha_skipped")):
        return "home_assistant"
    return "done"


def view(state: State) -> dict[str, Any]:
    """Everything the page shows for one plug: each step's record, where to go on, the way back."""
    detect = state.get("detect")
    return {
        "identity": state.data["identity"],
        "chip": detect.get("chip"),
        "mac": detect.get("mac"),
        "steps": state.data["steps"],
        "next": next_step(state),
        "template_text": state.data.get("template_text"),
        "wifi_sent": state.data.get("wifi_sent"),
        "ha_skipped": bool(state.data.get("ha_skipped")),
        "restored": state.data.get("restored"),
        "updated": time.strftime("%Y-%m-%d %H:%M", time.localtime(state.path.stat().st_mtime)),
        "report": report(state),
    }


def summaries() -> list[dict[str, Any]]:
    """Every plug this computer has started converting, the most recently touched first."""
    paths = sorted(folder().glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True) if folder().exists() else []
    out = []
    for path in paths:
        if not _IDENTITY.fullmatch(path.stem):
            continue
        v = view(State.load(path.stem))
        out.append({k: v[k] for k in ("identity", "chip", "mac", "next", "updated")})
    return out


def save_template(state: State, text: str) -> None:
    """The template as the person left it in the box: flashing and applying use it."""
    state.remember("template_text", text)
    state.remember("pins_reviewed", True)
