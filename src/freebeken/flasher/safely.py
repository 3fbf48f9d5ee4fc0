"""The one "flash safely" operation every front end uses (``flash``, ``convert``, the page, ``demo``):
the file judged against the chip, the backup a chip without one needs, the write proven sector
by sector, and OpenBeken's configuration written and read back when settings are given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import events
from ..firmware.settings import Settings
from ..storage import sha256
from .backup import backup, identity
from .chipio import ChipIO
from .configure import ConfigureResult, configure_new_firmware
from .intent import waiting_for_backup
from .operations import check_firmware, existing_backup, flash_intent, write_checked
from .write import WriteResult


@dataclass(frozen=True)
class BackupPolicy:
    """Whether a chip freebeken has no backup of is backed up before it is written.
    ``make=False``: the person declined (``--no-backup``; the front end confirmed it).
    ``consent``: asked before a backup is made; declining writes without one."""

    make: bool = True
    consent: Callable[[], bool] | None = None


ENSURE = BackupPolicy()
SKIP = BackupPolicy(make=False)


@dataclass(frozen=True)
class Backup:
    path: Path
    made: bool  # made just now; False: an earlier backup whose content matches the chip

    @property
    def sha256(self) -> str:
        return sha256(self.path.read_bytes())

    def as_dict(self) -> dict[str, object]:
        return {"path": str(self.path), "made": self.made}


@dataclass(frozen=True)
class FlashOutcome:
    firmware: Path
    write: WriteResult
    backup: Backup | None  # this chip's backup (None: declined)
    configured: ConfigureResult | None  # None: no settings were given

    def as_dict(self) -> dict[str, object]:
        return {
            **self.write.as_dict(),
            "firmware": self.firmware.name,
            "backup": self.backup.as_dict() if self.backup else None,
            "configure": self.configured.as_dict() if self.configured else None,
        }


def ensure_backup(io: ChipIO, policy: BackupPolicy = ENSURE) -> Backup | None:
    """The rule every front end follows: no first flash of a chip without a backup of it.
    The newest backup whose content matches this chip, else a new one (unless declined)."""
    found = existing_backup(io)
    if found is not None:
        return Backup(found, made=False)
    if not policy.make or (policy.consent is not None and not policy.consent()):
        return None
    events.info(io.reporter, "There is no backup of this chip yet: backing it up first")
    return Backup(backup(io).path, made=True)


def flash_safely(
    io: ChipIO,
    firmware: str | Path,
    *,
    backup_policy: BackupPolicy = ENSURE,
    settings: Settings | None = None,
    include_bootloader: bool = False,
    offset: int | None = None,
    other_device: bool = False,
) -> FlashOutcome:
    """Judge the file against this chip (nothing is written when it does not fit), back the chip up
    when it has no backup, write what differs (journaled: `resume` finishes it), and then write the
    configuration when ``settings`` are given (pins from the settings, else from the chip's backup)."""
    image = check_firmware(io, firmware, include_bootloader=include_bootloader, offset=offset, other_device=other_device)
    intent = flash_intent(
        firmware, include_bootloader=include_bootloader, offset=offset, other_device=other_device, backup_first=backup_policy.make
    )
    with waiting_for_backup(identity(io.info), intent, image):  # journaled first: a Ctrl-C from here on leaves a flash to resume
        kept = ensure_backup(io, backup_policy)
    write = write_checked(
        io,
        image,
        firmware,
        include_bootloader=include_bootloader,
        offset=offset,
        other_device=other_device,
        backup_first=backup_policy.make,
    )
    configured = configure_new_firmware(io, settings, kept.path if kept else None) if settings is not None else None
    return FlashOutcome(Path(firmware), write, kept, configured)
