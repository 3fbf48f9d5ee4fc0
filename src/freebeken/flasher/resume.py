"""``freebeken resume``: continue the operation the person started on this chip, whole.

- A flash or restore interrupted while writing is replayed from its journal's ``WriteIntent``:
  the same file, the same options; sectors already written are proven by CRC, not trusted.
- A flash interrupted in its automatic backup (its intent is recorded before that backup) is
  continued as a flash: the backup is finished, then the firmware is written. If the firmware
  file is gone, the backup is still finished and the result says the flash has not happened,
  with the command that does it - exit 0 only when what was asked is done.
- A backup interrupted on its own is finished.
"""

from __future__ import annotations

from pathlib import Path

from .. import events
from ..errors import UsageError
from . import operations as ops
from .backup import BackupResult, backup, identity, pending_backup
from .chipio import ChipIO
from .intent import WriteIntent, intent_of
from .journal import Journal, pending_write_journals
from .safely import ENSURE, SKIP, flash_safely
from .write import WriteResult


def pending_intent(io: ChipIO) -> tuple[Journal, WriteIntent] | None:
    """The newest interrupted write of this chip that `resume` can replay."""
    replayable = [(j, i) for j in pending_write_journals(identity(io.info)) if (i := intent_of(j)) and i.replayable]
    return max(replayable, key=lambda ji: ji[0].path.stat().st_mtime, default=None)


def resume(io: ChipIO) -> WriteResult | BackupResult | None:
    pending = pending_intent(io)
    out = pending_backup(io.info)
    waiting = pending is not None and pending[1].backup_first and not pending[0].begun
    if out is not None and (pending is None or waiting):
        if pending is not None:
            name = pending[1].name
            events.info(io.reporter, f"The flash of {name} was waiting for its backup: finishing the backup, then flashing")
        events.info(io.reporter, f"Resuming the interrupted backup to {out}")
        made = backup(io, out)
        if pending is None:
            return made
        events.info(io.reporter, f"Backup saved: {made.path}")
    if pending is None:
        return None
    return _replay(io, pending[1], backup_done=out is not None, begun=pending[0].begun)


def _replay(io: ChipIO, intent: WriteIntent, *, backup_done: bool, begun: bool) -> WriteResult:
    file = intent.file or ""
    if not Path(file).exists():
        opening = "The backup is finished, but the" if backup_done else "The"
        raise UsageError(
            f"{opening} {intent.op} has not happened: the interrupted {intent.op} used {file}, which is gone",
            hint=f"Put the file back and run `freebeken resume -p PORT`, or {intent.op} with: {intent.command()}",
        )
    events.info(io.reporter, f"Resuming the interrupted {intent.op} of {intent.name}")
    if intent.op == "restore":
        return ops.restore_backup(io, file, other_device=intent.other_device)
    # A flash stopped before it wrote, where a backup was to come first: no flash without the
    # chip's backup (the one just finished, an older one, or a new one if it never started).
    policy = ENSURE if intent.backup_first and not begun else SKIP
    return flash_safely(
        io,
        file,
        backup_policy=policy,
        include_bootloader=intent.include_bootloader,
        offset=intent.raw_offset,
        other_device=intent.other_device,
    ).write
