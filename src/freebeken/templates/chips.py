"""GPIO facts of the chips, for validating templates."""

from __future__ import annotations

GPIO_COUNT = 29  # PLATFORM_GPIO_MAX on BK7231T/N: pins 0..28
#: GPIOs that exist on BK7231T/N packages (others are not bonded out).
EXISTING = frozenset({0, 1, 6, 7, 8, 9, 10, 11, 14, 15, 16, 17, 20, 21, 22, 23, 24, 26, 28})
PWM_CAPABLE = frozenset({6, 7, 8, 9, 24, 26})
UART1 = (10, 11)  # RX1, TX1: the flashing UART (and BL0942/TuyaMCU)
UART2 = (0, 1)  # TX2, RX2: the log UART
ADC = frozenset({23})
