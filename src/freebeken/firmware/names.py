"""Names Home Assistant accepts: the MQTT client id (also the topic and the object id) and the
long name that becomes unique ids. Pure."""

from __future__ import annotations

import re


def ha_safe_id(text: str) -> str:
    """A client id that is also a clean topic and HA object id: lowercase [a-z0-9_-]."""
    slug = re.sub(r"[^a-z0-9_-]+", "_", text.lower()).strip("_-")
    return slug or "obk_device"


def ha_safe_name(text: str) -> str:
    """The long name becomes unique_ids and topics: keep letters, digits, _ - and spaces."""
    return re.sub(r"[^A-Za-z0-9_ -]+", "_", text).strip() or "OpenBeken"
