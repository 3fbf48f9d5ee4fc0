"""OpenBeken release files from the project's GitHub releases API, cached and verified.

The API URL can be changed (``--api-url`` / ``FREEBEKEN_RELEASES_URL``): tests point it at a local
server; nothing else here knows it is GitHub.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..chips import chip_by_name
from ..errors import ReleaseError, UsageError
from ..storage import atomic_write, cache_dir

RELEASES_API = "https://api.github.com/repos/openshwprojects/OpenBK7231T_App/releases"
OFFLINE_HINT = (
    "Without internet here: on another computer download {name} from "
    "https://github.com/openshwprojects/OpenBK7231T_App/releases, copy it over, and run "
    "`freebeken flash -p PORT {name}` (flash accepts a local file)."
)


@dataclass(frozen=True)
class Release:
    version: str
    asset: str
    size: int
    url: str
    sha256: str | None
    prerelease: bool


def api_url() -> str:
    return os.environ.get("FREEBEKEN_RELEASES_URL", RELEASES_API)


def _get(url: str, timeout: float = 20) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.github+json", "User-Agent": "freebeken"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def list_releases(chip: str, url: str | None = None, include_prereleases: bool = False, ota: bool = False) -> list[Release]:
    """The releases' UART images for ``chip``, or with ``ota`` its over-the-air images
    (``Open<platform>_<version>.rbl``, the platform being what the firmware calls itself)."""
    pattern, prefix = _asset_pattern(chip, ota)
    try:
        data = json.loads(_get(url or api_url()))
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        raise ReleaseError(
            f"Cannot reach the OpenBeken releases ({e})", hint=OFFLINE_HINT.format(name=f"{prefix}<version>.bin")
        ) from None
    except json.JSONDecodeError:
        raise ReleaseError("The releases API answered something that is not JSON") from None
    out = []
    for release in data if isinstance(data, list) else []:
        if release.get("prerelease") and not include_prereleases:
            continue
        for asset in release.get("assets", []):
            m = pattern.match(asset.get("name", ""))
            if m:
                digest = asset.get("digest") or ""
                out.append(
                    Release(
                        m.group(1),
                        asset["name"],
                        int(asset.get("size", 0)),
                        asset["browser_download_url"],
                        digest.split(":", 1)[1] if digest.startswith("sha256:") else None,
                        bool(release.get("prerelease")),
                    )
                )
    return out


def _asset_pattern(chip: str, ota: bool) -> tuple[re.Pattern[str], str]:
    """Release asset names: Beken's from the chip profile; RTL87X0C's and LN882H's from OpenBeken's Makefile
    (flash_is.bin -> OpenRTL87X0C_<v>.bin, firmware_is.bin -> _ota.img; flashimage.bin -> OpenLN882H_<v>.bin,
    the xz OTA -> _OTA.bin)."""
    from ..families.registry import spec_by_chip

    family = spec_by_chip(chip)
    if family is not None:
        platform = re.escape(family.obk_platform)
        tail = r"_(?:ota\.img|OTA\.bin)" if ota else r"\.bin"
        return re.compile(rf"^{platform}_(\d[^_]*){tail}$"), f"{family.obk_platform}_"
    profile = chip_by_name(chip)
    if ota:
        return re.compile(rf"^Open{re.escape(profile.obk_platform)}_(\d[^_]*)\.rbl$"), profile.firmware_prefix
    return re.compile(rf"^{re.escape(profile.firmware_prefix)}(.+)\.bin$"), profile.firmware_prefix


def firmware_dir() -> Path:
    return cache_dir() / "firmware"


def fetch(chip: str, version: str | None = None, url: str | None = None, folder: Path | None = None, ota: bool = False) -> Path:
    """Download (or reuse from the cache) the release file for ``chip`` (its OTA image with ``ota``)."""
    releases = list_releases(chip, url, ota=ota)
    if not releases:
        raise ReleaseError(f"No OpenBeken release for {chip.upper()} found")
    if version:
        matching = [r for r in releases if r.version == version]
        if not matching:
            raise UsageError(
                f"No release {version} for {chip.upper()}",
                hint=f"`freebeken firmware list --chip {chip.lower()}` shows the versions.",
            )
        release = matching[0]
    else:
        release = releases[0]  # the API lists the newest first
    return download(release, folder)


def download(release: Release, folder: Path | None = None) -> Path:
    """The file of ``release``: from the cache when it is intact there, else downloaded and checked."""
    target = (folder or firmware_dir()) / release.asset
    if target.exists() and _good(target.read_bytes(), release):
        return target
    try:
        data = _get(release.url, timeout=120)
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        raise ReleaseError(f"Download of {release.asset} failed ({e})", hint=OFFLINE_HINT.format(name=release.asset)) from None
    if not _good(data, release):
        raise ReleaseError(f"{release.asset} arrived damaged (size or sha256 differs)", hint="Run the command again.")
    atomic_write(target, data)
    return target


def _good(data: bytes, release: Release) -> bool:
    if release.size and len(data) != release.size:
        return False
    return release.sha256 is None or hashlib.sha256(data).hexdigest() == release.sha256
