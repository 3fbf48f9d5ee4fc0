"""Many plugs at once, through the broker they already use: list, back up and update a fleet."""
