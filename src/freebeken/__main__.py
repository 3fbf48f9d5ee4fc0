"""``python -m freebeken`` (``py -m freebeken`` on Windows): the same as the ``freebeken`` command."""

from .cli.main import main

main(prog_name="freebeken")
