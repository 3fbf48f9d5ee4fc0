"""The receiving side of XMODEM(-1K) and YMODEM, as the chips' ROM/RAM loaders run it: packets of 128
(SOH) or 1024 (STX) bytes, an 8-bit sum or a CRC-16/XMODEM, ACK/NAK per packet, EOT at the end, CAN to
abort. A packet cut short by the line is dropped when the line stays quiet for ``gap`` seconds."""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field

SOH, STX, EOT, ACK, NAK, CAN, CRC_C = 0x01, 0x02, 0x04, 0x06, 0x15, 0x18, 0x43


def crc16_xmodem(data: bytes) -> int:
    """CRC-16/XMODEM (polynomial 0x1021, initial 0): binascii's CRC-CCITT from 0 is exactly it, in C
    (the bit loop in Python cost 13 s of an LN882H backup/flash/verify/restore test)."""
    return binascii.crc_hqx(data, 0)


@dataclass
class Packet:
    seq: int
    data: bytes


@dataclass
class ModemReceiver:
    crc: bool  # True: the receiver asked with "C" (CRC-16); False: with NAK (8-bit sum)
    buf: bytearray = field(default_factory=bytearray)
    expected: int = 1  # next data sequence number (YMODEM's header is 0)

    def feed(self, data: bytes) -> list[Packet | str]:
        """Packets and events ("eot", "cancel", "bad") found in what arrived so far."""
        self.buf += data
        out: list[Packet | str] = []
        while self.buf:
            head = self.buf[0]
            if head == EOT:
                del self.buf[0]
                out.append("eot")
                continue
            if head == CAN:
                del self.buf[0]
                out.append("cancel")
                self.buf.clear()
                continue
            if head not in (SOH, STX):
                del self.buf[0]  # noise between packets
                continue
            size = 128 if head == SOH else 1024
            total = 3 + size + (2 if self.crc else 1)
            if len(self.buf) < total:
                break
            pkt = bytes(self.buf[:total])
            del self.buf[:total]
            seq, inv, body, check = pkt[1], pkt[2], pkt[3 : 3 + size], pkt[3 + size :]
            good = seq ^ inv == 0xFF and (
                int.from_bytes(check, "big") == crc16_xmodem(body) if self.crc else check[0] == sum(body) & 0xFF
            )
            if not good:
                self.buf.clear()  # resynchronise on the sender's retry
                out.append("bad")
                continue
            out.append(Packet(seq, body))
        return out

    def timeout(self) -> bool:
        """The line went quiet mid-packet: forget it (the caller NAKs)."""
        had = bool(self.buf)
        self.buf.clear()
        return had
