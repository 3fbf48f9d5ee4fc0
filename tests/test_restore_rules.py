"""The restore rules once for every family (flasher/verdict.py), with each family's bytes as its hook:
Beken's content.py and families/images.FamilyContent give the same refusals in the same order."""

from __future__ import annotations

import hashlib

import pytest

from freebeken.chips import BK7231N
from freebeken.errors import SafetyError
from freebeken.events import ListReporter
from freebeken.families.images import FamilyContent
from freebeken.families.specs import RTL8720CF
from freebeken.flasher.content import ChipFacts, judge_image
from freebeken.flasher.verdict import admit, judge
from freebeken.sim.family_images import release_image, stock_image

MAC = bytes.fromhex("D4A651010203")


def rtl_hook(chip_flash: bytes) -> FamilyContent:
    kept = {r: hashlib.sha256(chip_flash[r.start : r.end]).digest() for r in RTL8720CF.regions if r.keep}
    return FamilyContent(RTL8720CF, MAC, kept, lambda data: hashlib.sha256(data).digest())


def sidecar(data: bytes, **label: object) -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), **label}


def test_the_size_rule_is_one_refusal_for_every_family():
    beken = judge_image(b"\xff" * 0x100000, ChipFacts(BK7231N, 0x200000, MAC, None, None))
    mine = bytes(stock_image("rtl8720cf", 0, MAC))
    rtl = judge(mine[:0x100000], 0x200000, rtl_hook(mine))
    assert beken.refusal == rtl.refusal and "truncated or partial" in (rtl.refusal or "")


def test_a_family_backup_is_judged_by_bytes_then_label_then_content():
    mine = bytes(stock_image("rtl8720cf", 0, MAC))
    hook = rtl_hook(mine)
    assert judge(mine, len(mine), hook, sidecar(mine, chip="rtl8720cf", mac="D4:A6:51:01:02:03")).other_device == []
    # bytes: an LN882H image is refused whatever its name or label says
    ln = bytes(stock_image("ln882h", 0, MAC))
    assert "image for ln882h" in (judge(ln, len(ln), hook, sidecar(ln, chip="rtl8720cf")).refusal or "")
    # label: describing these bytes, naming another chip -> refused; naming another device -> evidence
    assert "sidecar says it is a ln882h" in (judge(mine, len(mine), hook, sidecar(mine, chip="ln882h")).refusal or "")
    other = judge(mine, len(mine), hook, sidecar(mine, mac="D4:A6:51:99:99:99"))
    assert other.other_device == ["its sidecar names the device D4:A6:51:99:99:99"]
    # a label describing other content is only a warning
    stale = judge(mine, len(mine), hook, sidecar(b"other", mac="D4:A6:51:99:99:99"))
    assert stale.other_device == [] and "describes other content" in stale.warnings[0]
    # content: another device's calibration
    theirs = bytearray(mine)
    theirs[0x2000:0x2010] = b"\x11" * 16
    verdict = judge(bytes(theirs), len(mine), hook)
    assert verdict.other_device == ["its calibration (0x2000) differs from this chip's"]
    with pytest.raises(SafetyError, match="another device"):
        admit(verdict, "theirs.bin", False, ListReporter())
    reporter = ListReporter()
    assert admit(verdict, "theirs.bin", True, reporter) == bytes(theirs)
    assert any("writing it as asked" in w.message for w in reporter.kinds("warning"))


def test_a_padded_release_image_with_blank_calibration_passes_the_content_rule():
    image = release_image("rtl8720cf")
    padded = image + b"\xff" * (0x200000 - len(image))
    mine = bytes(stock_image("rtl8720cf", 0, MAC))
    assert judge(padded, 0x200000, rtl_hook(mine)).refusal is None  # bytes of this family: the content decides


def test_never_writing_what_the_uart_cannot_restore_is_one_rule_over_the_regions(tmp_path):
    """Beken's bootloader rule as data (Region.restorable), decided by families/base.check_writable for
    every family: a family with an unrestorable region is refused before anything is written."""
    from freebeken.chips import BK7231T
    from freebeken.families import ops as fops
    from freebeken.families.base import FamilySpec, Identity, Region, check_writable
    from freebeken.families.beken import beken_spec
    from freebeken.flasher.journal import Journal

    assert [r.restorable for r in beken_spec(BK7231T, 0x200000).regions] == [False, True]
    assert [r.restorable for r in beken_spec(BK7231N, 0x200000).regions] == [True, True]
    with pytest.raises(SafetyError, match="Refusing to modify 0x000000..0x001000 on BK7231T"):
        check_writable(beken_spec(BK7231T, 0x200000), 0x200000, 0, 0x1000)
    with pytest.raises(SafetyError):  # past the end: it would wrap around
        check_writable(RTL8720CF, 0x200000, 0x1FF000, 0x2000)
    check_writable(RTL8720CF, 0x200000, 0, 0x200000)  # AmbZ2's download mode is in ROM: all restorable

    spec = FamilySpec(
        "romless",
        "test",
        "sha256",
        0x20000,
        (Region("boot", 0, 0x8000, "bootloader", restorable=False), Region("app", 0x8000, 0x18000, "app")),
        "OpenX",
        "none",
        (),
    )
    written: list[int] = []

    class Fam:
        def __init__(self) -> None:
            self.spec = spec

        def digest(self, address: int, length: int) -> bytes:
            return b"different"

        def write(self, address: int, data: bytes) -> None:
            written.append(address)

    ident = Identity(spec, 0x20000, MAC)
    journal = Journal(tmp_path / "j.json", {"done": []})
    with pytest.raises(SafetyError, match="Refusing to modify 0x000000") as refused:
        fops.write_proven(Fam(), ident, b"\x00" * 0x20000, list(range(0, 0x20000, 0x1000)), journal, ListReporter())
    assert "The ROMLESS boot (0x0..0x8000) cannot be rewritten over UART" in refused.value.hint
    assert written == []  # refused before the first write, not at the bootloader
