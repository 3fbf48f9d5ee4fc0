"""Chip -> host bytes on a simulated UART, for every simulated line (Beken's and the text consoles'):
what the chip sent, when, at which baud, and how much of it has fully arrived."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .faults import garble


@dataclass
class Segment:
    start: float  # when the first bit leaves
    byte_time: float
    baud: int
    data: bytes
    sent: int = 0  # bytes already handed to the host


def take_arrived(out: deque[Segment], now: float, host_baud: int, limit: int) -> bytes:
    """Take from ``out`` the bytes fully arrived by ``now`` (at most ``limit``); a host at another baud
    than a segment's reads it garbled."""
    got = bytearray()
    while out and len(got) < limit:
        seg = out[0]
        if seg.byte_time > 0:
            count = int((now - seg.start) / seg.byte_time) if now > seg.start else 0
        else:
            count = len(seg.data) if now >= seg.start else 0
        take = min(min(count, len(seg.data)) - seg.sent, limit - len(got))
        if take <= 0:
            break
        chunk = seg.data[seg.sent : seg.sent + take]
        seg.sent += take
        got += chunk if seg.baud == host_baud else garble(chunk, host_baud / seg.baud)
        if seg.sent < len(seg.data):
            break
        out.popleft()
    return bytes(got)
