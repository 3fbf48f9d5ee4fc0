"""What counts as a secret in a backup, and how each is replaced. Pure.

Every replacement keeps the length of what it replaces, so that the storage around it (page
layout, value lengths, JSON syntax) stays byte for byte as the firmware wrote it and only
checksums need fixing. A replaced text keeps its character class (hex stays hex, base64 keeps
its padding) so that a reader that validates the format still reads it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import Counter
from dataclasses import dataclass, field

HEX = frozenset(b"0123456789abcdefABCDEF")
#: Shorter secrets are replaced where they are stored but not searched for elsewhere: four
#: bytes match unrelated data too easily.
MIN_SEARCH = 5
#: Fragments of a secret at a storage page's edge (the rest of it in another page) are replaced
#: from this length on.
MIN_FRAGMENT = 4

#: Human names of the Tuya fields that hold secrets (the others found by SECRETISH get "<field>").
KINDS = {
    "uuid": "Tuya uuid",
    "auth_key": "Tuya auth key",
    "psk_key": "Tuya PSK",
    "psk21_key": "Tuya PSK",
    "key": "Tuya cloud key",
    "lckey": "Tuya local key",
    "id": "Tuya device id",
    "ssid": "Wi-Fi name",
    "passwd": "Wi-Fi password",
    "token": "Tuya pairing token",
    "reg_key": "Tuya registration key",
    "ap_passwd": "Tuya access-point password",
    "wx_uuid": "WeChat device id",
    "wx_app_id": "WeChat app id",
    "bt_hid": "Bluetooth device id",
    "bt_mac": "MAC address",
    "mac": "MAC address",
    "sn": "serial number",
}
SECRETISH = re.compile(r"key|psk|pass|pwd|token|secret|uuid|ssid|^sn$|hid$|^wx_|^id$")
#: Fields whose names look secret but are not: the product's own access point, and the addresses
#: of Tuya's TLS-PSK servers (``hs_psk`` "https://a3.tuyaeu.com/d.json", ``mq_psk`` "m2.tuyaeu.com:8883"
#: on all 9 real dumps that have them: region endpoints, the same for every device there).
KEPT_FIELDS = frozenset({"ap_ssid", "hs_psk", "mq_psk"})
MAC_FIELDS = frozenset({"bt_mac", "mac"})

#: KV values that are not JSON and hold no secret (the device config and facts an analyst needs).
#: Any other non-JSON value is replaced whole: what freebeken does not understand is not shared.
KEPT_VALUES = frozenset(
    {
        "user_param_key",
        "em_sys_env",
        "baud_cfg",
        "uart_adapt_params",
        "wf_start_md",
        "timer_arr",
        "is_stride",
        "mf_test_close",
        "save_off_stat",
        "astro_timer",
        "tls_ca_cnt",
        "trace_time_save",
        "moniter_time_save",
        "inch_time_key",
    }
)
#: KV values that are secrets as a whole.
SECRET_VALUES = {
    "ble_beaconkey": "Bluetooth beacon key",
    "voice_ctrl_enc": "voice-control key",
    "dev_if_rec_key": "device record key",
}

# "name": "string" (possibly cut off by the end of a storage page) or "name": number
FIELD = re.compile(rb'"([A-Za-z0-9_]{1,40})"\s*:\s*("(?:[^"\\\x00-\x1f]|\\.)*(?:"|$)|-?\d+(?![\d.]))')


def field_kind(name: str, value: bytes, hide_mac: bool) -> str | None:
    """The kind of secret a JSON field holds, None when it is kept. ``value`` is its raw JSON
    text; an ``id`` is a secret only as a string (the schema's data-point ids are numbers)."""
    if name in MAC_FIELDS:
        return KINDS[name] if hide_mac else None
    if name in KEPT_FIELDS or name.endswith("_ip") or not SECRETISH.search(name):  # *_ip: the cloud servers' addresses
        return None
    if name == "id" and not value.startswith(b'"'):
        return None
    return KINDS.get(name, f"secret field {name}")


def placeholder(original: bytes) -> bytes:
    """A same-length stand-in that differs from ``original``: zeros for hex, x for other text,
    base64 padding kept."""
    body = original.rstrip(b"=")
    pad = len(original) - len(body)
    if pad > 2 or not body:
        body, pad = original, 0
    hexish = all(c in HEX for c in body)
    fill, other = (b"0", b"1") if hexish else (b"x", b"y")
    out = fill * len(body) + b"=" * pad
    return out if out != original else other * len(body) + b"=" * pad


def json_text(value: bytes) -> bytes:
    """Placeholder for a JSON string or number token: quotes and length kept."""
    if value.startswith(b'"'):
        inner = value[1:-1] if value.endswith(b'"') and len(value) > 1 else value[1:]
        return b'"' + placeholder(inner) + value[1 + len(inner) :]
    digits = value.lstrip(b"-")
    return value[: len(value) - len(digits)] + (b"1" if set(digits) == {ord("0")} else b"0") * len(digits)


def decoded(token: bytes) -> bytes | None:
    """The text a JSON string token stands for (escapes resolved), None if it is not a string."""
    if not token.startswith(b'"'):
        return token if token.strip(b"-0") else None
    inner = token[1:-1] if token.endswith(b'"') and len(token) > 1 else token[1:]
    try:
        return json.loads(b'"' + inner + b'"').encode("utf-8")
    except ValueError:
        return inner


@dataclass
class Secrets:
    """The secret values found so far (searched for everywhere else afterwards) and the places
    replaced, counted by (kind, where). Values are never printed."""

    values: dict[bytes, str] = field(default_factory=dict)
    replaced: Counter[tuple[str, str]] = field(default_factory=Counter)
    macs: list[tuple[bytes, bytes]] = field(default_factory=list)  # (real, stand-in) when the MAC is hidden

    def add(self, value: bytes, kind: str) -> None:
        value = value.strip(b"\x00")
        if not value or value in self.values:
            return
        self.values[value] = kind
        unb64 = _base64_text(value)
        if unb64 is not None:  # the Wi-Fi name and password are base64 in gw_wsm when wfb64 is 1
            self.values.setdefault(unb64, kind)

    def note(self, kind: str, where: str, count: int = 1) -> None:
        self.replaced[(kind, where)] += count

    def patterns(self) -> list[tuple[bytes, bytes, str]]:
        """(what to find, its same-length replacement, kind) for every form a secret may take in
        flash: as stored, UTF-16 (both byte orders), hex text (both cases), raw bytes of a hex key."""
        out: list[tuple[bytes, bytes, str]] = []
        for value, kind in self.values.items():
            if len(value) < MIN_SEARCH:
                continue
            text = value.decode("utf-8", "replace")
            stand_in = placeholder(value)
            out.append((value, stand_in, kind))
            for codec in ("utf-16-le", "utf-16-be"):
                out.append((text.encode(codec), ("x" * len(text)).encode(codec), kind))
            out.append((value.hex().encode(), placeholder(value.hex().encode()), kind))
            out.append((value.hex().upper().encode(), placeholder(value.hex().upper().encode()), kind))
            if len(value) >= 16 and len(value) % 2 == 0 and all(c in HEX for c in value):
                raw = bytes.fromhex(value.decode())
                out.append((raw, bytes(len(raw)) if any(raw) else b"\x01" * len(raw), kind))
        for real, fake in self.macs:
            out.append((real, fake, "MAC address"))
            for sep in ("", ":", "-"):
                for upper in (False, True):
                    r, f = (real.hex(sep), fake.hex(sep)) if sep else (real.hex(), fake.hex())
                    out.append(((r.upper() if upper else r).encode(), (f.upper() if upper else f).encode(), "MAC address"))
            for upper in (False, True):  # OpenBeken names itself after the last four bytes
                r, f = real[2:].hex(), fake[2:].hex()
                out.append(((r.upper() if upper else r).encode(), (f.upper() if upper else f).encode(), "MAC address"))
        # longest first, so that a value is replaced whole before a shorter one inside it
        return sorted({p[0]: p for p in out if p[0] != p[1]}.values(), key=lambda p: -len(p[0]))


def _stand_in(token: bytes) -> bool:
    """Already replaced (a page seen twice: as part of a value and on its own)."""
    body = set(token.strip(b'"').rstrip(b"="))
    return bool(body) and (body <= set(b"x") or body <= set(b"y") or body <= set(b"0") or body <= set(b"1"))


def _base64_text(value: bytes) -> bytes | None:
    if len(value) < 4 or len(value) % 4 or not re.fullmatch(rb"[A-Za-z0-9+/]+={0,2}", value):
        return None
    try:
        plain = base64.b64decode(value, validate=True)
        text = plain.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return plain if text.isprintable() and text else None


def redact_json(buf: bytearray, start: int, end: int, secrets: Secrets, where: str, hide_mac: bool) -> int:
    """Replace the secret fields of the JSON text in ``buf[start:end]``; returns how many."""
    count = 0
    for m in FIELD.finditer(bytes(buf[start:end])):
        name, token = m.group(1).decode(), m.group(2)
        kind = field_kind(name, token, hide_mac)
        if kind is None or token in (b'""', b'"') or _stand_in(token):
            continue
        value = decoded(token)
        if value:
            secrets.add(value, kind)
        a = start + m.start(2)
        buf[a : a + len(token)] = json_text(token)
        secrets.note(kind, f"{where} field {name}")
        count += 1
    return count


Pattern = tuple[bytes, bytes, str]  # what to find, its same-length replacement, the kind of secret


def sweep(buf: bytearray, patterns: list[Pattern], secrets: Secrets, where: str, fragments: bool = False) -> None:
    """Replace every occurrence of every pattern in ``buf``; with ``fragments``, also a secret's
    start at the buffer's end and its end at the buffer's start (a value cut by a page edge)."""
    for find, repl, kind in patterns:
        at = buf.find(find)
        while at >= 0:
            buf[at : at + len(find)] = repl
            secrets.note(kind, where)
            at = buf.find(find, at + len(find))
        if fragments and len(find) >= 2 * MIN_FRAGMENT:
            for k in range(len(find) - 1, MIN_FRAGMENT - 1, -1):
                if buf.endswith(find[:k]):
                    buf[len(buf) - k :] = repl[:k]
                    secrets.note(kind, where + " (part, at the page's end)")
                    break
            for k in range(len(find) - 1, MIN_FRAGMENT - 1, -1):
                if buf.startswith(find[-k:]):
                    buf[:k] = repl[-k:]
                    secrets.note(kind, where + " (part, at the page's start)")
                    break
