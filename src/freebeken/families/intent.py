"""What a family's write journal records about the write, so `freebeken resume` can run it again.

Write journals are keyed by the device and the image's digest (``flasher.journal.write_journal_path``);
their record holds the sectors already proven (``done``) and this intent: the operation, the file's
full path and SHA-256 (a file changed or gone since is refused, nothing written), and the options that
change what is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..storage import sha256


def intent(op: str, name: str, path: Path | None, data: bytes, other_device: bool = False) -> dict[str, Any]:
    where = str(path.resolve()) if path is not None else None
    return {"op": op, "image": name, "path": where, "sha256": sha256(data), "other_device": other_device, "done": []}
