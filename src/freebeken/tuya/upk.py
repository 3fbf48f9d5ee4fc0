"""Tuya's ``user_param_key`` text: JSON-like without quotes, e.g. ``{Jsonver:1.1.8,rl1_pin:7,crc:100,}``.
Also the old nested format (``{"sw":{"ch":[{"bt":{"pin":{"value":15},...}}]}}``), flattened. Pure."""

from __future__ import annotations

import json
import re
from typing import Any

Value = int | str


def parse(text: str | bytes) -> dict[str, Value]:
    if isinstance(text, bytes):
        text = text.split(b"\x00", 1)[0].decode("utf-8", "replace")
    text = text.strip()
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # not JSON; or digits past Python's limit, absurd nesting
        data = None
    if isinstance(data, dict):
        return from_dict(data)
    return _parse_flat(text)


def from_dict(data: dict[str, Any]) -> dict[str, Value]:
    """Keys already decoded (JSON, a cloudcutter profile): scalars normalised, the old nested
    format flattened."""
    return _flatten_old(data) if _is_old_format(data) else {k: _scalar(v) for k, v in data.items()}


def _parse_flat(text: str) -> dict[str, Value]:
    body = text.strip().strip("{}")
    out: dict[str, Value] = {}
    for item in body.split(","):
        key, sep, value = item.partition(":")
        key = key.strip().strip('"')
        if not sep or not key:
            continue
        out[key] = _scalar(value.strip().strip('"'))
    return out


def _scalar(value: Any) -> Value:
    """Integers without a leading zero become ints; '0505' or '1.0.5' stay text."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    text = str(value)
    if re.fullmatch(r"-?(0|[1-9][0-9]{0,17})", text):  # ASCII digits only, and few enough to be a value
        return int(text)
    return text


def _is_old_format(data: dict) -> bool:
    return any(isinstance(v, (dict, list)) for v in data.values())


_RENAMES = {
    "net_wfst": "netled",
    "dltj_epin_pin": "ele_pin",
    "dltj_ivpin_pin": "vi_pin",
    "dltj_ct": "chip_type",
    "dltj_ri": "resistor",
}


def _flatten_old(data: dict) -> dict[str, Value]:
    flat: dict[str, Value] = {}

    def walk(node: Any, path: list[str]) -> None:
        if len(path) > 16:  # real configs nest 4-5 deep; deeper is not a Tuya config
            return
        if isinstance(node, dict):
            if set(node) == {"value"}:
                walk(node["value"], path)
                return
            for k, v in node.items():
                walk(v, path + [str(k)])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + [str(i)])
        else:
            flat["_".join(path)] = _scalar(node)

    walk(data, [])
    out: dict[str, Value] = {}
    for key, value in flat.items():
        key = re.sub(r"^sw_ch_(\d+)_(bt|rl)_", lambda m: f"{m.group(2)}{int(m.group(1)) + 1}_", key)
        key = re.sub(r"^sw_", "", key)
        key = re.sub(r"_pin_pin$", "_pin", key)
        key = re.sub(r"^(bt\d+|rl\d+)_lv$", r"\1_lv", key)
        key = re.sub(r"^dltj_ivcpin_", "sel_pin_", key)
        for old, new in _RENAMES.items():
            if key.startswith(old):
                key = new + key[len(old) :]
        out[key] = value
    return out
