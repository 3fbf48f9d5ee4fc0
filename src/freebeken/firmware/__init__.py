"""OpenBeken itself: its release files, and the configuration sector it boots from."""
