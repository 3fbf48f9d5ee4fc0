"""info, read, doctor and resume for the non-Beken families, registered with :func:`.dispatch.handles`
(the CLI reaches them through ``@for_families``). Each returns an :class:`.dispatch.Outcome`: the JSON
record and what text mode shows."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Any

from .. import events
from ..errors import LinkError, ProtocolError, UsageError, VerifyError
from ..storage import atomic_write, sha256
from . import ops
from .base import FamilySpec, Identity, device_identity, local_digest
from .dispatch import Outcome, handles, open_from
from .resume import pending, resume

INTEGRITY = {
    "sha256": "SHA-256 computed by the chip (reads, writes and verify are proven without reading back)",
    "crc32": "CRC-32 computed by the chip",
    "readback": "none on the chip: a CRC-16 per 256-byte read; writes are proven by reading them back",
}


def _int(value: object, what: str) -> int:
    try:
        return int(str(value), 0)
    except ValueError:
        raise UsageError(f"{what} {value!r} is not a number", hint="Use 0x11000 or 69632.") from None


def _mac(ident: Identity) -> str | None:
    return ident.mac.hex(":").upper() if ident.mac else None


def _wiring(spec: FamilySpec) -> str:
    return "; ".join(f"adapter {a} -> {c}" for a, c in spec.wiring)


def _port_hint(kwargs: dict[str, Any], spec: FamilySpec) -> str:
    port = str(kwargs["port"])
    return f"-p {shlex.quote(port)}" + ("" if port.startswith("sim://") else f" --chip {spec.name}")


# ---- info ----


@handles("info")
def info(spec: FamilySpec, reporter: events.Reporter, kwargs: dict[str, Any]) -> Outcome:
    fam = open_from(spec, kwargs)
    try:
        ident = device_identity(fam)
    finally:
        fam.close()
    regions = [
        {
            "name": r.name,
            "start": r.start,
            "size": r.size,
            "kind": r.kind,
            "kept": r.keep,
            "restorable": r.restorable,
        }
        for r in spec.regions
    ]
    waiting = pending(ident)
    backups = [str(p) for p in ops.backups_of(ident)]
    record: dict[str, Any] = {
        "ok": True,
        "chip": spec.name,
        "family": spec.family,
        "flash_size": ident.flash_size,
        "mac": _mac(ident),
        "details": dict(ident.details),
        "integrity": spec.integrity,
        "regions": regions,
        "download_mode": spec.download_mode,
        "wiring": [{"adapter": a, "chip": c} for a, c in spec.wiring],
        "release": spec.release_name("<version>"),
        "backups": backups,
        "pending": [p.as_dict() for p in waiting],
    }

    def show(console: Any) -> None:
        from rich.table import Table

        table = Table(show_header=False, box=None)
        rows = [
            ("Chip", f"{spec.name.upper()} ({spec.family})"),
            ("Flash size", f"{ident.flash_size // 1024} KiB"),
            ("MAC address", _mac(ident) or "[dim]unknown (none programmed)[/]"),
            *[(k[0].upper() + k[1:], v) for k, v in ident.details.items()],
            ("Integrity check", INTEGRITY[spec.integrity]),
            ("OpenBeken release", spec.release_name("<version>")),
            ("Backups of this device", f"{len(backups)}" + (f", newest {backups[-1]}" if backups else " (none yet)")),
        ]
        for p in waiting:
            rows.append(("Interrupted", f"{p.describe()}: `freebeken resume {_port_hint(kwargs, spec)}` continues it"))
        for label, value in rows:
            table.add_row(f"[bold]{label}[/]", value)
        console.print(table)
        regions_table = Table(title="Flash map", box=None, title_justify="left")
        for column in ("Region", "Range", "Kind", "Flashing", "Restorable"):
            regions_table.add_column(column, no_wrap=column == "Range")
        for r in spec.regions:
            kept = "[bold]kept[/]" if r.keep else "replaced"
            regions_table.add_row(r.name, f"0x{r.start:06X}-0x{r.end:06X}", r.kind, kept, "yes" if r.restorable else "[red]NO[/]")
        console.print(regions_table)
        console.print("[dim]Flashing a release image never replaces a kept (device-unique) region.[/]")
        console.print(f"[bold]Download mode:[/] {spec.download_mode}", markup=True)
        console.print(f"[bold]Wiring:[/] {_wiring(spec)}")

    return Outcome(record, show=show)


# ---- read ----


@handles("read")
def read(spec: FamilySpec, reporter: events.Reporter, kwargs: dict[str, Any]) -> Outcome:
    start, length = _int(kwargs["start"], "--start"), _int(kwargs["length"], "--length")
    output = Path(str(kwargs["output"]))
    if output.exists():
        raise UsageError(f"{output} already exists", hint="Choose another -o name; freebeken does not overwrite files.")
    if start < 0 or length <= 0 or start + length > spec.flash_size:
        raise UsageError(
            f"0x{start:X}+0x{length:X} is not a range of the {spec.flash_size // 1024} KiB flash",
            hint=f"--start and --length within 0x0..0x{spec.flash_size:X}; `freebeken info` shows the flash map.",
        )
    t0 = time.monotonic()
    fam = open_from(spec, kwargs)
    try:
        ident = device_identity(fam)
        if start + length > ident.flash_size:
            raise UsageError(f"This chip's flash ends at 0x{ident.flash_size:X}; 0x{start:X}+0x{length:X} goes past it")
        events.phase(reporter, f"Reading 0x{start:06X}+0x{length:X} ({spec.integrity})", length)
        data = fam.read(start, length)  # each piece proven by the family's check as it arrives
        events.progress(reporter, length, length)
        chip_digest = fam.digest(start, length)
        if chip_digest is not None and chip_digest != local_digest(spec.integrity, data):
            raise VerifyError(f"The chip's {spec.integrity} of 0x{start:X}+0x{length:X} differs from what arrived")
    finally:
        fam.close()
    try:
        atomic_write(output, data, replace=False)
    except FileExistsError:
        raise UsageError(f"{output} appeared while reading", hint="Choose another -o name.") from None
    proof = "crc16" if spec.integrity == "readback" else spec.integrity
    record = {
        "ok": True,
        "chip": spec.name,
        "mac": _mac(ident),
        "path": str(output),
        "start": start,
        "length": len(data),
        "sha256": sha256(data),
        "proven_by": proof,
        "seconds": round(time.monotonic() - t0, 2),
    }
    whole = " and the chip's SHA-256 of the whole range" if chip_digest is not None else ""
    return Outcome(record, f"{len(data)} bytes written to {output} (every piece {proof}-proven{whole})")


# ---- doctor ----


def _listen(port: str, probe: bytes = b"\r\n") -> str:
    """What the line says at the ROM's 115200 baud: nothing, our own probe (an echo), or other bytes."""
    import serial

    try:
        with serial.serial_for_url(port, baudrate=115200, timeout=0.3) as s:
            s.reset_input_buffer()
            heard = s.read(4096)
            s.write(probe + b"freebeken\r\n")
            heard += s.read(4096)
    except (serial.SerialException, OSError) as e:
        return f"the port could not be opened again ({e})"
    if not heard:
        return "nothing arrives at 115200 baud"
    if b"freebeken" in heard:
        return "the adapter hears itself (what it sends comes back): its RX and TX are joined"
    return f"{len(heard)} bytes arrive that are no answer of the download mode (a running firmware, or a missing common ground)"


@handles("doctor")
def doctor(spec: FamilySpec, reporter: events.Reporter, kwargs: dict[str, Any]) -> Outcome:
    chip = spec.name.upper()
    fam = open_from(spec, kwargs)
    try:
        ident = device_identity(fam)
        baud = int(getattr(fam, "baudrate", spec.link_baud))
    except (LinkError, ProtocolError, VerifyError) as e:
        fam.close()
        seen = _listen(str(kwargs["port"]))
        if not isinstance(e, LinkError) and "hears itself" not in seen:
            raise  # it linked, then failed: the error says what
        raise LinkError(
            f"The {chip} download mode does not answer (seen: {seen})",
            hint=(
                "Wire the adapter's RX to the chip's TX and its TX to the chip's RX (now they are joined)."
                if "hears itself" in seen
                else f"Put it in download mode: {spec.download_mode}"
            )
            + f" Wiring: {_wiring(spec)}. Then run the same command.",
        ) from e
    except BaseException:
        fam.close()
        raise
    fam.close()
    record = {
        "ok": True,
        "chip": spec.name,
        "mac": _mac(ident),
        "flash_size": ident.flash_size,
        "details": dict(ident.details),
        "baud": baud,
        "download_mode": spec.download_mode,
    }
    where = _port_hint(kwargs, spec)
    return Outcome(
        record,
        f"the {chip} answers in download mode (MAC {_mac(ident) or 'unknown'}, {ident.flash_size // 1024} KiB flash) and works "
        f"at {baud} baud. Next: `freebeken backup {where}`.",
    )


# ---- resume ----


@handles("resume")
def resume_cmd(spec: FamilySpec, reporter: events.Reporter, kwargs: dict[str, Any]) -> Outcome:
    fam = open_from(spec, kwargs)
    try:
        done = resume(fam, reporter)
        ident = device_identity(fam)
    finally:
        fam.close()
    if done is None:
        return Outcome(
            {"ok": True, "resumed": False, "chip": spec.name, "mac": _mac(ident), "pending": []},
            f"nothing to resume for this {spec.name.upper()} ({_mac(ident) or 'no MAC'})",
        )
    from .dispatch import message

    result, was, rest = done
    more = f" Also interrupted: {'; '.join(p.describe() for p in rest)} - run resume again." if rest else ""
    record = {
        "ok": True,
        "op": was.op,
        "file": was.file,
        **result.as_dict(),
        "resumed": True,
        "pending": [p.as_dict() for p in rest],
    }
    target = "" if was.op == "backup" else f" of {Path(was.file).name}"  # a backup's message names its file
    notes = [f"Backup saved: {result.backup}"] if result.backup else []
    return Outcome(record, f"resumed the interrupted {was.op}{target}: {message(result)}{more}", notes)
