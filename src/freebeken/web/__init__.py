"""The local web page: the same journey as the CLI, on the same Python API."""
