"""What ``backup share`` tells the owner and the analysts: what was replaced (kind and place,
never a value), the device facts an analyst asks for, and where to share the file, as prefilled
text. Nothing is sent anywhere. Pure."""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import urlencode

from ..chips import appcode
from ..chips import dump as d
from .share import ShareResult

CLOUDCUTTER_ISSUE = "https://github.com/tuya-cloudcutter/tuya-cloudcutter/issues/new"
OBK_ISSUE = "https://github.com/OpenBekenIOT/webapp/issues/new"
OBK_DEVICE_LIST = "https://openbekeniot.github.io/webapp/devicesList.html"
FORUM = "https://www.elektroda.com/rtvforum/"


SDK = re.compile(rb"SDK V:([0-9][0-9.]{0,15}) BS:([0-9][0-9.]{0,15})_PT:([0-9.]{1,10})")
BUILD = re.compile(rb"\x00(oem_[A-Za-z0-9_]{3,60})\x00([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})\x00")


@functools.lru_cache(maxsize=8)
def tuya_build(data: bytes) -> dict[str, str]:
    """What Tuya's application says of itself once decrypted (``appcode``): the firmware name and
    version it was built as, and its SDK ("SDK V:2.3.1 BS:40.00_PT:2.2 ..."). Together they name
    tuya-cloudcutter's firmware profile (``oem-bk7231n-plug-1.1.7-sdk-2.3.1-40.00``; all three
    real dumps' names are in its list)."""
    app = appcode.read_app(d.normalise(data).image, d.RBL_APP)
    if app is None or not app.looks_like_code:
        return {}
    out: dict[str, str] = {}
    sdk, build = SDK.search(app.code), BUILD.search(app.code)
    if sdk:
        out["sdk"] = f"{sdk.group(1).decode()} (baseline {sdk.group(2).decode()}, protocol {sdk.group(3).decode()})"
    if build:
        out["build"] = f"{build.group(1).decode()} {build.group(2).decode()}"
    if sdk and build:
        name = build.group(1).decode().lower().replace("_", "-")
        out["profile"] = f"{name}-{build.group(2).decode()}-sdk-{sdk.group(1).decode()}-{sdk.group(2).decode()}"
    return out


def facts(result: ShareResult, sidecar: dict[str, Any] | None = None) -> dict[str, Any]:
    """The facts of the original (they are the same in the shared file, bar the replaced fields)."""
    a = result.original
    side = sidecar or {}
    build = tuya_build(result.data) if a.firmware.get("kind") == "tuya" else {}
    pins: dict[str, str] = {}
    if a.obk is not None:
        pins = dict(a.obk.get("pins") or {})
    elif a.template is not None:
        pins = {str(k): v for k, v in (a.as_dict().get("template") or {}).get("pins", {}).items()}
    out: dict[str, Any] = {
        "chip": a.chip,
        "flash_id": side.get("flash_id"),
        "flash_chip": side.get("flash_chip"),
        "flash_size": len(result.data),
        "bootloader": a.bootloader or (f"unknown (CRC-32 {a.bootloader_crc})" if a.bootloader_crc else None),
        "firmware": a.firmware.get("kind"),
        "firmware_name": a.firmware.get("app_name"),
        "firmware_version": a.firmware.get("app_version"),
        "tuya_version": a.firmware.get("tuya_version"),
        "tuya_build": build.get("build"),
        "sdk_version": build.get("sdk") or a.device.get("bv"),
        "cloudcutter_profile": build.get("profile"),
        "protocol_version": a.device.get("pv"),
        "product_key": a.device.get("pk"),
        "firmware_key": a.device.get("firmk"),
        "module": a.module,
        "config_source": a.config_source,
        "pins": pins,
        "tuya_config": a.tuya_config,
        "mac": result.shared.mac,
    }
    if a.mapping is not None and a.mapping.tuya_mcu:
        out["tuya_mcu"] = a.mapping.tuya_mcu
    if a.mapping is not None and a.mapping.drivers:
        out["drivers"] = a.mapping.drivers
    return {k: v for k, v in out.items() if v not in (None, "", {}, [])}


def _facts_lines(f: dict[str, Any]) -> list[str]:
    labels = {
        "chip": "Chip",
        "flash_id": "Flash JEDEC id",
        "flash_chip": "Flash chip",
        "flash_size": "Flash size",
        "bootloader": "Bootloader",
        "firmware": "Firmware",
        "firmware_name": "Firmware name",
        "firmware_version": "Firmware version",
        "tuya_version": "Tuya software version (swv)",
        "tuya_build": "Tuya firmware build",
        "sdk_version": "Tuya SDK",
        "cloudcutter_profile": "cloudcutter profile name",
        "protocol_version": "Tuya protocol (pv)",
        "product_key": "Product key (pk)",
        "firmware_key": "Firmware key (firmk)",
        "module": "Module",
        "config_source": "Pin configuration from",
        "mac": "MAC",
        "tuya_mcu": "TuyaMCU",
        "drivers": "Drivers",
    }
    lines = []
    for key, label in labels.items():
        if key in f:
            value = f[key]
            if key == "flash_size":
                value = f"{value // 1024} KiB"
            elif isinstance(value, list):
                value = "; ".join(str(v) for v in value)
            elif isinstance(value, dict):
                value = ", ".join(f"{k} {v}" for k, v in value.items())
            lines.append(f"{label}: {value}")
    if f.get("pins"):
        pins = sorted(f["pins"].items(), key=lambda x: int(x[0]))
        lines.append("Pins (OpenBeken roles): " + ", ".join(f"P{p} {r}" for p, r in pins))
    if f.get("tuya_config"):
        lines.append("Tuya user_param_key: " + ", ".join(f"{k}:{v}" for k, v in f["tuya_config"].items()))
    return lines


def where_to_share(result: ShareResult, name: str, f: dict[str, Any]) -> list[dict[str, str]]:
    """Prefilled messages (title, body, link); the file itself is attached by hand."""
    device = " ".join(str(x) for x in (f.get("module"), f.get("chip")) if x) or "Beken device"
    named = (f.get("firmware_name"), f.get("firmware_version") or f.get("tuya_version"))
    firmware = f.get("tuya_build") or " ".join(str(x) for x in named if x)
    facts_text = "\n".join(f"- {line}" for line in _facts_lines(f))
    attach = f"Attached: `{name}`, a full flash backup with the owner's secrets replaced by `freebeken backup share`."
    targets = []
    if f.get("firmware") == "tuya":
        title = f"Device profile request: {device}, firmware {firmware or '?'}"
        body = f"A stock dump of this device for a cloudcutter profile.\n\n{facts_text}\n\n{attach}\n"
        targets.append(
            {
                "where": "tuya-cloudcutter device-profile request",
                "title": title,
                "body": body,
                "link": f"{CLOUDCUTTER_ISSUE}?{urlencode({'title': title})}",
            }
        )
    title = f"Device template: {device}"
    body = f"A backup of this device for the OpenBeken device list ({OBK_DEVICE_LIST}).\n\n{facts_text}\n\n{attach}\n"
    link = f"{OBK_ISSUE}?{urlencode({'title': title})}"
    targets.append({"where": "OpenBeken device list", "title": title, "body": body, "link": link})
    title = f"{device} ({firmware or f.get('firmware', 'firmware ?')}): flash backup for analysis"
    body = f"{facts_text}\n\n{attach}\n"
    targets.append({"where": "the elektroda.com forum (OpenBeken teardowns)", "title": title, "body": body, "link": FORUM})
    return targets


def text(result: ShareResult, name: str, sidecar: dict[str, Any] | None = None) -> str:
    """The report printed and written beside the shared file."""
    f = facts(result, sidecar)
    lines = [f"freebeken backup share: {name}", ""]
    lines.append("Replaced (kind - where - times; the values are not written anywhere):")
    lines += [f"  {r['kind']} - {r['where']} - {r['times']}" for r in result.replaced] or ["  nothing: no secret was found"]
    kinds = sorted(set(result.secrets.values.values()))
    left = any(u.startswith("still found") for u in result.unchecked)
    verdict = "some are LEFT (see below)." if left else "none is left in the shared file."
    lines += [
        "",
        f"Then searched for everywhere, as text, UTF-16 and hex, raw and decrypted: {len(result.secrets.values)} "
        f"values ({', '.join(kinds) or 'none'}); {verdict}",
    ]
    lines += [f"Note: {n}" for n in result.notes]
    if result.unchecked:
        lines += ["", "Could NOT be checked (shared only with --force):"] + [f"  - {u}" for u in result.unchecked]
    lines += [
        "",
        "Kept as they are: bootloader, application, RF calibration, the pin configuration"
        + (", the MAC" if not result.secrets.macs else "")
        + ".",
    ]
    lines += ["", "Device facts:"] + [f"  {x}" for x in _facts_lines(f)]
    lines += ["", "Where to share it (nothing was sent; attach the file yourself):"]
    for t in where_to_share(result, name, f):
        lines += ["", f"* {t['where']}: {t['link']}", f"  Title: {t['title']}", "  Text:"]
        lines += [f"    {x}" for x in t["body"].splitlines()]
    return "\n".join(lines) + "\n"
