"""OpenBeken's over-the-air images for Beken chips: ``Open<chip>_<version>.rbl``. Pure.

The firmware's ``POST /api/ota`` writes whatever it is sent into the OTA partition and answers
``{"size": n}`` (hal_ota_bk7231.c, ``http_rest_post_flash``); only the bootloader judges the image,
at the next boot, and keeps the old firmware when it is not a valid one. So nothing the device
says proves an image fits: freebeken checks it before sending. An RBL container is a 96-byte
header - ``RBL\\0``, algorithms, time, name, version, serial, the data's CRC-32 and hash, sizes,
then a CRC-32 of the header itself - followed by the data (layout as ltchiptool's ``RBL`` model
and bk7231tools' ``rbl.py`` read it). UART images (``_UA_``, ``_QIO_``) and other chips' images are
refused; the chip comes from the file name (the container does not name it).
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

from ..errors import UsageError

HEADER = struct.Struct("<4sBBxxI16s24s24sIIIII")
_NAME = re.compile(r"^Open(BK7231[TNU]|BK7238|BK7252N?)_(?!UA_|QIO_|UG_|ALT_|Tuya_)(.+)\.rbl$", re.IGNORECASE)


@dataclass(frozen=True)
class OtaImage:
    name: str
    chip: str  # the OpenBeken platform it is built for (what the device calls itself: BK7231N ...)
    version: str
    data: bytes


def _text(field: bytes) -> str:
    return field.split(b"\x00", 1)[0].decode("ascii", "replace")


def read_ota(name: str, data: bytes) -> OtaImage:
    """The OTA image in ``data`` (file ``name``), or UsageError saying why it is none."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    m = _NAME.match(base)
    if not m:
        raise UsageError(
            f"{base} is not an OpenBeken OTA image for a Beken chip",
            hint="Over the network a plug takes the .rbl file of its chip (e.g. OpenBK7231N_1.18.0.rbl); "
            "_UA_ and _QIO_ files are for flashing over UART.",
        )
    problem = rbl_problem(data)
    if problem:
        raise UsageError(f"{base} {problem}", hint="Download it again.")
    return OtaImage(base, m.group(1).upper(), rbl_version(data) or m.group(2), data)


def rbl_problem(data: bytes) -> str:
    """'' for a whole, undamaged RBL container; else what is wrong (what a bootloader refuses)."""
    if len(data) < HEADER.size or data[:4] != b"RBL\x00":
        return "has no RBL header: it is no OTA image (or it is damaged)"
    *_, data_crc, _hash, _raw, size, header_crc = HEADER.unpack_from(data)
    if zlib.crc32(data[: HEADER.size - 4]) != header_crc:
        return "has a damaged RBL header (CRC mismatch)"
    body = data[HEADER.size : HEADER.size + size]
    if len(body) != size or zlib.crc32(body) != data_crc:
        return "is truncated or damaged: its data does not match the CRC in its header"
    return ""


def rbl_version(data: bytes) -> str:
    """The version an intact RBL container carries ('' when it is not one)."""
    return "" if rbl_problem(data) else _text(HEADER.unpack_from(data)[5])


def build_rbl(version: str, body: bytes, name: str = "app") -> bytes:
    """An RBL container around ``body`` (for the simulator and the tests)."""
    head = HEADER.pack(
        b"RBL\x00", 0, 0, 0, name.encode(), version.encode(), b"0" * 23, zlib.crc32(body), 0x811C9DC5, len(body), len(body), 0
    )[:-4]
    return head + struct.pack("<I", zlib.crc32(head)) + body
