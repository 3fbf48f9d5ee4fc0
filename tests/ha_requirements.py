"""Print the pip requirements of the Home Assistant integrations the end-to-end test loads
(transitively, from their manifests). Runs inside .ha-venv; used by scripts/test."""

import json
import sys
from pathlib import Path

import homeassistant.components as components

ROOT = Path(components.__file__).parent
wanted = sys.argv[1:] or ["mqtt", "onboarding", "config", "api", "http", "auth", "frontend"]
seen: set[str] = set()
requirements: set[str] = set()
while wanted:
    name = wanted.pop()
    if name in seen or not (ROOT / name / "manifest.json").exists():
        continue
    seen.add(name)
    manifest = json.loads((ROOT / name / "manifest.json").read_text())
    requirements.update(manifest.get("requirements", []))
    wanted += manifest.get("dependencies", []) + manifest.get("after_dependencies", [])
print("\n".join(sorted(requirements)))
