"""Chip and device simulators, shipped so users can try freebeken before opening a plug.

Importing this package registers the ``sim://`` URL scheme with pyserial.
"""

import serial

if "freebeken.sim" not in serial.protocol_handler_packages:
    serial.protocol_handler_packages.append("freebeken.sim")
