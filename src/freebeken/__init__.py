"""freebeken: from a sealed Tuya plug with a Beken chip (BK7231T/U/N/M, BK7238, BK7252N) to OpenBeken in Home Assistant."""

__version__ = "0.1.0"
