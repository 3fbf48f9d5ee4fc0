"""Secrets out of Tuya's encrypted KV storage, the storage kept readable. Pure.

Every sector that decrypts to a data block is worked on: the live copies, the older copies in
the swap area and the free pages inside them, which still hold earlier values (a previous Wi-Fi
password among them). Replacements keep lengths (``share_rules``), so the only bytes that
change besides the secrets are the checksums the firmware and the readers check: each value's
checksum in its index page and each block's checksum in its header; then the changed 16-byte
AES blocks are encrypted again with the store's own key. The N "protected block" (copies of
``gw_bi`` and ``gw_wsm``, two layers of encryption) is treated the same way.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

from . import kv
from .share_rules import KEPT_VALUES, SECRET_VALUES, Secrets, placeholder, redact_json, sweep

SECTOR, PAGE, PAGES = kv.SECTOR, kv.PAGE, kv.PAGES


@dataclass
class _Sector:
    offset: int
    block_id: int
    live: bool
    checksum_ok: bool
    original: bytes
    plain: bytearray
    index_pages: set[int]


@dataclass
class _Protected:
    offset: int
    key: bytes
    outer: bytearray
    original_inner: bytes
    inner: bytearray
    records: list[tuple[str, int, int]]  # (name, start, end) in inner


@dataclass
class KvShare:
    """Finds and replaces; ``seal`` writes the result back into the image."""

    image: bytes
    hide_mac: bool
    store: kv.KVStore | None = None
    sectors: list[_Sector] = field(default_factory=list)
    protected: list[_Protected] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # KV names kept as they are

    def __post_init__(self) -> None:
        self.store = kv.read_store(self.image)
        if self.store is None:
            return
        dkey = kv.data_key(self.store.device_key)
        live = {b.offset for b in self.store.blocks.values()}
        for off in range(0, len(self.image) - SECTOR + 1, SECTOR):
            head = kv.decrypt(dkey, self.image[off : off + 16])
            if off == self.store.key_offset or struct.unpack_from("<I", head)[0] not in kv.MAGIC_DATA:
                continue
            plain = kv.decrypt(dkey, self.image[off : off + SECTOR])
            ok = struct.unpack_from("<I", plain, 4)[0] == kv.byte_sum(plain[8:])
            block_id, _gen, map_size = struct.unpack_from("<HIB", plain, 8)
            bitmap = int.from_bytes(plain[15 : 15 + min(map_size, 8)], "little")
            index = {p for p in range(1, PAGES) if bitmap >> p & 1}
            self.sectors.append(_Sector(off, block_id, off in live, ok, plain, bytearray(plain), index))
            if not ok:
                self.unchecked.append(
                    f"Tuya KV block at 0x{off:X} is damaged (checksum): searched as it is, its checksum left as found"
                )
        self.unchecked += [f"Tuya KV: {w}" for w in self.store.warnings if "damaged" not in w]
        key_blocks = {off for off, _key in kv.find_key_blocks(self.image)}  # another store's: share.py says so
        for off in range(0, len(self.image) - SECTOR + 1, SECTOR):
            if off not in key_blocks:
                self._protected_block(off)

    # ---------------------------------------------------------------- finding

    def collect(self, secrets: Secrets) -> None:
        """Replace the secrets of every live value by its meaning, then those left in older copies
        and free pages by their JSON field names; every value found is recorded in ``secrets``."""
        if self.store is None:
            return
        by_offset = {s.offset: s for s in self.sectors}
        for name, entry in self.store.entries.items():
            if name not in self.store.values:
                continue  # skipped by the decoder: reported as unchecked from its warnings
            blocks = self.store.blocks
            chunks = [(by_offset[blocks[b].offset], p) for b, first, last in entry.parts for p in range(first, last + 1)]
            value = bytearray(b"".join(bytes(s.plain[p * PAGE : (p + 1) * PAGE]) for s, p in chunks)[: entry.length])
            self._value(name, value, secrets, f"Tuya KV {name}")
            for i, (s, p) in enumerate(chunks):  # write back through the page map
                part = value[i * PAGE : (i + 1) * PAGE]
                s.plain[p * PAGE : p * PAGE + len(part)] = part
        for s in self.sectors:
            where = f"Tuya KV block {s.block_id} at 0x{s.offset:X}" + ("" if s.live else " (older copy)")
            for a, b in _runs(self._free_text(s)):  # a value cut by a page edge goes on in the next page
                redact_json(s.plain, a, b, secrets, where, self.hide_mac)
        for blk in self.protected:
            for name, a, b in blk.records:
                self._value(name, blk.inner, secrets, f"Tuya KV protected block at 0x{blk.offset:X}, {name}", a, b)

    def _value(self, name: str, buf: bytearray, secrets: Secrets, where: str, start: int = 0, end: int | None = None) -> None:
        end = len(buf) if end is None else end
        text = bytes(buf[start:end]).rstrip(b"\x00")
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            parsed = None
        is_json = isinstance(parsed, (dict, list))
        if name in SECRET_VALUES or not is_json and name not in KEPT_VALUES and not self._schema(name):
            kind = SECRET_VALUES.get(name, "value freebeken does not know (replaced whole)")
            secrets.add(text, kind)
            whole = b'"' + b"x" * (len(text) - 2) + b'"' if is_json or text[:1] == b'"' and len(text) > 1 else placeholder(text)
            buf[start : start + len(text)] = whole
            secrets.note(kind, where)
        elif is_json:
            redact_json(buf, start, start + len(text), secrets, where, self.hide_mac)
        else:
            self.kept.append(name)

    def _schema(self, name: str) -> bool:
        """The data-point schema is stored under the schema id that gw_di names."""
        assert self.store is not None
        try:
            di = json.loads(self.store.values.get("gw_di", b"{}").rstrip(b"\x00"))
        except ValueError:
            return False
        return isinstance(di, dict) and di.get("s_id") == name

    @staticmethod
    def _free_text(s: _Sector) -> list[tuple[int, int]]:
        """(start, end) in the sector of every span that may hold value text: whole data pages,
        and the unused ends of the header and of index pages (a page reused as an index keeps
        what it held before behind its entry: seen on real dumps)."""
        spans = []
        for p in range(PAGES):
            start = p * PAGE
            if p == 0:
                start += 15 + min(s.plain[14], 8)
            elif p in s.index_pages:
                name_len, parts = s.original[start + 17], struct.unpack_from("<H", s.original, start + 11)[0]
                start += min(PAGE, 18 + name_len + 4 * parts)
            spans.append((start, (p + 1) * PAGE))
        return spans

    def sweep(self, patterns: list[tuple[bytes, bytes, str]], secrets: Secrets) -> None:
        """Every form of every known secret, in every page (and a page's edges) of every copy."""
        for s in self.sectors:
            where = f"Tuya KV block {s.block_id} at 0x{s.offset:X}" + ("" if s.live else " (older copy)")
            for a, b in self._free_text(s):
                page = s.plain[a:b]
                sweep(page, patterns, secrets, where, fragments=True)
                s.plain[a:b] = page
        for blk in self.protected:
            sweep(blk.inner, patterns, secrets, f"Tuya KV protected block at 0x{blk.offset:X}")

    # ---------------------------------------------------------------- writing back

    def seal(self, image: bytearray) -> None:
        """Fix the checksums that were right before, encrypt the changed AES blocks again."""
        if self.store is None:
            return
        dkey = kv.data_key(self.store.device_key)
        live = {s.block_id: s for s in self.sectors if s.live}
        for s in self.sectors:
            self._fix_value_checksums(s, live)
            if s.checksum_ok:
                struct.pack_into("<I", s.plain, 4, kv.byte_sum(bytes(s.plain[8:])))
            _write_changed(image, s.offset, s.original, s.plain, dkey)
        for blk in self.protected:
            inner_key = kv.data_key(blk.key)
            new_outer = bytearray(blk.outer)
            _write_changed(new_outer, 32, blk.original_inner, blk.inner, inner_key)
            struct.pack_into("<I", new_outer, 4, kv.byte_sum(bytes(new_outer[8:])))
            _write_changed(image, blk.offset, bytes(blk.outer), new_outer, kv.MASTER_KEY)

    def _fix_value_checksums(self, s: _Sector, live: dict[int, _Sector]) -> None:
        for p in sorted(s.index_pages):
            pages = [s.original[i * PAGE : (i + 1) * PAGE] for i in range(PAGES)]
            block = kv.DataBlock(s.offset, s.block_id, 0, pages, s.index_pages)
            entry = kv.parse_index(block, p, [])
            if entry is None:
                continue
            old, new = bytearray(), bytearray()
            for block_id, first, last in entry.parts:
                src = s if block_id == s.block_id else live.get(block_id)
                if src is None or not 1 <= first <= last < PAGES:
                    break
                old += src.original[first * PAGE : (last + 1) * PAGE]
                new += src.plain[first * PAGE : (last + 1) * PAGE]
            else:
                old, new = old[: entry.length], new[: entry.length]
                if old != new and kv.byte_sum(bytes(old)) == entry.checksum:
                    struct.pack_into("<I", s.plain, p * PAGE, kv.byte_sum(bytes(new)))

    # ---------------------------------------------------------------- the protected block

    def _protected_block(self, off: int) -> None:
        head = kv.decrypt(kv.MASTER_KEY, self.image[off : off + 16])
        if struct.unpack_from("<I", head)[0] != kv.MAGIC_KEY:
            return
        outer = bytearray(kv.decrypt(kv.MASTER_KEY, self.image[off : off + SECTOR]))
        checksum, length = struct.unpack_from("<I", outer, 4)[0], struct.unpack_from("<I", outer, 24)[0]
        if checksum != kv.byte_sum(bytes(outer[8:])) or length > SECTOR - 32:
            self.unchecked.append(
                f"sector 0x{off:X} carries the Tuya KV magic but is neither a key block nor a readable protected block"
            )
            return
        key = bytes(outer[8:24])
        inner = kv.decrypt(kv.data_key(key), bytes(outer[32:]))
        records, p = [], 0
        while p < length:
            if p + 36 > length:
                break
            size = struct.unpack_from("<I", inner, p)[0]
            name = inner[p + 4 : p + 36].split(b"\x00", 1)[0].decode("ascii", "replace")
            if p + 36 + size > length:
                break
            records.append((name, p + 36, p + 36 + size))
            p += 36 + size
        if p != length:
            self.unchecked.append(f"Tuya KV protected block at 0x{off:X}: its records do not add up to its length")
        self.protected.append(_Protected(off, key, outer, inner, bytearray(inner), records))


def _runs(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Adjacent spans joined: text written across consecutive pages is read as one."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _write_changed(image: bytearray, offset: int, original: bytes, plain: bytes | bytearray, key: bytes) -> None:
    """Encrypt again only the 16-byte AES blocks that changed (ECB: each stands alone), so every
    other byte of the sector stays exactly as it was."""
    for i in range(0, len(plain), 16):
        if plain[i : i + 16] != original[i : i + 16]:
            image[offset + i : offset + i + 16] = kv.encrypt(key, bytes(plain[i : i + 16]))
