"""The write-retry policy as numbers (review §6.5): how many rewrites a sector gets, and when a
write stops for the line - no chip, no fake, no writer."""

from __future__ import annotations

import pytest

from freebeken.chips import BK7231N, BK7231T
from freebeken.flasher.policy import MAX_REWRITES, WRITE_RETRIES, RewritePolicy

N = RewritePolicy.for_chip(BK7231N)  # a damaged command lands somewhere UART can rewrite
T = RewritePolicy.for_chip(BK7231T)  # ... or on the bootloader that holds the UART loader


def test_the_chip_decides_whether_a_stray_command_can_be_fatal():
    assert not N.fatal_landing and T.fatal_landing


@pytest.mark.parametrize(
    "verified, rewritten, own, quality",
    [
        (0, 0, 0, 0.5),  # the neutral prior before any evidence
        (100, 245, 0, 101 / 347),  # 29 %: a 3e-4 line
        (100, 245, 45, 101 / 302),  # the sector's own failures do not count against the line
        (98, 0, 0, 1.0 - 1 / 100),
    ],
)
def test_line_quality_is_the_share_of_writes_that_verified_at_once(verified, rewritten, own, quality):
    assert RewritePolicy.quality(verified, rewritten, own) == pytest.approx(quality)


@pytest.mark.parametrize(
    "verified, rewritten, budget",
    [
        (98, 0, WRITE_RETRIES),  # a clean line: ten tries, then the flash is suspected
        (100, 245, 41),  # 29 % intact: 0.709^41 < 1e-6
        (30, 120, 61),  # 20 % intact
        (1, 60, MAX_REWRITES),
    ],  # 3 %: more than 100 would be needed; capped
)
def test_a_noisy_line_buys_as_many_rewrites_as_make_giving_up_one_in_a_million(verified, rewritten, budget):
    assert N.budget(verified, rewritten, 0) == budget
    p = RewritePolicy.quality(verified, rewritten)
    if WRITE_RETRIES < budget < MAX_REWRITES:
        assert (1 - p) ** budget <= 1e-6 < (1 - p) ** (budget - 1)


@pytest.mark.parametrize("verified, rewritten", [(98, 0), (100, 245), (1, 60)])
def test_where_a_stray_command_can_brick_the_budget_stays_a_clean_lines(verified, rewritten):
    assert T.budget(verified, rewritten, 0) == WRITE_RETRIES


def test_a_write_stops_for_the_line_only_after_the_evidence():
    assert not N.hopeless(1, 49) and N.hopeless(1, 50)  # 50 rewrites at under 5 % intact
    assert not N.hopeless(100, 245)  # 29 %: slow, not hopeless
    assert not T.hopeless(15, 19) and T.hopeless(15, 20)  # 20 rewrites at under 50 % where it can brick
    assert not T.hopeless(30, 20)  # 60 % intact
