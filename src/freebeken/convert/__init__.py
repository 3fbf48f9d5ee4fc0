"""The one-command journey: detect, back up, analyse, flash, Wi-Fi, template, Home Assistant."""
