"""What a write was asked to do, kept in its journal so that `resume` replays the same operation.

A journal used to hold the request as loose keys (``{"op": ..., "file": ...}``) read back one by
one; a ``WriteIntent`` is that request as one frozen value. A flash also records its intent
*before* its automatic backup of the chip (``waiting_for_backup``): a Ctrl-C in that backup then
leaves a journal saying "a flash of FILE was asked, its backup first", and `resume` finishes the
backup and then flashes, instead of finishing the backup and calling it done.
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import Interrupted
from .firmware import FirmwareImage
from .journal import Journal, sha256, write_journal_path

REPLAYABLE = ("flash", "restore")  # the writes `resume` can redo from their file alone


@dataclass(frozen=True)
class WriteIntent:
    op: str  # "flash", "restore"; "repair" and "configure" are never replayed
    file: str | None = None  # absolute path of the firmware or backup file
    include_bootloader: bool = False
    raw_offset: int | None = None  # flash: a raw image at this address instead of a recognised file
    other_device: bool = False
    backup_first: bool = False  # flash: the chip is backed up (when it has no backup) before writing

    @property
    def label(self) -> str:
        """ "Flash", "Restore": how phases and messages name the operation."""
        return self.op.capitalize()

    @property
    def replayable(self) -> bool:
        return self.op in REPLAYABLE and bool(self.file)

    @property
    def name(self) -> str:
        return Path(self.file).name if self.file else "?"

    def command(self) -> str:
        """The command a person types to do this again (PORT is filled in by the CLI's hint)."""
        words = ["freebeken", self.op, "-p", "PORT"]
        if self.op == "flash":
            words += ["--include-bootloader"] * self.include_bootloader
            words += ["--offset", f"0x{self.raw_offset:X}"] if self.raw_offset is not None else []
        words += ["--other-device"] * self.other_device
        return " ".join(words[:4] + [shlex.quote(w) for w in words[4:]] + [shlex.quote(self.file or "FILE")])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> WriteIntent | None:
        """From a journal record: its "intent", or the loose keys journals held before (None when
        the record says no operation at all)."""
        data = record.get("intent", record)
        if not isinstance(data, dict) or not isinstance(data.get("op"), str):
            return None
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        raw = values.get("raw_offset")
        values["raw_offset"] = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        values["file"] = values["file"] if isinstance(values.get("file"), str) else None
        for flag in ("include_bootloader", "other_device", "backup_first"):
            values[flag] = bool(values.get(flag, False))
        return cls(**values)


def intent_of(journal: Journal) -> WriteIntent | None:
    return WriteIntent.from_record(journal.record)


@contextlib.contextmanager
def waiting_for_backup(identity: str, intent: WriteIntent, image: FirmwareImage) -> Iterator[None]:
    """Around the steps a flash takes before it writes (the automatic backup): the journal of this
    chip (``identity``) and image records the flash first, so that `resume` continues it; a Ctrl-C there says the flash
    has not started and how to continue. A journal of the same image from an earlier attempt that
    already wrote is kept as it is (its record of done sectors and of the flash outside stays)."""
    digest = sha256(image.data)
    path = write_journal_path(identity, digest)
    if Journal.load(path) is None:
        Journal(path, {"intent": intent.to_json(), "image_sha256": digest, "offset": image.offset, "done": []}).save()
    try:
        yield
    except Interrupted as e:
        raise Interrupted(
            f"{e}. The flash of {intent.name} has not started",
            hint="Continue with: freebeken resume -p PORT (it "
            + ("finishes the backup, then flashes" if intent.backup_first else "flashes")
            + f" {intent.name}).",
        ) from None
