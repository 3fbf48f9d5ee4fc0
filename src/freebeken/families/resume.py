"""`freebeken resume` for the non-Beken families: continue this device's interrupted flash, restore or
backup from the journals :mod:`.ops` writes.

* a backup's journal is ``journals/backup-{device}.json`` (its ``.part`` file is continued);
* a flash's or restore's is ``journals/{device}-{digest}.json`` (:mod:`.intent`): the file is read again
  from its recorded path and must still have its recorded SHA-256 - a file changed or gone since is
  refused before anything is written. Sectors proven before the interruption are checked by the chip's
  digest (or read back), not trusted, as the operation itself does when run again.

A flash resumed is never preceded by a new backup: its journal exists only once the backup step was
passed, and a backup of a half-written chip would be no backup of this device. A flash interrupted in
its automatic first backup (``journals/flash-after-backup-{device}.json``, :func:`.intent.wait_for_backup`)
is continued as a flash: the backup is finished, then the image written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import events
from ..errors import SafetyError, UsageError
from ..flasher import backup_engine
from ..flasher.journal import Journal, pending_write_journals
from ..storage import sha256
from . import ops
from .base import ChipFamily, Identity, device_identity
from .intent import waiting_path


@dataclass
class Pending:
    op: str  # backup | flash | restore
    journal: Journal
    mtime: float
    waiting: bool = False  # a flash that waits for its first backup (nothing of it written yet)

    @property
    def file(self) -> str:
        """The file the operation reads (flash, restore) or writes (backup)."""
        rec = self.journal.record
        return str(rec.get("path") or rec.get("out") or rec.get("image") or "")  # out: the backup engine's target

    def describe(self) -> str:
        done = len(self.journal.record.get("done", []))
        if self.op == "backup":
            return f"backup to {self.file} ({done} pieces read)"
        if self.waiting:
            return f"flash of {Path(self.file).name} (waiting for the device's first backup)"
        return f"{self.op} of {Path(self.file).name} ({done} runs proven)"

    def as_dict(self) -> dict[str, object]:
        return {"op": self.op, "file": self.file, "done": len(self.journal.record.get("done", []))}


def pending(ident: Identity) -> list[Pending]:
    """This device's interrupted operations, newest first."""
    found: list[Pending] = []
    bj = Journal.load(backup_engine.journal_path(ident))
    if bj is not None and backup_engine.pending_backup(ident) is not None:  # its .part is still there
        found.append(Pending("backup", bj, bj.path.stat().st_mtime))
    waiting = Journal.load(waiting_path(ident.key))
    if waiting is not None:
        found.append(Pending("flash", waiting, waiting.path.stat().st_mtime, waiting=True))
    for j in pending_write_journals(ident.key):
        op = str(j.record.get("op") or "write")  # "write": a journal from before the intent was recorded
        found.append(Pending(op, j, j.path.stat().st_mtime))
    return sorted(found, key=lambda p: p.mtime, reverse=True)


def _source(p: Pending) -> bytes:
    """The interrupted write's file, as it was: refused (nothing written) when it is gone or changed."""
    rec = p.journal.record
    path, want = rec.get("path"), rec.get("sha256")
    again = {"flash": "freebeken flash -p PORT FILE", "restore": "freebeken restore -p PORT FILE"}.get(
        p.op, "freebeken flash -p PORT FILE or freebeken restore -p PORT FILE"
    )
    if not path or not want:
        raise UsageError(
            f"The interrupted {p.op} of {rec.get('image')} was recorded without its file's path (an older freebeken)",
            hint=f"Run it again with the same file ({again}): it continues where it stopped.",
        )
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise UsageError(
            f"The interrupted {p.op} used {path}, which cannot be read now ({e.strerror}); nothing was written",
            hint=f"Put the file back and run `freebeken resume` again, or {p.op} with another file ({again}).",
        ) from e
    if sha256(data) != want:
        raise SafetyError(
            f"{path} changed since the interrupted {p.op} (SHA-256 {sha256(data)[:12]}..., was {want[:12]}...); nothing was written",
            hint=f"Put the original file back and run `freebeken resume`, or {p.op} the new file from the start ({again}).",
        )
    return data


def resume(fam: ChipFamily, reporter: events.Reporter) -> tuple[ops.FamilyResult, Pending, list[Pending]] | None:
    """Continue this device's newest interrupted operation: its result, what it was, and the interrupted
    operations left after it; None when nothing was pending."""
    ident = device_identity(fam)  # a MAC-less chip's journals are named by its fingerprint
    found = pending(ident)
    if not found:
        return None
    p, rest = found[0], found[1:]
    if p.op != "backup":
        return _write(fam, p, reporter), p, rest
    events.info(reporter, f"Resuming the interrupted {p.describe()}")
    made = ops.backup(fam, reporter)
    after = next((q for q in rest if q.waiting), None)
    if after is None:
        return made, p, rest
    events.info(reporter, f"Backup saved: {made.path}")
    result = _write(fam, after, reporter, backup_done=True)
    result.backup = made.path
    return result, after, [q for q in rest if q is not after]


def _write(fam: ChipFamily, p: Pending, reporter: events.Reporter, *, backup_done: bool = False) -> ops.FamilyResult:
    try:
        data = _source(p)  # before anything is written
    except (UsageError, SafetyError) as e:
        if p.waiting:  # nothing of it was written: forgotten, so flashing again starts it cleanly
            p.journal.remove()
            done = "The backup is finished, but the flash has not happened" if backup_done else "The flash has not happened"
            e.args = (f"{done}: {e}",)
            e.hint = "Flash the file you want: `freebeken flash -p PORT FILE` (it backs the device up first when it must)."
        raise
    events.info(reporter, f"Resuming the interrupted {p.describe()}")
    path = Path(p.file)
    if p.op == "restore":
        return ops.restore(fam, path, reporter, other_device=bool(p.journal.record.get("other_device")))
    # a flash that waited for its backup has written nothing: without a backup of this device, one is made now
    result = ops.flash(fam, path.name, data, reporter, no_backup=not p.waiting, path=path)
    if p.waiting:
        p.journal.remove()
    return result
