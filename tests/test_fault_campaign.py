"""A short seeded run of benchmarks/fault_campaign.py (the full campaign is not for CI): every
invariant holds after every command - T bootloader untouched, exit 0 means exact bytes, backups
never change, every failure documented and worded, no traceback.

The campaign mostly waits (for the replies a damaged line lost), so its runs go side by side, in
processes of their own: per chip, backup, flash and restore one after another on one data folder
(as in the campaign; the two chips had a folder each before too), and the stale and resume
scenarios, which make a data folder of their own anyway."""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import pytest

CAMPAIGN = Path(__file__).resolve().parents[1] / "benchmarks" / "fault_campaign.py"
CHIPS = ("bk7231t", "bk7231n")
GROUPS = (("backup", "flash", "restore"), ("stale",), ("resume",))  # what shares a data folder runs in order


def load_campaign():
    spec = importlib.util.spec_from_file_location("fault_campaign", CAMPAIGN)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def short_campaign(chip: str, ops: tuple[str, ...], folder: str, env: dict[str, str]) -> tuple[list[str], int, int]:
    """Each of ``ops`` once (seed 11, 1e-4 faults per byte) on ``chip``: (violations, first tries
    plus recoveries, runs). Run in a process of its own: ``env`` is the test's environment."""
    os.environ.update(env)
    campaign = load_campaign()
    cells = {}
    for op in ops:
        cell = cells.setdefault(op, campaign.Cell())
        for seed in (11,):
            where = Path(folder) / f"{op}-{seed}"
            where.mkdir()
            campaign.run_one(op, chip, 1e-4, seed, where, cell)
    violations = [v for cell in cells.values() for v in cell.violations]
    return violations, sum(cell.first + cell.recovered for cell in cells.values()), sum(cell.runs for cell in cells.values())


@pytest.fixture(scope="module")
def campaigns(tmp_path_factory):
    """Both chips' short campaigns, started together; each test waits for its chip's."""
    env = {
        "FREEBEKEN_DEVICES_URL": "http://127.0.0.1:9/devices.json",  # as conftest's no_public_lists
        "FREEBEKEN_CLOUDCUTTER_URL": "http://127.0.0.1:9/api",
    }
    assert sorted(op for ops in GROUPS for op in ops) == sorted(load_campaign().OPS)  # every operation, once
    pool = ProcessPoolExecutor(len(CHIPS) * len(GROUPS), mp_context=multiprocessing.get_context("spawn"))
    runs: dict[str, list[Future]] = {}
    for chip in CHIPS:
        folder = tmp_path_factory.mktemp(f"campaign-{chip}")
        home = {**env, "FREEBEKEN_HOME": str(folder / "home")}
        runs[chip] = [pool.submit(short_campaign, chip, ops, str(folder), home) for ops in GROUPS]
    yield runs
    pool.shutdown(cancel_futures=True)


@pytest.mark.slow
@pytest.mark.parametrize("chip", CHIPS)
def test_short_fault_campaign_keeps_every_invariant(campaigns, chip):
    results = [run.result(timeout=900) for run in campaigns[chip]]
    assert [v for violations, _, _ in results for v in violations] == []
    assert sum(succeeded for _, succeeded, _ in results) == sum(runs for _, _, runs in results) == len(load_campaign().OPS)
