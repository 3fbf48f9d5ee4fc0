"""Flash layout facts shared by the flasher, the analyser and the simulator. Pure."""

from __future__ import annotations

TLV_MAC_MARK = b"\x02\x11\x11\x11\x06\x00\x00\x00"  # RF TLV entry holding the 6-byte MAC


def mac_tlv_sector(mac: bytes) -> bytes:
    """The start of the RF/MAC TLV sector as the Beken SDK writes it (MAC at 0x24)."""
    return b"TLV\x00" + bytes(0x18) + TLV_MAC_MARK + mac


def mac_from_tlv(sector: bytes | bytearray) -> bytes | None:
    if sector[0x1C:0x24] == TLV_MAC_MARK:
        return bytes(sector[0x24:0x2A])
    return None
