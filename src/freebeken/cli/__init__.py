"""Command-line interface: the only layer that knows about the terminal."""
