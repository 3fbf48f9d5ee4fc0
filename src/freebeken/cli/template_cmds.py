"""``freebeken analyze`` and ``freebeken template check|show|new|submit``."""

from __future__ import annotations

import json
import sys
import webbrowser
from pathlib import Path

import click
from rich.markup import escape

from .. import events
from ..errors import ListError, UsageError
from ..templates import lists
from ..templates import submit as sub
from ..templates.files import load_template_file, read_input
from ..templates.model import Template, from_entry, load
from ..tuya.analyze import analyze_bytes, unnamed_profiles
from . import known_cmds
from .base import Context, command_errors


def _profile_chips(data: bytes, cutter_file: str | None, ctx: Context) -> dict[str, str]:
    """For a cloudcutter device file whose profile names hide the chip: the chips cloudcutter's profile
    list reads from those firmwares. Without the list the module name decides (said as a warning)."""
    if not unnamed_profiles(data):
        return {}
    try:
        catalogue = lists.cutter(cutter_file, ctx.reporter)
    except ListError as e:
        events.warning(ctx.reporter, f"{e}; the chip is judged from the module name alone")
        return {}
    return {slug: p.chip for slug, p in catalogue.profiles.items() if p.chip != "?"}


@click.command()
@click.argument("file")
@click.option("--show-secrets", is_flag=True, help="Include Wi-Fi password, local key and other secrets.")
@click.option("--devices-json", help="OpenBeken's devices.json to look the pins up in (default: the downloaded copy).")
@click.option("--cloudcutter", "cutter_file", help=known_cmds.CUTTER_HELP + " Read only for a profile whose name hides its chip.")
@click.pass_obj
@command_errors
def analyze(ctx: Context, file: str, show_secrets: bool, devices_json: str | None, cutter_file: str | None) -> None:
    """Read a backup (or a Tuya config JSON): chip, firmware, the OpenBeken pin template, and
    whether the device list already knows it."""
    data = read_input(file)
    analysis = analyze_bytes(data, file, _profile_chips(data, cutter_file, ctx))
    result = analysis.as_dict(show_secrets)
    best = (
        lists.best_match(analysis.template, devices_json, ctx.reporter) if analysis.template and analysis.template.pins else None
    )
    ctx.reporter.close()
    result["known_as"] = (
        {"title": best.known.title, "identical": best.identical, "differences": best.differences} if best else None
    )
    if ctx.json:
        ctx.result({"ok": True, **result})
        return
    c = ctx.console
    c.print(f"[bold]{escape(file)}[/] ({result['kind']}{', ' + result['shape'] if result['shape'] else ''})")
    firmware = result["firmware"]
    rows = [
        (
            "Chip",
            f"{result['chip'] or 'unknown'}" + (f"  ({'; '.join(result['chip_evidence'])})" if result["chip_evidence"] else ""),
        ),
        (
            "Bootloader",
            f"{result['bootloader']['name'] or 'unknown'} (CRC {result['bootloader']['crc32']})"
            if result["bootloader"]["crc32"]
            else None,
        ),
        (
            "Firmware",
            " ".join(str(v) for v in (firmware.get("kind"), firmware.get("tuya_version") or firmware.get("app_version")) if v)
            or None,
        ),
        ("MAC", result["mac"]),
        ("Tuya module", result["module"]),
        ("Config found in", result["config_source"]),
    ]
    for label, value in rows:
        if value:
            c.print(f"  [bold]{label:16}[/] {escape(str(value))}")
    if result["layout"]:
        c.print("  [bold]Layout[/]           " + ", ".join(f"{k} {v}" for k, v in result["layout"].items()))
    if result["template"]:
        c.print("\n[bold]OpenBeken template[/]")
        for pin, role in result["template"]["pins"].items():
            level = result["levels"].get(pin, "")
            c.print(f"  P{pin:<3} {role:18} {level}")
        if result["template"].get("command"):
            c.print(f"  startup command: {escape(result['template']['command'])!r}")
        for driver in result["drivers"]:
            c.print(f"  driver: {escape(driver)}")
    if best:
        c.print(f"  [bold]known as[/]: {escape(best.describe())}")
    if result["openbeken"]:
        obk = result["openbeken"]
        c.print(f"\n[bold]OpenBeken configuration[/] ({obk['long_name']}): pins {obk['pins']}, MQTT {obk['mqtt']}")
    for title, items in (("Check", result["notes"]), ("Not mapped", result["unmapped"]), ("Warnings", result["warnings"])):
        for item in items:
            c.print(f"  [yellow]{title}:[/] {escape(item)}")
    if result["secrets"].get("hidden"):
        c.print(f"  [dim]{len(result['secrets']['hidden'])} secrets hidden (--show-secrets shows them)[/]")
    elif result["secrets"]:
        for key, value in result["secrets"].items():
            c.print(f"  [red]secret[/] {key}: {escape(str(value))}")


@click.group()
def template() -> None:
    """Check, show, create and submit OpenBeken device templates (devices.json entries)."""


@template.command()
@click.argument("file")
@click.pass_obj
@command_errors
def check(ctx: Context, file: str) -> None:
    """Validate one entry or a whole devices.json; exit code 2 if anything would be rejected."""
    results = load(read_input(file).decode("utf-8", "replace"), file)
    problems = [p for _, ps in results for p in ps]
    errors = [p for p in problems if p.severity == "error"]
    if ctx.json:
        ctx.result({"ok": not errors, "templates": len(results), "problems": [p.__dict__ for p in problems]})
    else:
        for p in problems:
            colour = "red" if p.severity == "error" else "yellow"
            ctx.console.print(f"[{colour}]{p.severity}[/] {escape(p.where)}: {escape(p.message)}")
        ctx.console.print(f"{len(results)} template(s): {len(errors)} error(s), {len(problems) - len(errors)} warning(s)")
    if errors:
        sys.exit(2)


@template.command()
@click.argument("file")
@click.option(
    "--as",
    "form",
    type=click.Choice(["backlog", "json", "devices-entry"]),
    default="devices-entry",
    show_default=True,
    help="Console commands, plain JSON, or a devices.json entry.",
)
@click.option("--no-wipe", is_flag=True, help="backlog: leave out the ClearIO/lfs_format/stopDriver wipe.")
@click.pass_obj
@command_errors
def show(ctx: Context, file: str, form: str, no_wipe: bool) -> None:
    """Print a template (file, devices.json entry, analyze --json output or a backup)."""
    t = load_template_file(file)
    if form == "backlog":
        click.echo(sub.printable("\n".join(t.backlog(wipe=not no_wipe))))
    elif form == "json":
        click.echo(json.dumps({"pins": t.to_entry()["pins"], "flags": t.flags, "command": t.command}, indent=2))
    else:
        click.echo(sub.fragment(t))


@template.command()
@click.option("--from", "source", help="A backup, or analyze --json output, to start from.")
@click.option("--vendor", default="", help="Brand on the box, e.g. Aoycocr.")
@click.option("--name", default="", help='Product name, e.g. "UK Smart Plug".')
@click.option("--model", default="", help="Model number, e.g. U3.")
@click.option("--chip", default="", help="BK7231T or BK7231N (default: from the backup).")
@click.option("--board", default="", help="The Tuya module, e.g. WB2S (default: from the backup).")
@click.option("--keyword", "keywords", multiple=True, help="A search word for the device list (repeatable).")
@click.option("--pin", "pins", multiple=True, help="GPIO=Role;channel, e.g. --pin '7=Rel;1'. Repeatable.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the template here instead of printing it."
)
@click.pass_obj
@command_errors
def new(
    ctx: Context, source: str | None, output: Path | None, pins: tuple[str, ...], keywords: tuple[str, ...], **fields: str
) -> None:
    """Make a devices.json entry from a backup or from flags; it is validated before it is written."""
    t = load_template_file(source) if source else Template()
    for key, value in fields.items():
        if value:
            setattr(t, key, value)
    if keywords:
        t.keywords = list(keywords)
    entry = t.to_entry()
    for spec in pins:
        pin, sep, role = spec.partition("=")
        if not sep:
            raise UsageError(f"--pin {spec!r}: expected GPIO=Role;channel")
        entry["pins"][pin.strip()] = role.strip()
    t, problems = from_entry(entry)
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        ctx.console.print(
            f"[{'red' if p.severity == 'error' else 'yellow'}]{p.severity}[/] {escape(p.where)}: {escape(p.message)}",
            highlight=False,
        )
    if errors:
        raise UsageError("The template has errors (listed above); nothing written")
    text = sub.fragment(t)
    if output:
        if output.exists():
            raise UsageError(f"{output} already exists")
        output.write_text(text + "\n")
        ctx.console.print(f"written: {output}")
    else:
        click.echo(text)


@template.command()
@click.argument("file")
@click.option(
    "--devices-json", type=click.Path(exists=True, dir_okay=False), help="A local devices.json to make a patch against."
)
@click.option("--open", "open_browser", is_flag=True, help="Open the prefilled issue page in the browser.")
@click.option(
    "-d",
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder for the devices.json fragment (and patch).",
)
@click.pass_obj
@command_errors
def submit(ctx: Context, file: str, devices_json: str | None, open_browser: bool, folder: Path) -> None:
    """Prepare a template for the OpenBeken device list, no git needed. Nothing is sent."""
    t = load_template_file(file)
    problems = from_entry(t.to_entry())[1]
    if any(p.severity == "error" for p in problems):
        raise UsageError("The template has errors; run `freebeken template check` first")
    best = lists.best_match(t, devices_json, ctx.reporter)
    ctx.reporter.close()
    if best is not None and best.identical:  # identical includes the chip (another chip is a difference)
        raise UsageError(
            f"The device list already has these pins: {best.known.title} (entry {best.known.index})",
            hint="Nothing to submit. If it is another product with the same board, add its name to that "
            "entry's keywords in an issue instead.",
        )
    folder.mkdir(parents=True, exist_ok=True)
    name = sub.slug(t)
    written = []
    other_chip = (
        best is not None and bool(t.chip and best.known.template.chip) and t.chip.upper() != best.known.template.chip.upper()
    )
    update = best if best is not None and not best.identical and not other_chip else None  # another chip: a new entry
    if update is not None:  # the same device, known slightly differently: change that entry
        link = sub.update_link(t, update.known.title, update.differences)
        if devices_json:
            written.append(folder / f"{name}.update.patch")
            written[0].write_text(sub.update_patch(t, Path(devices_json).read_text(), update.known.index))
        intro = (
            f"This is close to the list's {update.known.title!r} ({'; '.join(update.differences)}): the link proposes "
            "to update that entry rather than add a new one."
        )
    else:
        written.append(folder / f"{name}.devices-entry.json")
        written[0].write_text(sub.fragment(t) + "\n")
        if devices_json:
            written.append(folder / f"{name}.patch")
            written[1].write_text(sub.patch(t, Path(devices_json).read_text()))
        link, intro = sub.issue_link(t), ""
    if ctx.json:
        ctx.result(
            {
                "ok": True,
                "issue_link": link,
                "files": [str(p) for p in written],
                "updates": update.known.title if update else None,
            }
        )
    else:
        if intro:
            ctx.console.print(escape(intro))
        ctx.console.print("Open this link, check the text, and press 'Submit new issue':")
        click.echo(link)
        for path in written:
            ctx.console.print(f"written: {path}")
    if open_browser:
        webbrowser.open(link)


template.add_command(known_cmds.match_cmd)
template.add_command(known_cmds.roles_cmd)
