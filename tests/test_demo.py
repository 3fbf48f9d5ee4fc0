"""The README's first command: `freebeken demo` runs the journey on the simulators."""

import json

from click.testing import CliRunner

from freebeken.cli.main import main


def test_demo_runs_the_journey():
    result = CliRunner().invoke(main, ["--json", "demo"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    done = {r["chip"]: r for r in records if r.get("event") == "result"}
    assert set(done) == {"BK7231T", "BK7231N"}
    t = done["BK7231T"]
    assert t["verify"] == "matches" and t["flash again"].startswith("0 sectors")
    assert '"7": "Rel;1"' in t["analyze"] and t["pin finder"] == "confirms the pins it booted with"
    assert t["button test"] == "pressing the button clicks the relay"
    assert t["configure"].endswith("read back") and t["first boot"].startswith("joined 'DemoWiFi'")
