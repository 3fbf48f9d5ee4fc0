"""Home Assistant through MQTT discovery: set a device up, prove it arrived, diagnose, remove."""
