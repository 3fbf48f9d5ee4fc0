"""Host side of the UART link: open a port, get the loader's attention, exchange commands."""

from .session import Session, open_port
from .connect import connect, link
from .identify import ChipInfo, identify, read_mac

__all__ = ["Session", "open_port", "connect", "link", "ChipInfo", "identify", "read_mac"]
