"""One exception hierarchy: every exit code freebeken can end with is defined in errors.py and
documented in the README's table, and no other module defines one."""

from __future__ import annotations

import re
from pathlib import Path

import freebeken.errors as errors

ROOT = Path(__file__).resolve().parents[1]


def test_every_exit_code_lives_in_errors_py_and_the_readme():
    defined = {c.exit_code for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.FreebekenError)}
    table = ROOT.joinpath("README.md").read_text().split("### Exit codes", 1)[1].split("###", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.M)}
    assert defined | {0} == documented
    elsewhere = [
        p
        for p in ROOT.joinpath("src", "freebeken").rglob("*.py")
        if p.name != "errors.py" and re.search(r"^\s+exit_code\s*=", p.read_text(), re.M)
    ]
    assert elsewhere == []


def test_a_refused_login_and_an_absent_broker_are_told_apart_by_type():
    assert issubclass(errors.BrokerAuthError, errors.BrokerError) and issubclass(errors.BrokerUnreachable, errors.BrokerError)
    assert errors.BrokerAuthError("x").exit_code == errors.BrokerUnreachable("x").exit_code == 10
