"""Fleet scale on one computer: a real mosquitto and N simulated OpenBeken devices on 127.0.0.1,
then `fleet list`, `fleet backup` of all and `fleet update` of all with verification, for
N = 25, 50, 100, 200 (goal at 200: list < 5 s, backup < 30 s; update bounded by the parallelism).

The devices keep firmware time (MQTT pacing, a 5 s reboot): time scale 1, unless --time-scale.
Run: .venv/bin/python benchmarks/bench_fleet.py [--sizes 25,50,100,200] [--parallel 16]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from helpers import Mosquitto  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="25,50,100,200")
    parser.add_argument("--parallel", type=int, default=16)
    parser.add_argument("--reboot-wait", type=float, default=120.0)
    parser.add_argument("--time-scale", type=float, default=1.0, help="firmware seconds per second (1 = a plug's pace)")
    args = parser.parse_args()
    os.environ["FREEBEKEN_SIM_TIME_SCALE"] = str(args.time_scale)
    os.environ["FREEBEKEN_HOME"] = tempfile.mkdtemp(prefix="bench-fleet-")

    from freebeken.device.client import ObkClient
    from freebeken.device.config import apply_template
    from freebeken.firmware.ota import build_rbl, read_ota
    from freebeken.fleet.backup import backup_fleet
    from freebeken.fleet.inventory import inventory
    from freebeken.fleet.update import update_fleet
    from freebeken.ha.broker import Broker, Session
    from freebeken.sim.obk.board import board
    from freebeken.sim.obk.device import ObkDevice
    from freebeken.sim.obk.server import DeviceServer
    from freebeken.templates.model import PinRole, Template

    image = read_ota("OpenBK7231N_1.18.0.rbl", build_rbl("1.18.0", os.urandom(600_000)))  # an OTA image's size
    template = Template(pins={7: PinRole("Rel", 1), 8: PinRole("Btn", 1), 1: PinRole("LED_n", 1)})
    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        folder = Path(tempfile.mkdtemp(prefix="bench-broker-"))
        broker = Mosquitto(folder)
        servers: list[DeviceServer] = []
        try:
            t0 = time.perf_counter()
            for i in range(n):
                dev = ObkDevice(board("u3"), chipset="BK7231N", mac=f"c8478c{i:06x}", short_name=f"plug{i}")
                dev.mqtt.update(host="127.0.0.1", port=broker.port, client=f"plug{i}", user="", password="")
                server = DeviceServer(dev, advertise_port=True).start()
                apply_template(ObkClient(server.address), template)
                servers.append(server)
            with Session(Broker("127.0.0.1", broker.port)) as watch:
                watch.subscribe("+/connected")
                deadline = time.monotonic() + 60
                while sum(1 for t, p, _ in watch.messages if p == b"online") < n and time.monotonic() < deadline:
                    time.sleep(0.1)
            started = time.perf_counter() - t0
            b = Broker("127.0.0.1", broker.port)
            t = time.perf_counter()
            devices = inventory(b, wait=10)
            t_list = time.perf_counter() - t
            answered = sum(d.answered for d in devices)
            t = time.perf_counter()
            saved = backup_fleet(devices, parallel=32)
            t_backup = time.perf_counter() - t
            with Session(b) as session:
                t = time.perf_counter()
                report = update_fleet(session, devices, {"BK7231N": image}, parallel=args.parallel, reboot_wait=args.reboot_wait)
                for d in report.devices:
                    if d.outcome != "updated":
                        print("  not updated:", d.client, d.outcome, d.why, flush=True)
                        break
                t_update = time.perf_counter() - t
            rows.append(
                (
                    n,
                    started,
                    t_list,
                    answered,
                    t_backup,
                    len(saved.saved),
                    t_update,
                    report.count("updated"),
                    report.count("failed") + report.count("not started"),
                )
            )
            print(
                f"{n} devices: list {t_list:.2f} s ({answered} answered), backup {t_backup:.2f} s ({len(saved.saved)}), "
                f"update {t_update:.1f} s ({report.count('updated')} verified)",
                flush=True,
            )
        finally:
            stoppers = [threading.Thread(target=s.stop) for s in servers]
            for th in stoppers:
                th.start()
            for th in stoppers:
                th.join()
            broker.stop()
    print()
    print(
        f"| devices | start-up | fleet list | answered | fleet backup | saved | fleet update (parallel {args.parallel}) | verified | not done |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n, started, t_list, answered, t_backup, saved, t_update, updated, bad in rows:
        print(
            f"| {n} | {started:.1f} s | {t_list:.2f} s | {answered} | {t_backup:.2f} s | {saved} | {t_update:.1f} s | {updated} | {bad} |"
        )


if __name__ == "__main__":
    main()
