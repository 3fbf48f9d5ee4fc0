"""Reading stock Tuya (and OpenBeken) configuration out of flash dumps. Pure: bytes in, facts out."""
