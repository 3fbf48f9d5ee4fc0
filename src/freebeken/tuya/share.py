"""``freebeken backup share``: a copy of a flash backup the community can analyse, without the
owner's secrets. Pure (the CLI and the page do the file handling).

What is replaced, each by a stand-in of the same length (``share_rules``):
- Tuya's KV storage (``share_kv``): device id, uuid, auth key, PSKs, local and cloud keys, the
  Wi-Fi name and password, pairing tokens; in the live values, the older copies and free pages;
  the storage is encrypted again with its own keys and its checksums fixed;
- the Beken SDK's Wi-Fi fast-connect record (the "NET" sector of a stock device): network name,
  router BSSID, PMK and passphrase;
- OpenBeken's configuration: Wi-Fi networks, MQTT broker, user and password, web password;
- every other copy of any value found, anywhere outside the code, as text, UTF-16 or hex;
- with ``hide_mac``, the MAC (RF calibration sector, configuration, names derived from it).
Bootloader, application, RF calibration, configuration and pins are kept byte for byte.
The result is read back before it is offered: the storage must decode as before and none of
the values may be found in it any more.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from typing import Any

from ..chips import CHIPS
from ..chips import dump as d
from ..errors import UsageError
from ..firmware import obkconfig
from . import kv
from .analyze import Analysis, analyze_bytes
from .share_kv import KvShare
from .share_rules import Secrets, placeholder, sweep

LFS_AREA = (0x12A000, 0x1D0000)  # where OpenBeken's LittleFS can start (inside the OTA area)
LFS_DEFAULT = 0x8000
#: Beken's fast-connect record in the NET sector of a stock device (offsets as observed; SDK
#: struct wlan_fast_connect_info): ssid[33], bssid[6], channel, security, psk[65] (the PMK as
#: 64 hex digits), pwd[65] (the passphrase).
FAST_CONNECT = {"ssid": (0x00, 33), "bssid": (0x21, 6), "psk": (0x29, 65), "pwd": (0x6A, 65)}
FAST_KINDS = {"ssid": "Wi-Fi name", "bssid": "router BSSID", "psk": "Wi-Fi PMK", "pwd": "Wi-Fi password"}
OBK_KINDS = {
    "wifi_ssid": "Wi-Fi name",
    "wifi_ssid2": "Wi-Fi name",
    "wifi_pass": "Wi-Fi password",
    "wifi_pass2": "Wi-Fi password",
    "mqtt_host": "MQTT broker",
    "mqtt_user": "MQTT user",
    "mqtt_pass": "MQTT password",
    "web_password": "web password",
}


@dataclass
class ShareResult:
    data: bytes  # the shareable file, in the input's own orientation
    secrets: Secrets
    unchecked: list[str]  # what could not be checked: sharing it needs --force
    notes: list[str]
    original: Analysis
    shared: Analysis
    differences: list[str] = field(default_factory=list)  # analyze fields that changed

    @property
    def replaced(self) -> list[dict[str, Any]]:
        return [{"kind": k, "where": w, "times": n} for (k, w), n in sorted(self.secrets.replaced.items())]

    @property
    def safe(self) -> bool:
        return not self.unchecked


def share_bytes(data: bytes, source: str = "", hide_mac: bool = False, drop_files: bool = False) -> ShareResult:
    original = analyze_bytes(data, source)
    if original.kind != "flash dump":
        raise UsageError(
            f"{source or 'input'} is a config file, not a flash backup: it has nothing to replace",
            hint="Share it as it is, or give the backup (.bin) it came from.",
        )
    shape = d.normalise(data)
    image = bytearray(shape.image)
    secrets = Secrets()
    unchecked: list[str] = []
    notes: list[str] = []
    full = shape.kind != "partial"
    if hide_mac:
        _hide_mac(original, image, secrets, notes)
    net_sectors = _net_sectors(image, original, full)
    obk: dict[int, bytes] = {}  # NET sector address -> its content before
    for address in net_sectors:
        sector = bytes(image[address : address + 0x1000])
        if sector[:3] == obkconfig.IDENT:
            obk[address] = sector
            _openbeken(image, address, secrets, unchecked, original)
        elif sector != b"\xff" * 0x1000 and full:
            _fast_connect(image, address, secrets, unchecked, original.firmware.get("kind") == "tuya")
    store = KvShare(bytes(image), hide_mac)
    store.collect(secrets)
    unchecked += store.unchecked
    others = [off for off, _key in kv.find_key_blocks(bytes(image)) if store.store is None or off != store.store.key_offset]
    if others:  # never seen: one store per dump on all 24 real ones
        unchecked.append(f"a second Tuya KV store (key block at 0x{others[0]:X}) was not worked on")
    if store.store is None and original.obk is None and original.firmware.get("kind") not in ("empty",):
        unchecked.append(
            "no Tuya key-value store and no OpenBeken configuration found: this firmware keeps its "
            "settings where freebeken cannot read them"
        )
    code_end = d.RBL_APP + 96 if full and d.rbl_header(bytes(image)) else 0
    skip = {s.offset for s in store.sectors} | {p.offset for p in store.protected}
    if store.store is not None:
        skip.add(store.store.key_offset)
    lfs = _littlefs(image) if full else None
    if lfs is not None and drop_files:
        start, size = lfs
        size = _lfs_size(obk) or size
        image[start : start + size] = b"\xff" * size
        secrets.note("OpenBeken file system (erased)", f"0x{start:X}-0x{start + size:X}")
        lfs = None
    patterns = secrets.patterns()
    for start in range(0, len(image), 0x1000):  # sector by sector: a secret never spans two here
        if start in skip:
            continue
        if start < code_end:
            hits = [kind for find, _r, kind in patterns if len(find) >= 8 and find in image[start : start + 0x1000]]
            if hits:
                part = "bootloader" if start < 0x11000 else "application"
                unchecked.append(f"the {hits[0]} appears inside the {part} at 0x{start:X}, which is kept as it is")
            continue
        buf = image[start : start + 0x1000]
        sweep(buf, patterns, secrets, _area(start, original, full))
        image[start : start + 0x1000] = buf
    store.sweep(patterns, secrets)
    store.seal(image)
    for address, before in obk.items():
        image[address : address + 0x1000] = obkconfig.reseal(before, bytes(image[address : address + 0x1000]))
    if lfs is not None:
        unchecked.append(
            f"OpenBeken's file system at 0x{lfs[0]:X} (autoexec.bat and other scripts) was searched for "
            "the secrets found elsewhere, but a script can hold passwords of its own; look at your scripts, "
            "then share with --force, or leave the file system out with --drop-files"
        )
    out = bytes(image)
    if shape.kind == "rotated":
        out = out[d.ROTATION :] + out[: d.ROTATION]
    shared = analyze_bytes(out, source)
    result = ShareResult(out, secrets, unchecked, notes, original, shared)
    _verify(result, patterns, hide_mac, code_end)
    return result


# ---------------------------------------------------------------------------- the places


def _net_sectors(image: bytearray, a: Analysis, full: bool) -> list[int]:
    if not full:  # a window of unknown origin: any sector holding a readable OpenBeken config
        return [o for o in range(0, len(image) - 0x1000 + 1, 0x1000) if image[o : o + 3] == obkconfig.IDENT]
    if a.chip and a.chip.lower() in CHIPS:
        return [CHIPS[a.chip.lower()].obk_config]
    return sorted(set(d.NET_SECTOR.values()))


def _openbeken(image: bytearray, address: int, secrets: Secrets, unchecked: list[str], a: Analysis) -> None:
    sector = bytes(image[address : address + 0x1000])
    blanked, found = obkconfig.blank_secrets(sector)
    for name, value in found.items():
        secrets.add(value, OBK_KINDS[name])
        secrets.note(OBK_KINDS[name], f"OpenBeken configuration at 0x{address:X} field {name}")
    image[address : address + 0x1000] = blanked
    if a.obk is not None and not a.obk.get("crc_ok"):
        unchecked.append(
            f"the OpenBeken configuration at 0x{address:X} is damaged: its known fields were blanked, "
            "but its layout could not be confirmed"
        )


def _fast_connect(image: bytearray, address: int, secrets: Secrets, unchecked: list[str], tuya: bool) -> None:
    """The SDK's fast-connect record: recognised by shape (a NUL-terminated name, 64 hex digits
    or nothing for the PMK, the rest of the sector erased). Some SDK builds store it encoded
    (FAST_CONNECT_INFO_ENC_METHOD; 3 of 24 real dumps, 171 bytes each like the plain ones): on a
    Tuya firmware, whose NET sector holds nothing else, such a record is erased whole (it is a
    cache the firmware rebuilds; analysts do not need it). Anything else cannot be vouched for."""
    sector = image[address : address + 0x1000]
    psk = bytes(sector[0x29 : 0x29 + 65]).split(b"\x00", 1)[0]
    pwd = bytes(sector[0x6A : 0x6A + 65]).split(b"\x00", 1)[0]
    tail = bytes(sector[0x6A + 65 :])
    shaped = (
        b"\x00" in sector[0:33]
        and b"\x00" in sector[0x29 : 0x29 + 65]
        and b"\x00" in sector[0x6A : 0x6A + 65]
        and (not psk or len(psk) == 64 and all(c in b"0123456789abcdefABCDEF" for c in psk))
        and all(0x20 <= c < 0x7F for c in pwd)
        and set(tail) <= {0xFF, 0x00}
    )
    used = max((i for i, b in enumerate(sector) if b != 0xFF), default=-1) + 1
    if not shaped and tuya and used <= 0x100:
        image[address : address + 0x1000] = b"\xff" * 0x1000
        secrets.note("Wi-Fi fast-connect record, not readable (erased whole)", f"Beken NET sector at 0x{address:X}")
        return
    if not shaped:
        unchecked.append(
            f"the Beken NET sector at 0x{address:X} holds data freebeken does not recognise (it is "
            "neither a Wi-Fi fast-connect record nor an OpenBeken configuration)"
        )
        return
    for name, (offset, size) in FAST_CONNECT.items():
        raw = bytes(sector[offset : offset + size])
        value = raw if name == "bssid" else raw.split(b"\x00", 1)[0]
        if not value.strip(b"\x00\xff"):
            continue
        if name != "bssid":
            secrets.add(value, FAST_KINDS[name])
        stand_in = bytes(len(value)) if name == "bssid" else placeholder(value)
        image[address + offset : address + offset + len(value)] = stand_in
        secrets.note(FAST_KINDS[name], f"Beken Wi-Fi fast-connect record at 0x{address:X}")


def _hide_mac(a: Analysis, image: bytearray, secrets: Secrets, notes: list[str]) -> None:
    """The MAC of the RF calibration sector and the one OpenBeken's configuration keeps (they
    usually agree); each gets zeros for its last three bytes, its maker prefix stays."""
    macs = [bytes.fromhex(a.mac.replace(":", ""))] if a.mac else []
    for address in _net_sectors(image, a, True):
        if image[address : address + 3] == obkconfig.IDENT:
            field_ = obkconfig.BY_NAME["mac"]
            mac = bytes(image[address + field_.offset : address + field_.offset + 6])
            if mac.strip(b"\x00\xff") and mac not in macs:
                macs.append(mac)
    if not macs:
        notes.append("--hide-mac: no MAC found to hide")
    for mac in macs:
        secrets.macs.append((mac, mac[:3] + (b"\x00\x00\x00" if mac[3:] != b"\x00\x00\x00" else b"\x00\x00\x01")))
    if macs:
        notes.append("the MAC's last three bytes are replaced by zeros (its maker prefix stays)")


def _littlefs(image: bytearray) -> tuple[int, int] | None:
    """(start, bytes) of an OpenBeken LittleFS: its superblock names itself at offset 8."""
    for off in range(LFS_AREA[0], LFS_AREA[1], 0x1000):
        if image[off + 8 : off + 16] == b"littlefs":
            return off, LFS_DEFAULT
    return None


def _lfs_size(obk: dict[int, bytes]) -> int:
    for sector in obk.values():
        size = struct.unpack_from("<I", sector, obkconfig.BY_NAME["lfs_size"].offset)[0]
        if 0x1000 <= size <= 0x80000 and size % 0x1000 == 0:
            return int(size)
    return 0


def _area(start: int, a: Analysis, full: bool) -> str:
    if not full:
        return f"file offset 0x{start:X}"
    chip = CHIPS.get((a.chip or "").lower())
    if chip and start == chip.mac_tlv:
        return f"RF calibration sector at 0x{start:X}"
    if chip and start == chip.obk_config:
        return f"NET sector at 0x{start:X}"
    return f"flash sector 0x{start:X}"


# ---------------------------------------------------------------------------- checking the result


#: analyze fields a replacement is allowed to change.
REPLACED_FIELDS = {"mac", "source", "secrets"}
OBK_REPLACED = {"wifi_ssid", "mqtt"}


def _verify(result: ShareResult, patterns: list[tuple[bytes, bytes, str]], hide_mac: bool, code_end: int) -> None:
    """Read the shared file back: no form of any secret left in it outside the code (reported
    apart), neither raw nor decrypted; analyze saying the same as of the original but for the
    replaced fields (the storage decodes, the configuration and pins read the same)."""
    image = d.normalise(result.data).image
    again = KvShare(image, hide_mac)
    views = [image[code_end:]] + [bytes(s.plain) for s in again.sectors] + [bytes(p.inner) for p in again.protected]
    left = sorted({kind for find, _r, kind in patterns for view in views if find in view})
    if left:
        result.unchecked.append(f"still found after replacing: {', '.join(left)} (a freebeken bug; please report it)")
    before, after = result.original.as_dict(), result.shared.as_dict()
    for key in sorted(set(before) | set(after)):
        if key in REPLACED_FIELDS or before.get(key) == after.get(key):
            continue
        if key == "openbeken" and isinstance(before[key], dict):
            changed = {k for k in before[key] if before[key].get(k) != after[key].get(k)}
            if changed <= OBK_REPLACED | ({"short_name", "long_name"} if hide_mac else set()):
                continue
        result.differences.append(key)
    if result.differences:
        result.unchecked.append(f"the shared file reads differently from the original in: {', '.join(result.differences)}")


SHARED_MARKS = re.compile(rb'"(uuid|auth_key|psk_key|psk21_key|local_key|sec_key)"\s*:\s*"([^"]*)"')


def shared_copy(data: bytes) -> str | None:
    """Why ``data`` is a copy made by ``backup share`` (its device secrets replaced by stand-ins), None
    when its Tuya storage holds real ones or none. By bytes: a stand-in is one repeated character
    (``share_rules.placeholder``: 0/1 for hex, x/y for text); no device's key or uuid is."""
    store = kv.read_store(data)
    if store is None:
        return None
    found = [(m.group(1).decode(), m.group(2)) for raw in store.values.values() for m in SHARED_MARKS.finditer(raw)]
    stand_ins = [name for name, value in found if len(value) >= 8 and len(set(value.rstrip(b"="))) == 1]
    if not found or len(stand_ins) < len(found):
        return None
    return f"its Tuya {', '.join(sorted(set(stand_ins)))} are stand-ins (a copy made for sharing, without this device's secrets)"
