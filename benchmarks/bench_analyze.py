"""Time `analyze` on 2 MiB dumps (target < 0.5 s each). Run: .venv/bin/python benchmarks/bench_analyze.py"""

from __future__ import annotations

import time
from pathlib import Path

from freebeken.chips import BK7231N, BK7231T
from freebeken.sim.image import build_stock_image
from freebeken.tuya.analyze import analyze_bytes

DUMPS = Path(__file__).resolve().parents[2] / "shared" / "dumps"


def timed(data: bytes, name: str, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        analyze_bytes(data, name)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    inputs = {f"synthetic {c.name}": bytes(build_stock_image(c)) for c in (BK7231T, BK7231N)}
    only_app = {"module": "CB2S", "rl1_pin": 6, "rl1_lv": 1, "bt1_pin": 7, "bt1_lv": 0, "crc": 1}
    # the slow path: no stored config, so the application is decrypted to find its built-in one
    inputs["synthetic BK7231N, config only in the app"] = bytes(build_stock_image(BK7231N, builtin=only_app, stored=False))
    for path in sorted(DUMPS.glob("*.bin")) if DUMPS.exists() else []:
        inputs[path.name] = path.read_bytes()
    print("| dump | analyze (best of 5) |\n|---|---:|")
    for name, data in inputs.items():
        print(f"| {name} | {timed(data, name) * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
