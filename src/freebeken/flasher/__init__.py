"""Backup, flash, verify, restore: plan -> execute -> verify, with a journal for resume."""
