"""GPIO facts of the chips, for validating templates (sources: docs/chips.md).

Pin rules are data per chip. Chips freebeken has no pin facts for get no pin checks at all (their
roles are still checked): applying BK7231 rules to a BL602 or an ESP32 only produces false errors.
"""

from __future__ import annotations

from dataclasses import dataclass

GPIO_COUNT = 29  # PLATFORM_GPIO_MAX on BK7231T/N: pins 0..28
#: GPIOs that exist on BK7231T/N packages (others are not bonded out).
EXISTING = frozenset({0, 1, 6, 7, 8, 9, 10, 11, 14, 15, 16, 17, 20, 21, 22, 23, 24, 26, 28})
PWM_CAPABLE = frozenset({6, 7, 8, 9, 24, 26})
UART1 = (10, 11)  # RX1, TX1: the flashing UART (and BL0942/TuyaMCU)
UART2 = (0, 1)  # TX2, RX2: the log UART
ADC = frozenset({23})


@dataclass(frozen=True)
class PinRules:
    chip: str
    gpio_count: int  # pins 0..gpio_count-1 exist in the firmware's pin table
    bonded: frozenset[int] | None  # pins that reach the package; None: not known, not checked
    pwm: frozenset[int]
    adc: frozenset[int]
    uart1: tuple[int, int] = UART1

    @property
    def adc_names(self) -> str:
        usable = self.adc & self.bonded if self.bonded is not None else self.adc
        return ", ".join(f"P{p}" for p in sorted(usable))


# OpenBeken's hal_pins_bk7231.c serves every Beken platform: the same six PWM pins everywhere,
# ADC pins per platform (its pin-name table); PLATFORM_GPIO_MAX from new_pins.h.
_BK_OLD_ADC = frozenset({2, 3, 4, 5, 12, 13, 23})  # T, U, BK7252: of these only P23 is bonded out on T modules
_N_ADC = frozenset({13, 21, 22, 23, 24, 26, 28})  # BK7231N's pin names (13 is not bonded out)
_RULES: tuple[PinRules, ...] = (
    PinRules("BK7231T", GPIO_COUNT, EXISTING, PWM_CAPABLE, _BK_OLD_ADC),
    PinRules("BK7231N", GPIO_COUNT, EXISTING, PWM_CAPABLE, _N_ADC),
    PinRules("BK7231M", GPIO_COUNT, EXISTING, PWM_CAPABLE, _N_ADC),  # an N die
    PinRules("BK7231U", GPIO_COUNT, None, PWM_CAPABLE, _BK_OLD_ADC),
    PinRules("BK7238", GPIO_COUNT, None, PWM_CAPABLE, frozenset({1, 10, 20, 28})),
    PinRules("BK7252", 40, None, PWM_CAPABLE, _BK_OLD_ADC),
    PinRules("BK7252N", 40, None, PWM_CAPABLE, _BK_OLD_ADC),
)

# Realtek platforms, in OpenBeken's own pin numbering (its g_pins table in src/hal/realtek/*/hal_pins_*.c).
# RTL87X0C (RTL8720CF/CM, Tuya WBR*/CR*): index = PA number, PA0..PA23; PWM on all but PA7..PA10 (the flash
# pins; HAL_PIN_CanThisPinBePWM). Bonded out: LibreTiny's ic/rtl8720cf.json, which agrees on the PWM pins.
# The download UART is UART2 (PA15 RX2, PA16 TX2).
_RTL87X0C_BONDED = frozenset({0, 1, 2, 3, 4, *range(7, 21), 23})
# RTL8710B (RTL8710BN, Tuya WR*): index into a 17-entry table, not the PA number (see TUYA_TO_OBK).
_RTL8710B_PA = (0, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 18, 19, 22, 23, 29, 30)
_RTL8710B_PWM_PA = frozenset({0, 5, 12, 14, 15, 22, 23, 29, 30})
_RULES += (
    PinRules("RTL87X0C", 24, _RTL87X0C_BONDED, _RTL87X0C_BONDED - {7, 8, 9, 10}, frozenset(), (15, 16)),
    PinRules(
        "RTL8710B",
        len(_RTL8710B_PA),
        frozenset(range(len(_RTL8710B_PA))),
        frozenset(i for i, pa in enumerate(_RTL8710B_PA) if pa in _RTL8710B_PWM_PA),
        frozenset({_RTL8710B_PA.index(19)}),
        (_RTL8710B_PA.index(29), _RTL8710B_PA.index(30)),
    ),
)
# LN882H (src/hal/ln882h/hal_pins_ln882h.c): index 0..15 = A0..A15, 16..25 = B0..B9; PWM on every pin but the
# QSPI flash pins 13..18; ADC on A0, A1, A4, B3, B4, B5; UART0 (flashing, log) on A2/A3. Bonding differs per module.
_RULES += (PinRules("LN882H", 26, None, frozenset(range(26)) - set(range(13, 19)), frozenset({0, 1, 4, 19, 20, 21}), (2, 3)),)
RULES: dict[str, PinRules] = {r.chip: r for r in _RULES}
#: A Tuya config numbers pins as the chip does (Pn, PAn); where OpenBeken numbers them otherwise, the map.
TUYA_TO_OBK: dict[str, dict[int, int]] = {"RTL8710B": {pa: i for i, pa in enumerate(_RTL8710B_PA)}}
DEFAULT = RULES["BK7231T"]  # a template that names no chip: the BK7231T/N package rules


def rules_for(chip: str) -> PinRules | None:
    """The pin rules for ``chip`` ("" = the T/N default), or None when freebeken has none."""
    if not chip.strip():
        return DEFAULT
    return RULES.get(chip.strip().upper())
