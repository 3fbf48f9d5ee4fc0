"""``freebeken analyze``: what is in a backup, and the OpenBeken template it implies.

Input: a flash dump (full, rotated by 0x11000, or partial), a Tuya config as JSON (the
``user_param_key`` text, a dict of keys, or a cloudcutter-style profile), or a dump of a device
already running OpenBeken. Secrets are only included when asked for.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from ..chips import CHIPS, appcode
from ..chips import dump as d
from ..errors import ConfigSectorError, UsageError
from ..firmware import obkconfig
from ..templates.model import Template
from . import modules
from .kv import read_store
from .mapping import Mapping, map_upk
from .upk import from_dict, parse

SECRET_KEYS = {
    "gw_bi": ("uuid", "auth_key", "psk_key"),
    "gw_ai": ("key", "lckey", "psk21_key", "psk_key"),
    "gw_wsm": ("ssid", "passwd"),
}
REPORTED_DI = ("id", "swv", "bv", "pv", "pk", "firmk", "s_id")


@dataclass
class Analysis:
    source: str
    kind: str  # "flash dump" | "config json"
    shape: str | None = None
    chip: str | None = None
    chip_evidence: list[str] = field(default_factory=list)
    bootloader: str | None = None
    bootloader_crc: str | None = None
    firmware: dict[str, Any] = field(default_factory=dict)
    layout: dict[str, str] = field(default_factory=dict)
    mac: str | None = None
    module: str | None = None
    config_source: str | None = None
    tuya_config: dict[str, Any] = field(default_factory=dict)
    device: dict[str, Any] = field(default_factory=dict)
    mapping: Mapping | None = None
    obk: dict[str, Any] | None = None
    secrets: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def template(self) -> Template | None:
        return self.mapping.template if self.mapping else None

    def as_dict(self, show_secrets: bool = False) -> dict[str, Any]:
        """The documented --json shape (see README)."""
        m = self.mapping
        template = None
        if m is not None:
            t = m.template
            t.chip = t.chip or (self.chip or "")
            t.board = t.board or (self.module or "")
            template = t.to_entry()
        return {
            "source": self.source,
            "kind": self.kind,
            "shape": self.shape,
            "chip": self.chip,
            "chip_evidence": self.chip_evidence,
            "bootloader": {"name": self.bootloader, "crc32": self.bootloader_crc},
            "firmware": self.firmware,
            "layout": self.layout,
            "mac": self.mac,
            "module": self.module,
            "config_source": self.config_source,
            "tuya_config": self.tuya_config,
            "device": self.device,
            "template": template,
            "levels": {str(k): v for k, v in (m.levels if m else {}).items()},
            "drivers": m.drivers if m else [],
            "tuya_mcu": m.tuya_mcu if m else None,
            "notes": m.notes if m else [],
            "unmapped": m.unmapped if m else [],
            "openbeken": self.obk,
            "warnings": self.warnings,
            "secrets": self.secrets if show_secrets else ({"hidden": sorted(self.secrets)} if self.secrets else {}),
        }


def unnamed_profiles(data: bytes) -> list[str]:
    """The firmware profiles of a cloudcutter device file whose names do not spell their chip: only
    cloudcutter's profile list knows it (``analyze_bytes(..., profile_chips)``). Empty for anything else."""
    if data.lstrip()[:1] != b"{" or len(data) >= 256 * 1024:
        return []
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        return []
    if not (isinstance(obj, dict) and isinstance(obj.get("device_configuration"), dict)):
        return []
    names = [str(p) for p in obj.get("profiles") or [] if isinstance(p, (str, int))]
    return [] if any(modules.chip_in_name(n) for n in names) else names


def analyze_bytes(data: bytes, source: str = "", profile_chips: dict[str, str] | None = None) -> Analysis:
    """``profile_chips``: firmware profile name -> the chip read from that firmware (cloudcutter's
    ``profiles/*.json``), for profiles whose name does not spell the chip."""
    if not data:
        raise UsageError(f"{source or 'input'} is empty")
    stripped = data.lstrip()
    if stripped[:1] in (b"{", b"[") and len(data) < 256 * 1024:
        return _analyze_json(data, source, profile_chips or {})
    if len(data) < 0x1000:
        raise UsageError(
            f"{source or 'input'} is {len(data)} bytes: too small for a flash dump and not a config JSON",
            hint="Give a backup made by `freebeken backup` (2 MiB), a partial dump of the config area, or a Tuya config JSON.",
        )
    return _analyze_dump(data, source)


def _analyze_json(data: bytes, source: str, profile_chips: dict[str, str]) -> Analysis:
    a = Analysis(source, "config json")
    text = data.decode("utf-8", "replace")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        if _meant_as_json(text):  # quoted keys: JSON with a mistake, not Tuya's own key:value text
            raise UsageError(
                f"{source or 'input'} is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}",
                hint="Fix the file there (a trailing comma or a missing quote, typically), then run analyze again.",
            ) from None
        obj = None
    except (ValueError, RecursionError) as e:  # numbers over Python's digit limit, absurd nesting
        raise UsageError(
            f"{source or 'input'} cannot be read as a config: {'nested too deeply' if isinstance(e, RecursionError) else e}",
            hint="This does not look like a Tuya configuration; check the file.",
        ) from None
    profiles: tuple[str, ...] = ()
    if isinstance(obj, dict) and isinstance(obj.get("device_configuration"), dict):
        upk = from_dict(obj["device_configuration"])  # cloudcutter profile
        a.config_source = "cloudcutter device_configuration"
        if isinstance(obj.get("profiles"), list):  # its firmware profiles name the chip they were read from
            profiles = tuple(f"{p} ({profile_chips[p]})" if p in profile_chips else str(p) for p in obj["profiles"])
    elif isinstance(obj, dict) and isinstance(obj.get("user_param_key"), (dict, str)):
        value = obj["user_param_key"]
        upk = parse(value) if isinstance(value, str) else from_dict(value)
        a.config_source = "user_param_key field"
    elif isinstance(obj, dict):
        upk = from_dict(obj)
        a.config_source = "config keys"
    else:
        upk = parse(text)
        a.config_source = "user_param_key text"
    if not upk:
        raise UsageError(f"{source}: no Tuya configuration keys found", hint="Expected the user_param_key content.")
    _apply_upk(a, upk, profiles)
    return a


def _meant_as_json(text: str) -> bool:
    """Tuya's user_param_key text has bare keys ({Jsonver:1.1.8,...}); JSON quotes them."""
    head = text.lstrip()[1:].lstrip()
    return head.startswith('"') or head.startswith("{") or head.startswith("[") or head.startswith("}")


def _family_dump(data: bytes, a: Analysis) -> bool:
    """A whole-flash dump of a chip behind the family seam (RTL8720CF, LN882H), known by its bytes
    (families/images.py): its chip and flash map, none of Beken's bootloader/RF/application reading."""
    from ..families.images import image_family
    from ..families.registry import spec_by_chip

    spec = spec_by_chip(image_family(data) or "")
    if spec is None:
        return False
    a.shape = "full" if len(data) == spec.flash_size else "partial"
    if a.shape == "partial":
        a.warnings.append(f"{len(data)} bytes: an {spec.name.upper()} flash holds {spec.flash_size}; read as far as it goes")
    a.chip = spec.name.upper()
    a.chip_evidence.append(
        f"the dump's flash layout ({spec.family}: {'calibration pattern' if spec.integrity == 'sha256' else 'boot header and partition table'})"
    )
    a.firmware = {"kind": "unknown"}
    for region in spec.regions:
        a.layout[region.name] = f"0x{region.start:X}"
    return True


def _analyze_dump(data: bytes, source: str) -> Analysis:
    a = Analysis(source, "flash dump")
    family = _family_dump(data, a)
    blank_app = False
    if family:
        image, full = data, a.shape == "full"
    else:
        shape = d.normalise(data)
        a.shape = shape.kind
        a.warnings += shape.notes
        image = shape.image
        full = shape.kind != "partial"
    if full and not family:  # Beken's bootloader, RF sector, application header and OpenBeken config
        guess = d.which_chips(image)
        chip = guess.chips[0] if guess and guess.chips else None
        if guess and guess.conflict:
            a.warnings.append(guess.conflict)
        if chip and guess:
            a.chip = chip
            a.chip_evidence += guess.evidence
            if len(guess.chips) > 1:
                a.warnings.append(f"the content fits {guess.name} alike (they share this layout); reported as {chip}")
            mac = d.mac(image, chip)
            a.mac = mac.hex(":").upper() if mac else None
        name, crc = d.bootloader(image)
        a.bootloader, a.bootloader_crc = name, f"0x{crc:08X}"
        rbl = d.rbl_header(image)
        blank_app = image[0x11000:0x12000] == b"\xff" * 0x1000
        a.firmware = {"kind": "empty" if blank_app else "unknown"}
        a.layout["bootloader"] = "0x0"
        if not blank_app:
            a.layout["application"] = "0x11000"
        if rbl:
            a.firmware.update(app_name=rbl.name, app_version=rbl.version)
            a.layout["application header (RBL)"] = f"0x{d.RBL_APP:X}"
        if chip:
            rf_at = d.rf_sector(image, chip)
            a.layout["rf calibration / MAC"] = f"0x{CHIPS[chip.lower()].mac_tlv if rf_at is None else rf_at:X}"
            plan = d.rf_plan(image, chip)
            if plan:
                a.warnings.append(plan)
        for chip_name, address in d.NET_SECTOR.items():
            cfg = _obk_config(image[address : address + 0x1000], a)
            if cfg:
                a.chip = a.chip or chip_name
                a.firmware["kind"] = "openbeken"
                a.layout["openbeken config"] = f"0x{address:X}"
                _apply_obk(a, cfg)
    store = read_store(image)
    if store is not None:
        a.layout["tuya kv key block"] = f"0x{store.key_offset:X}" + ("" if full else " (file offset)")
        a.warnings += store.warnings
        if a.firmware.get("kind") in (None, "unknown", "empty"):
            a.firmware["kind"] = "tuya"
        _apply_store(a, store.values)
    elif a.obk is None:
        a.warnings.append("no Tuya key-value store found")
    if a.mapping is None:
        for where, text in d.plaintext_configs(image).items():
            a.config_source = where
            _apply_upk(a, parse(text))
            a.layout["plaintext config"] = where
            break
    if a.mapping is None and a.obk is None and full and not blank_app and not family:
        _apply_builtin(a, image)
    if a.mapping is None and a.obk is None:
        if not (a.chip or a.bootloader or store is not None or a.firmware.get("app_name")) and not family:
            raise UsageError(
                f"{source or 'input'} is neither a Beken flash dump nor a Tuya config freebeken can read: no known "
                "bootloader, RF calibration sector, application header, Tuya storage or OpenBeken configuration in it",
                hint="Give a backup made by `freebeken backup` (or another flasher's full read), a partial dump of the "
                "config area, or a Tuya config JSON.",
            )
        a.warnings.append("no device configuration found anywhere in the dump: pins must be found with the pin finder")
    return a


def _apply_store(a: Analysis, values: dict[str, bytes]) -> None:
    parsed: dict[str, Any] = {}
    for key, raw in values.items():
        text = raw.rstrip(b"\x00").decode("utf-8", "replace")
        try:
            parsed[key] = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or JSON no device would store
            parsed[key] = text
    env = parsed.get("em_sys_env")
    if isinstance(env, str) and env:
        a.chip_evidence.append(f"em_sys_env {env!r}")
    di = parsed.get("gw_di")
    if isinstance(di, dict):
        a.device = {k: di[k] for k in REPORTED_DI if k in di and k != "id"}
        if "swv" in di:
            a.firmware["tuya_version"] = di["swv"]
        if "id" in di:
            a.secrets["device_id"] = di["id"]
    for key, fields in SECRET_KEYS.items():
        block = parsed.get(key)
        if isinstance(block, dict):
            for f in fields:
                if f in block:
                    value = block[f]
                    if key == "gw_wsm" and block.get("wfb64") and isinstance(value, str):
                        value = _b64(value)
                    a.secrets[f"{key}.{f}"] = value
    baud = parsed.get("baud_cfg") or parsed.get("uart_adapt_params")
    if "user_param_key" in values:
        a.config_source = "tuya kv user_param_key"
        upk = parse(values["user_param_key"])
        if isinstance(baud, dict) and "baud" in baud and "baud" not in upk:
            upk["baud"] = baud["baud"]
        _apply_upk(a, upk)
    elif isinstance(baud, dict) and "baud" in baud:
        a.config_source = "tuya kv baud_cfg"
        _apply_upk(a, {"baud": baud["baud"]})


def _apply_builtin(a: Analysis, image: bytes) -> None:
    """No stored config: the firmware then runs with the default compiled into its application,
    which is encrypted in flash (``appcode``). Reading it costs about 0.3 s, so only here."""
    app = appcode.read_app(image, d.RBL_APP)
    if app is None:
        return
    if not app.looks_like_code:
        a.warnings.append(
            "the application is encrypted with neither Tuya's usual key nor none, so its built-in default config "
            "could not be read"
        )
        return
    if app.key == appcode.ZERO_KEY:
        a.chip_evidence.append("application stored unencrypted (a zero eFuse key, as on BK7231M)")
    text = appcode.find_builtin_config(app.code)
    if text is None:
        return
    where = f"the application's built-in default (decrypted, mapped 0x{appcode.APP_MAPPED:X})"
    a.config_source = "tuya application built-in user_param_key"
    a.layout["built-in config"] = where
    if app.damaged_blocks:
        a.warnings.append(f"{app.damaged_blocks} block(s) of the application failed their CRC: the dump may be damaged")
    a.warnings.append(
        "no stored config: pins come from the default built into the Tuya firmware, which it uses when nothing is "
        "stored; confirm them with the pin finder if the device behaves otherwise"
    )
    _apply_upk(a, parse(text))


def _b64(value: str) -> str:
    try:
        return base64.b64decode(value).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return value


def _apply_upk(a: Analysis, upk: dict[str, Any], profiles: tuple[str, ...] = ()) -> None:
    """Map the config for the chip every witness agrees on (the dump's layout first): never a chip
    the configuration contradicts without saying so."""
    a.tuya_config = {k: v for k, v in upk.items()}
    m = a.mapping = map_upk(upk, a.chip, profiles)
    a.module = m.module
    a.chip = m.chip or a.chip
    a.chip_evidence += [e for e in m.chip_evidence if e != "the dump's flash layout"]
    a.warnings += m.chip_conflicts
    if m.chip and not m.flashable:
        other = "ltchiptool or BK7231GUIFlashTool" if m.chip.startswith("RTL") else "a flasher for that chip"
        a.warnings.append(
            f"freebeken cannot flash {m.chip}: the template is for OpenBeken's {m.template.chip} build, in its pin "
            f"numbering; flashing it needs another tool ({other})"
        )


def _obk_config(sector: bytes, a: Analysis) -> obkconfig.ObkConfig | None:
    """The sector's OpenBeken config; a damaged one is still shown, with the firmware's verdict."""
    if sector[:3] != obkconfig.IDENT:
        return None
    try:
        return obkconfig.parse(sector)
    except ConfigSectorError as e:
        a.warnings.append(f"{e} - {e.hint}")
        cfg = obkconfig.ObkConfig(sector)
        cfg.variant = "damaged"
        return cfg


def _apply_obk(a: Analysis, cfg: obkconfig.ObkConfig) -> None:
    shown = cfg.as_dict()
    a.obk = {
        "config_version": cfg.version,
        "crc_ok": cfg.variant != "damaged",
        "short_name": cfg["short_name"],
        "long_name": cfg["long_name"],
        "mqtt": {"host": cfg["mqtt_host"], "port": cfg["mqtt_port"], "client": cfg["mqtt_client"], "user": cfg["mqtt_user"]},
        "wifi_ssid": cfg["wifi_ssid"],
        "pins": shown["pins"],
        "flags": cfg["flags"],
        "startup_command": cfg["startup"],
    }
    a.secrets.update({f"openbeken.{k}": cfg[k] for k in obkconfig.SECRETS if cfg[k]})
