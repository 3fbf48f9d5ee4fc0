"""``freebeken template match|roles`` and ``freebeken lookup``: what the community already knows."""

from __future__ import annotations

import click
from rich.markup import escape

from ..chips import CHIPS
from ..templates import known as kn
from ..templates import lists
from ..templates.files import load_template_file
from ..templates.roles import ROLE_NAMES, meaning, suggest, takes_channel
from .base import Context, command_errors

DEVICES_HELP = "OpenBeken's devices.json to use (default: a copy downloaded from its home, refreshed weekly)."
CUTTER_HELP = "tuya-cloudcutter's list to use (default: downloaded from its public API, refreshed weekly)."


@click.command("match")
@click.argument("file")
@click.option("--devices-json", help=DEVICES_HELP)
@click.pass_obj
@command_errors
def match_cmd(ctx: Context, file: str, devices_json: str | None) -> None:
    """Is this template (or backup, or analyze result) already in OpenBeken's device list?"""
    mine = load_template_file(file)
    matches = kn.match(mine, lists.devices(devices_json, ctx.reporter))
    ctx.reporter.close()
    if ctx.json:
        ctx.result(
            {
                "ok": True,
                "matches": [
                    {
                        "index": m.known.index,
                        "title": m.known.title,
                        "identical": m.identical,
                        "differences": m.differences,
                        "entry": m.known.template.to_entry(),
                    }
                    for m in matches
                ],
            }
        )
        return
    if not matches:
        ctx.console.print("Not in the list: no entry has these pins. `freebeken template submit` prepares one.")
    for m in matches[:10]:
        mark = "[green]identical[/]" if m.identical else "[yellow]close[/]"
        ctx.console.print(f"  {mark}  {escape(m.known.title)} ({m.known.template.chip or '?'}, entry {m.known.index})")
        for d in m.differences:
            ctx.console.print(f"           - {escape(d)}")


@click.command("roles")
@click.argument("name", required=False)
@click.pass_obj
@command_errors
def roles_cmd(ctx: Context, name: str | None) -> None:
    """Every pin role the firmware knows, what it does and whether it takes a channel (or the nearest to NAME)."""
    names = list(ROLE_NAMES[1:])
    if name:
        found = suggest(name)
        if found is None:
            from ..errors import UsageError

            raise UsageError(
                f"{name!r} is no role OpenBeken knows, and none is close", hint="`freebeken template roles` lists them all."
            )
        if found.lower() != name.strip().lower() and not ctx.json:
            ctx.console.print(f"{escape(name)!r} is not a role; the nearest is [bold]{found}[/]")
        names = [found]
    rows = [{"role": r, "channel": takes_channel(r), "meaning": meaning(r)} for r in names]  # for --json
    if ctx.json:
        ctx.result({"ok": True, "roles": rows})
        return
    for r in names:
        ctx.console.print(f"  {r:22} {'ch ' if takes_channel(r) else '   '} {escape(meaning(r))}")


@click.command("lookup")
@click.argument("text", nargs=-1, required=True)
@click.option("--firmware", "version", help="The firmware version the Tuya / Smart Life app shows, e.g. 1.1.8.")
@click.option("--chip", type=click.Choice(list(CHIPS), case_sensitive=False), help="The chip, if known.")
@click.option("--devices-json", help=DEVICES_HELP)
@click.option("--cloudcutter", "cutter_file", help=CUTTER_HELP)
@click.pass_obj
@command_errors
def lookup(
    ctx: Context, text: tuple[str, ...], version: str | None, chip: str | None, devices_json: str | None, cutter_file: str | None
) -> None:
    """Has someone done this plug already, and can it be converted without opening it?"""
    query = " ".join(text)
    record = lists.lookup(query, version, chip, devices_json, cutter_file, ctx.reporter)
    ctx.reporter.close()
    if ctx.json:
        ctx.result({"ok": True, **record})
        return
    c = ctx.console
    obk_hits, cc_hits, firmware = record["openbeken"], record["cloudcutter"], record["firmware_profiles"]
    missing = {u["list"]: u for u in record["unavailable"]}
    for name, u in missing.items():
        c.print(f"[yellow]{escape(name)} not checked[/]: {escape(u['error'])} {escape(u['hint'] or '')}")
    if "OpenBeken device list" not in missing:
        plural = "es" if len(obk_hits) != 1 else ""
        c.print(f"[bold]OpenBeken device list[/]: {len(obk_hits)} match{plural} for {escape(query)!r}")
    for hit in obk_hits:
        c.print(f"  {escape(hit['title'])} ({hit['chip'] or '?'}): {escape(hit['pins'])}")
        if hit["wiki"]:
            c.print(f"    wiki: {escape(hit['wiki'])}", soft_wrap=True)
    if "tuya-cloudcutter" not in missing:
        plural = "es" if len(cc_hits) != 1 else ""
        c.print(f"[bold]tuya-cloudcutter[/] (over the air, no soldering): {len(cc_hits)} match{plural}")
    for hit in cc_hits:
        c.print(f"  {escape(hit['title'])}: {escape(hit['no_solder'])}")
    if record["firmware_answer"]:
        c.print(escape(record["firmware_answer"]))
        for p in firmware[:10]:
            c.print(f"  {escape(p)}")
