"""A simulated OpenBeken device: console commands, pins and channels, a virtual board, HTTP."""
