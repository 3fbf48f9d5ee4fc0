"""The link doctor: each wiring fault of the simulator gives its own diagnosis, and `info`,
`backup` and `doctor` say it (exit 4) instead of "the bootloader did not answer"."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from freebeken.cli.main import main
from freebeken.errors import LinkError, UsageError
from freebeken.events import ListReporter
from freebeken.link import Session, link, open_port
from freebeken.link.doctor import diagnose, text_share, tuya_mcu_frames
from freebeken.sim.config import SimConfig

CASES = [
    ("dead=1", "silent"),
    ("power=off", "silent"),
    ("wiring=swapped", "silent"),
    ("wiring=echo", "echo"),
    ("wiring=tx2", "tx2"),
    ("wiring=badground", "garbage"),
    ("mcu_chatter=9600", "tuya_mcu"),
    ("mcu_chatter=115200", "tuya_mcu"),
    ("reset=unwired&console=0", "reset_missed"),
    ("wiring=ok", "linked"),
]


@pytest.mark.parametrize("faults,code", CASES)
def test_each_wiring_fault_has_its_own_diagnosis(faults, code):
    # a chatty firmware (a log line every 0.1 s) lets the doctor listen for 0.4 s instead of 1.2
    session = Session(open_port(f"sim://bk7231t?time_scale=0&noise_period=0.1&{faults}"))
    time.sleep(0.4)  # the plug was already running: its power-on window has passed
    try:
        try:
            link(session, ListReporter(), timeout=1.0)
            linked = True
        except LinkError:
            linked = False
        assert linked == (code == "linked")
        found = diagnose(session, listen=0.4)
    finally:
        session.port.close()
    assert found.code == code, found.evidence
    assert found.advice and found.evidence


def test_on_a_good_line_the_doctor_confirms_instead_of_inventing_a_fault():
    session = Session(open_port("sim://bk7231n?time_scale=0"))
    time.sleep(0.4)
    try:
        assert diagnose(session).code == "linked"
    finally:
        session.port.close()


def test_info_names_the_cause_not_just_the_silence():
    runner = CliRunner()
    result = runner.invoke(main, ["info", "-p", "sim://bk7231t?time_scale=0&wiring=tx2", "-t", "1"])
    assert result.exit_code == LinkError.exit_code
    assert "TX2" in result.output and "P11" in result.output and "freebeken doctor" in result.output
    result = runner.invoke(main, ["--json", "backup", "-p", "sim://bk7231n?time_scale=0&mcu_chatter=9600", "-t", "1"])
    record = json.loads(result.output.strip().splitlines()[-1])
    assert record["exit_code"] == LinkError.exit_code and "TuyaMCU" in record["error"] and "MCU" in record["hint"]


def test_doctor_reports_the_fastest_rate_that_carries_a_proven_read():
    runner = CliRunner()
    result = runner.invoke(main, ["--json", "doctor", "-p", "sim://bk7231n?time_scale=0"])
    record = json.loads(result.output.strip().splitlines()[-1])
    assert result.exit_code == 0 and record["ok"] and record["chip"] == "BK7231N"
    assert record["best_rate"] == 2000000 and all(record["rates"].values())
    # an adapter that garbles everything above 115200: the doctor says so and what helps
    result = runner.invoke(main, ["doctor", "-p", "sim://bk7231t?time_scale=0&corrupt=0.3&noisy_above=115200"])
    assert result.exit_code == 0, result.output
    assert "Best rate: 115200" in result.output and "Only 115200 baud works of those tried" in result.output


def test_doctor_on_a_silent_line_exits_4_with_the_advice():
    result = CliRunner().invoke(main, ["doctor", "-p", "sim://bk7231t?time_scale=0&wiring=swapped", "-t", "1"])
    assert result.exit_code == LinkError.exit_code
    assert "Nothing arrives" in result.output and "swapping TX and RX" in result.output


def test_line_classifiers():
    assert tuya_mcu_frames(bytes.fromhex("55aa00000000ff") * 2 + b"junk") == 2
    assert tuya_mcu_frames(bytes.fromhex("55aa00000000fe")) == 0  # checksum wrong
    assert tuya_mcu_frames(bytes.fromhex("55aa030700050101000100") + b"") == 0  # truncated
    assert text_share(b"hello\r\n") == 1.0 and text_share(b"\xff\x80") == 0.0


@pytest.mark.parametrize("url", ["sim://bk7231t?wiring=crossed", "sim://bk7231t?reset=maybe", "sim://bk7231t?power=dim"])
def test_bad_wiring_options_are_usage_errors(url):
    with pytest.raises(UsageError):
        SimConfig.from_url(url)


def test_with_no_reset_the_doctor_leaves_rts_alone():
    session = Session(open_port("sim://bk7231t?time_scale=0&wiring=tx2"))
    time.sleep(0.4)
    try:
        resets = session.port.line.resets
        found = diagnose(session, reset=False)
        assert session.port.line.resets == resets  # RTS untouched: no reset happened
    finally:
        session.port.close()
    assert found.code == "reset_missed" and "by hand" in " ".join(found.evidence)


def test_doctor_tests_one_rate_when_asked():
    result = CliRunner().invoke(main, ["--json", "doctor", "-p", "sim://bk7231n?time_scale=0&adapter=cp2102", "-b", "1500000"])
    record = json.loads(result.output.strip().splitlines()[-1])
    assert record["rates"] == {"1500000": False} and record["best_rate"] == 115200
