"""Chip families behind one seam (base.ChipFamily): Beken (adapter over the existing flasher), Realtek
AmebaZ2 (RTL8720CF: Tuya's WBR2/WBR3) and Lightning LN882H, the latter two through ltchiptool's
download-protocol implementations. docs/families.md says how each fits, and how BL602 would."""

from .base import SECTOR, ChipFamily, FamilySpec, Identity, Region, local_digest
from .registry import FAMILIES, family_of, spec_by_chip

__all__ = ["SECTOR", "ChipFamily", "FamilySpec", "Identity", "Region", "local_digest", "FAMILIES", "family_of", "spec_by_chip"]
