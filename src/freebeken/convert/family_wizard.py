"""``freebeken convert`` with an RTL8720CF (WBR2/WBR3) or LN882H on the adapter: detect, back up,
analyze and flash through ``FamilySteps`` (``families.ops`` underneath), then hand over to the same
steps after the flash as a Beken plug - by the access-point way, since these chips get no
configuration written with the firmware (``family_journey`` says why)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from .. import events
from ..errors import LinkError, PortError
from ..events import Reporter
from ..families.base import FamilySpec, device_identity
from .family_journey import family_firmware, on_family_adapter
from .journey import CLI_OWN_FILE, Journey
from .options import Options, Person, agree_to_no_backup


def family_chip_journey(
    spec: FamilySpec,
    options: Options,
    person: Person,
    reporter: Reporter,
    pending: Journey | None,
    resume_pending: Callable[[Journey], Journey],
) -> Journey:
    """The chip steps on a family chip; without a chip answering (the adapter was removed after the
    flash, or the boot pin is no longer held) the pending plug's conversion continues."""
    assert options.port is not None
    if pending is None:  # after a flash the adapter may be gone: then only a quick look (below)
        person.pause(f"Put the {spec.name.upper()} in download mode: {spec.download_mode}")
    with contextlib.ExitStack() as stack:
        try:
            fam = stack.enter_context(
                on_family_adapter(spec, options.port, reporter, baudrate=options.baudrate, timeout=4.0 if pending else 15.0)
            )
            ident = device_identity(fam)
        except (PortError, LinkError):
            if pending is None:
                raise
            return resume_pending(pending)
        journey = Journey.of_family(ident, options.port)
        if options.forget:
            journey.forget()
            events.info(reporter, f"Starting this plug's conversion over (its backups stay): {journey.path} forgotten")
            journey = Journey.of_family(ident, options.port)
        with journey.lock():
            events.info(
                reporter, f"Chip: {spec.name.upper()} ({spec.family}), MAC {ident.mac.hex(':').upper() if ident.mac else '?'}"
            )
            if journey.backed_up is None:
                if options.skip_backup:
                    agree_to_no_backup(person)
                    journey.skip_backup()
                else:
                    kept = journey.back_up_family(fam, reporter)
                    said = "Backup" if kept.made else "Using this chip's existing backup (its content is this device's)"
                    events.info(reporter, f"{said}: {kept.path}")
            if journey.analyzed is None:
                analyzed = journey.analyze(reporter, options.devices_json)
                pins = analyzed.template["pins"] if analyzed.template else "none found"
                events.info(reporter, f"Pins from the backup: {pins}")
            if options.configure:
                events.warning(
                    reporter,
                    f"Writing the Wi-Fi and broker with the firmware is not available for the {spec.name.upper()} "
                    "(OpenBeken keeps its settings there in a store freebeken does not write): the plug's access point "
                    "is used after the flash instead",
                )
            if journey.flashed is None:
                backed_up = journey.backed_up
                firmware = family_firmware(spec, options.firmware, CLI_OWN_FILE)
                skipped = backed_up is not None and backed_up.skipped
                journey.flash_family(fam, firmware, reporter, no_backup=skipped)
        return journey
    raise AssertionError("unreachable")  # ExitStack does not swallow exceptions


def ap_instruction(spec: FamilySpec) -> str:
    """The pause before the access-point step, in the family's words."""
    return (
        f"Disconnect the adapter. {spec.start_firmware}. OpenBeken starts a Wi-Fi access point named "
        f"{spec.obk_platform}_<id>: join it with this computer, then continue."
    )
