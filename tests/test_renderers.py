"""Issue 34 §4: every renderer of user text survives every string JSON can hold - lone surrogate
escapes ("\\ud800") included - with output a file, terminal or URL can carry (no traceback)."""

from __future__ import annotations

import json

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from freebeken.cli.main import main
from freebeken.cli.render import RichReporter, shown
from freebeken.events import Event
from freebeken.templates import submit as sub
from freebeken.templates.model import PinRole, Template

# any code point a JSON string can carry, with lone surrogates and brackets made frequent
CHARS = st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr), st.sampled_from("[]/\\\"'\n\x00"))
# as JSON holds them: an escaped high+low pair is read as one character, so it is one here too
TEXT = st.text(CHARS, max_size=12).map(lambda s: json.loads(json.dumps(s)))
DEVICES = json.dumps({"devices": [{"name": "Plug", "chip": "BK7231N", "pins": {"6": "Rel;1"}}]}, indent=2) + "\n"


def carried(text: str) -> bool:
    text.encode("utf-8")  # raises on a lone surrogate
    return True


templates = st.builds(
    Template,
    vendor=TEXT,
    name=TEXT,
    model=TEXT,
    chip=TEXT,
    board=TEXT,
    command=TEXT,
    keywords=st.lists(TEXT, max_size=2),
    pins=st.dictionaries(st.integers(0, 28), st.builds(PinRole, TEXT, st.integers(0, 64)), max_size=2),
)


@settings(max_examples=150, deadline=None)
@given(t=templates, title=TEXT, differences=st.lists(TEXT, max_size=2))
def test_submit_renderers_carry_any_json_string(t, title, differences):
    text = sub.fragment(t)
    assert carried(text) and json.loads(text) == t.to_entry()  # the escape is the same JSON value
    assert carried(sub.issue_link(t)) and carried(sub.update_link(t, title, differences))
    assert carried(sub.patch(t, DEVICES)) and json.loads(sub.patch_text(t, DEVICES))["devices"][-1] == t.to_entry()
    assert carried(sub.update_patch(t, DEVICES, 0)) and carried(sub.slug(t))
    assert carried(sub.printable("\n".join(t.backlog())))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=st.dictionaries(st.sampled_from(["vendor", "name", "model", "chip", "board", "command", "wiki"]), TEXT),
    pins=st.dictionaries(st.sampled_from(["6", "7", "x"]), TEXT, max_size=2),
    keywords=st.lists(TEXT, max_size=2),
)
def test_template_commands_survive_any_json_string(tmp_path_factory, fields, pins, keywords):
    folder = tmp_path_factory.mktemp("t")
    entry = {**fields, "keywords": keywords, "pins": {"8": "Rel;1", **pins}}
    path = folder / "t.json"
    path.write_text(json.dumps(entry))  # ensure_ascii: a lone surrogate is stored as its \ud800 escape
    devices = folder / "devices.json"
    devices.write_text(DEVICES)
    runner = CliRunner()
    for args in (
        ["template", "show", str(path)],
        ["template", "show", "--as", "backlog", str(path)],
        ["template", "show", "--as", "json", str(path)],
        ["template", "check", str(path)],
        ["template", "submit", str(path), "--devices-json", str(devices), "-d", str(folder / "out")],
    ):
        result = runner.invoke(main, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.output)
        assert result.exit_code in (0, 2), (args, result.output)
        assert carried(result.output)


@settings(max_examples=150, deadline=None)
@given(message=TEXT)
def test_progress_messages_are_printed_literally(message):
    from io import StringIO

    from rich.console import Console

    out = StringIO()
    reporter = RichReporter(Console(file=out, width=200))
    for kind in ("phase", "info", "warning"):
        reporter.emit(Event(kind, message))
    reporter.close()
    assert carried(out.getvalue()) and carried(shown(message))
    assert shown("a[/]b [bold]x") == "a\\[/]b \\[bold]x"
