"""Tuya's Beken modules as data: each pad by its number with what it connects to, so the page can
draw where the adapter's wires go. Pads are transcribed from Tuya's module datasheets (as
LibreTiny's board definitions record them); each source is listed in ``docs/modules.md``.

A pad name is a chip pin (``P10``), ``3V3``, ``GND``, ``CEN`` (reset, active low), ``NC`` or
``VCC5``/``ANT``; a ``T`` pad is a test point on the back of the module."""

from __future__ import annotations

from dataclasses import dataclass

# The five pads a flash needs: UART1 is the loader's port on every BK72xx (P10 = RX1, P11 = TX1).
NEEDED = {"3V3": "3V3", "GND": "GND", "P11": "TX1", "P10": "RX1", "CEN": "CEN"}


@dataclass(frozen=True)
class Module:
    name: str
    chip: str  # the chip profile's name
    pads: tuple[tuple[str, str], ...]  # (pad, what it connects to), front pads first, in order
    datasheet: str

    def pad_of(self, signal: str) -> list[str]:
        """The pads carrying ``signal`` (CEN is on two pads on some modules), front pads first."""
        return [pad for pad, name in self.pads if name == signal]

    def wires(self) -> list[tuple[str, str, str]]:
        """(adapter pin, the module pad it goes to, why) for a flash, in the order to connect them."""

        def pad(signal: str) -> str:
            where = self.pad_of(signal)[0]
            test = " (a test point on the back)" if where.startswith("T") else ""
            return f"pad {where} ({signal}{'' if signal == NEEDED[signal] else ', ' + NEEDED[signal]}){test}"

        return [
            ("GND", pad("GND"), "ground first"),
            ("TX", pad("P10"), "the adapter sends, the chip receives on RX1"),
            ("RX", pad("P11"), "the chip sends on TX1, the adapter receives"),
            ("RTS", pad("CEN"), "optional: lets freebeken reset the chip; without it, touch CEN to GND when asked"),
            ("3V3", pad("3V3"), "last: a stable 3.3 V supply (the 3.3 V pin of many adapters is too weak once Wi-Fi starts)"),
        ]


def _pads(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(tuple(item.split("=")) for item in text.split())  # type: ignore[misc]


_TUYA = "https://developer.tuya.com/en/docs/iot/"
MODULES = {
    m.name: m
    for m in [
        Module(
            "WB2S",
            "BK7231T",
            _pads(
                "1=3V3 2=P8 3=GND 4=P7 5=P10 6=P6 7=P11 8=P23 9=P24 10=CEN 11=P26 TRX2=P1 TTX2=P0 "
                "TSCK=P20 TPWM3=P9 TCSN=P21 TSI=P22 TSO=P23 TRST=CEN TVCC=3V3 TGND=GND"
            ),
            _TUYA + "wb2s-module-datasheet?id=K9ghecl7kc479",
        ),
        Module(
            "WB3S",
            "BK7231T",
            _pads(
                "1=CEN 2=P23 3=CEN 4=P14 5=P26 6=P24 7=P6 8=3V3 9=GND 10=P7 11=P0 12=P1 13=P9 14=P8 "
                "15=P10 16=P11 17=P23 18=P22 19=P21 20=P20 21=NC 22=NC"
            ),
            _TUYA + "wb3s-module-datasheet?id=K9dx20n6hz5n4",
        ),
        Module(
            "WB3L",
            "BK7231T",
            _pads(
                "1=NC 2=P23 3=CEN 4=P14 5=P26 6=P24 7=P6 8=3V3 9=GND 10=P9 11=P0 12=P16 13=P8 14=P7 "
                "15=P10 16=P11 17=P23 18=P22 19=P21 20=P20 21=P1"
            ),
            _TUYA + "wb3l-module-datasheet?id=K9duiggw2v8sp",
        ),
        Module(
            "WB2L",
            "BK7231T",
            _pads(
                "1=P8 2=P7 3=P6 4=P26 5=P24 6=GND 7=3V3 TRX1=P10 TTX1=P11 TRST=CEN TGND=GND TRX2=P1 "
                "TTX2=P0 TSCK=P20 TCSN=P21 TSO=P23 TSI=P22"
            ),
            _TUYA + "wb2l-datasheet?id=K9duegc9bualu",
        ),
        Module(
            "WB1S",
            "BK7231T",
            _pads(
                "1=VCC5 2=P11 3=P10 4=3V3 5=GND 6=P26 7=P24 8=P0 9=P8 10=P7 11=P1 12=P9 13=P6 14=GND "
                "15=GND 16=CEN 17=P23 18=GND 19=P23 20=P22 21=P21 22=P20"
            ),
            _TUYA + "wb1s?id=K9duevbj3ol4x",
        ),
        Module(
            "WBLC5",
            "BK7231T",
            _pads(
                "1=ANT 2=GND 3=P24 4=P26 5=P6 6=3V3 TRX1=P10 TTX1=P11 TRST=CEN TRX2=P1 TTX2=P0 TSCK=P20 TCSN=P21 TSO=P23 TSI=P22"
            ),
            _TUYA + "wblc5-module-datasheet?id=K9duilns1f3gi",
        ),
        Module(
            "CB2S",
            "BK7231N",
            _pads("1=3V3 2=P6 3=GND 4=P7 5=P10 6=P8 7=P11 8=P23 9=P24 10=CEN 11=P26 TRX2=P1 TTX2=P0 TCSN=P21"),
            _TUYA + "cb2s-module-datasheet?id=Kafgfsa2aaypq",
        ),
        Module(
            "CB3S",
            "BK7231N",
            _pads(
                "1=CEN 2=P23 3=CEN 4=P14 5=P26 6=P24 7=P6 8=3V3 9=GND 10=P9 11=P0 12=P21 13=P8 14=P7 "
                "15=P10 16=P11 17=P23 18=P22 19=P21 20=P20 21=NC 22=NC"
            ),
            _TUYA + "cb3s?id=Kai94mec0s076",
        ),
        Module(
            "CB3L",
            "BK7231N",
            _pads("1=CEN 2=P23 3=CEN 4=P14 5=P26 6=P24 7=P6 8=3V3 9=GND 10=P9 11=P0 12=P21 13=P8 14=P7 15=P10 16=P11"),
            _TUYA + "cb3l-module-datasheet?id=Kai51ngmrh3qm",
        ),
        Module(
            "CB2L",
            "BK7231N",
            _pads("1=P8 2=P7 3=P6 4=P26 5=P24 6=GND 7=3V3 TRX1=P10 TTX1=P11 TRST=CEN TGND=GND TTX2=P0 TCSN=P21"),
            _TUYA + "cb2l-module-datasheet?id=Kai2eku1m3pyl",
        ),
        Module(
            "CBU",
            "BK7231N",
            _pads(
                "1=P14 2=P16 3=P20 4=P22 5=P23 6=P1 7=P0 8=P8 9=P7 10=P6 11=P26 12=P24 13=GND 14=3V3 "
                "15=P11 16=P10 17=P28 18=CEN 19=P9 20=P17 21=P15 TCSN=P21"
            ),
            _TUYA + "cbu-module-datasheet?id=Ka07pykl5dk4u",
        ),
        Module(
            "CB1S",
            "BK7231N",
            _pads(
                "1=VCC5 2=P11 3=P10 4=3V3 5=GND 6=P6 7=P7 8=P0 9=P9 10=P8 11=P1 12=P24 13=P26 14=GND "
                "15=GND 16=CEN 17=P23 18=GND TSCK=P20 TCSN=P21 TSO=P23 TSI=P22"
            ),
            _TUYA + "cb1s-module-datasheet?id=Kaij1abmwyjq2",
        ),
        Module(
            "CBLC5",
            "BK7231N",
            _pads("1=ANT 2=GND 3=P24 4=P26 5=P6 6=3V3 TRX1=P10 TTX1=P11 TRST=CEN TRX2=P1 TTX2=P0 TCSN=P21"),
            _TUYA + "cblc5-module-datasheet?id=Ka07iqyusq1wm",
        ),
        Module(
            "T1-2S",
            "BK7238",
            _pads("1=3V3 2=P26 3=GND 4=P6 5=P10 6=P8 7=P11 8=P1 9=P9 10=CEN 11=P24 TTX2=P0"),
            _TUYA + "T1-2S-module-datasheet?id=Kcl2d5xjy1rly",
        ),
        Module(
            "T1-3S",
            "BK7238",
            _pads(
                "1=CEN 2=P20 3=CEN 4=P22 5=P6 6=P8 7=P9 8=3V3 9=GND 10=P23 11=P0 12=P1 13=P24 14=P26 "
                "15=P10 16=P11 17=P17 18=P16 19=P15 20=P14 21=NC 22=NC"
            ),
            _TUYA + "T1-3S-Module-Datasheet?id=Keesax53r0r2d",
        ),
        Module(
            "T1-U",
            "BK7238",
            _pads(
                "1=P14 2=P16 3=P23 4=P22 5=P20 6=P1 7=P0 8=P24 9=P9 10=P26 11=P6 12=P8 13=GND 14=3V3 "
                "15=P11 16=P10 17=P28 18=CEN 19=P21 20=P17 21=P15"
            ),
            _TUYA + "T1-U-HL-Module-Datasheet?id=Kdfp5j893qwxg",
        ),
    ]
}
