"""Talking to a device running OpenBeken: HTTP client, configuration, templates, pin finder."""
