"""The person at the keyboard: the pin finder's questions and convert's pauses, on the terminal."""

from __future__ import annotations

import click


class TerminalAsker:
    """The person at the keyboard."""

    def what_happened(self, pin: int) -> str:
        choice = click.prompt(
            f"P{pin} pulsed 3 times. What happened? [r]elay clicked, [l]ED flashed, light [b]ulb lit, [n]othing",
            type=click.Choice(["r", "l", "b", "n"]),
            default="n",
        )
        return {"r": "relay", "l": "led", "b": "light", "n": "nothing"}[choice]

    def is_on(self, pin: int, part: str) -> bool:
        thing = {"relay": "the relay ON (load powered)", "led": "the LED lit", "light": "the light on"}[part]
        return click.confirm(f"P{pin} is held high now. Is {thing}?", default=True)

    def colour(self, pin: int) -> str:
        return click.prompt("Which colour? r, g, b, c (cold white), w (warm white)", type=click.Choice(list("rgbcw")))

    def press_button(self, number: int, again: bool) -> bool:
        text = "Press the same button once more" if again else f"Press button {number} once (click)"
        return (
            click.prompt(f"{text}, then Enter - or type 'done' if there are no more buttons", default="", show_default=False)
            .strip()
            .lower()
            != "done"
        )


class TerminalPerson:
    def __init__(self, assume_yes: bool) -> None:
        self.assume_yes = assume_yes

    def confirm(self, question: str) -> bool:
        return click.confirm(question, default=False)

    def pause(self, instruction: str) -> None:
        click.echo(instruction)
        if not self.assume_yes:
            click.prompt("Press Enter to continue", default="", show_default=False)

    def ask(self, question: str, default: str = "") -> str:
        return click.prompt(question, default=default or None)

    def ask_secret(self, question: str) -> str:
        return click.prompt(question, hide_input=True, default="", show_default=False)
