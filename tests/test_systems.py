"""Windows and macOS code paths, run on this Linux machine: per-system folders, never-overwrite
without hard links, serial ports and their errors as each system names them, lock files, the
console in a code page, and no POSIX-only import outside the simulator's pty server."""

from __future__ import annotations

import ast
import errno
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

import freebeken
from freebeken import locks, storage
from freebeken.cli.main import main
from freebeken.errors import BusyError, PortError, UnsupportedError
from freebeken.events import ListReporter
from freebeken.flasher import operations as ops
from freebeken.link.ports import list_serial, open_error
from helpers import sim_flash

SRC = Path(freebeken.__file__).parent


@pytest.mark.parametrize(
    "system,env,data,cache",
    [
        (
            "win32",
            {"LOCALAPPDATA": r"C:\Users\ann\AppData\Local"},
            r"C:\Users\ann\AppData\Local/freebeken",
            r"C:\Users\ann\AppData\Local/freebeken/Cache",
        ),
        ("darwin", {}, "~/Library/Application Support/freebeken", "~/Library/Caches/freebeken"),
        ("linux", {}, "~/.local/share/freebeken", "~/.cache/freebeken"),  # where Linux data always was
        ("linux", {"XDG_DATA_HOME": "/x/data", "XDG_CACHE_HOME": "/x/cache"}, "/x/data/freebeken", "/x/cache/freebeken"),
    ],
)
def test_data_and_cache_folders_follow_each_system(monkeypatch, system, env, data, cache):
    for name in ("FREEBEKEN_HOME", "LOCALAPPDATA", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(storage.sys, "platform", system)
    home = os.path.expanduser("~")
    assert storage.data_dir() == Path(data.replace("~", home))
    assert storage.cache_dir() == Path(cache.replace("~", home))
    monkeypatch.setenv("FREEBEKEN_HOME", "/somewhere")
    assert storage.data_dir() == storage.cache_dir() == Path("/somewhere")


def test_a_backup_is_published_without_hard_links_and_still_never_overwrites(tmp_path, monkeypatch):
    """FAT/exFAT sticks and some network drives have no hard links: os.link fails there."""

    def no_links(src, dst):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(storage.os, "link", no_links)
    folder = tmp_path / "stick"
    folder.mkdir()
    with ops.open_chip(f"sim://bk7231n?time_scale=0&image={tmp_path / 'chip.bin'}", ListReporter()) as io:
        result = ops.backup(io, folder / "plug.bin")
        assert result.path.read_bytes() == sim_flash(io)
    assert not [p for p in folder.iterdir() if p.name.endswith(".part") or p.name.startswith(".")]
    source = tmp_path / "finished.part"
    source.write_bytes(b"new")
    with pytest.raises(FileExistsError):
        storage.publish(source, result.path)  # the exclusive create refuses, as the link would have
    assert result.path.read_bytes() != b"new" and source.exists()


class FakePort(SimpleNamespace):
    pass


def fake(device, hwid="USB VID:PID", vid=None, pid=None, description="n/a"):
    return FakePort(device=device, hwid=hwid, vid=vid, pid=pid, description=description)


def test_ports_are_listed_as_each_system_names_them():
    windows = [
        fake("COM10", vid=0x10C4, pid=0xEA60, description="Silicon Labs CP210x USB to UART Bridge (COM10)"),
        fake("COM3", vid=0x1A86, pid=0x7523, description="USB-SERIAL CH340 (COM3)"),
        fake("COM1", hwid="ACPI\\PNP0501", description="Communications Port (COM1)"),
    ]
    listed = list_serial(lambda: windows, "win32")
    assert [p.device for p in listed] == ["COM3", "COM10", "COM1"]  # adapters first, COM3 before COM10
    assert [p.adapter for p in listed] == ["CH340", "CP210x", None]
    mac = [
        fake("/dev/tty.usbserial-1410", vid=0x0403, pid=0x6001),
        fake("/dev/cu.usbserial-1410", vid=0x0403, pid=0x6001),
        fake("/dev/cu.Bluetooth-Incoming-Port", hwid="n/a"),
    ]
    assert [(p.device, p.adapter) for p in list_serial(lambda: mac, "darwin")] == [("/dev/cu.usbserial-1410", "FTDI FT232R")]
    linux = [fake("/dev/ttyS0", hwid="n/a"), fake("/dev/ttyUSB0", vid=0x067B, pid=0x2303, description="USB-Serial Controller")]
    [port] = list_serial(lambda: linux, "linux")
    assert port.label == "/dev/ttyUSB0 PL2303 USB-Serial Controller"


@pytest.mark.parametrize(
    "system,port,error,kind,said",
    [
        (
            "win32",
            "COM3",
            "could not open port 'COM3': PermissionError(13, 'Access is denied.', None, 5)",
            BusyError,
            "BK7231GUIFlashTool",
        ),
        (
            "win32",
            "COM9",
            "could not open port 'COM9': FileNotFoundError(2, 'The system cannot find the file specified.', None, 2)",
            PortError,
            "Device Manager",
        ),
        (
            "darwin",
            "/dev/tty.usbserial",
            "[Errno 2] could not open port /dev/tty.usbserial: [Errno 2] No such file or directory",
            PortError,
            "/dev/cu.",
        ),
        (
            "linux",
            "/dev/ttyUSB0",
            "[Errno 13] could not open port /dev/ttyUSB0: [Errno 13] Permission denied: '/dev/ttyUSB0'",
            PortError,
            "dialout",
        ),
        (
            "linux",
            "/dev/ttyUSB0",
            "Could not exclusively lock port /dev/ttyUSB0: [Errno 11] Resource temporarily unavailable",
            BusyError,
            "serial monitor",
        ),
    ],
)
def test_port_errors_say_what_they_mean_on_each_system(system, port, error, kind, said):
    e = open_error(port, Exception(error), system)
    assert type(e) is kind and said in e.hint, (e, e.hint)


def test_a_missing_port_is_named_and_the_ports_command_answers(tmp_path):
    result = CliRunner().invoke(main, ["info", "-p", str(tmp_path / "ttyUSB-none")])
    assert (
        result.exit_code == PortError.exit_code
        and "There is no serial port" in result.output
        and "freebeken ports" in result.output
    )
    result = CliRunner().invoke(main, ["--json", "ports"])
    assert result.exit_code == 0 and json.loads(result.output.strip().splitlines()[-1])["ok"]


def test_lock_files_work_through_msvcrt_on_windows(monkeypatch, tmp_path):
    taken: set[int] = set()

    class Msvcrt:
        LK_NBLCK = 2

        @staticmethod
        def locking(fd, mode, size):
            inode = os.fstat(fd).st_ino
            if inode in taken:
                raise OSError(errno.EACCES, "Permission denied")
            taken.add(inode)

    monkeypatch.setattr(locks, "fcntl", None)
    monkeypatch.setattr(locks, "msvcrt", Msvcrt, raising=False)
    held = locks.hold(tmp_path / "chip.bin", "the simulated chip")
    with pytest.raises(BusyError, match="already using the simulated chip"):
        locks.hold(tmp_path / "chip.bin", "the simulated chip")
    held.release()


def test_sim_serve_is_refused_where_there_are_no_pseudo_terminals(monkeypatch):
    from freebeken.cli import sim_cmds

    monkeypatch.setattr(sim_cmds, "PTY_AVAILABLE", False)
    result = CliRunner().invoke(main, ["sim", "serve", "--time-scale", "0"])
    assert result.exit_code == UnsupportedError.exit_code and "sim://bk7231t" in result.output


def test_output_in_a_code_page_never_crashes_and_json_stays_lossless(tmp_path):
    """Windows' old console and redirected output use cp437/cp1252: names they cannot hold are escaped."""
    template = tmp_path / "t.json"
    name = "Steckdose \u2192 K\u00fcche \u63d2\u5ea7"
    template.write_text(json.dumps({"name": name, "chip": "BK7231N", "pins": {"6": "Rel;1", "8": "Btn;1"}}), encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "cp437"}
    run = subprocess.run(
        [sys.executable, "-m", "freebeken", "template", "show", str(template)], env=env, capture_output=True, timeout=60
    )
    assert run.returncode == 0 and b"Traceback" not in run.stderr, run.stderr.decode("cp437")
    assert json.loads(run.stdout.decode("cp437"))["name"] == name


POSIX_ONLY = {"fcntl", "termios", "tty", "pty", "grp", "pwd", "resource", "posix", "syslog", "crypt"}
WINDOWS_ONLY = {"msvcrt", "winreg", "_winapi", "winsound"}


def _unguarded_imports(tree: ast.Module) -> set[str]:
    """Modules imported when the module is imported, outside a try that handles ImportError."""
    found: set[str] = set()

    def visit(nodes, guarded: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.Import) and not guarded:
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not guarded and node.module and not node.level:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Try):
                handles = any(h.type is None or "ImportError" in ast.unparse(h.type) for h in node.handlers)
                visit(node.body, guarded or handles)
                for h in node.handlers:  # the other system's branch: it runs where the first import failed
                    visit(h.body, guarded or handles)
            elif isinstance(node, ast.If):
                visit(node.body, guarded)
                visit(node.orelse, guarded)

    visit(tree.body, False)
    return found


def test_no_module_outside_the_pty_server_imports_a_system_only_module():
    offenders = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel in ("sim/pty.py", "sim/shim/sitecustomize.py"):
            continue  # Linux/macOS only by nature, and imported only by `sim serve` (refused elsewhere)
        bad = _unguarded_imports(ast.parse(path.read_text(encoding="utf-8"))) & (POSIX_ONLY | WINDOWS_ONLY)
        if bad:
            offenders[rel] = bad
    assert not offenders, offenders
    assert (
        "freebeken.sim.pty"
        not in subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys, freebeken.cli.main, freebeken.flasher.operations, freebeken.web.app; print(sorted(sys.modules))",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    )
