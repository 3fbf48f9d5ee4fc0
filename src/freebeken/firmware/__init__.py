"""OpenBeken releases: find, download and cache the right file for a chip."""
