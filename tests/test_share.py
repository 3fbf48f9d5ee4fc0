"""``freebeken backup share``: on the three real dumps and on simulated stock and OpenBeken images,
no secret is left in the shared copy (searched here independently of the code under test: every
secret field of every KV copy, raw and decrypted, as bytes, UTF-16 and hex), analyze and
bk7231tools read the same device from it, and what cannot be checked is refused without --force."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from freebeken.chips import CHIPS
from freebeken.cli.main import main
from freebeken.errors import SafetyError, UsageError
from freebeken.firmware import obkconfig
from freebeken.sim.image import build_stock_image
from freebeken.tuya import kv, share_report
from freebeken.tuya.analyze import analyze_bytes
from freebeken.tuya.builder import AOYCOCR_U3, DEVICE_KEY, KV_KEY_BLOCK, SWAP, tuya_values, write_config
from freebeken.tuya.share import share_bytes
from freebeken.tuya.share_files import share_file
from helpers import SHARED, require_shared

DUMPS = SHARED / "dumps"
REAL = ["n_cb2s_plug_mirabella_i003632.bin", "n_cb3s_4ch_relay_tywb_rf.bin", "t_wb3l_bulb_sm2135_globe_37783.bin"]
T, N = CHIPS["bk7231t"], CHIPS["bk7231n"]
SECRET_FIELDS = rb"uuid|auth_key|psk_key|psk21_key|key|lckey|id|ssid|passwd|token|reg_key"  # hs_psk, mq_psk: server URLs
FIELD = re.compile(rb'"(' + SECRET_FIELDS + rb')"\s*:\s*"([^"\x00]{5,})"')


def real(name: str) -> bytes:
    path = DUMPS / name
    require_shared(f"dumps/{name}")
    return path.read_bytes()


# ---------------------------------------------------------------- an independent look for secrets


def decrypted_views(data: bytes) -> list[bytes]:
    """The file as it is, and every sector as the KV store's keys decrypt it (the data key, the
    master key, and the inner layer of any protected block)."""
    views = [data]
    for _off, key in kv.find_key_blocks(data):
        dkey = kv.data_key(key)
        for off in range(0, len(data) - 0x1000 + 1, 0x1000):
            sector = data[off : off + 0x1000]
            views.append(kv.decrypt(dkey, sector))
            outer = kv.decrypt(kv.MASTER_KEY, sector)
            views.append(outer)
            if struct.unpack_from("<I", outer)[0] == kv.MAGIC_KEY:
                views.append(kv.decrypt(kv.data_key(outer[8:24]), outer[32:]))
    return views


def secrets_in(data: bytes, extra: list[bytes] = ()) -> set[bytes]:
    """Every value of a secret field in any decrypted view (live, older copies, free pages), the
    base64 ones decoded too, and analyze's own list."""
    found = set(extra)
    for view in decrypted_views(data):
        for m in FIELD.finditer(view):
            value = m.group(2)
            if set(value) <= set(b"x0="):
                continue
            found.add(value)
            try:
                found.add(base64.b64decode(value, validate=True).decode("utf-8").encode())
            except ValueError:
                pass
    secrets = analyze_bytes(data).as_dict(show_secrets=True)["secrets"]
    found |= {str(v).encode() for v in secrets.values() if v and len(str(v)) >= 5}
    return {s for s in found if len(s) >= 5}


def forms(secret: bytes) -> list[bytes]:
    text = secret.decode("utf-8", "replace")
    return [secret, text.encode("utf-16-le"), text.encode("utf-16-be"), secret.hex().encode(), secret.hex().upper().encode()]


def assert_no_secret(shared: bytes, secrets: set[bytes]) -> int:
    views = decrypted_views(shared)
    for secret in secrets:
        for form in forms(secret):
            assert not any(form in v for v in views), f"a secret ({len(secret)} bytes) is still in the shared file"
    return len(secrets)


def same_analysis(original: bytes, shared: bytes, hide_mac: bool = False) -> None:
    before, after = analyze_bytes(original).as_dict(), analyze_bytes(shared).as_dict()
    replaced = {"source", "secrets"} | ({"mac"} if hide_mac else set())
    for key in before:
        if key in replaced:
            continue
        if key == "openbeken" and before[key]:
            b, a = dict(before[key]), dict(after[key])
            for gone in ("wifi_ssid", "mqtt") + (("short_name", "long_name") if hide_mac else ()):
                b.pop(gone), a.pop(gone)
            assert a == b and after[key]["mqtt"]["port"] == before[key]["mqtt"]["port"]
            continue
        assert after[key] == before[key], key


def bk_storage(data: bytes) -> dict:
    """The storage step of bk7231tools' dissect_dump, in-process (the simulator's bootloader is
    not CRC-framed like a real one, so dissect_dump as a whole stops before it on those)."""
    if importlib.util.find_spec("bk7231tools") is None or importlib.util.find_spec("Crypto") is None:
        pytest.skip("bk7231tools (with pycryptodome) not installed")
    from bk7231tools.analysis.kvstorage import KEY_MASTER, KVStorage
    from Crypto.Cipher import AES

    found = KVStorage.find_storage(data)
    assert found is not None
    return KVStorage.unpack(found[1], aes=AES.new(key=KEY_MASTER, mode=AES.MODE_ECB)).read_all_values_parsed()


def dissect(tmp_path: Path, data: bytes, name: str) -> dict:
    """bk7231tools' dissect_dump on the file: it must read it whole, storage included."""
    if importlib.util.find_spec("bk7231tools") is None:
        pytest.skip("bk7231tools not installed")
    path = tmp_path / f"{name}.bin"
    path.write_bytes(data)
    out = tmp_path / f"{name}-dissected"
    out.mkdir()
    run = subprocess.run(
        [sys.executable, "-m", "bk7231tools", "dissect_dump", "-e", "-O", str(out), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-500:]
    assert "Traceback" not in run.stderr
    storage = next(out.glob("*_storage.json"))
    return json.loads(storage.read_text())


# ---------------------------------------------------------------- the real dumps


@pytest.mark.parametrize("name", REAL)
def test_real_dump_shared_without_its_secrets(name, tmp_path):
    original = real(name)
    result = share_bytes(original, name)
    assert result.safe and result.unchecked == [] and result.differences == []
    secrets = secrets_in(original)
    assert len(secrets) >= 3  # uuid, auth key, PSK at least: these dumps are factory-fresh
    assert assert_no_secret(result.data, secrets) == len(secrets)
    same_analysis(original, result.data)
    changed = [i for i in range(0, len(original), 0x1000) if original[i : i + 0x1000] != result.data[i : i + 0x1000]]
    assert changed and min(changed) >= 0x1ED000  # bootloader, application, RF calibration, UF files: byte for byte
    assert len(result.data) == len(original)
    kinds = {r["kind"] for r in result.replaced}
    assert {"Tuya uuid", "Tuya auth key", "Tuya PSK"} <= kinds
    assert any("older copy" in r["where"] for r in result.replaced)  # the swap area's copies too
    if name == "n_cb3s_4ch_relay_tywb_rf.bin":
        assert any("protected block at 0x1ED000" in r["where"] for r in result.replaced)
    # bk7231tools: the same keys, the same user_param_key, only the replaced fields differ
    before, after = dissect(tmp_path, original, "original"), dissect(tmp_path, result.data, "shared")
    assert before.keys() == after.keys()
    assert before["user_param_key"] == after["user_param_key"]
    changed_fields = {f for f in before["gw_bi"] if before["gw_bi"][f] != after["gw_bi"][f]}
    assert changed_fields == {"uuid", "auth_key", "psk_key"}
    assert {k: v for k, v in before.items() if k != "gw_bi"} == {k: v for k, v in after.items() if k != "gw_bi"}
    # the facts name the firmware as tuya-cloudcutter's list does
    catalogue = SHARED / "data" / "cloudcutter.json"
    profile = share_report.facts(result)["cloudcutter_profile"]
    if catalogue.exists():
        assert profile in json.loads(catalogue.read_text())["profiles"]


# ---------------------------------------------------------------- simulated stock and OpenBeken images


def fast_connect(ssid: bytes, password: bytes) -> bytes:
    """The Beken SDK's fast-connect record as a stock device leaves it in its NET sector."""
    sector = bytearray(b"\xff" * 0x1000)
    sector[0:33] = ssid.ljust(33, b"\x00")
    sector[0x21:0x27] = bytes.fromhex("a0b1c2d3e4f5")
    sector[0x27], sector[0x28] = 6, 3
    sector[0x29 : 0x29 + 65] = b"3f" * 32 + b"\x00"
    sector[0x6A : 0x6A + 65] = password.ljust(65, b"\x00")
    return bytes(sector)


def stock_with_everything(base: bytes | None = None) -> tuple[bytearray, list[bytes]]:
    """A T plug that was in use: cloud keys, Wi-Fi (base64, as wfb64 says), a BLE beacon key, a
    long schema (values spanning blocks), a fast-connect record, and an older Wi-Fi password
    left in the swap area. On the simulator's image, or on a real T dump's bootloader and app."""
    img = bytearray(base) if base is not None else build_stock_image(T)
    extra = {
        "gw_ai": json.dumps(
            {"key": "cloudkeyABCDEF123456", "lckey": "0a1b2c3d4e5f6a7b", "h_url": "https://a2.tuyaeu.com/d.json"}
        ).encode(),
        "ble_beaconkey": b"\x01\x02beaconkey-7788\x03",
        "000002otjf": json.dumps([{"id": i, "type": "obj", "mode": "rw"} for i in range(60)]).encode(),
    }
    write_config(img, "BK7231T", AOYCOCR_U3, seed=7, extra=extra)
    old = tuya_values(AOYCOCR_U3, "BK7231T", 7)
    wsm = {"ssid": base64.b64encode(b"OldHomeNet").decode(), "passwd": base64.b64encode(b"old-password-1").decode(), "wfb64": 1}
    old["gw_wsm"] = json.dumps(wsm).encode()
    stale = kv.encode(old, DEVICE_KEY, generation=4)
    img[SWAP : SWAP + 3 * 0x1000] = stale[0x1000 : 4 * 0x1000]
    img[T.obk_config : T.obk_config + 0x1000] = fast_connect(b"HomeWiFi", b"secretpass")
    known = [
        b"HomeWiFi",
        b"secretpass",
        b"OldHomeNet",
        b"old-password-1",
        b"cloudkeyABCDEF123456",
        b"0a1b2c3d4e5f6a7b",
        b"beaconkey-7788",
        b"3f" * 32,
    ]
    return img, known


@pytest.mark.parametrize("base", ["simulator", "real T dump"])
def test_simulated_stock_plug_in_use(base, tmp_path):
    img, known = stock_with_everything(real(REAL[2]) if base == "real T dump" else None)
    original = bytes(img)
    assert kv.read_store(original).values["user_param_key"]  # the image is what it should be
    result = share_bytes(original, "stock.bin")
    assert result.safe, result.unchecked
    secrets = secrets_in(original, known)
    assert assert_no_secret(result.data, secrets) >= 12
    same_analysis(original, result.data)
    kinds = {r["kind"] for r in result.replaced}
    assert {
        "Wi-Fi name",
        "Wi-Fi password",
        "Wi-Fi PMK",
        "router BSSID",
        "Tuya local key",
        "Tuya cloud key",
        "Tuya device id",
        "Bluetooth beacon key",
    } <= kinds
    assert bytes.fromhex("a0b1c2d3e4f5") not in result.data
    store = kv.read_store(result.data)
    assert store.warnings == [] and store.values.keys() == kv.read_store(original).values.keys()
    assert store.values["000002otjf"] == kv.read_store(original).values["000002otjf"]  # the schema is kept
    assert json.loads(store.values["gw_wsm"])["wfb64"] == 1
    before, after = bk_storage(original), bk_storage(result.data)
    assert before.keys() == after.keys() and before["user_param_key"] == after["user_param_key"]
    assert before["000002otjf"] == after["000002otjf"] and before["gw_di"].keys() == after["gw_di"].keys()
    if base == "real T dump":
        assert dissect(tmp_path, result.data, "stock-shared").keys() == before.keys()


def openbeken_image(chip=N, base: bytes | None = None) -> tuple[bytes, list[bytes], bytes]:
    img = bytearray(base) if base is not None else build_stock_image(chip)
    mac = bytes(img[chip.mac_tlv + 0x24 : chip.mac_tlv + 0x2A])
    cfg = obkconfig.defaults(chip.name, mac)
    for name, value in (
        ("wifi_ssid", "MyHomeNet"),
        ("wifi_pass", "hunter2222"),
        ("mqtt_host", "broker.home.example"),
        ("mqtt_user", "plugs-user"),
        ("mqtt_pass", "mqtt-pass-99"),
        ("web_password", "webpass77"),
        ("wifi_ssid2", "SecondNet"),
        ("wifi_pass2", "second-pass-3"),
    ):
        cfg[name] = value
    cfg.set_pins({6: (1, 1, 0), 7: (3, 1, 0), 8: (5, 1, 0)})
    cfg["startup"] = "startDriver BL0937"
    img[chip.obk_config : chip.obk_config + 0x1000] = cfg.to_sector()
    known = [
        b"MyHomeNet",
        b"hunter2222",
        b"broker.home.example",
        b"plugs-user",
        b"mqtt-pass-99",
        b"webpass77",
        b"SecondNet",
        b"second-pass-3",
    ]
    return bytes(img), known, mac


@pytest.mark.parametrize("hide_mac, base", [(False, "simulator"), (True, "simulator"), (True, "real N dump")])
def test_simulated_openbeken_plug(hide_mac, base, tmp_path):
    original, known, mac = openbeken_image(N, real(REAL[0]) if base == "real N dump" else None)
    result = share_bytes(original, "obk.bin", hide_mac=hide_mac)
    assert result.safe, result.unchecked
    secrets = secrets_in(original, known)
    assert assert_no_secret(result.data, secrets) >= 10
    same_analysis(original, result.data, hide_mac)
    shared = analyze_bytes(result.data)
    assert shared.obk["pins"] == {"6": "Rel;1", "7": "Btn;1", "8": "LED;1"} and shared.obk["crc_ok"]
    assert shared.obk["startup_command"] == "startDriver BL0937"
    cfg = obkconfig.parse(result.data[N.obk_config : N.obk_config + 0x1000])
    assert all(cfg[name] == "" for name in obkconfig.SHARE_BLANKED)
    if hide_mac:
        hexes = (mac.hex(), mac.hex().upper(), mac.hex(":").upper(), mac[2:].hex().upper())
        tail = [mac] + [h.encode() for h in hexes]
        assert not any(t in result.data for t in tail)
        assert shared.mac == mac[:3].hex(":").upper() + ":00:00:00"
        assert shared.obk["short_name"] == "obk" + mac[2:3].hex().upper() + "000000"
    else:
        assert shared.mac == mac.hex(":").upper() and mac in result.data
    assert bk_storage(result.data).keys() == bk_storage(original).keys()
    if base == "real N dump":
        dissect(tmp_path, result.data, "obk-shared")


def test_rotated_and_partial_dumps_keep_their_shape():
    img, known = stock_with_everything()
    rotated = bytes(img[0x11000:] + img[:0x11000])  # as an older tool reads a T chip
    result = share_bytes(rotated, "rotated.bin")
    assert result.safe and analyze_bytes(result.data).shape == "rotated"
    assert_no_secret(result.data, secrets_in(bytes(img), known))
    same_analysis(rotated, result.data)
    partial = bytes(img[KV_KEY_BLOCK:])  # the 72 KiB config area alone
    result = share_bytes(partial, "partial.bin")
    assert len(result.data) == len(partial) and result.safe
    assert_no_secret(result.data, secrets_in(partial, known[4:6]))


# ---------------------------------------------------------------- what cannot be checked is not shared silently


def test_unknown_net_sector_needs_force(tmp_path):
    img = build_stock_image(T)
    img[T.obk_config : T.obk_config + 0x1000] = bytes(range(256)) * 16  # neither fast-connect nor OpenBeken
    backup = tmp_path / "odd.bin"
    backup.write_bytes(bytes(img))
    with pytest.raises(SafetyError) as refused:
        share_file(backup)
    assert "NET sector at 0x1E1000" in str(refused.value) and "--force" in refused.value.hint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd.bin"]  # nothing written
    shared = share_file(backup, force=True)
    assert shared.binary.name == "odd.shared.bin" and "Could NOT be checked" in shared.report.read_text()


def test_encoded_fast_connect_record_is_erased_on_a_tuya_plug():
    """Some SDK builds keep the record encoded (3 of GUIFlashTool's 24 test dumps, 171 bytes like
    the plain ones): unreadable, so erased whole on a Tuya firmware, whose NET sector holds
    nothing else."""
    img = build_stock_image(T)
    img[T.obk_config : T.obk_config + 0xAB] = bytes((i * 37 + 11) & 0xFF for i in range(0xAB))
    result = share_bytes(bytes(img), "encoded.bin")
    assert result.safe and result.data[T.obk_config : T.obk_config + 0x1000] == b"\xff" * 0x1000
    assert any("erased whole" in r["kind"] for r in result.replaced)


def test_openbeken_file_system_needs_force_or_drop_files(tmp_path):
    original, _known, _mac = openbeken_image()
    img = bytearray(original)
    img[0x133000 + 8 : 0x133000 + 16] = b"littlefs"
    img[0x134000 : 0x134000 + 40] = b"autoexec.bat: SetupTelnet secret-token-1"
    backup = tmp_path / "obk.bin"
    backup.write_bytes(bytes(img))
    with pytest.raises(SafetyError) as refused:
        share_file(backup)
    assert "--drop-files" in refused.value.hint
    shared = share_file(backup, drop_files=True)
    data = shared.binary.read_bytes()
    assert data[0x133000:0x13B000] == b"\xff" * 0x8000 and b"secret-token-1" not in data


def test_never_over_anything_and_the_backup_untouched(tmp_path):
    backup = tmp_path / "plug.bin"
    backup.write_bytes(bytes(stock_with_everything()[0]))
    before = backup.read_bytes()
    (tmp_path / "plug.shared.bin").write_bytes(b"mine")
    shared = share_file(backup)
    assert shared.binary.name == "plug.shared-2.bin" and shared.report.name == "plug.shared-2.txt"
    assert (tmp_path / "plug.shared.bin").read_bytes() == b"mine" and backup.read_bytes() == before
    report = shared.report.read_text()
    for secret in (b"HomeWiFi", b"secretpass", b"cloudkeyABCDEF123456"):
        assert secret.decode() not in report and secret.decode() not in json.dumps(shared.as_dict())
    assert "Wi-Fi password - Beken Wi-Fi fast-connect record at 0x1E1000" in report
    assert "Chip: BK7231T" in report and "Module: WB3S" in report and "P7 Rel;1" in report
    assert "tuya-cloudcutter/tuya-cloudcutter/issues/new" in report and "nothing was sent" in report
    with pytest.raises(UsageError):
        share_file(shared.binary)  # a shared copy is not shared again


def test_cli_backup_share_and_backup_still_reads_a_chip(tmp_path):
    backup = tmp_path / "plug.bin"
    backup.write_bytes(real(REAL[0]))
    result = CliRunner().invoke(main, ["--json", "backup", "share", str(backup)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output.strip().splitlines()[-1])
    assert record["ok"] and record["shared"].endswith("plug.shared.bin") and record["unchecked"] == []
    assert {w["where"] for w in record["where_to_share"]} >= {"tuya-cloudcutter device-profile request", "OpenBeken device list"}
    text = CliRunner().invoke(main, ["backup", "share", "--hide-mac", str(backup)])
    assert text.exit_code == 0 and "Replaced" in text.output and "plug.shared-2.bin" in text.output
    helped = CliRunner().invoke(main, ["backup", "--help"])
    assert "--port" in helped.output and "share" in helped.output
    missing = CliRunner().invoke(main, ["backup"])
    assert missing.exit_code == 2 and "--port" in missing.output
    read = CliRunner().invoke(main, ["backup", "-p", "sim://bk7231n?time_scale=0", "-o", str(tmp_path / "read.bin")])
    assert read.exit_code == 0 and (tmp_path / "read.bin").stat().st_size == 0x200000
    refused = CliRunner().invoke(main, ["backup", "share", str(tmp_path / "read.bin.json")])
    assert refused.exit_code == 2  # a sidecar is not a backup


@pytest.mark.skipif(not os.environ.get("FREEBEKEN_MORE_DUMPS"), reason="set FREEBEKEN_MORE_DUMPS to a folder of real dumps")
def test_more_real_dumps():
    """Any folder of real dumps (e.g. BK7231GUIFlashTool's 24 testDumps): nothing left, nothing
    unchecked, analyze unchanged but for the replaced fields."""
    for path in sorted(Path(os.environ["FREEBEKEN_MORE_DUMPS"]).glob("*.bin")):
        original = path.read_bytes()
        result = share_bytes(original, path.name)
        assert result.safe, (path.name, result.unchecked)
        assert_no_secret(result.data, secrets_in(original))
        same_analysis(original, result.data)


# ---------------------------------------------------------------- the page's endpoint


def test_api_share(tmp_path, monkeypatch):
    import urllib.error
    import urllib.parse
    import urllib.request

    from freebeken.storage import data_dir
    from freebeken.web.server import WebServer

    monkeypatch.setenv("FREEBEKEN_HOME", str(tmp_path / "home"))
    folder = data_dir() / "backups"
    folder.mkdir(parents=True)
    backup = folder / "BK7231T-plug.bin"
    backup.write_bytes(bytes(stock_with_everything()[0]))
    odd = bytearray(build_stock_image(T))
    odd[T.obk_config : T.obk_config + 0x1000] = bytes(range(256)) * 16
    (folder / "odd.bin").write_bytes(bytes(odd))
    outside = tmp_path / "elsewhere.bin"
    outside.write_bytes(backup.read_bytes())

    with WebServer(workdir=tmp_path / "web") as web:

        def post(body, token=True):
            request = urllib.request.Request(f"http://127.0.0.1:{web.port}/api/share", json.dumps(body).encode(), method="POST")
            request.add_header("Content-Type", "application/json")
            if token:
                request.add_header("X-Freebeken-Token", web.token)
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read())

        assert post({"path": str(backup)}, token=False)[0] == 403
        status, answer = post({"path": str(outside)})
        assert status == 400 and "backups" in answer["error"]
        status, answer = post({"path": str(backup), "hideMac": True})
        assert status == 200 and answer["shared"].endswith("BK7231T-plug.shared.bin") and answer["unchecked"] == []
        assert "Wi-Fi password" in {r["kind"] for r in answer["replaced"]} and "secretpass" not in json.dumps(answer)
        assert answer["facts"]["chip"] == "BK7231T" and answer["facts"]["mac"].endswith(":00:00:00")
        assert "Device facts" in answer["text"]
        url = f"http://127.0.0.1:{web.port}/api/download?token={web.token}&path={urllib.parse.quote(answer['shared'])}"
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.read() == Path(answer["shared"]).read_bytes()
        status, answer = post({"path": str(folder / "odd.bin")})
        assert status == 409 and answer["needs_force"] and "NET sector" in answer["error"]
        assert not (folder / "odd.shared.bin").exists()
        status, answer = post({"path": str(folder / "odd.bin"), "force": True})
        assert status == 200 and answer["unchecked"]


def test_page_offers_share_on_pins_and_done(tmp_path, monkeypatch):
    """In headless Chromium: the Pins step's "Share this backup" writes the copy of this plug's
    backup and offers it, its report and the prefilled texts; the Done step has the same box."""
    import shutil

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists() or importlib.util.find_spec("playwright") is None:
        pytest.skip("Debian chromium or playwright missing: run scripts/test")
    from playwright.sync_api import sync_playwright

    from freebeken.web.chip_jobs import backup
    from freebeken.web.jobs import Job
    from freebeken.web.server import WebServer

    monkeypatch.setenv("FREEBEKEN_HOME", str(tmp_path / "home"))
    backup(f"sim://bk7231n?time_scale=0&image={tmp_path / 'n'}.bin", 5, Job("bk7231n", "backup"))
    with sync_playwright() as p, WebServer(workdir=tmp_path / "web") as web:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(web.url)
        page.click("[data-testid=plug-list] button:has-text('BK7231N')")
        page.wait_for_selector("section[data-step='pins']:not([hidden])")
        assert page.locator("section[data-step='done'] [data-testid=share-button-done]").count() == 1
        page.click("[data-testid=share-pins] summary")
        page.click("[data-testid=share-button-pins]")
        page.wait_for_selector("[data-testid=share-download]", timeout=30000)
        text = page.inner_text("[data-testid=share-result-pins]")
        assert "Tuya uuid" in text and "none is left" in text and "Device profile request" in text
        href = page.get_attribute("[data-testid=share-download]", "href")
        assert "shared.bin" in href and "token=" in href
        if importlib.util.find_spec("axe_playwright_python") is not None:  # as the page's other steps are checked
            from axe_playwright_python.sync_playwright import Axe

            violations = Axe().run(page).response["violations"]
            assert not [v["id"] for v in violations if v["impact"] in ("serious", "critical")]
        browser.close()


def test_hidden_mac_is_hidden_in_the_file_name_and_the_facts_come_from_the_label(tmp_path):
    original, _known, mac = openbeken_image()
    backup = tmp_path / f"BK7231N-TH25Q16HB-{mac.hex().upper()}-20261206-101010.bin"
    backup.write_bytes(original)
    backup.with_name(backup.name + ".json").write_text(json.dumps({"flash_id": "c86015", "flash_chip": "GD25Q16", "mac": "x"}))
    shared = share_file(backup, hide_mac=True)
    assert mac.hex().upper() not in shared.binary.name and mac[:3].hex().upper() + "000000" in shared.binary.name
    assert mac.hex().upper() not in shared.text and mac.hex(":").upper() not in shared.text
    assert "Flash JEDEC id: c86015" in shared.text and shared.as_dict()["facts"]["flash_chip"] == "GD25Q16"


def test_a_second_kv_store_is_named_not_ignored():
    img = build_stock_image(T)
    other = kv.encode({"gw_bi": b'{"uuid":"abcdefabcdef1234"}'}, bytes(range(16)), blocks=2)
    img[0x150000 : 0x150000 + len(other)] = other
    result = share_bytes(bytes(img), "two.bin")
    assert result.unchecked == ["a second Tuya KV store (key block at 0x150000) was not worked on"]
