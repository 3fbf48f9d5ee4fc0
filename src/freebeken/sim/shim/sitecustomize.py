"""freebeken simulator shim: forwards pyserial DTR/RTS changes on simulated ptys.

Put this folder on PYTHONPATH and set FREEBEKEN_SIM_PTYS="PTY=CONTROL_SOCKET[;...]" (both printed
by ``freebeken sim serve``). Other ports are untouched. The environment's own sitecustomize, if
any, still runs.
"""

import os
import sys


def _install() -> None:
    table = {}
    for item in os.environ.get("FREEBEKEN_SIM_PTYS", "").split(";"):
        path, _, control = item.partition("=")
        if path and control:
            table[os.path.realpath(path)] = control
    if not table:
        return
    try:
        import socket

        import serial.serialposix as posix
    except Exception:
        return

    def forward(name, original):
        def update(self):
            control = table.get(os.path.realpath(self.portstr or ""))
            if control is None:
                return original(self)
            state = getattr(self, f"_{name}_state")
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                s.sendto(f"{name}={int(bool(state))}".encode(), control)

        return update

    posix.Serial._update_rts_state = forward("rts", posix.Serial._update_rts_state)
    posix.Serial._update_dtr_state = forward("dtr", posix.Serial._update_dtr_state)


def _chain() -> None:
    """Run the sitecustomize this file shadows, if there is one."""
    here = os.path.dirname(os.path.abspath(__file__))
    for entry in sys.path:
        candidate = os.path.join(entry or ".", "sitecustomize.py")
        if os.path.abspath(entry or ".") != here and os.path.isfile(candidate):
            with open(candidate) as f:
                exec(compile(f.read(), candidate, "exec"), {"__name__": "sitecustomize", "__file__": candidate})
            return


_install()
_chain()
