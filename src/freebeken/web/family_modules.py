"""The common modules of the families behind the seam, as data: each pad with the chip pin (GPIO name)
it carries, and the five wires a flash needs - including the boot pin, which these chips need held at
reset (Beken's ROM answers without one).

Sources (facts only; pad numbers are the module's, chip pins the package's mapped to GPIO names):

* WBR3 (RTL8720CF): LibreTiny ``boards/_base/pcb/wbr3.json`` (pads 1-16 and the back test points
  TA_0/TA_1/TA_15, each with its IC pin) and ``boards/_base/ic/rtl8720cf.json`` (IC pin -> PAxx);
  flashing wiring from LibreTiny's WBR boards' quick flashing guide (PA15/RX2, PA16/TX2, PA00 to 3.3 V
  for download mode, PA13 not to GND) and ltchiptool ``soc/ambz2``. Tuya's datasheet:
  docs.libretiny.eu/boards/wbr3/
* WBR2 (RTL8720CF): Tuya's WBR2 datasheet (developer.tuya.com/en/docs/iot/wbr2-datasheet?id=K989h4vonmsey,
  a copy is attached to OpenBeken's issue tracker); its pad numbering was not at hand in a form we could
  check, so the picture names the pads by signal (the names printed beside them), not by number.
* WL2S, WL2H-U (LN882H): LibreTiny ``boards/_base/pcb/wl2s.json``, ``wl2h-u.json`` and
  ``boards/_base/ic/ln882hk.json``; their quick flashing guide (PA03/RX0, PA02/TX0, PA09/BOOT1 to GND
  for download mode) and ltchiptool ``soc/ln882h``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Wire:
    adapter: str  # the adapter pin, as its label reads ("3V3 (boot)": a second wire from 3.3 V)
    signal: str  # the chip pin or supply it goes to
    why: str


@dataclass(frozen=True)
class FamilyModule:
    name: str
    chip: str  # the silicon, as the page names it
    family: str  # the family's chip name (families.registry): rtl8720cf, ln882h
    pads: tuple[tuple[str, str], ...]  # (pad, what it carries), front pads first; "T..." pads on the back
    connections: tuple[Wire, ...]
    datasheet: str
    numbered: bool = True  # False: pads named by signal (their numbers were not transcribed)

    @property
    def needed(self) -> dict[str, str]:
        """What each pad a wire goes to is for, as the picture labels it."""
        return {w.signal: LABEL.get(w.signal, w.signal) for w in self.connections}

    def is_back(self, pad: str) -> bool:
        return self.numbered and pad.startswith("T")

    @property
    def source(self) -> str:
        return "datasheet (Tuya)" if "tuya.com" in self.datasheet else "pinout (LibreTiny)"

    def pad_of(self, signal: str) -> list[str]:
        return [pad for pad, name in self.pads if name == signal]

    def wires(self) -> list[tuple[str, str, str]]:
        """(adapter pin, the pad it goes to, why), in the order to connect them."""
        out = []
        for w in self.connections:
            pad = self.pad_of(w.signal)[0]
            where = " (a test point on the back)" if self.is_back(pad) else ""
            label = LABEL.get(w.signal, w.signal)
            out.append((w.adapter, f"pad {pad} ({w.signal}{'' if label == w.signal else ', ' + label}){where}", w.why))
        return out


LABEL = {"PA15": "RX2", "PA16": "TX2", "PA00": "boot", "PA02": "TX0", "PA03": "RX0", "PA09": "BOOT"}


def _pads(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(tuple(item.split("=")) for item in text.split())  # type: ignore[misc]


_RTL_WIRES = (
    Wire("GND", "GND", "ground first"),
    Wire("TX", "PA15", "the adapter sends, the chip receives on RX2 (the download UART)"),
    Wire("RX", "PA16", "the chip sends on TX2, the adapter receives"),
    Wire(
        "3V3 (boot)",
        "PA00",
        "held at 3.3 V (not GND) while the chip powers on: the ROM then waits in download mode; "
        "take it off before the first boot of OpenBeken",
    ),
    Wire("3V3", "3V3", "last: a stable 3.3 V supply; PA13 must not be pulled to GND"),
)
_LN_WIRES = (
    Wire("GND", "GND", "ground first"),
    Wire("TX", "PA03", "the adapter sends, the chip receives on RX0"),
    Wire("RX", "PA02", "the chip sends on TX0, the adapter receives"),
    Wire(
        "GND (boot)",
        "PA09",
        "BOOT to GND while the chip powers on: the ROM then waits in download mode; take it off before the first boot",
    ),
    Wire("3V3", "3V3", "last: a stable 3.3 V supply"),
)
_TUYA = "https://developer.tuya.com/en/docs/iot/"

FAMILY_MODULES = {
    m.name: m
    for m in [
        FamilyModule(
            "WBR3",
            "RTL8720CF",
            "rtl8720cf",
            _pads(
                "1=NC 2=PA07 3=CEN 4=PA11 5=PA02 6=PA03 7=PA04 8=3V3 9=GND 10=PA12 11=PA16 12=PA17 13=PA18 "
                "14=PA19 15=PA13 16=PA14 TA_15=PA15 TA_0=PA00 TA_1=PA01"
            ),
            _RTL_WIRES,
            "https://docs.libretiny.eu/boards/wbr3/",
        ),
        FamilyModule(
            "WBR2",
            "RTL8720CF",
            "rtl8720cf",
            _pads("3V3=3V3 GND=GND RX2=PA15 TX2=PA16 A_0=PA00 CEN=CEN"),
            _RTL_WIRES,
            _TUYA + "wbr2-datasheet?id=K989h4vonmsey",
            numbered=False,
        ),
        FamilyModule(
            "WL2S",
            "LN882H",
            "ln882h",
            _pads(
                "1=3V3 2=PA07 3=GND 4=PA12 5=PA03 6=PA10 7=PA02 8=PA00 9=PB03 10=CEN 11=PA11 "
                "TA9=PA09 TGND=GND TRX1=PB08 TTX1=PB09 TSCLK=PA05 TSWD=PA01"
            ),
            _LN_WIRES,
            "https://docs.libretiny.eu/boards/wl2s/",
        ),
        FamilyModule(
            "WL2H-U",
            "LN882H",
            "ln882h",
            _pads(
                "1=PA05 2=PA06 3=PA04 4=PA01 5=PA00 6=PB08 7=PB09 8=PA07 9=PA10 10=PA11 11=PA12 12=PB03 "
                "13=GND 14=3V3 15=PA02 16=PA03 17=PB04 19=PB05 20=PB06 21=PB07 TA9=PA09"
            ),
            _LN_WIRES,
            "https://docs.libretiny.eu/boards/wl2h-u/",
        ),
    ]
}
