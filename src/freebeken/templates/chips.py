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
_RULES = (
    PinRules("BK7231T", GPIO_COUNT, EXISTING, PWM_CAPABLE, _BK_OLD_ADC),
    PinRules("BK7231N", GPIO_COUNT, EXISTING, PWM_CAPABLE, _N_ADC),
    PinRules("BK7231M", GPIO_COUNT, EXISTING, PWM_CAPABLE, _N_ADC),  # an N die
    PinRules("BK7231U", GPIO_COUNT, None, PWM_CAPABLE, _BK_OLD_ADC),
    PinRules("BK7238", GPIO_COUNT, None, PWM_CAPABLE, frozenset({1, 10, 20, 28})),
    PinRules("BK7252", 40, None, PWM_CAPABLE, _BK_OLD_ADC),
    PinRules("BK7252N", 40, None, PWM_CAPABLE, _BK_OLD_ADC),
)
RULES: dict[str, PinRules] = {r.chip: r for r in _RULES}
DEFAULT = RULES["BK7231T"]  # a template that names no chip: the BK7231T/N package rules


def rules_for(chip: str) -> PinRules | None:
    """The pin rules for ``chip`` ("" = the T/N default), or None when freebeken has none."""
    if not chip.strip():
        return DEFAULT
    return RULES.get(chip.strip().upper())
