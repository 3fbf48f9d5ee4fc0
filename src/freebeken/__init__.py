"""freebeken: from a sealed Tuya BK7231T/N plug to OpenBeken in Home Assistant."""

__version__ = "0.1.0"
