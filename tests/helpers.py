"""Helpers shared by the tests (importable: tests/ is on sys.path)."""

from __future__ import annotations

from pathlib import Path

from freebeken.chips import BK7231N, BK7231T, flash_by_name
from freebeken.sim.chip import SimChip
from freebeken.sim.flash import NorFlash
from freebeken.sim.image import build_stock_image
from freebeken.sim.line import SimLine

SHARED = Path(__file__).resolve().parents[2] / "shared"


def make_chip(name: str = "bk7231t", flash: str = "TH25Q16HB", image: bytes | None = None) -> SimChip:
    profile = {"bk7231t": BK7231T, "bk7231n": BK7231N}[name]
    data = bytearray(image) if image is not None else build_stock_image(profile)
    return SimChip(profile, NorFlash(flash_by_name(flash), data))


class ManualClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def reply_of(line: SimLine, cmd, baud: int = 115200):
    """Send ``cmd`` on ``line`` and return its decoded result, or None if nothing valid came back."""
    from freebeken.protocol import ReplyScanner

    line.write(cmd.frame(), baud)
    if cmd.reply_key is None:
        return None
    scanner = ReplyScanner()
    scanner.feed(line.read(baud, 1 << 24))
    reply = scanner.find(cmd.reply_key)
    return None if reply is None else cmd.decode(reply)


def firmware_file(folder: Path, chip: str, size: int = 400_000, seed: int = 1) -> tuple[Path, bytes]:
    """An OpenBeken-like release file for ``chip`` ('bk7231t' UA app / 'bk7231n' QIO whole image).
    Returns (path, the bytes that end up at 0x11000)."""
    import random

    body = random.Random(seed).randbytes(size)
    if chip == "bk7231t":
        path = folder / f"OpenBK7231T_UA_1.17.{seed}.bin"
        path.write_bytes(body)
    else:
        path = folder / f"OpenBK7231N_QIO_1.17.{seed}.bin"
        path.write_bytes(b"\x5a" * 0x11000 + body)
    return path, body
