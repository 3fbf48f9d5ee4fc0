"""The chip steps of a conversion for the families behind the seam (RTL8720CF: Tuya's WBR2/WBR3;
LN882H): the same records as a Beken journey, done through ``families.ops`` (backup, flash, verify,
restore with their guarantees), so ``convert`` and the page continue each other's work alike.

What differs from Beken, and why:

* the chip is named by the port (``sim://rtl8720cf``) or by the person (``--chip``, the page's
  family choice): these ROMs answer only with a boot pin held, so nothing can be asked first;
* the release is OpenBeken's whole-flash image for the family, accepted by its bytes
  (``families.images.check_image``), never by its name;
* there is no "configure while flashing": OpenBeken keeps its settings on these chips in a flash
  key-value store freebeken does not write, so the plug's first boot is OpenBeken's access point
  (the same ``/cfg_wifi_set`` as everywhere), after a power cycle *without* the boot pin.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from .. import events
from ..errors import ReleaseError, UsageError
from ..events import Reporter
from ..families import ops
from ..families.base import ChipFamily, FamilySpec, Identity, device_identity
from ..families.dispatch import open_family
from ..families.images import check_image
from ..families.registry import family_of, spec_by_chip
from ..firmware.releases import fetch
from ..flasher.backup_engine import newest_own_backup
from ..storage import sha256
from ..templates import lists
from . import family_plug
from .progress import JourneyRecord
from .records import AFTER_FLASH, BackedUp, Detected, Flashed, Restored, Simulated

F = TypeVar("F", bound="FamilySteps")


def family_for(port: str | None, chip: str | None = None) -> FamilySpec | None:
    """The non-Beken family the port (``sim://rtl8720cf``) or the person's choice names; None: Beken."""
    return family_of(port or "", chip) if port or chip else None


@contextlib.contextmanager
def on_family_adapter(
    spec: FamilySpec, port: str, reporter: Reporter, *, baudrate: int | None = None, timeout: float = 15.0
) -> Iterator[ChipFamily]:
    """The chip of ``spec`` on the adapter, in download mode. A simulated plug booted from the same
    flash file is switched off first (its flash is the chip's)."""
    if family_plug.unplug(family_plug.image_of(port)):
        events.info(reporter, "The simulated plug was switched off: it is on the adapter now")
    events.info(reporter, f"{spec.name.upper()} download mode: {spec.download_mode}")
    fam = open_family(spec, port, baudrate=baudrate, timeout=timeout)
    try:
        yield fam
    finally:
        fam.close()


def family_firmware(spec: FamilySpec, requested: str | None, own_file: str) -> Path:
    """The release to flash on a chip of ``spec``: the person's file, else the newest release for the
    family; either is refused unless its bytes are an image for this chip."""
    if requested and requested != "latest":
        path = Path(requested)
    else:
        try:
            path = fetch(spec.name)
        except ReleaseError as e:
            cause = e.__cause__ or e.__context__
            if cause is None:
                raise
            name = spec.release_name("<version>")
            raise ReleaseError(
                f"Cannot download OpenBeken for the {spec.name.upper()} ({lists.why(cause)})",
                hint=f"Without internet here: download {name} from the OpenBeken releases page "
                "(github.com/openshwprojects/OpenBK7231T_App/releases) on another computer, copy it over, and "
                + own_file.format(name=name)
                + ".",
            ) from None
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UsageError(f"Cannot read {path}: {e.strerror}") from None
    check_image(spec, path.name, data, spec.flash_size)
    return path


class FamilySteps(JourneyRecord):
    """The chip steps on a family chip; the journey is named by the chip and its MAC, as a Beken's."""

    @property
    def family(self) -> FamilySpec | None:
        """The chip family of this plug; None: a Beken plug."""
        detected = self.detected
        return spec_by_chip(str(detected.info.get("family") or "")) if detected else None

    @classmethod
    def of_family(cls: type[F], ident: Identity, port: str | None = None) -> F:
        journey = cls.of_identity(ident.key)
        if journey.detected is None:
            mac = ident.mac.hex(":").upper() if ident.mac else None
            info = {"family": ident.spec.name, "flash_size": ident.flash_size, **ident.details}
            journey._finish(Detected(ident.spec.name.upper(), mac, info))
        image = family_plug.image_of(port)
        known = journey.simulated
        if image is not None and (known is None or known.image != str(image)):
            journey._remember("simulated", Simulated(str(image)).to_json())
        return journey

    def back_up_family(self, fam: ChipFamily, reporter: Reporter) -> BackedUp:
        """This chip's backup: the newest earlier one whose content is this device's (the rule every
        front end and family shares: engine.newest_own_backup), else a new one, proven piece by piece."""
        ident = device_identity(fam)
        kept = newest_own_backup(ident, lambda: ops.content_hook(fam, ident))
        if kept is None:
            result = ops.backup(fam, reporter)
            assert result.path is not None and result.sha256 is not None
            record = BackedUp(result.path, False, result.sha256, result.size, True)  # hashed as it was written
        else:
            record = BackedUp(str(kept), False, sha256(kept.read_bytes()), kept.stat().st_size, False)
        self._data["steps"].pop("analyze", None)
        self._finish(record)
        return record

    def flash_family(
        self, fam: ChipFamily, firmware: Path, reporter: Reporter, *, no_backup: bool = False, port: str | None = None
    ) -> ops.FamilyResult:
        """Flash the release (a backup first when this device has none), every sector proven; the
        device's calibration is kept. Running it again resumes through the write journal."""
        data = firmware.read_bytes()
        self._remember("flashing", str(firmware.resolve()))  # what a resumed flash writes again
        result = ops.flash(fam, firmware.name, data, reporter, no_backup=no_backup)
        if result.backup and self.backed_up is None:
            path = Path(result.backup)
            self._finish(BackedUp(str(path), False, sha256(path.read_bytes()), path.stat().st_size, True))
        self._finish(Flashed(firmware.name, result.written, result.skipped, result.resumed))
        sim = self.simulated
        if sim is not None:  # what the simulated plug must find on its flash to boot OpenBeken
            self._remember("simulated", {**sim.to_json(), "firmware": str(firmware.resolve())})
        spec = fam.spec
        events.info(reporter, f"Flashed and proven. {spec.start_firmware}: OpenBeken then opens its access point.")
        return result

    def resume_family(self, fam: ChipFamily, reporter: Reporter) -> ops.FamilyResult | None:
        """A flash of this plug that was cut off, finished (the write journal skips what is proven);
        None when nothing was cut off."""
        flashing = self._data.get("flashing")
        if self.flashed is not None or not flashing or not Path(flashing).is_file():
            return None
        skipped = self.backed_up is not None and self.backed_up.skipped
        return self.flash_family(fam, Path(flashing), reporter, no_backup=skipped)

    @property
    def flashed_file(self) -> Path | None:
        """The release file flashed (or being flashed) on this plug."""
        flashing = self._data.get("flashing")
        return Path(flashing) if flashing else None

    def verify_family(self, fam: ChipFamily, path: Path, reporter: Reporter) -> ops.FamilyResult:
        """Does the chip hold ``path`` (the release flashed, or a full backup)? Proven by the chip."""
        try:
            data = path.read_bytes()
        except OSError as e:
            raise UsageError(f"Cannot read {path}: {e.strerror}") from None
        return ops.verify(fam, path.name, data, reporter)

    def restore_family(self, fam: ChipFamily, path: Path, reporter: Reporter, other_device: bool) -> ops.FamilyResult:
        """The way back: the backup on the chip (judged by its content first), the firmware's steps forgotten."""
        result = ops.restore(fam, path, reporter, other_device=other_device)
        self._forget_firmware(path)
        return result

    def _forget_firmware(self, path: Path) -> None:
        for step in AFTER_FLASH:
            self._data["steps"].pop(step, None)
        self._data.pop("wifi_sent", None)
        self._data.pop("flashing", None)  # a restore is no flash to resume
        self._data["complete"] = False
        self._remember("restored", Restored(str(path)).to_json())

    def power_on_family(self, spec: FamilySpec, reporter: Reporter) -> None:
        """Power the simulated family plug from its flash (it must hold the release flashed)."""
        sim = self.simulated
        raw = self._data.get("simulated") or {}
        if sim is None or not raw.get("firmware"):
            raise UsageError("The simulated plug was not flashed yet", hint="Flash OpenBeken onto it first.")
        detected = self.detected
        plug = family_plug.power_on(Path(sim.image), spec, Path(raw["firmware"]), detected.mac if detected else None, sim.port)
        assert plug.address is not None
        port = int(plug.address.rsplit(":", 1)[1])
        self._remember("simulated", {**raw, "port": port})
        events.info(
            reporter,
            f"The simulated {spec.name.upper()} plug is powered on without the boot pin ({plug.boot.why}) and serves at "
            f"{plug.address}; it boots from {sim.image}",
        )
