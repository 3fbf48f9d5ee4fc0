"""Submitting a template without git: a prefilled issue link, the exact devices.json fragment,
and (given a local devices.json) a ready patch. Nothing is sent anywhere. Pure.

Every text here survives every string JSON can hold: a lone surrogate escape ("\\ud800") is valid
JSON but no file, terminal or URL can carry it as a character, so it is rendered as that escape
again (``printable``) - in JSON output that is the exact same value."""

from __future__ import annotations

import difflib
import json
import re
from urllib.parse import urlencode

from .model import Template

ISSUES_URL = "https://github.com/OpenBekenIOT/webapp/issues/new"


def printable(text: str) -> str:
    """``text`` with each lone surrogate written as its escape (\\ud800): encodable as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def fragment(t: Template) -> str:
    return printable(json.dumps(t.to_entry(), indent=2, ensure_ascii=False))


def issue_link(t: Template) -> str:
    named = " ".join(x for x in (t.vendor, t.name, t.model) if x) or f"{t.chip or 'Beken'} {t.board or ''} device (name it here)"
    title = f"Device template: {named}".strip()  # never an empty title
    body = (
        "Please add this device to devices.json.\n\n"
        f"Chip: {t.chip or '?'}, board/module: {t.board or '?'}\n\n"
        "```json\n" + fragment(t) + "\n```\n\n"
        "Checked with `freebeken template check` (role names, pins, channels)."
    )
    return f"{ISSUES_URL}?{urlencode({'title': printable(title), 'body': printable(body)})}"


def _lead(line: str) -> str:
    """The whitespace a line starts with."""
    return line[: len(line) - len(line.lstrip())]


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
    base = _lead(lines[close])
    if entries:
        indent = _lead(entries[0])
        inner = next((ln for ln in entries[1:] if ln.strip().startswith('"')), None)
        unit = len(_lead(inner)) - len(indent) if inner else 2
    else:
        indent, unit = base + "  ", 2
    body = printable(json.dumps(t.to_entry(), indent=max(unit, 1), ensure_ascii=False)).splitlines()
    new_lines = [indent + line + "\n" for line in body]
    updated = list(lines)
    if entries:
        last = max(i for i in range(opening + 1, close) if lines[i].strip())
        if not updated[last].rstrip().endswith(","):
            updated[last] = updated[last].rstrip("\r\n") + ",\n"
    updated[close:close] = new_lines
    return "".join(updated)


# ---- a near-duplicate: change the existing entry instead of adding one ----


def update_link(t: Template, title: str, differences: list[str]) -> str:
    body = (
        f'Please update the entry "{title}" in devices.json: the same device, checked on a real one, differs in\n\n'
        + "".join(f"- {d}\n" for d in differences)
        + "\nThe entry's pins should be:\n\n```json\n"
        + json.dumps({"pins": t.to_entry()["pins"]}, indent=2)
        + "\n```\n\nChecked with `freebeken template check` (role names, pins, channels)."
    )
    query = {"title": printable(f"Device template update: {title}"), "body": printable(body)}
    return f"{ISSUES_URL}?{urlencode(query)}"


def _entry_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each object in the "devices" list, found by scanning brackets outside strings."""
    start = text.index("[", text.index('"devices"'))
    spans, depth, i, in_str, opened = [], 0, start + 1, False, -1
    while i < len(text):
        ch = text[i]
        if in_str:
            i += 2 if ch == "\\" else 1
            in_str = in_str and ch != '"'
            continue
        if ch == '"':
            in_str = True
        elif ch == "{":
            depth += 1
            opened = i if depth == 1 else opened
        elif ch == "}":
            depth -= 1
            if depth == 0:
                spans.append((opened, i + 1))
        elif ch == "]" and depth == 0:
            break
        i += 1
    return spans


def update_patch(t: Template, devices_json: str, index: int, path: str = "devices.json") -> str:
    """A unified diff that replaces only the pins of entry ``index``, in the file's own style."""
    data = json.loads(devices_json)  # refuse to patch a broken file
    if not isinstance(data, dict) or not 0 <= index < len(data.get("devices", [])):
        raise ValueError("the entry to update is not in this devices.json")
    spans = _entry_spans(devices_json)
    a, b = spans[index]
    entry = devices_json[a:b]
    m = re.search(r'("pins"\s*:\s*)\{[^{}]*\}', entry)
    if m is None:
        raise ValueError("the entry has no pins to update")
    line_start = entry.rfind("\n", 0, m.start()) + 1
    indent = _lead(entry[line_start:])
    inner = indent + "  "
    pins = t.to_entry()["pins"]
    block = "{\n" + ",\n".join(f"{inner}{json.dumps(k)}: {json.dumps(v)}" for k, v in pins.items()) + f"\n{indent}}}"
    new = devices_json[:a] + entry[: m.start()] + m.group(1) + block + entry[m.end() :] + devices_json[b:]
    json.loads(new)
    return _diff(devices_json, new, path)
