"""OpenBeken's configuration sector over UART: read it, change it, write it and prove it.

Safety: on a chip still running Tuya firmware that sector holds Beken's Wi-Fi fast-connect data,
so it is written only when it already holds an OpenBeken configuration, or when OpenBeken was
written (or found byte-identical) in this same session. The write is not journaled: the sector
holds passwords, and a half-written one only makes the firmware start its access point, so an
interrupted write is simply done again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from .. import events
from ..errors import ConfigSectorError, SafetyError, UnsupportedError, VerifyError
from ..firmware import obkconfig
from ..firmware.obkconfig import ObkConfig
from ..firmware.settings import Settings, apply
from ..templates.model import Template
from ..tuya.analyze import analyze_bytes
from .chipio import ChipIO
from .firmware import FirmwareImage
from .intent import WriteIntent
from .operations import existing_backup, write_guarded


@dataclass
class ConfigureResult:
    address: int
    changed: list[str]  # field names (never values)
    written: bool  # False: the chip already held exactly this configuration
    new: bool  # True: started from OpenBeken's defaults (there was no valid configuration)
    config: ObkConfig  # what the chip now holds (read back); it holds passwords: never shown whole
    pins_from: str | None = None  # where the pins came from when not given ("the backup X.bin")
    no_pins: str | None = None  # why a new configuration has no pins ("no backup of this chip")

    def as_dict(self) -> dict[str, object]:
        return {
            "address": f"0x{self.address:X}",
            "changed": self.changed,
            "written": self.written,
            "started_from": "OpenBeken's defaults" if self.new else "the chip's configuration",
            "pins_from": self.pins_from,
        }


def config_address(io: ChipIO) -> int:
    try:
        return obkconfig.ADDRESS[io.chip.name]
    except KeyError:
        raise UnsupportedError(
            f"freebeken does not know where OpenBeken keeps its configuration on {io.chip.name}",
            hint="BK7231T and BK7231N are supported; flash without --configure and set it up on the plug.",
        ) from None


def _read_sector(io: ChipIO) -> tuple[int, bytes, str]:
    address = config_address(io)
    events.phase(io.reporter, f"Reading the OpenBeken configuration at 0x{address:X}")
    return address, io.read(address), f"The chip's configuration sector (0x{address:X})"


def read_config(io: ChipIO) -> ObkConfig:
    """The configuration the firmware will load at its next boot (raises ConfigSectorError)."""
    _, sector, where = _read_sector(io)
    return obkconfig.parse(sector, where)


def template_from_backup(io: ChipIO, path: Path | None = None) -> tuple[Template | None, str]:
    """The pins this chip's own backup shows, and where they came from. ``path``: the backup the
    caller already found for this chip; else it is looked for (checked by content)."""
    if path is None:
        path = existing_backup(io)
    if path is None:
        return None, "no backup of this chip"
    analysis = analyze_bytes(path.read_bytes(), str(path))
    if analysis.template is None or not analysis.template.pins:
        return None, f"no pins in the backup {path.name}"
    return analysis.template, f"the backup {path.name}"


def configure_new_firmware(io: ChipIO, settings: Settings, backup: Path | None = None) -> ConfigureResult:
    """Right after OpenBeken was written or verified: its configuration, with the pins of this
    chip's backup when the settings name none and the chip holds no configuration of its own."""
    template, source = (None, "") if settings.template else template_from_backup(io, backup)
    result = configure(io, settings, openbeken_written=True, template_if_new=template)
    if result.new and template is not None:
        result.pins_from = source
    elif result.new and settings.template is None:
        result.no_pins = source
    return result


def configure(
    io: ChipIO, settings: Settings, *, openbeken_written: bool = False, template_if_new: Template | None = None
) -> ConfigureResult:
    """Change the chip's configuration (or, right after flashing OpenBeken, create it) and write
    it. ``openbeken_written``: this session just wrote or verified an OpenBeken image.
    ``template_if_new``: the pins for a new configuration when the settings name none (a
    configuration already on the chip keeps its own)."""
    address, current, where = _read_sector(io)
    new = False
    try:
        cfg = obkconfig.parse(current, where)
    except ConfigSectorError as e:
        if not openbeken_written:
            raise SafetyError(
                f"{e}, so freebeken does not write it: this chip may still run its Tuya firmware, which keeps Wi-Fi data there",
                hint="Flash OpenBeken and its configuration in one go: freebeken flash -p PORT FIRMWARE --configure ... "
                "(a chip that already holds that firmware is checked in seconds, not written again).",
            ) from None
        cfg, new = obkconfig.defaults(io.chip.name, io.info.mac or b""), True
        if settings.template is None and template_if_new is not None:
            settings = replace(settings, template=template_if_new)
    changed = apply(cfg, settings)
    sector = cfg.to_sector()
    if sector == current:
        events.info(io.reporter, "The chip already holds exactly this configuration")
        return ConfigureResult(address, changed, False, new, cfg)
    held = write_config(io, cfg)
    return ConfigureResult(address, changed or ["all (a new configuration)"], True, new, held)


def write_config(io: ChipIO, cfg: ObkConfig) -> ObkConfig:
    """Write the sector, then read it back: it must be the bytes written and load as the
    firmware loads it (ident, version, checksum)."""
    address = config_address(io)
    sector = cfg.to_sector()
    obkconfig.parse(sector)  # never write what the firmware would reject
    events.phase(io.reporter, f"Configure: writing the OpenBeken configuration at 0x{address:X}")
    write_guarded(io, FirmwareImage(sector, address, io.chip.name, "raw"), WriteIntent("configure"), journaled=False)
    back = io.read(address)
    if back != sector:
        raise VerifyError(f"The configuration sector at 0x{address:X} reads back different from what was written")
    held = obkconfig.parse(back, f"The configuration written at 0x{address:X}")
    events.info(io.reporter, f"OpenBeken configuration written and read back at 0x{address:X}")
    return held
