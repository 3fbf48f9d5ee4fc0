"""How right is `analyze` on real Tuya configurations? Every configuration of a public corpus is
decoded; where a human template of OpenBeken's device list describes the same product, the two
templates are compared pin by pin and every difference is listed with its kind.

The data stays outside the repository. Give the paths, or put them in the cache directory
(``$FREEBEKEN_CORPUS``, default ``~/.cache/freebeken/corpus``):

- tuya-cloudcutter.github.io: a checkout (``devices/*.json`` with ``device_configuration``, and
  ``profiles/*.json`` whose ``firmware.chip`` was read from the firmware), e.g.
  ``git clone https://github.com/tuya-cloudcutter/tuya-cloudcutter.github.io`` into the cache directory
- OpenBeken's devices.json (default: ../shared/data/devices.json next to the repository)
- real dumps (default: ../shared/dumps)

Missing inputs are skipped with the reason. Run:
    PYTHONPATH=src .venv/bin/python benchmarks/corpus_analyze.py [--cloudcutter DIR] [--devices-json FILE] [--dumps DIR] [--list]

Pairing is by name only (never by pins, which would bias the figures): the cloudcutter device and
the devices.json entry share a specific model token (letters and digits, rare in the list) and the
maker (or the entry is Tuya's/generic). A pair whose templates share no pin at all is counted as a
name collision, not as a disagreement.
"""

from __future__ import annotations

import argparse
import collections
import inspect
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from freebeken.templates.model import PinRole, from_entry
from freebeken.templates.roles import CHANNEL_UNUSED, MISSPELLINGS
from freebeken.tuya.analyze import analyze_bytes

try:
    from freebeken.tuya.modules import platform, same_chip
except ImportError:  # an older freebeken, measured for a baseline

    def platform(chip: str | None) -> str:
        return {"RTL8720CF": "RTL87X0C", "RTL8710BN": "RTL8710B"}.get((chip or "").upper(), (chip or "").upper())

    def same_chip(a: str, b: str) -> bool:
        return platform(a) == platform(b)


ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("FREEBEKEN_CORPUS", Path.home() / ".cache" / "freebeken" / "corpus"))
# the dumps' products in the device list (../shared/dumps/README.md names them)
DUMP_PRODUCTS = {
    "n_cb2s_plug_mirabella_i003632.bin": "I03632",
    "n_cb3s_4ch_relay_tywb_rf.bin": "TYWD 4CH-RF",
    "t_wb3l_bulb_sm2135_globe_37783.bin": "35804",
}
_GENERIC = {"tuya", "generic", "unknown", "noname", "no", "name"}
_NOT_A_MODEL = re.compile(
    r"v?\d+(\.\d+)*|\d+(w|a|v|ch|cm|mm|m|k|lm|lumen|inch|in|pcs|pack|gang|way|ft)|gu10|e1[24]|e2[67]|b22|a19|a60|a21|br30|"
    r"par\d+|ip\d\d|ota\d|rgbc?w*|bk\w*|cb\w*|wb\w*|rtl\w*|t\d\w*|sdk\w*|2andl\w*|\d+ww|\d+w\d+"
)


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def model_tokens(text: str) -> set[str]:
    found = {t for t in tokens(text) if len(t) >= 4 and re.search(r"\d", t) and re.search(r"[a-z]", t)}
    return {t for t in found if not _NOT_A_MODEL.fullmatch(t)}


@dataclass
class Case:
    name: str
    result: dict[str, Any]
    firmware_chip: str | None = None  # what the firmware profile says (read from the binary)
    human: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


#: Why a kind of difference is accepted (the listing shows each one; "role" and "only the human's" are read one by one).
REASONS = {
    "active level": "the config's *_lv decides here; the entry's author chose the other polarity (status LEDs most often)",
    "button kind, same effect": "on one relay Btn_Tgl_All and Btn;1 do the same; total_bt_pin is Tuya's all-relays button",
    "channel": "freebeken numbers from the config (rlN/btN -> N, colours r,g,b,c,w -> 1..5, cwtype=1 -> w,c + flag 8); "
    "the entry numbers otherwise (Rel;0, rotated colours): both work, the config is the device's own",
    "only ours": "a pin the config names that the entry leaves out (status LED, IR/RF receiver, a slot above ch_num)",
    "only the human's": "a pin the config does not name (another revision of the product, or wiring found by hand)",
    "role": "another hardware revision under the same name (other driver chip or pins), or a choice (Btn_SmartLED vs Btn)",
}


def norm(pins: dict[str, str]) -> dict[int, PinRole]:
    """Pins as roles, channels of roles that ignore them dropped; misspellings as the firmware reads them."""
    out = {}
    for key, text in pins.items():
        role = PinRole.parse(str(text))
        if role is None or not str(key).strip().isdigit() or role.role == "None":
            continue
        t, _ = from_entry({"pins": {"0": str(text)}})
        name = t.pins[0].role if 0 in t.pins else MISSPELLINGS.get(role.role.lower(), role.role)
        out[int(key)] = PinRole(name, None if name in CHANNEL_UNUSED else role.channel or 0)
    return out


def numbering(chip: str) -> str:
    """BK7231T/N/M/U share packages and pin numbers (a config moved from a WB to a CB module keeps
    them); other chips are other hardware."""
    name = platform(chip)
    return "BK7231" if name.startswith("BK7231") else name


def base(role: str) -> str:
    return role[:-2] if role.endswith("_n") else role


#: Differences no rule explains, read one by one against the config and the entry (2026-04 snapshots).
READ = {
    "antela-f1s202-eu-smart-plug": "this entry swaps P6/P8 (CF1 and the LED); the other F1s202 entry matches the config",
    "merkury-innovations-mi-ew003-led-strip-v1.1.2": "another revision: the entry has a 4th PWM on P7, this config the IR receiver",
    "merkury-innovations-mi-ew003-led-strip-v1.1.6": "another revision: the entry has a 4th PWM on P7, this config the IR receiver",
    "minoston-mp22w-oudoor-plug": "the entry is MP22W_v2: relay, button and LED on other pins",
    "tuya-generic-ap-smt-breaker02-1ch-relay": "the product's two configs disagree with each other and the entry: board revisions",
    "tuya-generic-ap-smt-breaker02-1ch-smart-relay": "the product's two configs disagree with each other and the entry: board revisions",
    "tuya-generic-dy-sq400b-water-leak-sensor-v1.1.6": "a battery sensor: the entry uses deep-sleep and script-only roles and drives the buzzer (bz_pin, unmapped here); "
    "freebeken maps plain inputs (a known gap: no deep-sleep roles yet)",
    "tuya-generic-nas-wr01w-smart-plug": "the entry is the BL0942 revision (button where this config has BL0937 CF)",
    "tuya-generic-nas-wr07w-16a-smart-plug": "another revision (button on P9, where this config has BL0937 CF)",
    "tuya-generic-sc400w-curtain-switch": "the entry is another board (relays on P14/P26, this config P6/P7)",
    "tuya-generic-sk20-star-projector-v1.1.2": "ctrl_pin has no OpenBeken role (listed in unmapped); the entry's author made it a LED",
    "tuya-generic-sk20-star-projector-v2.0.2": "the entry is another lamp (BK7231T Genio Galaxy), this a CBU projector",
    "tuya-generic-sm-306u-pa85-pd-surge-protector-v1.1.8": "total_led_pin (any outlet on) has no OpenBeken role: listed in unmapped; the entry gives it a spare channel",
    "tuya-generic-sw02-02-2-button-switch": "the entries are other products that share the word SW02",
    "tuya-generic-sw02-03-3-button-switch-v1.0.1": "the entries are other products that share the word SW02",
    "tuya-generic-wl-sw01-30a-switch": "the entry is the 16 A model (WL-SW01_16), this config the 30 A one",
}
_DRIVERS = ("DAT", "CLK", "_DIN")
_STATUS = {"WifiLED", "LED"}


def pin_keys(config: dict[str, Any]) -> dict[int, list[str]]:
    """Pin number -> the config keys naming it."""
    out: dict[int, list[str]] = collections.defaultdict(list)
    for key, value in config.items():
        if re.search(r"(_pin|pin|_io|^ir|^infr\w|^iic(scl|sda)|^onoff\d+)$", key) and isinstance(value, int):
            out[value].append(key)
    return out


def why_role(a: PinRole, b: PinRole, relays: int) -> str:
    x, y = base(a.role), base(b.role)
    if x.endswith(_DRIVERS) or y.endswith(_DRIVERS):
        return "other hardware: the LED driver (or its wiring) differs from the config's dmod/iic keys"
    if {x, y} <= _STATUS:
        return "the status LED: the config calls it the network LED (or an LED), the entry the other"
    if "Btn_SmartLED" in (x, y):
        return "the light's own button is Btn_SmartLED here by design (issue 31)"
    if {x, y} <= {"Btn", "Btn_Tgl_All"}:
        return f"the button toggles every relay ({relays}) or one: the config's total_bt/bt key decides here"
    return ""


def differences(ours: dict[int, PinRole], theirs: dict[int, PinRole], config: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(kind, text, why accepted - empty when not explained) for each pin that differs."""
    diffs = []
    relays = {r.channel for r in ours.values() if base(r.role) == "Rel"}
    keys = pin_keys(config)
    for pin in sorted(set(ours) | set(theirs)):
        a, b = ours.get(pin), theirs.get(pin)
        if a == b:
            continue
        if b is None and a is not None:
            diffs.append(("only ours", f"P{pin} {a.text()}", f"the config names it ({', '.join(keys.get(pin, ['?']))})"))
        elif a is None and b is not None:
            named = keys.get(pin)
            why = "" if named else "the config names no such pin: other revision or wiring found by hand"
            diffs.append(("only the human's", f"P{pin} {b.text()}" + (f" (config: {', '.join(named)})" if named else ""), why))
        elif a is None or b is None:
            continue
        elif base(a.role) == base(b.role) and a.channel == b.channel:
            diffs.append(("active level", f"P{pin} {a.role} here, {b.role} in the entry", REASONS["active level"]))
        elif {base(a.role), base(b.role)} <= {"Btn", "Btn_Tgl_All"} and len(relays) <= 1:
            text = f"P{pin} {a.text()} here, {b.text()} in the entry"
            diffs.append(("button kind, same effect", text, REASONS["button kind, same effect"]))
        elif base(a.role) == base(b.role):
            diffs.append(("channel", f"P{pin} {a.text()} here, {b.text()} in the entry", REASONS["channel"]))
        else:
            diffs.append(("role", f"P{pin} {a.text()} here, {b.text()} in the entry", why_role(a, b, len(relays))))
    return diffs


def load_cloudcutter(root: Path) -> tuple[list[Case], int]:
    profiles = {}
    for path in (root / "profiles").glob("*.json"):
        firmware = json.loads(path.read_text()).get("firmware") or {}
        profiles[path.stem] = firmware.get("chip")
    profile_chips = {name: chip for name, chip in profiles.items() if chip}
    takes_profiles = "profile_chips" in inspect.signature(analyze_bytes).parameters  # an older freebeken, for a baseline
    cases, failed = [], 0
    for path in sorted((root / "devices").glob("*.json")):
        data = json.loads(path.read_text())
        if not data.get("device_configuration"):
            continue
        try:
            result = (
                analyze_bytes(path.read_bytes(), path.name, profile_chips)
                if takes_profiles
                else analyze_bytes(path.read_bytes(), path.name)
            ).as_dict()
        except Exception as e:  # noqa: BLE001 - a crash is a finding, counted and shown
            print(f"CRASH {path.name}: {type(e).__name__}: {e}", file=sys.stderr)
            failed += 1
            continue
        chips = {profiles.get(p) for p in data.get("profiles", [])} - {None}
        case = Case(f"{data.get('manufacturer', '')} {data.get('name', '')} [{path.stem}]", result, next(iter(chips), None))
        case.human = []
        cases.append(case)
        case.result["_pair_text"] = (data.get("manufacturer", ""), f"{data.get('name', '')} {path.stem}")
    return cases, failed


def pair(cases: list[Case], devices: list[dict[str, Any]]) -> None:
    index: dict[str, set[int]] = collections.defaultdict(set)
    for i, entry in enumerate(devices):
        text = " ".join(str(entry.get(k) or "") for k in ("name", "model")) + " " + " ".join(entry.get("keywords") or [])
        for t in model_tokens(text):
            index[t].add(i)
    for case in cases:
        maker, text = case.result.pop("_pair_text", ("", ""))
        shared = [t for t in model_tokens(text) if 0 < len(index[t]) <= 2]
        maker_words = set(tokens(maker)) - _GENERIC
        for i in sorted(set().union(*(index[t] for t in shared)) if shared else set()):
            entry = devices[i]
            words = set(tokens(f"{entry.get('vendor', '')} {entry.get('name', '')}"))
            if not maker_words or maker_words & words or set(tokens(str(entry.get("vendor", "")))) & _GENERIC:
                case.human.append((i, entry))


def dump_cases(folder: Path, devices: list[dict[str, Any]]) -> list[Case]:
    cases = []
    for path in sorted(folder.glob("*.bin")):
        case = Case(path.name, analyze_bytes(path.read_bytes(), path.name).as_dict(), None)
        wanted = DUMP_PRODUCTS.get(path.name)
        case.human = [(i, e) for i, e in enumerate(devices) if wanted and wanted in f"{e.get('name')} {e.get('model')}"][:1]
        cases.append(case)
    return cases


def report(cases: list[Case], failed: int, show: bool) -> None:
    named = [c for c in cases if c.result["chip"]]
    contradicted = [c for c in cases if c.firmware_chip and c.result["chip"] and not same_chip(c.firmware_chip, c.result["chip"])]
    print(f"configurations decoded: {len(cases)} (crashes: {failed}); chip named for {len(named)}")
    print(f"chip contradicting the firmware profile: {len(contradicted)}")
    for c in contradicted:
        print(f"  {c.name}: profile {c.firmware_chip}, analyze {c.result['chip']}")
    print("chips named:", dict(collections.Counter(c.result["chip"] for c in cases).most_common()))
    not_checked = [c for c in cases if any(n.startswith("pins not checked") for n in c.result["notes"])]
    print(f"templates not checked (no pin facts for the chip): {len(not_checked)}")
    dropped = collections.Counter(
        u.split(":")[-1].strip() if "does not exist" not in u else "pin the chip lacks"
        for c in cases
        for u in c.result["unmapped"]
        if u.endswith("dropped")
    )
    print("pins dropped, by why:", dict(dropped.most_common(8)))

    pairs = [(c, i, e) for c in cases for i, e in c.human]
    kinds: collections.Counter[str] = collections.Counter()
    exact = same_pins = same_roles = collisions = 0
    set_aside: collections.Counter[str] = collections.Counter()
    unexplained: list[str] = []
    strong: list[bool] = []  # pairs whose entry names the config's module as its board: the same hardware, most likely
    listing = []
    for case, i, entry in pairs:
        ours, theirs = norm(case.result["template"]["pins"]), norm(entry.get("pins") or {})
        why_not = ""
        if not theirs:
            why_not = "the entry has no pins (a TuyaMCU device or not filled in)"
        elif entry.get("chip") and case.result["chip"] and numbering(str(entry["chip"])) != numbering(case.result["chip"]):
            why_not = f"the entry is for {entry['chip']}, this config for {case.result['chip']}: other hardware"
        elif not set(ours) & set(theirs):
            why_not = "no pin in common (a name collision)"
        if why_not:
            collisions += 1
            set_aside[why_not.split(":")[0].split(" (")[0]] += 1
            listing.append(f"~ {case.name} ~ devices[{i}] {entry.get('name')}: {why_not}")
            continue
        diffs = differences(ours, theirs, case.result["tuya_config"])
        read = READ.get(case.name.rsplit("[", 1)[-1].rstrip("]"), "")
        diffs = [(k, t, why or (f"read: {read}" if read else "")) for k, t, why in diffs]
        exact += not diffs
        same_roles += not any(k in ("role", "only ours", "only the human's") for k, _, _ in diffs)
        same_pins += set(ours) == set(theirs)
        if str(entry.get("board") or "").upper() == str(case.result["module"] or "-").upper():
            strong.append(not diffs)
        kinds.update(k for k, _, _ in diffs)
        unexplained += [f"{case.name}: {t}" for k, t, why in diffs if not why]
        if diffs:
            listing.append(f"- {case.name} vs devices[{i}] {entry.get('vendor')} {entry.get('name')}:")
            listing += [
                f"    [{k}] {t}"
                + (f" - {why}" if why and k in ("role", "only ours", "only the human's") else "")
                + ("" if why else " - NOT EXPLAINED")
                for k, t, why in diffs
            ]
    compared = len(pairs) - collisions
    print(
        f"\npairs with a human template: {len(pairs)} ({len({c.name for c, _, _ in pairs})} configurations, "
        f"{len({i for _, i, _ in pairs})} entries); set aside: {collisions} {dict(set_aside)}"
    )
    if compared:
        print(
            f"identical templates: {exact}/{compared} ({100 * exact / compared:.0f}%); "
            f"same pins and roles (levels, channels, button kind aside): {same_roles}/{compared} "
            f"({100 * same_roles / compared:.0f}%); same pins used: {same_pins}/{compared} "
            f"({100 * same_pins / compared:.0f}%)"
        )
        print(f"pairs on the same module (entry board = config module): {len(strong)}, identical {sum(strong)}")
        print("differences by kind:", dict(kinds.most_common()))
        for kind, _count in kinds.most_common():
            print(f"  {kind}: {REASONS[kind]}")
        print(f"differences not explained by a rule (read each): {len(unexplained)}")
        for line in unexplained:
            print(f"  {line}")
    if show:
        print("\n" + "\n".join(listing))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cloudcutter", type=Path, default=CACHE / "tuya-cloudcutter.github.io")
    ap.add_argument("--devices-json", type=Path, default=ROOT.parent / "shared" / "data" / "devices.json")
    ap.add_argument("--dumps", type=Path, default=ROOT.parent / "shared" / "dumps")
    ap.add_argument("--list", action="store_true", help="list every difference")
    args = ap.parse_args()
    devices: list[dict[str, Any]] = []
    if args.devices_json.is_file():
        devices = json.loads(args.devices_json.read_text())["devices"]
    else:
        print(f"skipped the human templates: {args.devices_json} is not there", file=sys.stderr)
    cases: list[Case] = []
    failed = 0
    if (args.cloudcutter / "devices").is_dir():
        cases, failed = load_cloudcutter(args.cloudcutter)
        pair(cases, devices)
    else:
        print(
            f"skipped tuya-cloudcutter: {args.cloudcutter}/devices is not there (clone the repository there, or give "
            "--cloudcutter)",
            file=sys.stderr,
        )
    if args.dumps.is_dir():
        cases += dump_cases(args.dumps, devices)
    else:
        print(f"skipped the dumps: {args.dumps} is not there", file=sys.stderr)
    if not cases:
        print("nothing to measure", file=sys.stderr)
        return 2
    report(cases, failed, args.list)
    return 0


if __name__ == "__main__":
    sys.exit(main())
