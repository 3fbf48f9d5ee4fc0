"""``freebeken sim ...``: run the built-in simulators for other tools."""

from __future__ import annotations

import os
from urllib.parse import urlencode

import click

from ..chips import CHIPS
from ..device.discover import normalize_mac
from ..errors import UnsupportedError, UsageError
from ..firmware import obkconfig
from ..sim.config import SimConfig, save_image
from ..sim.families import CHIPS as FAMILY_CHIPS
from .base import Context, command_errors, serve_until_stopped

PTY_AVAILABLE = os.name == "posix"


def device_mac(text: str | None) -> bytes:
    """``--mac``, or a new MAC (Tuya's C8:47:8C prefix): two simulated devices never look like one."""
    return bytes.fromhex(normalize_mac(text) if text else "c8478c" + os.urandom(3).hex())


@click.group()
def sim() -> None:
    """Built-in simulators: the chip's bootloader on a pty, and an OpenBeken device."""


@sim.command()
@click.option(
    "--chip",
    type=click.Choice([*CHIPS, *FAMILY_CHIPS], case_sensitive=False),
    default="bk7231t",
    show_default=True,
    help="Which chip to simulate (rtl8720cf, ln882h: in download mode, as with the boot pin held).",
)
@click.option("--image", type=click.Path(dir_okay=False), help="Flash image file (created if absent, updated live).")
@click.option("--time-scale", type=float, default=1.0, show_default=True, help="1 = real timing, 0 = instant.")
@click.option("--stay-in-loader", is_flag=True, help="Beken: keep the boot window open (tools that cannot reset).")
@click.option("--flash", "flash_chip", default="TH25Q16HB", show_default=True, help="Beken: simulated flash part.")
@click.option("--options", default="", help="Extra simulator options, URL-style: 'corrupt=0.001&seed=3'.")
@click.pass_obj
@command_errors
def serve(
    ctx: Context, chip: str, image: str | None, time_scale: float, stay_in_loader: bool, flash_chip: str, options: str
) -> None:
    """Serve a simulated chip on a pseudo-terminal until Ctrl-C (Linux and macOS)."""
    if not PTY_AVAILABLE:  # pseudo-terminals are a POSIX thing; the sim:// URLs work everywhere
        raise UnsupportedError(
            "`freebeken sim serve` needs a pseudo-terminal, which Windows does not have",
            hint="Use the simulator in-process instead: -p sim://bk7231t with any freebeken command, or run the "
            "peer tools' comparison under WSL or Linux.",
        )
    from ..sim.pty import PtyServer  # imports termios: only here

    if chip.lower() in FAMILY_CHIPS:
        _serve_family(ctx, chip.lower(), image, time_scale, options, stay_in_loader, flash_chip)
        return
    query = {"time_scale": time_scale, "flash": flash_chip, "stay_in_loader": int(stay_in_loader)}
    if image:
        query["image"] = image
    url = f"sim://{chip}?{urlencode(query)}" + (f"&{options}" if options else "")
    config = SimConfig.from_url(url)
    line = config.build()
    kept = config.image
    saver = (lambda: save_image(kept, line.chip.flash.data)) if kept is not None else None
    server = PtyServer(line, saver).start()
    env = " ".join(f"{k}={v}" for k, v in server.env.items())
    if ctx.json:
        ctx.result({"ok": True, "device": server.path, "env": server.env, "url": url})
    else:
        click.echo(f"device: {server.path}")
        click.echo(f"env: {env}")
        click.echo("Python tools run under that environment reset the simulated chip through DTR/RTS. Ctrl-C stops.")
    serve_until_stopped(server.stop)


def _serve_family(
    ctx: Context, chip: str, image: str | None, time_scale: float, options: str, stay_in_loader: bool, flash_chip: str
) -> None:
    """A non-Beken chip's ROM (or loader) on a pty, in download mode: freebeken with --chip and ltchiptool
    link to it as to the real module with its boot pin held."""
    from ..families.registry import require
    from ..sim.families import FamilySimConfig
    from ..sim.pty import PtyServer

    source = click.get_current_context().get_parameter_source
    for name, flag in (("stay_in_loader", "--stay-in-loader"), ("flash_chip", "--flash")):
        if source(name) == click.core.ParameterSource.COMMANDLINE:
            raise UsageError(
                f"{flag} applies to the Beken simulators only",
                hint=f"Drop it: the {chip} simulator waits in download mode with a 2 MiB flash; "
                "--options 'boot=app' simulates a module started without the boot pin.",
            )
    query: dict[str, object] = {"time_scale": time_scale}
    if image:
        query["image"] = image
        size = os.path.getsize(image) if os.path.exists(image) else None
        if size is not None and size != 0x200000:
            raise UsageError(
                f"{image} is {size} bytes; the simulated {chip.upper()} holds a whole 2 MiB flash",
                hint=f"Give a full dump (a backup), or a new file name for a fresh stock-like flash; to put a release image "
                f"on it, serve it and flash that: `freebeken flash -p DEVICE --chip {chip} FILE`.",
            )
    url = f"sim://{chip}?{urlencode(query)}" + (f"&{options}" if options else "")
    config = FamilySimConfig.from_url(url)
    line = config.build()
    kept = config.image
    saver = (lambda: save_image(kept, line.chip.flash.data)) if kept is not None else None
    server = PtyServer(line, saver).start()  # type: ignore[arg-type]  # a TextLine serves as a SimLine
    spec = require(chip)
    env = " ".join(f"{k}={v}" for k, v in server.env.items())
    commands = {
        "freebeken": f"freebeken info -p {server.path} --chip {chip}",
        "ltchiptool": f"ltchiptool flash info -d {server.path} {spec.family}",
    }
    if ctx.json:
        ctx.result({"ok": True, "device": server.path, "env": server.env, "url": url, "chip": chip, "commands": commands})
    else:
        click.echo(f"device: {server.path}")
        click.echo(f"env: {env}")
        click.echo(f"A simulated {chip.upper()} in download mode (MAC {config.device_mac.hex(':').upper()}). Try:")
        click.echo(f"  {commands['freebeken']}")
        click.echo(f"  {commands['ltchiptool']}")
        click.echo("(any freebeken command with --chip; Python tools run under the env above can also reset it). Ctrl-C stops.")
    serve_until_stopped(server.stop)


@sim.command("device")
@click.option(
    "--board",
    type=click.Choice(["u3", "strip", "bulb"], case_sensitive=False),
    default="u3",
    show_default=True,
    help="The virtual board: plug, power strip or RGBCW bulb.",
)
@click.option(
    "--chip",
    type=click.Choice([c.obk_platform for c in CHIPS.values() if c.name == c.obk_platform], case_sensitive=False),
    default="BK7231T",
    show_default=True,
    help="The chip the device reports.",
)
@click.option("--port", default=0, show_default=True, help="TCP port on 127.0.0.1 (0 = any free port).")
@click.option("--password", default="", help="Require this web password.")
@click.option(
    "--from-image",
    "image",
    type=click.Path(exists=True, dir_okay=False),
    help="Boot a simulated chip's flash image: names, pins, Wi-Fi, MQTT from its OpenBeken configuration.",
)
@click.option(
    "--network",
    "networks",
    multiple=True,
    metavar="SSID:PASSWORD",
    help="With --from-image: a Wi-Fi network in reach (repeatable; default: any configured one is joined).",
)
@click.option("--mac", "mac_text", help="The device's MAC (default: a new one each run; with --from-image: the image's).")
@click.pass_obj
@command_errors
def sim_device(
    ctx: Context,
    board: str,
    chip: str,
    port: int,
    password: str,
    image: str | None,
    networks: tuple[str, ...],
    mac_text: str | None,
) -> None:
    """Serve a simulated OpenBeken device on 127.0.0.1 until Ctrl-C."""
    from ..sim.obk.board import board as make_board
    from ..sim.obk.device import ObkDevice
    from ..sim.obk.server import DeviceServer

    if image:
        from ..sim.obk.boot import power_on

        reach = dict(n.partition(":")[::2] for n in networks) if networks else None
        found, boot = power_on(image, make_board(board), port=port, networks=reach, advertise_port=True)
        dev = boot.device
        click.echo(f"device: {found.address if found else 'on no network'}")
        click.echo(f"booted: {boot.mode}: {boot.why}")
        if found is None:
            return  # like the real plug, it is reachable nowhere
        server = found
    else:
        mac = device_mac(mac_text)
        names = obkconfig.defaults(chip, mac)  # named after its MAC, as the firmware names itself
        dev = ObkDevice(
            make_board(board),
            chipset=chip,
            web_password=password,
            mac=mac.hex(),
            short_name=names["short_name"],
            long_name=names["long_name"],
        )
        try:  # advertise host:port as its IP, so fleet commands reach it where it really listens
            server = DeviceServer(dev, port=port, advertise_port=True).start()
        except OSError as e:
            raise UsageError(
                f"Cannot serve the simulated device on 127.0.0.1:{port}: {e.strerror or e}",
                hint="Another program uses that port: pick another --port, or 0 for any free one.",
            ) from None
        click.echo(f"device: {server.address}")
        click.echo(f"mac: {mac.hex(':').upper()}")
    click.echo(f"board: {dev.board.name}")
    serve_until_stopped(server.stop)
