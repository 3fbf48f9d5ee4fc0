"""A short seeded run of benchmarks/fault_campaign.py (the full campaign is not for CI): every
invariant holds after every command - T bootloader untouched, exit 0 means exact bytes, backups
never change, every failure documented and worded, no traceback."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

CAMPAIGN = Path(__file__).resolve().parents[1] / "benchmarks" / "fault_campaign.py"


def load_campaign():
    spec = importlib.util.spec_from_file_location("fault_campaign", CAMPAIGN)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("chip", ["bk7231t", "bk7231n"])
def test_short_fault_campaign_keeps_every_invariant(tmp_path, monkeypatch, chip):
    monkeypatch.setenv("FREEBEKEN_HOME", str(tmp_path / "home"))
    campaign = load_campaign()
    cells = {}
    for op in campaign.OPS:
        cell = cells.setdefault(op, campaign.Cell())
        for seed in (11,):
            folder = tmp_path / f"{op}-{seed}"
            folder.mkdir()
            campaign.run_one(op, chip, 1e-4, seed, folder, cell)
    assert [v for cell in cells.values() for v in cell.violations] == []
    assert sum(cell.first + cell.recovered for cell in cells.values()) == sum(cell.runs for cell in cells.values())
