"""Write an image: compare -> plan -> erase/write -> verify every touched sector, journaled.

Interrupt it anywhere (Ctrl-C, unplug, power cut) and run it again: sectors recorded as done are
re-verified where the interruption happened, the rest is re-compared and re-planned from the
chip's CRCs, so the result is always the wanted image.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .. import events
from ..errors import FreebekenError, Interrupted, SafetyError, VerifyError
from ..families.base import holds
from ..protocol import beken_crc
from ..protocol.crc import BLANK_SECTOR_CRC
from . import guard
from .chipio import SECTOR, ChipIO
from .firmware import FirmwareImage
from .intent import WriteIntent
from .journal import Journal, MemoryJournal, sha256
from .plan import BLOCK, UNKNOWN, Costs, Plan, make_plan, rest_is_new, sector_spans
from .policy import MAX_REWRITES, WRITE_RETRIES, RewritePolicy

__all__ = ["MAX_REWRITES", "WRITE_RETRIES", "LineSpoilsWrites", "WriteResult", "write_image"]

# The rewrite budget and when a write stops for the line: policy.py (pure, with the numbers).


class LineSpoilsWrites(VerifyError):
    """The write stopped because the serial line damages most frames, not because of the flash."""


@dataclass
class WriteResult:
    written: int  # sectors programmed
    erased: int  # sectors erased (64K blocks count 16)
    skipped: int  # sectors that needed no erase or write
    verified: int
    seconds: float
    resumed: bool
    baudrate: int
    rewritten: int = 0  # sectors written again because they did not verify (a noisy line)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def sector_targets(io: ChipIO, image: FirmwareImage) -> dict[int, bytes]:
    """Wanted content per sector; partial first/last sectors keep the chip's other bytes."""
    targets: dict[int, bytes] = {}
    for address, lo, hi in sector_spans(image.offset, image.end):
        chunk = image.data[lo - image.offset : hi - image.offset]
        if hi - lo < SECTOR:
            current = bytearray(io.read(address))
            current[lo - address : hi - address] = chunk
            chunk = bytes(current)
        targets[address] = chunk
    return targets


def write_image(
    io: ChipIO, image: FirmwareImage, journal_path: Path | None, intent: WriteIntent, *, bootloader: bool = False
) -> WriteResult:
    """``journal_path`` None: nothing about this write is stored (see MemoryJournal). ``bootloader``:
    the write may cover the bootloader, where the chip lets UART write it - for this write only
    (the permission is ChipIO's last line of defence and must not outlive the operation)."""
    allowed = io.allow_bootloader
    io.allow_bootloader = bootloader and io.chip.bootloader_writable
    try:
        return _write_image(io, image, journal_path, intent)
    except KeyboardInterrupt:  # while comparing, or proving the result (while writing: _write_image says more)
        journal = Journal.load(journal_path) if journal_path else None
        kept = f"recorded in {journal_path}" if journal else "nothing was kept: run the same command again"
        done = len(journal.done) if journal else 0
        raise Interrupted(f"{intent.label} interrupted: {done} sectors are written and verified ({kept})") from None
    finally:
        io.allow_bootloader = allowed


def _write_image(io: ChipIO, image: FirmwareImage, journal_path: Path | None, intent: WriteIntent) -> WriteResult:
    reporter = io.reporter
    started = time.monotonic()
    image_sha = sha256(image.data) if journal_path else ""
    journal = Journal.load(journal_path) if journal_path else None
    resumed = journal is not None and journal.record.get("image_sha256") == image_sha and journal.begun
    if not resumed:
        kind = Journal if journal_path else MemoryJournal
        record = {"intent": intent.to_json(), "image_sha256": image_sha, "offset": image.offset, "done": []}
        journal = kind(journal_path or Path(), record)
    assert journal is not None
    targets = sector_targets(io, image)
    done = journal.done & set(targets)
    if resumed and done:
        done = _prove_done(io, targets, done)  # the journal may be another plug's, or the chip changed since
        events.info(reporter, f"Resuming: {len(done)} of {len(targets)} sectors are already right (checked by CRC)")

    todo = {a: t for a, t in targets.items() if a not in done}
    label = intent.label  # "Flash: ...", "Restore: ..."
    events.phase(reporter, f"{label}: comparing with the chip", total=len(todo) * SECTOR)
    current = _current_crcs(io, todo, image.kind)
    plan = make_plan(todo, current, _costs(io), lowest_block=io.lowest_writable)
    work = any(s.action != "skip" for s in plan.steps) or bool(plan.block_erases)
    # The outside of the image as this run found it, except where an earlier attempt provably
    # changed it (see outside_baseline): kept in the journal for the next attempt.
    recorded = guard.Snapshot.from_json(journal.record["outside"], io) if resumed else None
    shot = None
    if work or recorded is not None:
        after = journal.record.pop("outside_after", None)
        shot = guard.outside_baseline(io, guard.snapshot(io, image.offset, image.end), recorded, after)
        journal.record["outside"] = shot.to_json()
    journal.save()  # from here on an interruption is resumable

    events.info(
        reporter,
        f"{plan.count('write') + plan.count('erase+write')} sectors to write, "
        f"{plan.count('erase') + plan.count('erase+write')} to erase, {len(plan.block_erases)} 64K blocks to erase",
    )
    result = WriteResult(0, 0, len(targets), 0, 0.0, resumed, io.session.baudrate)
    trouble = resumed  # an earlier attempt failed: something went wrong on the line then
    try:
        if work:
            if journal.record.get("line_unfit") and not io.chip.bootloader_writable and _line_still_unfit(io, targets):
                raise LineSpoilsWrites(
                    "The serial line still damages most 4 KiB frames (checked by reading; nothing was written)", hint=LINE_HINT
                )
            io.prepare_write()
            retries_before = io.session.retries_used
            try:
                _execute(io, plan, targets, journal, result, label)
                trouble = trouble or io.session.retries_used != retries_before or result.rewritten > 0
                if trouble:  # a damaged command may have hit a sector verified earlier: prove them all
                    _reprove(io, targets, result)
            except LineSpoilsWrites:  # the next run reads before it writes again
                journal.record["line_unfit"] = True
                journal.save()
                raise
            except KeyboardInterrupt:
                kept = f"recorded in {journal_path}" if journal_path else "nothing was kept: run the same command again"
                raise Interrupted(
                    f"{label} interrupted: {len(journal.done)} of {len(targets)} sectors are written and verified ({kept})"
                ) from None
            io.finish_write()
        if shot is not None:
            guard.check(io, shot, everything=trouble)
    except (Interrupted, VerifyError, SafetyError):
        if shot is not None and journal_path is not None:
            _note_outside(io, journal, image)
        raise
    journal.remove()
    result.seconds = time.monotonic() - started
    return result


def _note_outside(io: ChipIO, journal: Journal, image: FirmwareImage) -> None:
    """The flash outside the image as this attempt leaves it: the next attempt finds the same
    there only if nothing else wrote to the chip meanwhile, and only then may it put back what an
    attempt changed. Best effort: a second Ctrl-C or a line that fails leaves no such proof."""
    try:
        journal.record["outside_after"] = guard.snapshot(io, image.offset, image.end).to_json()
        journal.save()
    except (KeyboardInterrupt, FreebekenError, OSError):
        pass


def _costs(io: ChipIO) -> Costs:
    flash = io.info.flash
    wire = io.session.wire_time(4108 + 15)  # one 4 KiB write command and its reply
    if flash is None:
        return Costs(write_sector=wire + 0.011)
    return Costs(flash.t_erase_4k, flash.t_erase_64k, wire + 16 * flash.t_page)


def _current_crcs(io: ChipIO, todo: dict[int, bytes], kind: str) -> dict[int, int]:
    """The chip's CRC of each sector to write, in as few commands as the content allows.

    - Once a 64 KiB run was found identical, the next run is asked as one CRC (and per sector
      only if it differs): an identical re-flash costs one command per block, not per sector.
    - Once a whole run shared no sector with a release image (and held no blank one), the rest is
      taken as new and not asked (UNKNOWN: erased and written; ``plan.rest_is_new``): asking costs
      chip CRC time (~5 ms a sector) and a round trip (1-17 ms, docs/adapters.md) for sectors a new
      image rewrites anyway. A backup put back is asked block by block: most of it is there already.
    Every written sector is proven by its CRC afterwards either way."""
    current: dict[int, int] = {}
    expect_same = False
    done = 0
    for run in _runs(sorted(todo)):
        wanted = [beken_crc(todo[a]) for a in run]
        if expect_same and len(run) > 1 and _holds(io, run, todo):
            current.update(zip(run, wanted, strict=True))
        else:
            current.update((a, io.crc(a, SECTOR)) for a in run)
        same = sum(current[a] == w for a, w in zip(run, wanted, strict=True))
        expect_same = same == len(run)
        done += len(run)
        events.progress(io.reporter, done * SECTOR, len(todo) * SECTOR)
        blank = any(current[a] == BLANK_SECTOR_CRC for a in run)  # an erased chip: writes need no erase
        if rest_is_new(kind, same, blank, len(run)):
            current.update((a, UNKNOWN) for a in todo if a not in current)
            events.progress(io.reporter, len(todo) * SECTOR, len(todo) * SECTOR)
            break
    return current


def _prove_done(io: ChipIO, targets: dict[int, bytes], done: set[int]) -> set[int]:
    """Keep only the sectors the chip really holds: one CRC per run of consecutive done sectors
    (up to a 64 KiB block), and per sector only where a run differs. A journal is a hint: it may
    belong to another plug that shares this one's identity, or another tool changed the flash."""
    proven: set[int] = set()
    for run in _runs(sorted(done)):
        if _holds(io, run, targets):
            proven.update(run)
        elif len(run) > 1:
            proven.update(a for a in run if io.crc(a, SECTOR) == beken_crc(targets[a]))
    return proven


def _reprove(io: ChipIO, targets: dict[int, bytes], result: WriteResult) -> None:
    """After line trouble: the whole image by CRC again; rewrite what is not right."""
    for _ in range(WRITE_RETRIES):
        wrong = sorted(set(targets) - _prove_done(io, targets, set(targets)))
        if not wrong:
            return
        events.retry(io.reporter, f"{len(wrong)} sectors changed after they were verified; writing them again")
        for address in wrong:
            _rewrite(io, address, targets[address], result)
    raise VerifyError("The image keeps changing after it was verified", hint=VerifyError.default_hint)


def _holds(io: ChipIO, run: list[int], targets: dict[int, bytes]) -> bool:
    """Does the chip hold ``targets`` over ``run`` (consecutive sectors)? One CRC for all of them: the
    proof every family's operations use (families/base.holds)."""
    return holds(io.family, run[0], b"".join(targets[a] for a in run))


def _runs(addresses: list[int]) -> list[list[int]]:
    """Consecutive sectors, cut at 64 KiB block boundaries."""
    runs: list[list[int]] = []
    for a in addresses:
        if runs and a == runs[-1][-1] + SECTOR and a % BLOCK:
            runs[-1].append(a)
        else:
            runs.append([a])
    return runs


def _execute(io: ChipIO, plan: Plan, targets: dict[int, bytes], journal: Journal, result: WriteResult, label: str) -> None:
    reporter = io.reporter
    by_block: dict[int, list] = {}
    for step in plan.steps:
        by_block.setdefault(step.address & ~(BLOCK - 1), []).append(step)
    total = plan.bytes_to_write  # the bar counts the image's bytes; erases are part of writing them
    if total:
        events.phase(reporter, f"{label}: writing", total=total)
    else:
        events.phase(reporter, f"{label}: erasing {plan.count('erase') + 16 * len(plan.block_erases)} sectors")
    progress = 0
    deferred: list[int] = []  # sectors that did not verify within a clean line's rewrites
    for block, steps in sorted(by_block.items()):
        whole = block in plan.block_erases
        active = [s for s in steps if s.action != "skip" or whole]
        if not active:
            continue
        result.skipped -= len(active)
        if whole:
            io.erase(block, BLOCK)
            result.erased += 16
        for step in active:
            if step.erases and not whole:
                io.erase(step.address, SECTOR)
                result.erased += 1
            if step.writes:
                io.write(step.address, targets[step.address])
                result.written += 1
                progress += SECTOR
                events.progress(reporter, progress, total)
        # verify after the block's writes (on T a CheckCRC re-locks the flash: batch them)
        late = []
        if not _verify_run(io, active, targets, result):
            late = [s.address for s in active if not _verify_sector(io, s.address, s.crc, targets[s.address], result)]
        journal.mark_done([s.address for s in active if s.address not in late])
        if late and _hopeless(io, result):  # every further command over this line risks more than it gains
            raise _line_error(io, late[0], result)
        deferred += late
    quality = _line_quality(result, 0)
    if deferred and quality < 0.5:
        events.warning(
            reporter,
            f"The serial line spoils most writes (about {100 * quality:.0f} % arrive intact): this "
            "takes longer. Shorter wires, a solid ground or a lower baud rate (-b) help.",
        )
    for address in deferred:  # now the other sectors tell how good the line is
        _rewrite(io, address, targets[address], result)
        journal.mark_done([address])


def _verify_run(io: ChipIO, steps: list, targets: dict[int, bytes], result: WriteResult) -> bool:
    """One CRC over a block's consecutive written sectors instead of one per sector: the same chip
    time, one round trip instead of up to 16 (1-17 ms each, docs/adapters.md). Any difference, or a
    damaged command that covered another range, sends the caller to per-sector checks."""
    addresses = [s.address for s in steps]
    if len(addresses) < 2 or addresses != list(range(addresses[0], addresses[0] + len(addresses) * SECTOR, SECTOR)):
        return False
    if not _holds(io, addresses, targets):
        return False
    result.verified += len(addresses)
    return True


def _line_quality(result: WriteResult, own_failures: int) -> float:
    return RewritePolicy.quality(result.verified, result.rewritten, own_failures)


def _budget(io: ChipIO, result: WriteResult, own_failures: int) -> int:
    return RewritePolicy.for_chip(io.chip).budget(result.verified, result.rewritten, own_failures)


def _hopeless(io: ChipIO, result: WriteResult) -> bool:
    return RewritePolicy.for_chip(io.chip).hopeless(result.verified, result.rewritten)


def _verify_sector(io: ChipIO, address: int, crc: int, data: bytes, result: WriteResult) -> bool:
    """Check a written sector, rewriting it while the line's quality says it is worth it.
    False: still wrong (the caller comes back to it, or gives up with the reason)."""
    failures = 0
    while True:
        got = io.crc(address, SECTOR)
        if got == crc:
            result.verified += 1
            return True
        if failures >= _budget(io, result, failures) or _hopeless(io, result):
            return False
        failures += 1
        result.rewritten += 1
        events.retry(io.reporter, f"sector 0x{address:06X} did not verify; erasing and writing it again")
        if failures == 3:  # the same sector failed three times: the line, not bad luck - go slower
            io.slow_down()
        io.erase(address, SECTOR)
        if crc != BLANK_SECTOR_CRC:
            io.write(address, data)


def _rewrite(io: ChipIO, address: int, data: bytes, result: WriteResult) -> None:
    """Erase, write and verify one sector, or stop saying why it could not be done."""
    crc = beken_crc(data)
    io.erase(address, SECTOR)
    if crc != BLANK_SECTOR_CRC:
        io.write(address, data)
    if _verify_sector(io, address, crc, data, result):
        return
    if _hopeless(io, result) or _line_quality(result, 0) < 0.5:
        raise _line_error(io, address, result)
    raise VerifyError(
        f"Sector 0x{address:06X} still differs after {WRITE_RETRIES} rewrites, while the others were written",
        hint="The flash may be write-protected or failing, or the supply sags while programming: "
        "use a stronger 3.3 V supply, then run the same command again (it resumes).",
    )


LINE_HINT = (
    "Make the wires to the module short, connect GND directly, try another USB port or adapter, or a lower "
    "baud rate (-b 115200); then run the same command again (it resumes)."
)


def _line_still_unfit(io: ChipIO, targets: dict[int, bytes]) -> bool:
    """Before writing again where the last write stopped for the line: reads risk nothing, and
    eight 4 KiB ones say whether most frames now arrive intact (fewer retries than reads)."""
    before = io.session.retries_used
    for address in sorted(targets)[:8]:
        io.read(address)
    return io.session.retries_used - before > 8


def _line_error(io: ChipIO, address: int, result: WriteResult) -> LineSpoilsWrites:
    writes = result.verified + result.rewritten
    where = (
        "its bootloader, which UART cannot rewrite: freebeken stops rather than go on"
        if not io.chip.bootloader_writable
        else "landing elsewhere in the flash"
    )
    return LineSpoilsWrites(
        f"Sector 0x{address:06X} did not arrive intact: the serial line damages most writes (about "
        f"{100 * _line_quality(result, 0):.0f} % of {writes} verified at once), and on this {io.chip.name} every "
        f"damaged command risks {where}",
        hint=LINE_HINT,
    )
