"""``sim://rtl8720cf?...`` and ``sim://ln882h?...``: the non-Beken simulators behind the same URL scheme.

Keys that apply from the Beken simulator (see :mod:`.config`): image, time_scale, seed, and the faults
drop, corrupt, insert, no_reply, noisy_above, power_cut_after, dead, power, wiring (ok, swapped, echo,
badground), reset. Own keys: boot (download: the boot pin is held as the person was told; app: it was
not, the firmware runs and the download protocol gets no answer), mac (12 hex digits), lose_reply
/ lose_command (a console command whose first reply, or the command itself, is lost on the line: ucfg).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from ..errors import UsageError
from .config import SimConfig, save_image
from .faults import WIRINGS, Faults
from .flash import NorFlash
from .textline import TextLine

if TYPE_CHECKING:
    from .ambz2 import AmbZ2Rom
    from .ln882h import Ln882hChip

_BOOL = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
CHIPS = ("rtl8720cf", "ln882h")


@dataclass
class FamilySimConfig:
    chip: str
    image: Path | None = None
    time_scale: float = 1.0
    seed: int = 0
    boot: str = "download"
    mac: bytes | None = None
    faults: Faults = field(default_factory=Faults)

    @classmethod
    def from_url(cls, url: str) -> FamilySimConfig:
        parts = urlsplit(url)
        cfg = cls(chip=parts.netloc.lower())
        fault_args: dict[str, object] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            try:
                if key == "image":
                    cfg.image = Path(value).expanduser()
                elif key == "time_scale":
                    cfg.time_scale = float(value)
                elif key == "seed":
                    cfg.seed = int(value)
                    fault_args["seed"] = int(value)
                elif key == "boot":
                    cfg.boot = {"download": "download", "app": "app"}[value.lower()]
                elif key == "mac":
                    cfg.mac = bytes.fromhex(value.replace(":", ""))
                    if len(cfg.mac) != 6:
                        raise ValueError(value)
                elif key in ("drop", "corrupt", "insert", "no_reply"):
                    fault_args[key] = float(value)
                elif key in ("power_cut_after", "noisy_above"):
                    fault_args[key] = int(value)
                elif key == "dead":
                    fault_args[key] = _BOOL[value.lower()]
                elif key == "power":
                    fault_args["dead"] = {"on": False, "off": True}[value.lower()]
                elif key == "wiring":
                    if value not in WIRINGS or value == "tx2":
                        raise ValueError(value)
                    fault_args[key] = value
                elif key in ("lose_reply", "lose_command"):
                    fault_args[key] = value
                elif key == "reset":
                    fault_args["reset_wired"] = {"wired": True, "unwired": False}[value.lower()]
                else:
                    raise UsageError(f"Unknown simulator option {key!r} in {url!r}", hint=__doc__.split("\n\n")[1])
            except (ValueError, KeyError):
                raise UsageError(f"Bad value {value!r} for simulator option {key!r}") from None
        cfg.faults = Faults(**fault_args)  # type: ignore[arg-type]
        if cfg.time_scale < 0:
            raise UsageError("time_scale must be >= 0")
        return cfg

    @property
    def device_mac(self) -> bytes:
        if self.mac is not None:
            return self.mac
        rng = random.Random(f"{self.chip}-{self.seed}")
        return bytes.fromhex("d4a651") + bytes(rng.randrange(256) for _ in range(3))  # Tuya's OUI

    def load_image(self) -> bytearray:
        from .family_images import stock_image

        size = 0x200000
        if self.image is None or not self.image.exists():
            img = stock_image(self.chip, self.seed, self.device_mac)
            if self.image is not None:
                save_image(self.image, img)
            return img
        data = bytearray(self.image.read_bytes())
        if len(data) != size:
            raise UsageError(f"Simulator image {self.image} is {len(data)} bytes; the simulated flash holds {size}")
        return data

    def build(self) -> TextLine:
        chip: AmbZ2Rom | Ln882hChip
        if self.chip == "rtl8720cf":
            from .ambz2 import RTL_FLASH, AmbZ2Rom

            chip = AmbZ2Rom(NorFlash(RTL_FLASH, self.load_image()), mac=self.device_mac, boot=self.boot, seed=self.seed)
        else:
            from .ln882h import LN_FLASH, Ln882hChip

            assert LN_FLASH is not None
            uid = random.Random(f"uid-{self.seed}").randbytes(16)
            chip = Ln882hChip(NorFlash(LN_FLASH, self.load_image()), mac=self.device_mac, uid=uid, boot=self.boot)
        line = TextLine(chip, time_scale=self.time_scale, faults=self.faults)
        chip.line = line
        return line


def config_for_url(url: str) -> SimConfig | FamilySimConfig:
    """The simulator a ``sim://`` URL names: a non-Beken family's, else the Beken one."""
    if urlsplit(url).netloc.lower() in CHIPS:
        return FamilySimConfig.from_url(url)
    return SimConfig.from_url(url)
