"""The public device lists, downloaded from their homes and cached for a week (the I/O side of
``known`` and ``cloudcutter``). A file given by the user always wins; offline, an old cached copy
is used with a warning; offline with no copy, a clear message says what to do."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .. import events
from ..errors import ListError
from ..events import NullReporter, Reporter
from ..storage import atomic_write, cache_dir
from . import cloudcutter
from .known import Known, Match, load_devices, match
from .model import Template

DEVICES_URL = "https://openbekeniot.github.io/webapp/devices.json"  # what the OpenBeken web app loads
CLOUDCUTTER_API = "https://tuya-cloudcutter.github.io/api"  # devices.json, profiles.json (as its own tool reads them)
WEEK = 7 * 24 * 3600


def _get(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "freebeken"})
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.read()


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ListError(f"{what} is not JSON ({e})", hint="Give another file, or delete it to download the list again.") from None


def _cached(name: str, urls: list[str], reporter: Reporter) -> list[bytes]:
    """The downloaded files, from the cache while younger than a week."""
    folder = cache_dir() / "lists"
    paths = [folder / f"{name}-{i}.json" for i in range(len(urls))]
    fresh = all(p.exists() and time.time() - p.stat().st_mtime < WEEK for p in paths)
    if not fresh:
        try:
            blobs = [_get(u) for u in urls]
            for path, blob in zip(paths, blobs, strict=True):
                _json(blob, f"The downloaded {name} list")
                atomic_write(path, blob)
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            if not all(p.exists() for p in paths):
                raise ListError(
                    f"Cannot download the {name} list ({why(e)}) and there is no copy of it yet",
                    hint=f"Connect to the internet once, or give the list as a file ({urls[0]}).",
                ) from None
            age = (time.time() - paths[0].stat().st_mtime) / 86400
            events.warning(reporter, f"Cannot refresh the {name} list ({why(e)}); using the copy from {age:.0f} days ago")
    return [p.read_bytes() for p in paths]


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise ListError(f"Cannot read {path}: {e.strerror}") from None


def why(e: BaseException) -> str:
    """A download failure in words: "connection refused", not "[Errno 111] Connection refused"."""
    reason = getattr(e, "reason", e)
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return "it timed out" if isinstance(reason, TimeoutError) else str(reason)


def devices(path: str | None = None, reporter: Reporter | None = None) -> list[Known]:
    """OpenBeken's devices.json: ``path``, else the cached download."""
    if path:
        blob = _read(path)
    else:
        blob = _cached("openbeken-devices", [os.environ.get("FREEBEKEN_DEVICES_URL", DEVICES_URL)], reporter or NullReporter())[0]
    data = _json(blob, path or "The downloaded devices list")
    if not (isinstance(data, list) or isinstance(data, dict) and isinstance(data.get("devices"), list)):
        raise ListError(
            f"{path or 'The downloaded list'} is not OpenBeken's devices.json", hint='It is a {"devices": [...]} file.'
        )
    return load_devices(data)


def cutter(path: str | None = None, reporter: Reporter | None = None) -> cloudcutter.Catalogue:
    """tuya-cloudcutter's devices and profiles: ``path`` (the snapshot format), else the public API."""
    if path:
        return cloudcutter.parse(_json(_read(path), path))
    base = os.environ.get("FREEBEKEN_CLOUDCUTTER_URL", CLOUDCUTTER_API).rstrip("/")
    found, profiles = _cached("cloudcutter", [f"{base}/devices.json", f"{base}/profiles.json"], reporter or NullReporter())
    return cloudcutter.parse(_json(found, "The downloaded cloudcutter list"), _json(profiles, "The downloaded profile list"))


def lookup(
    query: str,
    version: str | None = None,
    chip: str | None = None,
    devices_json: str | None = None,
    cutter_file: str | None = None,
    reporter: Reporter | None = None,
) -> dict[str, Any]:
    """Both lists searched for ``query``: OpenBeken templates (with their pins in words and wiki
    link), and per cloudcutter device the honest over-the-air answer (for ``version``, the firmware
    the app shows, when given, and that version's answer in words). A list that cannot be had is
    named in ``unavailable`` and the other list still answers; only both failing is an error."""
    from .known import search

    chip_name = chip.upper() if chip else None
    out: dict[str, Any] = {
        "openbeken": [],
        "cloudcutter": [],
        "firmware_profiles": [],
        "firmware_answer": None,
        "unavailable": [],
    }
    failed: list[ListError] = []
    try:
        obk = [
            (k, " ".join([k.template.vendor, k.template.name, k.template.model, " ".join(k.template.keywords)]))
            for k in devices(devices_json, reporter)
            if not chip_name or not k.template.chip or k.template.chip.upper() == chip_name
        ]
        out["openbeken"] = [
            {
                "title": k.title,
                "chip": k.template.chip,
                "entry": k.template.to_entry(),
                "pins": pins_words(k.template.to_entry()),
                "wiki": k.template.wiki or None,
            }
            for _, k in search(query, obk)
        ]
    except ListError as e:
        failed.append(e)
        out["unavailable"].append({"list": "OpenBeken device list", "error": str(e), "hint": e.hint})
    try:
        cat = cutter(cutter_file, reporter)
    except ListError as e:
        failed.append(e)
        out["unavailable"].append({"list": "tuya-cloudcutter", "error": str(e), "hint": e.hint})
    else:
        cc = [(d, f"{d.manufacturer} {d.name} {d.slug}") for d in cat.devices]
        out["cloudcutter"] = [
            {
                "title": d.title,
                "slug": d.slug,
                "no_solder": d.no_solder(version, chip_name),
                "profiles": [p.describe() for p in d.profiles],
            }
            for _, d in search(query, cc)
        ]
        if version:
            out["firmware_profiles"] = [p.describe() for p in cat.profiles_for(version, chip_name)]
            out["firmware_answer"] = firmware_answer(version, out["firmware_profiles"])
    if len(failed) == 2:
        raise ListError(f"Neither public list can be read: {failed[0]}; {failed[1]}", hint=failed[0].hint)
    return out


def pins_words(entry: dict[str, Any]) -> str:
    """A template's pins as both front ends list them: "P7 Rel;1, P8 Btn;1" (or its startup command)."""
    pins = ", ".join(f"P{p} {r}" for p, r in (entry.get("pins") or {}).items())
    return pins or f"no pins; startup command {entry.get('command', '')!r}"


def firmware_answer(version: str, profiles: list[str]) -> str:
    """What the firmware version the app shows says about converting over the air."""
    if profiles:
        return (
            f"Firmware {version}: tuya-cloudcutter has {len(profiles)} profile(s) for it - likely convertible over the air "
            "(likely, not guaranteed)."
        )
    return f"Firmware {version}: no tuya-cloudcutter profile. Newer firmware is usually patched: UART it is."


def best_match(
    template: Template, devices_json: str | None = None, reporter: Reporter | None = None, say_unknown: bool = False
) -> Match | None:
    """The device list's best entry for these pins, or None. It never stops the command it is part
    of: a list that cannot be had is only said (on ``reporter``), and with ``say_unknown`` so is a
    device the list does not have."""
    reporter = reporter or NullReporter()
    try:
        matches = match(template, devices(devices_json, reporter))
    except ListError as e:
        events.info(reporter, f"Known devices not checked: {e}")
        return None
    if not matches and say_unknown:
        events.info(reporter, "Not in OpenBeken's device list yet: `freebeken template submit` prepares an entry")
    return matches[0] if matches else None
