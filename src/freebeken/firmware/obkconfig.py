"""OpenBeken's configuration sector, byte for byte as the firmware reads and writes it. Pure.

The firmware keeps one ``mainConfig_t`` (``new_pins.h``) at the start of the chip's "NET" sector
(BK7231T, U, BK7238, BK7252N 0x1E1000; BK7231N, M 0x1D1000) and loads it at boot (``CFG_InitAndLoad`` in ``new_cfg.c``):
ident ``CFG``, then a checksum byte, then the rest. If the ident or the checksum is wrong it
silently falls back to defaults - an open access point - so a sector we write must be exact.

Checksum: ``Tiny_CRC8`` (a reflected CRC-8, polynomial 0x8C, init 0) over the bytes from
``version`` to the end of the struct: 3580 bytes for version 4 and later, 2012 for version 3.
The firmware declares its variables ``char``: unsigned on ARM (the Beken chips), signed on the
x86 Linux/Windows simulator builds, where a set sign bit is shifted back in and the result
differs. Configs from both are read; only the ARM variant is written.

Versions: 3 is the old 2016-byte struct (only that much is checksummed and stored); 4 grew it to
3584 bytes (second Wi-Fi, web password, MQTT TLS fields); 5 has the same size and layout, and the
firmware clears the web password of any config below 5 when it loads it. Whatever it loads, it
saves back as version 5; so does freebeken.

The field offsets below are the Beken layout (32 GPIOs). They were taken by compiling the
firmware's own header with 32-bit longs and unsigned chars and printing ``offsetof`` (the
header's comments agree); the 64-bit simulator build shifts everything after ``cal``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from ..chips import CHIPS
from ..errors import ConfigSectorError
from ..templates.roles import ROLE_NAMES

SECTOR = 0x1000
SIZE = 3584  # sizeof(mainConfig_t), MAGIC_CONFIG_SIZE_V4
SIZE_V3 = 2016  # MAGIC_CONFIG_SIZE_V3
VERSION = 5  # MAIN_CFG_VERSION
IDENT = b"CFG"
GPIOS = 32
CHANNELS = 64
#: Where the sector lives (the SDK's BK_PARTITION_NET_PARAM).
ADDRESS = {chip.name: chip.obk_config for chip in CHIPS.values()}
#: Flag bits freebeken relies on (OBK_FLAG_* in new_pins.h).
FLAG_BROADCAST_ON_CONNECT = 10
FLAG_HA_DISCOVERY = 27
WHOLE = "Give the whole 4 KiB sector or a full backup (freebeken backup -p PORT)."
WRITE_NEW = (
    "To write a new one: freebeken flash -p PORT FIRMWARE --configure --wifi ... (a chip that already holds "
    "that firmware is only checked, in seconds)."
)


@dataclass(frozen=True)
class Field:
    name: str
    offset: int
    size: int
    kind: str  # text | int | raw | ip
    fmt: str = ""  # struct format of an int or a number array
    secret: bool = False


def _t(name: str, offset: int, size: int, secret: bool = False) -> Field:
    return Field(name, offset, size, "text", secret=secret)


def _i(name: str, offset: int, fmt: str) -> Field:
    return Field(name, offset, struct.calcsize(fmt), "int", "<" + fmt)


FIELDS: tuple[Field, ...] = (
    _i("version", 0x004, "i"),
    _i("flags", 0x008, "Q"),  # genericFlags (bits 0-31) and genericFlags2 (32-63), little-endian
    _i("change_counter", 0x010, "H"),
    _i("ota_counter", 0x012, "H"),
    _t("wifi_ssid", 0x014, 64),
    _t("wifi_pass", 0x054, 64, secret=True),
    _t("mqtt_host", 0x094, 256),
    _t("mqtt_client", 0x194, 64),
    _t("mqtt_user", 0x1D4, 64),
    _t("mqtt_pass", 0x214, 128, secret=True),
    _i("mqtt_port", 0x294, "i"),
    _t("webapp_root", 0x298, 64),
    Field("mac", 0x2D8, 6, "raw"),
    _t("short_name", 0x2DE, 32),
    _t("long_name", 0x2FE, 64),
    Field("roles", 0x33E, GPIOS, "raw"),
    Field("channels", 0x35E, GPIOS, "raw"),
    Field("channels2", 0x37E, GPIOS, "raw"),
    Field("channel_types", 0x39E, CHANNELS, "raw"),
    Field("start_values", 0x3DE, 2 * CHANNELS, "raw"),
    _i("log2lfs", 0x45E, "B"),
    _i("dgr_send_flags", 0x460, "i"),
    _i("dgr_recv_flags", 0x464, "i"),
    _t("dgr_name", 0x468, 16),
    _t("ntp_server", 0x478, 32),
    Field("calibration", 0x498, 32, "raw"),
    _i("button_short", 0x4B8, "B"),
    _i("button_long", 0x4B9, "B"),
    _i("button_repeat", 0x4BA, "B"),
    _i("lfs_size", 0x4BC, "I"),
    _i("logger_flags", 0x4C0, "i"),
    Field("static_ip", 0x527, 4, "ip"),
    Field("netmask", 0x52B, 4, "ip"),
    Field("gateway", 0x52F, 4, "ip"),
    Field("dns", 0x533, 4, "ip"),
    Field("led_remap", 0x537, 5, "raw"),
    Field("led_corr", 0x53C, 24, "raw"),
    _t("mqtt_group", 0x554, 64),
    _i("boot_ok_seconds", 0x597, "B"),
    _i("ping_interval", 0x598, "i"),
    _i("ping_seconds", 0x59C, "i"),
    _t("ping_host", 0x5A0, 64),
    _t("startup", 0x5E0, 1568),
    _t("wifi_ssid2", 0xC00, 64),
    _t("wifi_pass2", 0xC40, 68, secret=True),
    _t("web_password", 0xC84, 33, secret=True),
    _i("mqtt_tls", 0xCA5, "B"),
    _i("mqtt_verify_tls", 0xCA6, "B"),
    _t("mqtt_cert_file", 0xCA7, 20),
    _i("disable_web_server", 0xCBB, "B"),
)
BY_NAME = {f.name: f for f in FIELDS}
SECRETS = tuple(f.name for f in FIELDS if f.secret)


def tiny_crc8(data: bytes, signed: bool = False) -> int:
    """The firmware's ``Tiny_CRC8``; ``signed`` models a build where ``char`` is signed."""
    crc = 0
    for byte in data:
        extract = byte
        for _ in range(8):
            mix = (crc ^ extract) & 1
            crc = (crc >> 1) | (crc & 0x80 if signed else 0)
            if mix:
                crc ^= 0x8C
            extract = (extract >> 1) | (extract & 0x80 if signed else 0)
    return crc


def covered(version: int) -> int:
    """Bytes the checksum covers end at this offset (CFG_CalcChecksum)."""
    return SIZE_V3 if version == 3 else SIZE


class ObkConfig:
    """A config as raw bytes, with named access to every field. Unknown bytes are kept as they are."""

    def __init__(self, raw: bytes | bytearray, variant: str = "arm") -> None:
        self.raw = bytearray(raw[:SIZE].ljust(SIZE, b"\x00"))
        self.variant = variant  # which checksum matched: "arm" (a plug) or "x86" (a simulator build)

    # ---- fields ----

    def __getitem__(self, name: str) -> Any:
        f = BY_NAME[name]
        chunk = bytes(self.raw[f.offset : f.offset + f.size])
        if f.kind == "text":
            return chunk.split(b"\x00", 1)[0].decode("utf-8", "replace")
        if f.kind == "int":
            return struct.unpack(f.fmt, chunk)[0]
        if f.kind == "ip":
            return ".".join(str(b) for b in chunk)
        return chunk

    def __setitem__(self, name: str, value: Any) -> None:
        f = BY_NAME[name]
        if f.kind == "text":
            data = str(value).encode("utf-8")
            if b"\x00" in data:
                raise ConfigSectorError(f"{name} cannot contain a NUL character", hint="Remove it and try again.")
            if len(data) >= f.size:
                raise ConfigSectorError(
                    f"{name} is too long for OpenBeken: {len(data)} bytes, at most {f.size - 1}",
                    hint="Shorten it (the firmware stores it in a fixed-size field).",
                )
            chunk = data.ljust(f.size, b"\x00")
        elif f.kind == "int":
            try:
                chunk = struct.pack(f.fmt, int(value))
            except (struct.error, ValueError, TypeError):
                raise ConfigSectorError(
                    f"{name} = {value!r} does not fit the firmware's field", hint="Give a whole number in the field's range."
                ) from None
        elif f.kind == "ip":
            parts = str(value).split(".")
            if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
                raise ConfigSectorError(f"{name} = {value!r} is not an IPv4 address", hint="Write it like 192.168.1.20.")
            chunk = bytes(int(p) for p in parts)
        else:
            chunk = bytes(value)
            if len(chunk) != f.size:
                raise ConfigSectorError(f"{name} must be {f.size} bytes, not {len(chunk)}")
        self.raw[f.offset : f.offset + f.size] = chunk

    @property
    def version(self) -> int:
        return int(self["version"])

    def flag(self, bit: int) -> bool:
        return bool(self["flags"] >> bit & 1)

    def set_flag(self, bit: int, on: bool = True) -> None:
        self["flags"] = self["flags"] | 1 << bit if on else self["flags"] & ~(1 << bit)

    def pins(self) -> dict[int, tuple[int, int, int]]:
        """GPIO -> (role id, channel, channel2) for every pin with a role."""
        roles, chans, chans2 = self["roles"], self["channels"], self["channels2"]
        return {p: (roles[p], chans[p], chans2[p]) for p in range(GPIOS) if roles[p]}

    def set_pins(self, pins: dict[int, tuple[int, int, int]]) -> None:
        """Replace every pin's role and channels (CFG_ClearIO then setPinRole/setPinChannel)."""
        roles, chans, chans2 = bytearray(GPIOS), bytearray(GPIOS), bytearray(GPIOS)
        for pin, (role, ch, ch2) in pins.items():
            if not 0 <= pin < GPIOS:
                raise ConfigSectorError(f"GPIO {pin} does not exist on this chip (0..{GPIOS - 1})")
            roles[pin], chans[pin], chans2[pin] = role, ch, ch2
        self["roles"], self["channels"], self["channels2"] = bytes(roles), bytes(chans), bytes(chans2)

    # ---- whole sector ----

    def problems(self) -> list[str]:
        """What would make the firmware misread this config (checked before every write)."""
        found = []
        for f in FIELDS:
            if f.kind == "text" and b"\x00" not in self.raw[f.offset : f.offset + f.size]:
                found.append(f"{f.name} is not terminated: the firmware would read on into the next field")
        if not 0 < self["mqtt_port"] < 65536:
            found.append(f"mqtt_port {self['mqtt_port']} is not a TCP port")
        return found

    def to_sector(self) -> bytes:
        """The 4 KiB sector exactly as the firmware saves it: the struct at the current version
        with its checksum, the rest of the sector erased (0xFF)."""
        raw = bytearray(self.raw)
        raw[:3] = IDENT
        if self.version != VERSION:  # an older config is upgraded, as CFG_InitAndLoad does
            if self.version == 3:
                raw[SIZE_V3:] = bytes(SIZE - SIZE_V3)  # as parse() does: see there
            struct.pack_into("<i", raw, 4, VERSION)
        raw[3] = tiny_crc8(bytes(raw[4:SIZE]))
        return bytes(raw) + b"\xff" * (SECTOR - SIZE)

    def as_dict(self, show_secrets: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in FIELDS:
            value = self[f.name]
            if f.secret and value and not show_secrets:
                value = "(set, hidden)"
            out[f.name] = value.hex() if isinstance(value, bytes) else value
        out["flags_on"] = [bit for bit in range(64) if self.flag(bit)]
        out["pins"] = {
            str(p): f"{ROLE_NAMES[r] if r < len(ROLE_NAMES) else r};{ch}" + (f";{ch2}" if ch2 else "")
            for p, (r, ch, ch2) in self.pins().items()
        }
        for name in ("roles", "channels", "channels2", "channel_types", "start_values", "calibration", "led_corr"):
            out.pop(name)
        return out


def parse(sector: bytes, where: str = "The sector") -> ObkConfig:
    """Read a config as CFG_InitAndLoad does, or say exactly why the firmware would reject it."""
    if len(sector) < SIZE_V3:
        raise ConfigSectorError(f"{where} is {len(sector)} bytes: too short for an OpenBeken configuration", hint=WHOLE)
    if sector[:3] != IDENT:
        if sector[:SIZE].count(0xFF) == min(len(sector), SIZE):
            raise ConfigSectorError(
                f"{where} is erased: no OpenBeken configuration", hint=f"OpenBeken starts its access point with this. {WRITE_NEW}"
            )
        raise ConfigSectorError(
            f"{where} holds no OpenBeken configuration (it starts with {sector[:4].hex(' ')})",
            hint="On a chip still running Tuya firmware this sector holds Wi-Fi fast-connect data.",
        )
    version = struct.unpack_from("<i", sector, 4)[0]
    end = covered(version)
    if len(sector) < end:
        raise ConfigSectorError(
            f"{where} ends after {len(sector)} bytes; a version {version} configuration has {end}", hint=WHOLE
        )
    body = bytes(sector[4:end])
    stored = sector[3]
    for variant, signed in (("arm", False), ("x86", True)):
        if tiny_crc8(body, signed) == stored:
            cfg = ObkConfig(sector[:end], variant)
            # A version-3 firmware never stored these bytes (on a plug they read as the erased 0xFF).
            # CFG_InitAndLoad clears only the second Wi-Fi and the web password and keeps the rest
            # as found; freebeken zeroes all of them, so no leftover 0xFF turns a v4 option on.
            if version == 3:
                cfg.raw[SIZE_V3:] = bytes(SIZE - SIZE_V3)
            return cfg
    raise ConfigSectorError(
        f"{where} holds a damaged OpenBeken configuration (version {version}, checksum 0x{stored:02X}, "
        f"its content gives 0x{tiny_crc8(body):02X})",
        hint=f"The firmware ignores it and starts its access point. {WRITE_NEW}",
    )


def defaults(chip: str, mac: bytes) -> ObkConfig:
    """A new config as CFG_SetDefaultConfig makes it on this chip (names from the MAC)."""
    if chip not in ADDRESS:
        raise ConfigSectorError(
            f"freebeken knows OpenBeken's configuration layout for {', '.join(ADDRESS)}, not {chip}",
            hint="Other Beken chips keep it elsewhere; they are not supported yet.",
        )
    cfg = ObkConfig(bytes(SIZE))
    cfg.raw[:3] = IDENT
    tail = mac[2:6].hex().upper() if len(mac) == 6 else "00000000"
    values: dict[str, Any] = {
        "version": VERSION,
        "mqtt_port": 1883,
        "boot_ok_seconds": 5,
        "ping_host": "192.168.0.1",
        "mqtt_user": "homeassistant",
        "mqtt_pass": "qqqqqqqqqq",
        "webapp_root": "https://openbekeniot.github.io/webapp/",
        "long_name": f"Open{CHIPS[chip.lower()].obk_platform}_{tail}",
        "short_name": f"obk{tail}",
        "mqtt_client": f"obk{tail}",
        "mqtt_group": CHIPS[chip.lower()].obk_group,
        "ntp_server": "217.147.223.78",
        "button_repeat": 5,
        "button_short": 3,
        "button_long": 10,
    }
    for name, value in values.items():
        cfg[name] = value
    if len(mac) == 6:
        cfg["mac"] = mac
    cfg.set_flag(FLAG_BROADCAST_ON_CONNECT)
    cfg["led_corr"] = struct.pack("<6f", 1.0, 1.0, 1.0, 2.2, 0.1, 0.1)  # CFG_SetDefaultLEDCorrectionTable
    return cfg


#: What a shared backup must not carry (``freebeken backup share``): the owner's networks, the
#: broker that names them, and every credential. Pins, flags, names and the startup command stay.
SHARE_BLANKED = ("wifi_ssid", "wifi_pass", "wifi_ssid2", "wifi_pass2", "mqtt_host", "mqtt_user", "mqtt_pass", "web_password")


def blank_secrets(sector: bytes, names: tuple[str, ...] = SHARE_BLANKED) -> tuple[bytes, dict[str, bytes]]:
    """``sector`` with those fields zeroed and everything else - version, size, unknown bytes, the
    rest of the sector - as it was, checksum recomputed in the variant it had (a damaged one stays
    damaged). Also returns the blanked values, for the caller to look for elsewhere. Fields a
    version-3 config does not store are left alone."""
    raw = bytearray(sector)
    version = struct.unpack_from("<i", raw, 4)[0]
    end = covered(version)
    found: dict[str, bytes] = {}
    for name in names:
        f = BY_NAME[name]
        if f.offset + f.size > min(end, len(raw)):
            continue
        value = bytes(raw[f.offset : f.offset + f.size]).split(b"\x00", 1)[0]
        if value:
            found[name] = value
            raw[f.offset : f.offset + f.size] = bytes(f.size)
    return reseal(sector, bytes(raw)), found


def reseal(original: bytes, changed: bytes) -> bytes:
    """``changed`` with the checksum byte set the way ``original``'s was right (ARM or x86
    variant); unchanged when ``original``'s checksum was wrong, so damage stays visible."""
    version = struct.unpack_from("<i", original, 4)[0]
    end = covered(version)
    if len(original) < end:
        return changed
    for signed in (False, True):
        if tiny_crc8(bytes(original[4:end]), signed) == original[3]:
            out = bytearray(changed)
            out[3] = tiny_crc8(bytes(out[4:end]), signed)
            return bytes(out)
    return changed
