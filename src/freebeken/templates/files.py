"""Reading a template from what a person gives: a template or devices.json entry (JSON), the output
of ``analyze --json``, or a backup (the template its stock configuration implies); "-" is stdin."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import UsageError
from ..tuya.analyze import analyze_bytes
from .model import Template, from_entry, load


def read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise UsageError(f"Cannot read {path}: {e.strerror}") from e


def load_template_file(path: str) -> Template:
    data = read_input(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if not text.lstrip().startswith(("{", "[")):
        analysis = analyze_bytes(data, path)  # a backup: take the template it implies
        if analysis.template is None:
            raise UsageError(f"{path}: no pin configuration found", hint="Use the pin finder on the device instead.")
        entry = analysis.as_dict()["template"]
        return from_entry(entry)[0]
    results = load(text, path)
    if len(results) != 1:
        raise UsageError(f"{path} holds {len(results)} templates", hint="Give a file with a single entry.")
    obj = json.loads(text)
    if isinstance(obj, dict) and isinstance(obj.get("template"), dict):  # `analyze --json` output
        return from_entry(obj["template"])[0]
    return results[0][0]
