"""Submitting a template without git: a prefilled issue link, the exact devices.json fragment,
and (given a local devices.json) a ready patch. Nothing is sent anywhere. Pure."""

from __future__ import annotations

import difflib
import json
import re
from urllib.parse import urlencode

from .model import Template

ISSUES_URL = "https://github.com/OpenBekenIOT/webapp/issues/new"


def fragment(t: Template) -> str:
    return json.dumps(t.to_entry(), indent=2, ensure_ascii=False)


def issue_link(t: Template) -> str:
    title = f"Device template: {t.vendor} {t.name} {t.model}".strip()
    body = (
        "Please add this device to devices.json.\n\n"
        f"Chip: {t.chip or '?'}, board/module: {t.board or '?'}\n\n"
        "```json\n" + fragment(t) + "\n```\n\n"
        "Checked with `freebeken template check` (role names, pins, channels)."
    )
    return f"{ISSUES_URL}?{urlencode({'title': title, 'body': body})}"


def slug(t: Template) -> str:
    text = "-".join(x for x in (t.vendor, t.name, t.model) if x) or "template"
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def patch(t: Template, devices_json: str, path: str = "devices.json") -> str:
    """A unified diff adding the entry to ``devices_json`` (the list under "devices", or a list)."""
    data = json.loads(devices_json)
    devices = data["devices"] if isinstance(data, dict) else data
    devices.append(t.to_entry())
    indent = 4 if "\n    " in devices_json else 2
    new = json.dumps(data, indent=indent, ensure_ascii=False) + ("\n" if devices_json.endswith("\n") else "")
    old_lines = devices_json.splitlines(keepends=True)
    if json.dumps(json.loads(devices_json), indent=indent, ensure_ascii=False) + ("\n" if devices_json.endswith("\n") else "") != devices_json:
        # keep the user's formatting: insert the new entry's text before the list's closing bracket
        close = devices_json.rstrip().rfind("]")
        before = devices_json[:close].rstrip()
        entry = json.dumps(t.to_entry(), indent=indent, ensure_ascii=False)
        entry = "\n".join(" " * indent + line for line in entry.splitlines())
        new = before + ",\n" + entry + "\n" + devices_json[close:]
    return "".join(
        difflib.unified_diff(old_lines, new.splitlines(keepends=True), f"a/{path}", f"b/{path}")
    )
