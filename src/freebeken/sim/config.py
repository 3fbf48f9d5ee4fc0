"""``sim://CHIP?key=value&...`` URLs: how a port string becomes a simulated chip on a line.

Keys: image (file backing the flash: loaded at open, written back at close; a fresh stock-like
image when absent, with a MAC of its own derived from the file's path), mac (the MAC a fresh image
gets), time_scale (1 = real timing), flash (part name), seed (a fresh image's content and MAC), boot_version
("none": a plain Beken T bootloader that lacks the command),
boot_window, noise_period (seconds between the firmware's log lines), stay_in_loader, protect (N: stock firmware left SR protection on), and faults:
drop, corrupt, insert, no_reply (rates 0..1), noisy_above (baud above which those apply),
power_cut_after (flash ops), dead (0/1), power (on/off; off = dead), and wiring faults for the
link doctor: wiring (ok, swapped, echo, tx2, badground), mcu_chatter (baud of a TuyaMCU on the line),
reset (wired/unwired: whether RTS reaches CEN), console (0: the firmware ignores "reboot"),
ctrl_c_after (commands answered before a Ctrl-C reaches the program), efuse_flip (the eFuse byte whose
first read arrives with a bit flipped), efuse_noise (probability of a flipped bit in each eFuse byte read); and
adapter (ideal, ch340, cp2102, ftdi, pl2303: the USB-serial adapter's latency and baud rates);
chip_id (another chip-ID register value, e.g. 0x7236), efuse (tuya/zero: the eFuse key; default the chip's own: Tuya's on T and N, zero on M and U).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from ..chips import chip_by_name, flash_by_name
from ..chips.profiles import ChipProfile
from ..device.discover import normalize_mac
from ..errors import UsageError
from .adapters import ADAPTERS, AdapterProfile, adapter_by_name
from .chip import TUYA_EFUSE, SimChip
from .faults import WIRINGS, Faults
from .flash import NorFlash
from .image import build_stock_image
from .line import SimLine

_BOOL = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
#: Every key a sim:// URL takes (from_url reads them in this order).
KEYS = (
    "image",
    "mac",
    "time_scale",
    "boot_window",
    "noise_period",
    "flash",
    "adapter",
    "chip_id",
    "efuse",
    "boot_version",
    "seed",
    "stay_in_loader",
    "protect",
    "drop",
    "corrupt",
    "insert",
    "no_reply",
    "power_cut_after",
    "noisy_above",
    "dead",
    "power",
    "wiring",
    "mcu_chatter",
    "reset",
    "console",
)


def unknown_key(key: str, url: str) -> UsageError:
    """The error for a key no simulator takes, with the likeliest one meant ("did you mean")."""
    near = difflib.get_close_matches(key.lower(), KEYS, n=1, cutoff=0.6)
    guess = f": did you mean {near[0]!r}?" if near else ""
    lead = f"Write {near[0]}=...; the" if near else "The"
    return UsageError(f"Unknown simulator option {key!r} in {url!r}{guess}", hint=f"{lead} options are: {', '.join(KEYS)}.")


@dataclass
class SimConfig:
    chip: ChipProfile
    image: Path | None = None
    time_scale: float = 1.0
    flash: str = "TH25Q16HB"
    seed: int = 0
    boot_version: str | None = None
    boot_window: float = 0.3
    noise_period: float = 0.5
    stay_in_loader: bool = False
    protect: bool = True
    faults: Faults = field(default_factory=Faults)
    adapter: AdapterProfile = field(default_factory=lambda: ADAPTERS["ideal"])
    chip_id: int | None = None  # another value in the chip-ID register (another family member)
    efuse_zero: bool | None = None  # an all-zero eFuse key (None: the chip's own, e.g. zero on a BK7231M)
    mac: bytes | None = None  # the MAC of a fresh image (None: from the seed, or the image file's path)
    seeded: bool = False  # a seed was given: it alone decides a fresh image's MAC

    @classmethod
    def from_url(cls, url: str) -> SimConfig:
        parts = urlsplit(url)
        if parts.scheme != "sim" or not parts.netloc:
            raise UsageError(f"Not a simulator URL: {url!r}", hint="Use e.g. sim://bk7231t?time_scale=0")
        cfg = cls(chip=chip_by_name(parts.netloc))
        fault_args: dict[str, object] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            try:
                if key == "image":
                    cfg.image = Path(value).expanduser()
                elif key in ("time_scale", "boot_window", "noise_period"):
                    setattr(cfg, key, float(value))
                elif key == "flash":
                    cfg.flash = value
                elif key == "adapter":
                    cfg.adapter = adapter_by_name(value)
                elif key == "chip_id":
                    cfg.chip_id = int(value, 0)
                elif key == "efuse":
                    cfg.efuse_zero = {"tuya": False, "zero": True}[value.lower()]
                elif key == "boot_version":  # "none": a T bootloader without the command
                    cfg.boot_version = "" if value.lower() == "none" else value
                elif key == "seed":
                    cfg.seed, cfg.seeded = int(value), True
                    fault_args["seed"] = int(value)
                elif key == "mac":
                    cfg.mac = bytes.fromhex(normalize_mac(value))
                elif key in ("stay_in_loader", "protect"):
                    setattr(cfg, key, _BOOL[value.lower()])
                elif key in ("drop", "corrupt", "insert", "no_reply", "efuse_noise"):
                    fault_args[key] = float(value)
                elif key in ("power_cut_after", "noisy_above", "ctrl_c_after", "efuse_flip"):
                    fault_args[key] = int(value)
                elif key == "dead":
                    fault_args[key] = _BOOL[value.lower()]
                elif key == "power":
                    fault_args["dead"] = {"on": False, "off": True}[value.lower()]
                elif key == "wiring":
                    if value not in WIRINGS:
                        raise ValueError(value)
                    fault_args[key] = value
                elif key == "mcu_chatter":
                    fault_args[key] = int(value)
                elif key == "reset":
                    fault_args["reset_wired"] = {"wired": True, "unwired": False}[value.lower()]
                elif key == "console":
                    fault_args[key] = _BOOL[value.lower()]
                else:
                    raise unknown_key(key, url)
            except (ValueError, KeyError):
                raise UsageError(f"Bad value {value!r} for simulator option {key!r}") from None
        cfg.faults = Faults(**fault_args)  # type: ignore[arg-type]
        if cfg.time_scale < 0:
            raise UsageError("time_scale must be >= 0")
        return cfg

    def load_image(self) -> bytearray:
        size = flash_by_name(self.flash).size
        if self.image is None:
            return build_stock_image(self.chip, self.seed, mac=self.mac)
        if not self.image.exists():
            # each image file is a plug of its own: two of them must not share a MAC (seed 0's)
            mac = self.mac or (None if self.seeded else mac_for(str(self.image.resolve())))
            img = build_stock_image(self.chip, self.seed, mac=mac)
            save_image(self.image, img)
            return img
        data = bytearray(self.image.read_bytes())
        if len(data) != size:
            raise UsageError(
                f"Simulator image {self.image} is {len(data)} bytes; the simulated flash holds {size}",
                hint="Give a full flash dump, or a path that does not exist yet for a fresh image.",
            )
        return data

    def build(self) -> SimLine:
        flash = NorFlash(flash_by_name(self.flash), self.load_image())
        profile = dataclasses.replace(self.chip, chip_id=self.chip_id) if self.chip_id is not None else self.chip
        chip = SimChip(profile, flash, boot_version=self.boot_version, boot_sr_protected=self.protect)
        if self.efuse_zero is not None:
            chip.efuse = bytes(32) if self.efuse_zero else TUYA_EFUSE
        return SimLine(
            chip,
            time_scale=self.time_scale,
            boot_window=self.boot_window,
            noise_period=self.noise_period,
            stay_in_loader=self.stay_in_loader,
            faults=self.faults,
            adapter=self.adapter,
        )


def mac_for(name: str) -> bytes:
    """A simulated chip's MAC derived from ``name`` (an image file's path, a seed): one of Tuya's
    module prefixes (C8:47:8C, as the real dumps carry) and three bytes of the name's SHA-256."""
    return bytes.fromhex("c8478c") + hashlib.sha256(name.encode()).digest()[:3]


def save_image(path: Path, data: bytes | bytearray) -> None:
    """Atomic write so that a crash never leaves a half-written chip image."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
