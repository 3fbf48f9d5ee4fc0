"""Tuya's encrypted key-value store ("simple flash"), decoded and encoded. Pure.

Layout (reference: tuya-storage §2): a key block (AES-128-ECB with a fixed master key) holds a
16-byte device key; data blocks (AES with a key derived from it) hold 128-byte pages: page 0 is
the header, index pages name a value and list the page ranges ("parts", possibly in other
blocks) that hold it. Several copies of a block may exist (swap area): the highest generation
is the live one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MASTER_KEY = b"qwertyuiopasdfgh"
KEY_PART_1 = b"8710_2M"
KEY_PART_2 = b"HHRRQbyemofrtytf"
MAGIC_KEY = 0x13579753
MAGIC_DATA = (0x98761234, 0x135726AB)
SECTOR = 0x1000
PAGE = 128
PAGES = SECTOR // PAGE


def _ecb(key: bytes):
    return Cipher(algorithms.AES(key), modes.ECB())


def decrypt(key: bytes, data: bytes) -> bytes:
    d = _ecb(key).decryptor()
    return d.update(data) + d.finalize()


def encrypt(key: bytes, data: bytes) -> bytes:
    e = _ecb(key).encryptor()
    return e.update(data) + e.finalize()


def data_key(device_key: bytes) -> bytes:
    return bytes((KEY_PART_1[i & 3] + KEY_PART_2[i] + device_key[i]) & 0xFF for i in range(16))


def byte_sum(data: bytes) -> int:
    return sum(data) & 0xFFFFFFFF


@dataclass
class IndexEntry:
    name: str
    length: int
    checksum: int
    parts: list[tuple[int, int, int]]  # (block id, first page, last page)
    block: int
    page: int


@dataclass
class DataBlock:
    offset: int  # file offset of the sector
    block_id: int
    generation: int
    pages: list[bytes]
    index_pages: set[int]


@dataclass
class KVStore:
    key_offset: int
    device_key: bytes
    values: dict[str, bytes] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    blocks: dict[int, DataBlock] = field(default_factory=dict)  # live copy per block id
    entries: dict[str, IndexEntry] = field(default_factory=dict)  # live index entry per name


# ---------------------------------------------------------------------------- decoding


def find_key_blocks(dump: bytes) -> list[tuple[int, bytes]]:
    """(offset, device key) of every sector that is a valid key block (checksum included, so the
    N 'protected block', which shares the magic, is not mistaken for it)."""
    found = []
    probe = _ecb(MASTER_KEY)
    for off in range(0, len(dump) - SECTOR + 1, SECTOR):
        d = probe.decryptor()
        head = d.update(dump[off : off + 32]) + d.finalize()
        magic, checksum = struct.unpack_from("<II", head)
        key = head[8:24]
        if magic == MAGIC_KEY and checksum == byte_sum(key) and head[24:32] == b"\xff" * 8:
            found.append((off, key))
    return found


def decode(dump: bytes, key_offset: int, device_key: bytes) -> KVStore:
    store = KVStore(key_offset, device_key)
    dkey = data_key(device_key)
    probe = _ecb(dkey)
    for off in range(0, len(dump) - SECTOR + 1, SECTOR):
        if off == key_offset:
            continue
        d = probe.decryptor()
        head = d.update(dump[off : off + 16]) + d.finalize()
        if struct.unpack_from("<I", head)[0] not in MAGIC_DATA:
            continue
        plain = decrypt(dkey, dump[off : off + SECTOR])
        if struct.unpack_from("<I", plain, 4)[0] != byte_sum(plain[8:]):
            store.warnings.append(f"KV data block at file offset 0x{off:X} is damaged (checksum); skipped")
            continue
        block_id, generation, map_size = struct.unpack_from("<HIB", plain, 8)
        bitmap = int.from_bytes(plain[15 : 15 + min(map_size, 8)], "little")
        pages = [plain[p * PAGE : (p + 1) * PAGE] for p in range(PAGES)]
        block = DataBlock(off, block_id, generation, pages, {p for p in range(1, PAGES) if bitmap >> p & 1})
        live = store.blocks.get(block_id)
        if live is None or generation > live.generation:
            store.blocks[block_id] = block
    entries: dict[str, IndexEntry] = {}
    for block in store.blocks.values():
        for p in sorted(block.index_pages):
            entry = parse_index(block, p, store.warnings)
            if entry is not None and entry.name not in entries:
                entries[entry.name] = entry
    store.entries = entries
    for name, entry in entries.items():
        value = _value(store, entry)
        if value is None:
            continue
        if byte_sum(value) != entry.checksum:
            store.warnings.append(f"KV value '{name}' fails its checksum; skipped")
            continue
        store.values[name] = value
    return store


def parse_index(block: DataBlock, page_no: int, warnings: list[str]) -> IndexEntry | None:
    page = block.pages[page_no]
    try:
        checksum, length, block_id, page_id, nparts, _element, name_len = struct.unpack_from("<IIHBHIB", page)
        name = page[18 : 18 + name_len].split(b"\x00", 1)[0].decode("ascii")
        parts = [struct.unpack_from("<HBB", page, 18 + name_len + 4 * i) for i in range(nparts)]
    except (struct.error, UnicodeDecodeError):
        warnings.append(f"KV block {block.block_id} page {page_no}: unreadable index page; skipped")
        return None
    if block_id != block.block_id or page_id != page_no or not name:
        warnings.append(f"KV block {block.block_id} page {page_no}: index page does not describe itself; skipped")
        return None
    return IndexEntry(name, length, checksum, [tuple(p) for p in parts], block.block_id, page_no)


def _value(store: KVStore, entry: IndexEntry) -> bytes | None:
    out = bytearray()
    for block_id, first, last in entry.parts:
        block = store.blocks.get(block_id)
        if block is None or not 1 <= first <= last < PAGES:
            store.warnings.append(f"KV value '{entry.name}' points to a missing block/page; skipped")
            return None
        for p in range(first, last + 1):
            out += block.pages[p]
    if len(out) < entry.length:
        store.warnings.append(f"KV value '{entry.name}' is shorter than its length; skipped")
        return None
    return bytes(out[: entry.length])


def read_store(dump: bytes) -> KVStore | None:
    """Find and decode the KV store; with several key blocks, the one yielding most values."""
    best = None
    for off, key in find_key_blocks(dump):
        store = decode(dump, off, key)
        if best is None or len(store.values) > len(best.values):
            best = store
    return best


# ---------------------------------------------------------------------------- encoding


def encode(values: dict[str, bytes], device_key: bytes, blocks: int = 14, generation: int = 1) -> bytes:
    """A key block followed by ``blocks`` data blocks holding ``values`` (used by the synthetic
    image builder). Values larger than a block's free pages continue in the next block, as real
    stores do (multi-part, cross-block values)."""
    dkey = data_key(device_key)
    key_plain = struct.pack("<II", MAGIC_KEY, byte_sum(device_key)) + device_key
    key_plain += b"\xff" * (SECTOR - len(key_plain))
    pages: list[list[bytes | None]] = [[None] * PAGES for _ in range(blocks)]
    index_pages: list[set[int]] = [set() for _ in range(blocks)]
    cursor = [0, 1]  # block, page

    def take() -> tuple[int, int]:
        b, p = cursor
        if p >= PAGES:
            b, p = b + 1, 1
        if b >= blocks:
            raise ValueError("values do not fit in the KV store")
        cursor[:] = [b, p + 1]
        return b, p

    for name, value in values.items():
        b, p = take()
        parts: list[list[int]] = []
        for i in range(0, max(len(value), 1), PAGE):
            db, dp = take()
            pages[db][dp] = value[i : i + PAGE].ljust(PAGE, b"\x00")
            if parts and parts[-1][0] == db and parts[-1][2] == dp - 1:
                parts[-1][2] = dp
            else:
                parts.append([db, dp, dp])
        raw_name = name.encode() + b"\x00"
        index = struct.pack("<IIHBHIB", byte_sum(value), len(value), b, p, len(parts), 1, len(raw_name)) + raw_name
        index += b"".join(struct.pack("<HBB", *part) for part in parts)
        if len(index) > PAGE:
            raise ValueError(f"KV name too long: {name}")
        pages[b][p] = index.ljust(PAGE, b"\x00")
        index_pages[b].add(p)
    out = bytearray(encrypt(MASTER_KEY, key_plain))
    for b in range(blocks):
        bitmap = sum(1 << p for p in index_pages[b]).to_bytes(4, "little")
        body = b"".join(pg if pg is not None else b"\x00" * PAGE for pg in pages[b][1:])
        header = struct.pack("<HIB", b, generation, 4) + bitmap
        header = header.ljust(PAGE - 8, b"\x00")
        rest = header + body
        plain = struct.pack("<II", MAGIC_DATA[0], byte_sum(rest)) + rest
        out += encrypt(dkey, plain)
    return bytes(out)
