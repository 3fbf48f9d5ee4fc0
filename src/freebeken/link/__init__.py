"""Host side of the UART link: open a port, get the loader's attention, exchange commands."""

from .connect import link, open_linked, try_link
from .identify import ChipInfo, identify, read_mac
from .session import Session, open_port

__all__ = ["Session", "open_port", "link", "open_linked", "try_link", "ChipInfo", "identify", "read_mac"]
