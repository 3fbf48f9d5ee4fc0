"""Tables the simulator shares with the product, checked against a witness outside freebeken: the
real firmware's own answers and the peer tools' readers. Without these the simulator's reuse of
the product's tables would only check them against themselves."""

from __future__ import annotations

import json
import zlib

import pytest

from freebeken.firmware.ota import build_rbl, rbl_problem, rbl_version
from freebeken.templates.roles import ROLE_IDS, ROLE_NAMES
from helpers import SHARED

CAPTURE = SHARED / "reference" / "obk-captures" / "real.pins.json"


@pytest.mark.shared("reference/obk-captures/real.pins.json")
def test_the_pin_role_ids_are_the_real_firmwares():
    """/api/pins of the real OpenBeken lists every role name in id order (its htmlPinRoleNames)."""
    real = json.loads(CAPTURE.read_text())["rolenames"]
    assert real[0].strip() == "" and ROLE_NAMES[0] == "None"  # id 0: no role
    assert list(ROLE_NAMES[1:]) == real[1:]
    assert ROLE_IDS["btn_smartled"] == real.index("Btn_SmartLED")


def test_an_rbl_that_ltchiptool_writes_is_read_and_one_we_write_is_read_by_ltchiptool():
    rbl_model = pytest.importorskip("ltchiptool.soc.bk72xx.util.rbl")
    body = bytes(range(256)) * 40
    theirs = rbl_model.RBL(version="1.17.999", raw_size=len(body), timestamp=1_700_000_000)
    theirs.update(body)
    image = theirs.serialize() + body
    assert rbl_problem(image) == "" and rbl_version(image) == "1.17.999"
    damaged = image[:200] + bytes([image[200] ^ 1]) + image[201:]
    assert "damaged" in rbl_problem(damaged)

    ours = build_rbl("1.18.0", body)
    header = rbl_model.RBL.deserialize(ours[:96])
    assert (header.version, header.data_size, header.data_crc) == ("1.18.0", len(body), zlib.crc32(body))
