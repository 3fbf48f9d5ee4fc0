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
    """A unified diff appending the entry to a local copy of devices.json, in that file's own
    indentation, so that the diff touches only the new lines."""
    json.loads(devices_json)  # refuse to patch a broken file
    if not any(line.strip().startswith("]") for line in devices_json.splitlines()):
        devices_json_open = devices_json.replace("[]", "[\n]", 1)  # an empty list on one line
        return _diff(devices_json, patch_text(t, devices_json_open), path)
    return _diff(devices_json, patch_text(t, devices_json), path)


def _diff(old: str, new: str, path: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{path}", f"b/{path}"))


def patch_text(t: Template, devices_json: str) -> str:
    """devices.json with the entry appended to its list."""
    lines = devices_json.splitlines(keepends=True)
    close = max(i for i, line in enumerate(lines) if line.strip().startswith("]"))
    opening = max(i for i in range(close + 1) if "[" in lines[i])
    entries = [ln for ln in lines[opening + 1 : close] if ln.strip()]
    base = re.match(r"\s*", lines[close]).group(0)
    if entries:
        indent = re.match(r"\s*", entries[0]).group(0)
        inner = next((ln for ln in entries[1:] if ln.strip().startswith('"')), None)
        unit = len(re.match(r"\s*", inner).group(0)) - len(indent) if inner else 2
    else:
        indent, unit = base + "  ", 2
    body = json.dumps(t.to_entry(), indent=max(unit, 1), ensure_ascii=False).splitlines()
    new_lines = [indent + line + "\n" for line in body]
    updated = list(lines)
    if entries:
        last = max(i for i in range(opening + 1, close) if lines[i].strip())
        if not updated[last].rstrip().endswith(","):
            updated[last] = updated[last].rstrip("\r\n") + ",\n"
    updated[close:close] = new_lines
    return "".join(updated)
